// Numbers for people, and values written as Python source.

// A number for a readout: `digits` significant figures, no trailing zeros,
// exponent notation for the very large and very small. null (the API's NaN or
// infinity) shows as "—".
export function fmt(value, digits = 4) {
  if (value === null || value === undefined || !Number.isFinite(value)) return "—";
  if (value === 0) return "0";
  const size = Math.abs(value);
  if (size >= 1e6 || size < 1e-4) {
    return value.toExponential(digits - 1).replace(/\.?0+e/, "e").replace("e+", "e");
  }
  const text = value.toPrecision(digits);
  return text.includes(".") ? text.replace(/\.?0+$/, "") : text;
}

// A coordinate a billion times smaller than the point's largest is rounding
// noise (a minimum found at (3, -8.5e-64) is at (3, 0)): shown as 0.
export function fmtPoint(point, digits = 4) {
  if (!point) return "—";
  const largest = Math.max(...point.map((c) => (Number.isFinite(c) ? Math.abs(c) : 0)));
  return `(${point.map((c) => fmt(Number.isFinite(c) && Math.abs(c) < 1e-9 * largest ? 0 : c, digits)).join(", ")})`;
}

// A JavaScript value as a Python literal. JavaScript prints the shortest
// text that reads back as the same double, and Python reads it the same way,
// so numbers survive the trip exactly.
export function py(value) {
  if (value === null || value === undefined) return "None";
  if (value === true) return "True";
  if (value === false) return "False";
  if (typeof value === "number") {
    if (Number.isNaN(value)) return 'float("nan")';
    if (!Number.isFinite(value)) return value > 0 ? 'float("inf")' : '-float("inf")';
    return String(value);
  }
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(py).join(", ")}]`;
  if (typeof value === "object") {
    return `{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${py(v)}`).join(", ")}}`;
  }
  throw new TypeError(`cannot write ${typeof value} as Python`);
}

// Keyword arguments: `name=value, ...` for the entries that are set.
export function pyKeywords(options) {
  return Object.entries(options)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${Array.isArray(v) && k === "betas" ? `(${v.map(py).join(", ")})` : py(v)}`)
    .join(", ");
}
