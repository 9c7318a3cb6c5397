// The speedometer's dial, drawn as SVG: a half circle from -reach (left) to
// +reach (right), falling slopes blue, rising slopes red, a needle at the
// slope and the number under it. Plain SVG keeps the page's charting bundle
// small (Plotly's "indicator" trace lives only in its full bundle).

import { fmt } from "./format.js";

const SVG_NS = "http://www.w3.org/2000/svg";
const CX = 130;
const CY = 140;
const R = 100;

function node(name, attributes = {}, text = null) {
  const element = document.createElementNS(SVG_NS, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  if (text !== null) element.textContent = text;
  return element;
}

// The point of the dial at a value in [-reach, reach], at radius r.
function at(value, reach, r) {
  const angle = Math.PI * (1 - (value + reach) / (2 * reach)); // pi at -reach, 0 at +reach
  return [CX + r * Math.cos(angle), CY - r * Math.sin(angle)];
}

function arc(from, to, reach, r) {
  const [x0, y0] = at(from, reach, r);
  const [x1, y1] = at(to, reach, r);
  return `M ${x0.toFixed(2)} ${y0.toFixed(2)} A ${r} ${r} 0 0 1 ${x1.toFixed(2)} ${y1.toFixed(2)}`;
}

export function drawGauge(div, value, reach) {
  const shown = value === null || !Number.isFinite(value) ? null : value;
  const needle = shown === null ? 0 : Math.max(-reach, Math.min(reach, shown));
  const svg = node("svg", { viewBox: "0 0 260 200", class: "gauge-svg", role: "presentation" });
  svg.append(
    node("text", { x: CX, y: 18, "text-anchor": "middle", class: "gauge-title" }, "slope f′(x)"),
    node("path", { d: arc(-reach, 0, reach, R - 12), stroke: "#c9dcee", "stroke-width": 24, fill: "none" }),
    node("path", { d: arc(0, reach, reach, R - 12), stroke: "#f3d6cb", "stroke-width": 24, fill: "none" }),
    node("path", { d: arc(0, needle, reach, R - 12).replace(" 0 0 1 ", needle < 0 ? " 0 0 0 " : " 0 0 1 "), stroke: "#d6352b", "stroke-width": 10, fill: "none" }),
  );
  for (const tick of [-reach, -reach / 2, 0, reach / 2, reach]) {
    const [x0, y0] = at(tick, reach, R);
    const [x1, y1] = at(tick, reach, R + 6);
    const [tx, ty] = at(tick, reach, R + 18);
    svg.append(
      node("line", { x1: x0, y1: y0, x2: x1, y2: y1, stroke: "#5b6775", "stroke-width": 1.5 }),
      node("text", { x: tx, y: ty + 4, "text-anchor": "middle", class: "gauge-tick" }, fmt(tick, 3)),
    );
  }
  const [nx, ny] = at(needle, reach, R - 4);
  svg.append(
    node("line", { x1: CX, y1: CY, x2: nx, y2: ny, stroke: "#1d2733", "stroke-width": 3, "stroke-linecap": "round", class: "gauge-needle" }),
    node("circle", { cx: CX, cy: CY, r: 6, fill: "#1d2733" }),
    node("text", { x: CX, y: CY + 40, "text-anchor": "middle", class: "gauge-number" }, shown === null ? "—" : fmt(shown, 4)),
  );
  div.replaceChildren(svg);
  div.dataset.value = String(shown);
  div.dataset.reach = String(reach);
}
