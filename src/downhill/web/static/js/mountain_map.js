// The mountain panel's map, as Plotly traces: the terrain (colours and
// contour lines), the downhill arrows, the known minima, and the basin map.
// Pure functions of the API's answers (/api/surface, /api/basins).

import { fmt, fmtPoint } from "./format.js";
import { TERRAIN } from "./plots.js";

// The terrain is a heatmap with contour lines drawn over it (Plotly draws
// every heatmap below every contour, so the basin overlay, a heatmap too,
// can only sit between the terrain's colours and its lines this way).
export function mapTraces(surface, scale, { basinMap = null, arrows = false } = {}) {
  const traces = [
    {
      type: "heatmap",
      x: surface.x,
      y: surface.y,
      z: scale.z,
      zsmooth: "best",
      text: surface.z.map((row) => row.map((v) => fmt(v, 5))),
      colorscale: TERRAIN,
      colorbar: { ...scale.colorbar, thickness: 14, len: 0.9 },
      hovertemplate: "(%{x:.3f}, %{y:.3f})<br>f = %{text}<extra></extra>",
    },
    {
      type: "contour",
      x: surface.x,
      y: surface.y,
      z: scale.z,
      ncontours: 28,
      contours: { coloring: "lines" },
      colorscale: [[0, "rgba(20,30,40,0.35)"], [1, "rgba(20,30,40,0.35)"]],
      line: { width: 0.7, smoothing: 0.6 },
      showscale: false,
      hoverinfo: "skip",
    },
  ];
  if (basinMap) traces.push(basinTrace(basinMap));
  if (arrows) traces.push(arrowTrace(surface));
  // A typed formula has no list of minima: the basin map's own (found by
  // clustering where the climbers end, when the API gives them) stand in.
  const known = (surface.minima || []).length > 0;
  const minima = known ? surface.minima : (basinMap && basinMap.minima) || [];
  const what = known ? "known minimum" : "minimum found";
  if (minima.length) {
    traces.push({
      type: "scatter",
      mode: "markers",
      x: minima.map((m) => (m.point || m)[0]),
      y: minima.map((m) => (m.point || m)[1]),
      marker: { symbol: "star", size: 15, color: "#ffd400", line: { color: "#111", width: 1 } },
      name: what,
      hovertemplate: `${what} (%{x:.4g}, %{y:.4g})<extra></extra>`,
    });
  }
  return traces;
}

// Arrows pointing downhill (minus the gradient) on a coarse grid; longer where steeper.
export function arrowTrace(surface) {
  const { x, y, gx, gy } = surface;
  const every = Math.max(1, Math.round(x.length / 16));
  const cell = Math.min(x[every] - x[0], y[every] - y[0]) * 0.8;
  let biggest = 0;
  for (let j = 0; j < y.length; j += every) {
    for (let i = 0; i < x.length; i += every) {
      const g = Math.hypot(gx[j][i] ?? 0, gy[j][i] ?? 0);
      if (Number.isFinite(g)) biggest = Math.max(biggest, g);
    }
  }
  const xs = [];
  const ys = [];
  const sizes = [];
  for (let j = Math.floor(every / 2); j < y.length; j += every) {
    for (let i = Math.floor(every / 2); i < x.length; i += every) {
      const a = gx[j][i];
      const b = gy[j][i];
      const g = Math.hypot(a ?? NaN, b ?? NaN);
      if (!Number.isFinite(g) || g === 0) continue;
      const length = cell * Math.min(1, Math.max(0.3, Math.sqrt(g / biggest)));
      xs.push(x[i], x[i] - (a / g) * length, null);
      ys.push(y[j], y[j] - (b / g) * length, null);
      sizes.push(0, 9, 0);
    }
  }
  return {
    type: "scatter",
    mode: "lines+markers",
    x: xs,
    y: ys,
    line: { color: "rgba(255,255,255,0.85)", width: 1.4 },
    marker: { symbol: "arrow", angleref: "previous", size: sizes, color: "rgba(255,255,255,0.95)" },
    name: "downhill (−gradient)",
    hoverinfo: "skip",
  };
}

// Apart from the climbers' colours, so that a path never vanishes into its basin.
const BASIN_COLORS = ["#3b6fb6", "#7b4fa0", "#1b9e9e", "#8c564b", "#9a9a22", "#5a6b7b", "#c0507a", "#2f7d3b"];
export const basinColor = (label) => (label === -2 ? "#9aa5b1" : label === -1 ? "#111111" : BASIN_COLORS[label % BASIN_COLORS.length]);

export function basinTrace(basinMap) {
  const k = Math.max(1, basinMap.minima.length);
  // Labels -2 (stopped elsewhere), -1 (fell off), 0..k-1 (minimum i): a discrete scale.
  const colors = [-2, -1, ...Array.from({ length: k }, (_, i) => i)].map(basinColor);
  const stops = [];
  colors.forEach((c, i) => {
    stops.push([i / colors.length, c], [(i + 1) / colors.length, c]);
  });
  const names = [-2, -1, ...Array.from({ length: k }, (_, i) => i)].map((label) => basinName(basinMap, label));
  // z = label + 2 in 0..n-1; with zmin -0.5 and zmax n-0.5 each sits mid-band.
  return {
    type: "heatmap",
    x: basinMap.xs,
    y: basinMap.ys,
    z: basinMap.labels.map((row) => row.map((v) => v + 2)),
    zmin: -0.5,
    zmax: colors.length - 0.5,
    colorscale: stops,
    opacity: 0.62,
    showscale: false,
    // One string per label, shared by every cell (a 500 x 500 map has 250,000 cells).
    text: basinMap.labels.map((row) => row.map((v) => names[v + 2])),
    hovertemplate: "start (%{x:.3f}, %{y:.3f})<br>%{text}<extra></extra>",
  };
}

export function basinName(basinMap, label) {
  if (label === -1) return "fell off the mountain";
  // A typed formula's minima were found where the climbers gathered (basinMap.found), not known.
  if (label === -2) return basinMap.found ? "stopped away from every minimum found" : "stopped away from every known minimum";
  const m = basinMap.minima[label];
  return `reaches minimum ${label + 1} ${fmtPoint(m && (m.point || m), 3)}`;
}
