// Shared look of every chart. Plotly is the vendored 2-D bundle
// (vendor/plotly-cartesian.min.js), loaded by a classic <script> before these
// modules, so it is a global.

export const Plotly = window.Plotly;

// The 3-D view's bundle (vendor/plotly-gl3d.min.js, 1.7 MB) is fetched the
// first time a learner asks for the 3-D view. It sets window.Plotly when it
// runs: keep it apart, and give the 2-D bundle its global back.
let plotly3d = null;
export function loadPlotly3d() {
  if (!plotly3d) {
    plotly3d = new Promise((resolve, reject) => {
      const flat = window.Plotly;
      const script = document.createElement("script");
      script.src = "vendor/plotly-gl3d.min.js";
      script.onload = () => {
        const solid = window.Plotly;
        window.Plotly = flat;
        resolve(solid);
      };
      script.onerror = () => {
        plotly3d = null;
        reject(new Error("The 3-D view's charting code could not be loaded from the server."));
      };
      document.head.append(script);
    });
  }
  return plotly3d;
}

// Nothing leaves the learner's machine: no "edit in Chart Studio" link, no
// Plotly logo; and only the buttons a learner needs.
export const CONFIG = {
  displaylogo: false,
  showLink: false,
  showSendToCloud: false,
  showEditInChartStudio: false,
  responsive: true,
  modeBarButtonsToRemove: ["lasso2d", "select2d", "toImage", "sendChartToCloud", "sendDataToCloud", "editInChartStudio"],
};

// Colours that stay apart on the terrain map and for colour-blind eyes.
export const CLIMBER_COLORS = ["#ff5a4f", "#ffffff", "#ffb000", "#ff6ad5", "#5ee6ff", "#b8ff5e", "#c7a4ff", "#ff9e7a"];
export const LR_COLORS = { small: "#4e79a7", good: "#2ca25f", big: "#d6352b" };
// The same three as text (titles, labels): darker, >= 4.5:1 on white.
export const LR_INK = { small: "#3f6d9b", good: "#1e7b46", big: "#b3261e" };

// Low ground dark and green, high ground pale: a map a climber can read.
export const TERRAIN = [
  [0.0, "#0b3d3a"],
  [0.15, "#17635a"],
  [0.35, "#3f8f5f"],
  [0.55, "#8fb86b"],
  [0.75, "#d8cf8e"],
  [0.9, "#eadfc4"],
  [1.0, "#fbf8f0"],
];

export function layout(extra = {}) {
  return {
    margin: { l: 56, r: 16, t: 36, b: 44 },
    font: { family: "system-ui, -apple-system, 'Segoe UI', sans-serif", size: 13, color: "#1d2733" },
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "#ffffff",
    showlegend: false,
    hovermode: "closest",
    ...extra,
  };
}

// A colour bar beside a chart on a laptop; under it on a phone (narrower than
// 520 px), where beside it the bar would take a quarter of the width from the
// drawing. Under it, clear of the x axis's ticks and title (about 55 px).
export function colorbarFor(element, bar) {
  if (element.clientWidth >= 520) return bar;
  const inner = Math.max(100, element.clientHeight - 110); // the drawing's height, about
  return { ...bar, orientation: "h", x: 0.5, xanchor: "center", y: -55 / inner, yanchor: "top", len: 1, thickness: 10, title: { ...(bar.title || {}), side: "top" } };
}

// automargin: the title keeps its standoff from the tick labels, however wide they
// are (a log axis's 10^-12 pushed into "f (log scale)" with a fixed margin).
export function axis(title, extra = {}) {
  return { title: { text: title, standoff: 6 }, automargin: true, zeroline: false, gridcolor: "#e3e7ec", ...extra };
}

// Heights spread over many orders of magnitude (Rosenbrock rises to
// thousands around a valley floor near 0), which would paint the whole map one
// colour. Colour by log10(1 + f - min f) then, and label the colour bar in f.
export function heightScale(z, zmin, zmax) {
  const span = zmax - zmin;
  if (!(span > 50)) {
    return { z, colorbar: { title: { text: "f", side: "right" } }, log: false, transform: (v) => v };
  }
  const transform = (v) => (v === null || v === undefined ? null : Math.log10(1 + Math.max(0, v - zmin)));
  // Ticks at round values of f, spread evenly over the log colour scale.
  const candidates = [0];
  for (let power = -3; power <= 12; power++) {
    for (const m of [1, 2, 5]) candidates.push(m * 10 ** power, -m * 10 ** power);
  }
  const top = transform(zmax);
  const tickvals = [];
  const ticktext = [];
  for (const v of candidates.filter((c) => c >= zmin && c <= zmax).sort((a, b) => transform(a) - transform(b))) {
    const t = transform(v);
    if (tickvals.length && t - tickvals[tickvals.length - 1] < top / 7) continue;
    tickvals.push(t);
    ticktext.push(formatTick(v));
  }
  return {
    z: z.map((row) => row.map(transform)),
    colorbar: { title: { text: "f (log scale)", side: "right" }, tickvals, ticktext },
    log: true,
    transform,
  };
}

function formatTick(v) {
  const size = Math.abs(v);
  if (size >= 1e5 || (size > 0 && size < 1e-3)) return v.toExponential(0).replace("e+", "e");
  return String(v);
}

// The rectangle of a 2-D plot's drawing area, and the data point under a
// mouse event on it (the areas outside the axes give null).
export function dataPoint(plotDiv, event) {
  const area = plotDiv.querySelector(".nsewdrag");
  if (!area) return null;
  const box = area.getBoundingClientRect();
  const fx = (event.clientX - box.left) / box.width;
  const fy = (event.clientY - box.top) / box.height;
  if (fx < 0 || fx > 1 || fy < 0 || fy > 1) return null;
  const [x0, x1] = plotDiv.layout.xaxis.range;
  const [y0, y1] = plotDiv.layout.yaxis.range;
  return [x0 + fx * (x1 - x0), y1 - fy * (y1 - y0)];
}

// Is WebGL available (the 3-D view needs it)?
export function hasWebGL() {
  try {
    const canvas = document.createElement("canvas");
    return Boolean(canvas.getContext("webgl") || canvas.getContext("experimental-webgl"));
  } catch {
    return false;
  }
}
