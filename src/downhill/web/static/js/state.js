// Everything the learner sets lives in the address: #panel?key=value&...
//
// A link copied from the address bar reopens the same panel with the same
// settings. Runs are deterministic (descent has no randomness; training is
// seeded), so a shared link replays the same run.

export function readLocation() {
  // Split before decoding: the query's own escapes ("%2B" for a "+" in a
  // formula) are for URLSearchParams to undo, once.
  const hash = window.location.hash.replace(/^#/, "");
  const cut = hash.indexOf("?");
  const panel = decodeURIComponent(cut === -1 ? hash : hash.slice(0, cut));
  const query = cut === -1 ? "" : hash.slice(cut + 1);
  return { panel, params: Object.fromEntries(new URLSearchParams(query)) };
}

function queryString(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === "") continue;
    search.set(key, String(value));
  }
  // Keep commas and semicolons readable: "start=-1.5,2;3,1".
  return search.toString().replace(/%2C/gi, ",").replace(/%3B/gi, ";");
}

// Settings changed: rewrite the address without adding a history entry for
// every slider movement.
export function writeLocation(panel, params) {
  const query = queryString(params);
  const hash = `#${panel}${query ? "?" + query : ""}`;
  if (window.location.hash !== hash) window.history.replaceState(null, "", hash);
}

// Readers for parameters, each with a default for absent or unreadable text.
export function readNumber(params, key, fallback) {
  if (!(key in params)) return fallback;
  const value = Number(params[key]);
  return Number.isFinite(value) ? value : fallback;
}

export function readInteger(params, key, fallback) {
  const value = readNumber(params, key, fallback);
  return Number.isInteger(value) ? value : fallback;
}

export function readBool(params, key, fallback = false) {
  if (!(key in params)) return fallback;
  return params[key] === "1" || params[key] === "true";
}

export function readString(params, key, fallback = "") {
  return key in params ? params[key] : fallback;
}

// "a,b;c,d" <-> [[a, b], [c, d]]; pieces that are not two numbers are dropped.
export function readPoints(params, key, fallback = []) {
  if (!(key in params)) return fallback;
  return params[key]
    .split(";")
    .map((pair) => pair.split(",").map(Number))
    .filter((p) => p.length === 2 && p.every(Number.isFinite));
}

export function writePoints(points) {
  return points.map((p) => p.join(",")).join(";");
}

export function readNumbers(params, key, fallback = []) {
  if (!(key in params)) return fallback;
  const values = params[key].split(",").map(Number);
  return values.every(Number.isFinite) ? values : fallback;
}
