// Panel 2, the mountain: a landscape as a contour map (or in 3-D), climbers
// dropped by a click, walking down along the trajectories that POST
// /api/descend returns; downhill arrows from the gradient; the basin map of
// many climbers (POST /api/basins). The map's traces are built in mountain_map.js.

import { post, latest } from "./api.js";
import { fmt, fmtPoint, py, pyKeywords } from "./format.js";
import { Plotly, CONFIG, CLIMBER_COLORS, TERRAIN, layout, axis, heightScale, dataPoint, hasWebGL, loadPlotly3d, colorbarFor } from "./plots.js";
import { mapTraces, basinColor, basinName } from "./mountain_map.js";
import { readBool, readInteger, readNumber, readPoints, readString, writePoints } from "./state.js";
import { showError, clearErrors, busy } from "./ui.js";
import { loadPicker, sourceOf, pythonSource } from "./landscape_picker.js";

const DEFAULTS = {
  landscape: "himmelblau",
  optimizer: "sgd",
  lr: 0.01,
  steps: 200,
  momentum: 0,
  nesterov: false,
  beta1: 0.9,
  beta2: 0.999,
  starts: [[0, 0], [-1, -1], [-4, 1]],
};
// Climbers per side of a basin map: the choices of the "detail" control. The
// default, 0, takes the sharpest that the server's work limit allows for the
// steps asked (500 x 500 at 200 steps): on a phone's screen as on a projector
// it is finer than the map's own pixels, and without each start's final point
// (per_start: false) its answer is a few tens of kilobytes.
const BASIN_GRIDS = [60, 125, 250, 500];
const SURFACE_N = 90;
const ANIMATION_MS = 3000; // a whole descent plays in about this long
const FALL_COLOR = "#d6352b";
const LAYER_CONFIG = { displayModeBar: false, staticPlot: true, responsive: false };
const STATUS_WORDS = { converged: "arrived (converged)", diverged: "fell off (diverged)", max_steps: "ran out of steps" };

export function createMountain(section, { changed }) {
  const $ = (id) => section.querySelector(`#${id}`);
  const plot = $("mtn-plot");
  const layer = $("mtn-climbers"); // the climbers' transparent chart over the 2-D map
  const controls = {
    landscape: $("mtn-landscape"),
    formula: $("mtn-formula"),
    optimizer: $("mtn-optimizer"),
    lr: $("mtn-lr"),
    steps: $("mtn-steps"),
    momentum: $("mtn-momentum"),
    nesterov: $("mtn-nesterov"),
    beta1: $("mtn-beta1"),
    beta2: $("mtn-beta2"),
    startX: $("mtn-start-x"),
    startY: $("mtn-start-y"),
    arrows: $("mtn-arrows"),
    view3d: $("mtn-3d"),
    basinGrid: $("mtn-basin-grid"),
  };

  const state = { ...DEFAULTS, formula: "", arrows: false, view3d: false, basins: false, basinGrid: 0 };
  let catalogue = null;
  let surface = null; // /api/surface answer, and its colour scale
  let scale = null;
  let run = null; // /api/descend answer (always for a list of starts)
  let basinMap = null; // /api/basins answer
  let ground = 0; // which mountain the "Feel the ground" readout is for (a new one clears it)
  let frame = 0;
  let plotly3d = null; // the 3-D bundle, once loaded
  let drawnIn = null; // "map" or "3d": which bundle drew the chart last
  let drawnSurface = null; // the /api/surface answer it drew
  let framesDrawn = 0; // animation frames drawn (the frame-rate benchmark reads it)
  let playing = false;

  const fetchSurface = latest((body) => post("/api/surface", body));
  const fetchRun = latest((body) => post("/api/descend", body));
  const fetchBasins = latest((body) => post("/api/basins", body));

  const source = () => sourceOf(state);

  function options() {
    const o = {};
    if (state.optimizer === "sgd" || state.optimizer === "rmsprop") o.momentum = state.momentum;
    if (state.optimizer === "sgd" && state.nesterov) o.nesterov = true;
    if (state.optimizer === "adam" || state.optimizer === "adamw") o.betas = [state.beta1, state.beta2];
    return o;
  }

  function lastFrame() {
    return run ? run.points.length - 1 : 0;
  }

  // Controls <-> state ------------------------------------------------------------
  function syncControls() {
    controls.landscape.value = state.landscape;
    controls.formula.value = state.landscape ? describe(state.landscape).formula : state.formula;
    controls.optimizer.value = state.optimizer;
    controls.lr.value = state.lr;
    controls.steps.value = state.steps;
    controls.momentum.value = state.momentum;
    controls.nesterov.checked = state.nesterov;
    controls.beta1.value = state.beta1;
    controls.beta2.value = state.beta2;
    controls.arrows.checked = state.arrows;
    controls.view3d.checked = state.view3d;
    controls.basinGrid.value = String(state.basinGrid);
    for (const row of section.querySelectorAll("[data-for-optimizers]")) {
      row.hidden = !row.dataset.forOptimizers.split(" ").includes(state.optimizer);
    }
    const entry = state.landscape ? describe(state.landscape) : null;
    $("mtn-description").textContent = entry ? entry.description || "" : "Your own formula.";
    if (!controls.startX.value && entry) {
      controls.startX.value = entry.domain[0][0] / 2;
      controls.startY.value = entry.domain[1][1] / 2;
    }
  }

  function describe(name) {
    return catalogue.landscapes.find((l) => l.name === name) || { formula: "", description: "", domain: [[-5, 5], [-5, 5]] };
  }

  // Server calls ---------------------------------------------------------------------
  async function loadSurface() {
    const answer = await busy(section, () => fetchSurface({ ...source(), n: SURFACE_N, gradients: true }));
    if (answer === undefined) return false;
    surface = answer;
    scale = heightScale(surface.z, surface.zmin, surface.zmax);
    if (!state.landscape && surface.formula) controls.formula.value = state.formula;
    return true;
  }

  async function loadRun() {
    if (!state.starts.length) {
      run = null;
      return true;
    }
    const body = { ...source(), start: state.starts, optimizer: state.optimizer, lr: state.lr, steps: state.steps, options: options() };
    const answer = await busy(section, () => fetchRun(body));
    if (answer === undefined) return false;
    run = answer;
    return true;
  }

  // The basin map's climbers per side: the learner's choice, or the sharpest
  // the server's limits allow for these steps (starts x steps <= basin_work).
  function basinGrid() {
    if (state.basinGrid) return state.basinGrid;
    const { basin_grid: most, basin_work: work } = catalogue.limits;
    const fits = Math.min(most, Math.floor(Math.sqrt(work / Math.max(1, state.steps))));
    return [...BASIN_GRIDS].reverse().find((side) => side <= fits) || Math.max(2, fits);
  }

  async function loadBasins() {
    const body = { ...source(), optimizer: state.optimizer, lr: state.lr, steps: state.steps, grid: basinGrid(), options: options(), per_start: false };
    let answer;
    try {
      answer = await busy(section, () => fetchBasins(body));
    } catch (error) {
      // "Sharpest that fits" also means within the server's time for one
      // request (a long formula): take the finest choice it says would fit.
      const fits = error.allowed && error.allowed.lower && error.allowed.lower.grid;
      const side = !state.basinGrid && fits ? [...BASIN_GRIDS].reverse().find((g) => g <= fits && g < body.grid) : undefined;
      if (!side) throw error;
      answer = await busy(section, () => fetchBasins({ ...body, grid: side }));
    }
    if (answer === undefined) return false;
    basinMap = answer;
    return true;
  }

  // Reload what the change needs, show errors next to the control at fault.
  async function refresh({ newSurface = false, animate = false } = {}) {
    stop();
    try {
      if (newSurface) {
        basinMap = null;
        // The readout of what a climber felt belongs to the old mountain: gone with it.
        ground += 1;
        $("mtn-ground").textContent = "";
        if (!(await loadSurface())) return;
      }
      if (!(await loadRun())) return;
      if (state.basins && !(await loadBasins())) return;
      if (!state.basins) basinMap = null;
      clearErrors(section);
    } catch (error) {
      showError(section, error, { landscape: "expression", formula: "expression", grid: "basins", optimizer: "options", momentum: "options", nesterov: "options", betas: "options" });
      if (newSurface) return;
      run = null;
    }
    frame = animate ? 0 : lastFrame();
    await draw();
    renderTable();
    renderFalls();
    renderBasinSummary();
    if (animate) play();
  }

  // Drawing -----------------------------------------------------------------------------
  function climberXY(i, upTo) {
    const xs = [];
    const ys = [];
    for (let k = 0; k <= upTo; k++) {
      const p = run.points[k][i];
      xs.push(p ? p[0] : null);
      ys.push(p ? p[1] : null);
    }
    return [xs, ys];
  }

  // Heights of a path in the 3-D view, lifted a hair so the surface does not hide it.
  function climberZ(i, upTo) {
    const lift = 0.015 * (scale.transform(surface.zmax) - scale.transform(surface.zmin));
    const zs = [];
    for (let k = 0; k <= upTo; k++) {
      const z = scale.transform(run.values[k][i]);
      zs.push(z === null ? null : z + lift);
    }
    return zs;
  }

  const in3d = () => state.view3d && hasWebGL();
  const engine = () => (drawnIn === "3d" ? plotly3d : Plotly);

  // The climbers in the 3-D view: traces of the surface's own chart.
  function climberTraces3d() {
    if (!run) return [];
    const traces = [];
    for (let i = 0; i < state.starts.length; i++) {
      const color = CLIMBER_COLORS[i % CLIMBER_COLORS.length];
      const [xs, ys] = climberXY(i, frame);
      const zs = climberZ(i, frame);
      const name = `climber ${i + 1}`;
      traces.push({ type: "scatter3d", mode: "lines", x: xs, y: ys, z: zs, line: { color, width: 5 }, name, hoverinfo: "skip" });
      traces.push({ type: "scatter3d", mode: "markers", x: xs.slice(-1), y: ys.slice(-1), z: zs.slice(-1), marker: { color, size: 6, line: { color: "#111", width: 1 } }, name });
    }
    return traces;
  }

  // The climbers on the 2-D map, for the overlaid chart: a path and a marker
  // each, and one last trace with a red cross where each fallen climber left the map.
  // The number of traces depends on the climbers only, never on the frame.
  function climberTraces2d() {
    const traces = [];
    const n = run ? state.starts.length : 0;
    for (let i = 0; i < n; i++) {
      const color = CLIMBER_COLORS[i % CLIMBER_COLORS.length];
      const [xs, ys] = climberXY(i, frame);
      const name = `climber ${i + 1}`;
      traces.push({ type: "scatter", mode: "lines+markers", x: xs, y: ys, line: { color, width: 2 }, marker: { color, size: 3 }, name });
      traces.push({ type: "scatter", mode: "markers", x: xs.slice(-1), y: ys.slice(-1), marker: { color, size: 14, symbol: "circle", line: { color: "#111", width: 2 } }, name });
    }
    const fell = falls().filter((f) => frame >= f.step);
    traces.push({
      type: "scatter",
      mode: "markers+text",
      x: fell.map((f) => f.point[0]),
      y: fell.map((f) => f.point[1]),
      text: fell.map(() => "fell off"),
      textposition: fell.map((f) => f.textPosition),
      textfont: { color: "#b3261e", size: 14, family: "system-ui, sans-serif" },
      marker: { symbol: "x-thin-open", size: 22, color: FALL_COLOR, line: { color: FALL_COLOR, width: 4 } },
      cliponaxis: false, // a cross on the map's edge is drawn whole
      name: "fell off here",
    });
    return traces;
  }

  // Where each climber that fell off left the map: the last point of its path
  // on the map, or where the step that threw it off crosses the map's edge.
  function falls() {
    if (!run || !surface) return [];
    const box = mapBox();
    const out = [];
    const statuses = [].concat(run.status);
    for (let i = 0; i < state.starts.length; i++) {
      if (statuses[i] !== "diverged") continue;
      let k = 1;
      let previous = run.points[0][i];
      for (; k < run.points.length; k++) {
        const p = run.points[k][i];
        if (!p || !inside(p, box)) break;
        previous = p;
      }
      k = Math.min(k, lastFrame());
      const next = run.points[k] && run.points[k][i];
      const point = next && next.every(Number.isFinite) && inside(previous, box) ? edgeCrossing(previous, next, box) : previous;
      const textPosition = `${point[1] > (box.y0 + box.y1) / 2 ? "bottom" : "top"} ${point[0] > (box.x0 + box.x1) / 2 ? "left" : "right"}`;
      out.push({ climber: i, step: k, point, textPosition, diverged: [].concat(run.diverged_at)[i] });
    }
    return out;
  }

  function mapBox() {
    return { x0: surface.x[0], x1: surface.x[surface.x.length - 1], y0: surface.y[0], y1: surface.y[surface.y.length - 1] };
  }

  function renderFalls() {
    const line = $("mtn-falls");
    const fallen = falls();
    line.hidden = !fallen.length;
    const when = (f) => (f.diverged >= 0 ? ` at step ${f.diverged}` : "");
    line.textContent = fallen.length
      ? `Climber ${fallen[0].climber + 1} fell off the mountain${when(fallen[0])}` +
        fallen.slice(1).map((f) => `, climber ${f.climber + 1}${when(f)}`).join("") +
        `: with learning rate ${fmt(state.lr, 4)} a step overshoots the valley and throws the climber off the map` +
        ` (a red ✕ marks where it left). A smaller learning rate keeps the climbers on the ground.`
      : "";
  }

  async function draw() {
    if (!surface) return;
    const [x0, x1] = [surface.x[0], surface.x[surface.x.length - 1]];
    const [y0, y1] = [surface.y[0], surface.y[surface.y.length - 1]];
    let traces;
    let figure;
    if (in3d() && !plotly3d) {
      $("mtn-view-note").textContent = "Loading the 3-D view…";
      try {
        plotly3d = await loadPlotly3d();
      } catch (error) {
        state.view3d = false;
        controls.view3d.checked = false;
        showError(section, error);
      }
    }
    if (in3d()) {
      $("mtn-view-note").textContent = "";
      traces = [
        {
          type: "surface",
          x: surface.x,
          y: surface.y,
          z: scale.z,
          colorscale: TERRAIN,
          showscale: false,
          opacity: 0.85, // the paths show through the slopes in front of them
          contours: { z: { show: true, usecolormap: true, project: { z: true }, width: 1 } },
          hoverinfo: "skip",
        },
        ...climberTraces3d(),
      ];
      figure = layout({
        margin: { l: 0, r: 0, t: 10, b: 0 },
        scene: {
          xaxis: { title: { text: "x" } },
          yaxis: { title: { text: "y" } },
          zaxis: { title: { text: scale.log ? "log₁₀(1 + f − min f)" : "f" } },
          aspectmode: "manual",
          aspectratio: { x: 1, y: 1, z: 0.6 },
          camera: { eye: { x: 1.0, y: -1.1, z: 0.75 } },
        },
        uirevision: "3d",
      });
    } else {
      $("mtn-view-note").textContent = state.view3d ? "The 3-D view needs WebGL, which this browser does not offer; showing the map." : "";
      traces = mapTraces(surface, scale, { basinMap, arrows: state.arrows });
      // On a phone the colour bar goes under the map, which then has the whole width
      // (beside it, the bar left the square map about 225 px of a 370 px screen).
      traces[0].colorbar = colorbarFor(plot, traces[0].colorbar);
      figure = layout({
        dragmode: false,
        margin: { l: 50, r: 10, t: 12, b: 40 },
        xaxis: axis("x", { range: [x0, x1], constrain: "domain" }),
        // Equal scales on both axes (a round bowl looks round) unless that would squash the map.
        yaxis: axis("y", { range: [y0, y1], ...(equalScales(x1 - x0, y1 - y0) ? { scaleanchor: "x", constrain: "domain" } : {}) }),
      });
    }
    const view = in3d() ? "3d" : "map";
    if (drawnIn && (drawnIn !== view || drawnSurface !== surface)) {
      // Each bundle keeps its own state on the chart: the other one starts afresh.
      // A new mountain starts afresh too: Plotly.react keeps the old equal-scale
      // constraint's stretched x range (booth's map, then a formula's: x ran to +-8.7).
      (drawnIn === "3d" ? plotly3d : Plotly).purge(plot);
      plot.dataset.followed = "";
    }
    drawnIn = view;
    drawnSurface = surface;
    await engine().react(plot, traces, figure, CONFIG);
    if (!plot.dataset.followed) {
      // The map changes size with the window: the climbers' layer follows it.
      plot.dataset.followed = "1";
      plot.on("plotly_afterplot", () => {
        if (!in3d() && layer.data) fitLayer();
      });
    }
    section.dataset.view = in3d() ? "3d" : "map";
    layer.hidden = in3d();
    if (in3d()) Plotly.purge(layer);
    else await Plotly.react(layer, climberTraces2d(), layerLayout(), LAYER_CONFIG);
    showFrame();
  }

  // The climbers' layout: axes exactly where the map drew its own (the map's
  // colour bar and equal scales decide those), nothing else drawn.
  function layerLayout() {
    const full = plot._fullLayout;
    const xa = full.xaxis;
    const ya = full.yaxis;
    return {
      width: full.width,
      height: full.height,
      margin: { l: xa._offset, r: full.width - xa._offset - xa._length, t: ya._offset, b: full.height - ya._offset - ya._length, pad: 0, autoexpand: false },
      paper_bgcolor: "rgba(0,0,0,0)",
      plot_bgcolor: "rgba(0,0,0,0)",
      showlegend: false,
      hovermode: false,
      dragmode: false,
      font: { family: "system-ui, -apple-system, 'Segoe UI', sans-serif", size: 13 },
      xaxis: { range: [...xa.range], visible: false, fixedrange: true },
      yaxis: { range: [...ya.range], visible: false, fixedrange: true },
    };
  }

  function fitLayer() {
    const wanted = layerLayout();
    const have = layer._fullLayout;
    if (!have) return;
    const same = have.width === wanted.width && have.height === wanted.height &&
      ["l", "r", "t", "b"].every((side) => Math.abs(have.margin[side] - wanted.margin[side]) < 0.5) &&
      have.xaxis.range.every((v, k) => v === wanted.xaxis.range[k]) && have.yaxis.range.every((v, k) => v === wanted.yaxis.range[k]);
    if (!same) Plotly.relayout(layer, { width: wanted.width, height: wanted.height, margin: wanted.margin, "xaxis.range": wanted.xaxis.range, "yaxis.range": wanted.yaxis.range });
  }

  // Animation: only the climbers change from frame to frame.
  async function drawFrame() {
    if (!run || !plot.data) return;
    if (in3d()) {
      const update = { x: [], y: [], z: [] };
      for (let i = 0; i < state.starts.length; i++) {
        const [xs, ys] = climberXY(i, frame);
        const zs = climberZ(i, frame);
        update.x.push(xs, xs.slice(-1));
        update.y.push(ys, ys.slice(-1));
        update.z.push(zs, zs.slice(-1));
      }
      const n = 2 * state.starts.length;
      const traces = Array.from({ length: n }, (_, i) => plot.data.length - n + i);
      await plotly3d.restyle(plot, update, traces);
    } else if (layer.data) {
      // Plotly.animate without a redraw moves these traces alone, several times
      // faster than restyle. It redraws every layer of the chart it is given,
      // dropping the heatmap and contours it cannot animate: so the climbers
      // have a chart of their own, over the map, and the terrain is never touched.
      const traces = climberTraces2d();
      const data = traces.map((t) => ({ x: t.x, y: t.y, ...(t.text ? { text: t.text, textposition: t.textposition } : {}) }));
      await Plotly.animate(layer, { data, traces: traces.map((_, k) => k) }, { transition: { duration: 0 }, frame: { duration: 0, redraw: false }, mode: "immediate" });
    }
    framesDrawn += 1;
    showFrame();
  }

  function showFrame() {
    const last = lastFrame();
    $("mtn-frame").textContent = run ? `Step ${frame} of ${last}${frame === last ? " (the end)" : ""}` : "No climbers yet: click the map.";
    section.dataset.frame = String(frame);
    section.dataset.framesDrawn = String(framesDrawn);
    section.dataset.playing = playing ? "1" : "0";
    $("mtn-play").textContent = playing ? "❚❚ Pause" : "▶ Play";
    $("mtn-play").setAttribute("aria-label", playing ? "Pause" : "Play");
  }

  // The whole descent plays in about ANIMATION_MS, however fast the machine draws.
  let playToken = 0;
  function play() {
    if (!run) return;
    if (frame >= lastFrame()) frame = 0;
    playing = true;
    const mine = ++playToken;
    const first = frame;
    const began = performance.now();
    const duration = (ANIMATION_MS * (lastFrame() - first)) / Math.max(1, lastFrame());
    const tick = async () => {
      if (!playing || mine !== playToken) return;
      const t = Math.min(1, (performance.now() - began) / Math.max(1, duration));
      frame = first + Math.round(t * (lastFrame() - first));
      await drawFrame();
      if (mine !== playToken) return;
      if (frame >= lastFrame()) stop();
      else requestAnimationFrame(tick);
    };
    showFrame();
    requestAnimationFrame(tick);
  }

  function stop() {
    playing = false;
    playToken++;
    showFrame();
  }

  function renderTable() {
    const body = section.querySelector("#mtn-table tbody");
    body.replaceChildren();
    if (!run) return;
    const statuses = [].concat(run.status);
    state.starts.forEach((start, i) => {
      const row = document.createElement("tr");
      const final = run.final_point[i];
      const status = statuses[i];
      const diverged = [].concat(run.diverged_at)[i];
      row.dataset.climber = String(i);
      row.dataset.status = status;
      row.dataset.finalPoint = JSON.stringify(final);
      row.dataset.finalValue = JSON.stringify([].concat(run.final_value)[i]);
      const cells = [
        `<span class="swatch"></span>${i + 1}`,
        fmtPoint(start, 4),
        `<span class="status-${status}">${STATUS_WORDS[status] || status}${status === "diverged" && diverged !== null && diverged >= 0 ? ` at step ${diverged}` : ""}</span>`,
        String([].concat(run.steps_taken)[i]),
        fmtPoint(final, 6),
        fmt([].concat(run.final_value)[i], 6),
      ];
      row.innerHTML = cells.map((c) => `<td>${c}</td>`).join("");
      // Set through the style object: the server's CSP refuses style="..." in markup.
      row.querySelector(".swatch").style.background = CLIMBER_COLORS[i % CLIMBER_COLORS.length];
      body.append(row);
    });
  }

  function renderBasinSummary() {
    const line = $("mtn-basin-summary");
    const legend = $("mtn-basin-legend");
    legend.replaceChildren();
    $("mtn-basins").textContent = basinMap ? "Hide basin map" : "Basin map (many climbers)";
    if (!basinMap) {
      line.textContent = "";
      return;
    }
    const total = basinMap.labels.length * basinMap.labels[0].length;
    line.textContent =
      `Basin map: ${total.toLocaleString("en")} climbers (${basinMap.xs.length} × ${basinMap.ys.length}), one per grid point, all with these settings; each start is coloured by where its climber ends` +
      (state.view3d ? " (drawn on the flat map: untick 3-D view to see it)." : ".");
    const entries = Object.entries(basinMap.counts)
      .map(([label, count]) => [Number(label), count])
      .sort((a, b) => b[1] - a[1]);
    for (const [label, count] of entries) {
      const item = document.createElement("li");
      item.dataset.label = String(label);
      const swatch = document.createElement("span");
      swatch.className = "swatch square";
      swatch.style.background = basinColor(label);
      item.append(swatch, `${basinName(basinMap, label)}: ${Math.round((100 * count) / total)}%`);
      legend.append(item);
    }
  }

  // Events ---------------------------------------------------------------------------------
  controls.landscape.addEventListener("change", () => {
    state.landscape = controls.landscape.value;
    if (!state.landscape) {
      state.formula = controls.formula.value;
      controls.formula.focus();
    }
    const entry = state.landscape && describe(state.landscape);
    // The landscape's own start (the catalogue's), else a point inside its map.
    if (entry) state.starts = [entry.start ? entry.start.map(round) : [round(entry.domain[0][0] / 2), round(entry.domain[1][1] / 2)]];
    controls.startX.value = "";
    state.basins = false;
    syncControls();
    changed();
    refresh({ newSurface: true });
  });
  controls.formula.addEventListener("change", () => {
    state.formula = controls.formula.value.trim();
    state.landscape = "";
    state.basins = false;
    syncControls();
    changed();
    refresh({ newSurface: true });
  });
  for (const key of ["optimizer", "lr", "steps", "momentum", "nesterov", "beta1", "beta2"]) {
    controls[key].addEventListener("change", () => {
      const c = controls[key];
      state[key] = c.type === "checkbox" ? c.checked : c.tagName === "SELECT" ? c.value : Number(c.value);
      syncControls();
      changed();
      refresh();
    });
  }
  controls.arrows.addEventListener("change", () => {
    state.arrows = controls.arrows.checked;
    changed();
    draw();
  });
  controls.view3d.addEventListener("change", async () => {
    state.view3d = controls.view3d.checked;
    changed();
    await draw();
    renderBasinSummary();
  });

  function addClimber(point) {
    state.starts = [...state.starts, point.map(round)].slice(-CLIMBER_COLORS.length);
    changed();
    refresh({ animate: true });
    feelTheGround(state.starts[state.starts.length - 1]);
  }

  // What the climber feels where it lands: the value, the gradient, the way down.
  const fetchGradient = latest((body) => post("/api/gradient", body));
  async function feelTheGround(point) {
    const line = $("mtn-ground");
    const mine = ground;
    try {
      const answer = await fetchGradient({ ...source(), point });
      if (answer !== undefined && mine === ground) line.textContent = `Feel the ground: ${answer.sentence}`;
    } catch {
      if (mine === ground) line.textContent = ""; // the descent's own request shows the error
    }
  }
  plot.addEventListener("click", (event) => {
    if (state.view3d) return;
    const point = dataPoint(plot, event);
    if (point) addClimber(point);
  });
  $("mtn-add").addEventListener("click", () => {
    const x = Number(controls.startX.value);
    const y = Number(controls.startY.value);
    if (controls.startX.value === "" || controls.startY.value === "" || !Number.isFinite(x) || !Number.isFinite(y)) {
      showError(section, Object.assign(new Error("Type two numbers, x and y, for the climber's start."), { field: "start" }));
      return;
    }
    addClimber([x, y]);
  });
  $("mtn-clear").addEventListener("click", () => {
    state.starts = [];
    changed();
    refresh();
  });
  $("mtn-play").addEventListener("click", () => (playing ? stop() : play()));
  // The frame is set before stop(), which shows it: the other order showed the
  // old step's number until the drawing caught up.
  $("mtn-step").addEventListener("click", () => {
    frame = Math.min(lastFrame(), frame + 1);
    stop();
    drawFrame();
  });
  $("mtn-reset").addEventListener("click", () => {
    frame = 0;
    stop();
    drawFrame();
  });
  async function showBasins() {
    try {
      if (await loadBasins()) {
        clearErrors(section);
        await draw();
      }
    } catch (error) {
      state.basins = false;
      basinMap = null;
      changed();
      showError(section, error, { grid: "basins", landscape: "basins", expression: "basins", lr: "basins", steps: "basins", options: "basins" });
      await draw();
    }
    renderBasinSummary();
  }
  $("mtn-basins").addEventListener("click", async () => {
    if (state.basins) {
      state.basins = false;
      basinMap = null;
      changed();
      await draw();
      renderBasinSummary();
      return;
    }
    state.basins = true;
    changed();
    await showBasins();
  });
  controls.basinGrid.addEventListener("change", async () => {
    state.basinGrid = Number(controls.basinGrid.value);
    changed();
    if (state.basins) await showBasins();
  });

  return {
    async apply(params) {
      stop();
      if (!catalogue) {
        catalogue = await loadPicker(section, controls);
        if (!catalogue) return;
      }
      state.formula = readString(params, "f", "");
      state.landscape = readString(params, "landscape", state.formula ? "" : DEFAULTS.landscape);
      if (state.landscape && !catalogue.landscapes.some((l) => l.name === state.landscape)) state.landscape = DEFAULTS.landscape;
      state.optimizer = readString(params, "optimizer", DEFAULTS.optimizer);
      state.lr = readNumber(params, "lr", DEFAULTS.lr);
      state.steps = readInteger(params, "steps", DEFAULTS.steps);
      state.momentum = readNumber(params, "momentum", DEFAULTS.momentum);
      state.nesterov = readBool(params, "nesterov", DEFAULTS.nesterov);
      [state.beta1, state.beta2] = (params.betas || `${DEFAULTS.beta1},${DEFAULTS.beta2}`).split(",").map(Number);
      if (!Number.isFinite(state.beta1) || !Number.isFinite(state.beta2)) [state.beta1, state.beta2] = [DEFAULTS.beta1, DEFAULTS.beta2];
      state.starts = readPoints(params, "start", "start" in params ? [] : DEFAULTS.starts);
      state.arrows = readBool(params, "arrows");
      state.view3d = readBool(params, "view") || params.view === "3d";
      state.basins = readBool(params, "basins");
      const detail = readInteger(params, "detail", 0);
      state.basinGrid = BASIN_GRIDS.includes(detail) ? detail : 0;
      syncControls();
      await refresh({ newSurface: true });
    },
    params() {
      const p = {
        landscape: state.landscape || undefined,
        f: state.landscape ? undefined : state.formula,
        optimizer: state.optimizer,
        lr: state.lr,
        steps: state.steps,
        start: writePoints(state.starts),
      };
      const o = options();
      if (o.momentum) p.momentum = o.momentum;
      if (o.nesterov) p.nesterov = 1;
      if (o.betas) p.betas = o.betas.join(",");
      if (state.arrows) p.arrows = 1;
      if (state.view3d) p.view = "3d";
      if (state.basins) p.basins = 1;
      if (state.basinGrid) p.detail = state.basinGrid;
      return p;
    },
    python() {
      const { setup, name } = pythonSource(state);
      const keywords = pyKeywords({ optimizer: state.optimizer, lr: state.lr, steps: state.steps, ...nonDefaultOptions() });
      const lines = ["import downhill as dh", ...setup, ""];
      if (state.starts.length === 1) {
        lines.push(`trajectory = dh.descend(${name}, ${py(state.starts[0])}, ${keywords})`);
        lines.push("print(trajectory.summary())");
        lines.push('print("final point:", trajectory.final_point.tolist())');
      } else if (state.starts.length > 1) {
        lines.push("# Many climbers at once: one row per start.");
        lines.push(`starts = ${py(state.starts)}`);
        lines.push(`trajectory = dh.descend(${name}, starts, ${keywords})`);
        lines.push("print(trajectory.summary())");
        lines.push("for start, status, final in zip(starts, trajectory.status, trajectory.final_point.tolist()):");
        lines.push('    print(start, status, "final point:", final)');
      }
      if (state.basins) {
        lines.push("", "# The basin map: a climber at every point of a grid, labelled by where it ends.");
        lines.push("from downhill.optim.basins import basins");
        lines.push(`result = basins(${name}, ${pyKeywords({ optimizer: state.optimizer, lr: state.lr, grid: basinMap ? basinMap.xs.length : basinGrid(), steps: state.steps, ...nonDefaultOptions() })})`);
        lines.push("print(result.summary())");
      }
      return lines.join("\n") + "\n";
    },
    shown() {
      if (plot.data) engine().Plots.resize(plot);
    },
  };

  function nonDefaultOptions() {
    const o = options();
    if (o.momentum === 0) delete o.momentum;
    if (o.betas && o.betas[0] === 0.9 && o.betas[1] === 0.999) delete o.betas;
    return o;
  }
}

function inside(p, box) {
  return p.every(Number.isFinite) && p[0] >= box.x0 && p[0] <= box.x1 && p[1] >= box.y0 && p[1] <= box.y1;
}

// Where the segment from a (on the map) to b (off it) crosses the map's edge.
function edgeCrossing(a, b, box) {
  let t = 1;
  const d = [b[0] - a[0], b[1] - a[1]];
  for (const [k, low, high] of [[0, box.x0, box.x1], [1, box.y0, box.y1]]) {
    if (d[k] > 0 && b[k] > high) t = Math.min(t, (high - a[k]) / d[k]);
    if (d[k] < 0 && b[k] < low) t = Math.min(t, (low - a[k]) / d[k]);
  }
  return [a[0] + t * d[0], a[1] + t * d[1]];
}

function equalScales(width, height) {
  return width / height < 2.2 && height / width < 1.2;
}

function round(v) {
  return Math.round(v * 1000) / 1000;
}
