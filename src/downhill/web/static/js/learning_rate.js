// Panel 4, the learning rate: one start, three learning rates side by side
// (too small, good, too big), the 2/L stability bound from the curvature
// (POST /api/lr_advice), a sweep of final values over learning rates
// (POST /api/lr_sweep), loss curves, and a schedule.

import { post, latest } from "./api.js";
import { fmt, fmtPoint, py, pyKeywords } from "./format.js";
import { Plotly, CONFIG, LR_COLORS, LR_INK, TERRAIN, layout, axis, heightScale, dataPoint } from "./plots.js";
import { readInteger, readNumber, readNumbers, readString } from "./state.js";
import { showError, clearErrors, busy, fillSelect } from "./ui.js";
import { loadPicker, scheduleNames, sourceOf, pythonSource } from "./landscape_picker.js";

const DEFAULTS = { landscape: "booth", start: [-6, -6], optimizer: "sgd", steps: 100 };
const KINDS = ["small", "good", "big"];
const KIND_NAMES = { small: "too small", good: "good", big: "too big" };

// The schedules offered, with options a learner can read (and sensible
// starting values for a run of `steps` steps). Names are downhill's
// (PyTorch's schedulers: lr_scheduler.names()).
const SCHEDULES = {
  "": { label: "none (constant)", options: {} },
  step: { label: "step decay", options: { step_size: (s) => Math.max(1, Math.round(s / 4)), gamma: () => 0.5 } },
  exponential: { label: "exponential decay", options: { gamma: () => 0.97 } },
  cosine: { label: "cosine annealing", options: { T_max: (s) => s, eta_min: () => 0 } },
  cosine_warm_restarts: { label: "cosine with restarts", options: { T_0: (s) => Math.max(1, Math.round(s / 4)) } },
  linear: { label: "linear warm-up", options: { start_factor: () => 0.1, total_iters: (s) => Math.max(1, Math.round(s / 5)) } },
  polynomial: { label: "polynomial decay", options: { total_iters: (s) => s, power: () => 2 } },
};
const INTEGER_OPTIONS = new Set(["step_size", "T_max", "T_0", "total_iters"]);

export function createLearningRate(section, { changed }) {
  const $ = (id) => section.querySelector(`#${id}`);
  const controls = {
    landscape: $("lr-landscape"),
    formula: $("lr-formula"),
    startX: $("lr-start-x"),
    startY: $("lr-start-y"),
    optimizer: $("lr-optimizer"),
    steps: $("lr-steps"),
    small: $("lr-small"),
    good: $("lr-good"),
    big: $("lr-big"),
    schedule: $("lr-schedule"),
  };
  const maps = { small: $("lr-map-small"), good: $("lr-map-good"), big: $("lr-map-big") };

  const state = { ...DEFAULTS, formula: "", lrs: null, schedule: "", scheduleOptions: {} };
  let catalogue = null;
  let surface = null;
  let scale = null;
  let advice = null;
  let runs = null; // {small, good, big}: /api/descend answers
  let sweep = null;

  const fetchAll = latest((work) => work());
  const source = () => sourceOf(state);

  function scheduleSpec() {
    return state.schedule ? { name: state.schedule, options: { ...state.scheduleOptions } } : undefined;
  }

  function syncControls() {
    controls.landscape.value = state.landscape;
    controls.formula.value = state.landscape ? (catalogue.landscapes.find((l) => l.name === state.landscape) || {}).formula || "" : state.formula;
    controls.startX.value = state.start[0];
    controls.startY.value = state.start[1];
    controls.optimizer.value = state.optimizer;
    controls.steps.value = state.steps;
    if (state.lrs) KINDS.forEach((kind, i) => (controls[kind].value = state.lrs[i]));
    controls.schedule.value = state.schedule;
    renderScheduleOptions();
  }

  function renderScheduleOptions() {
    const box = $("lr-schedule-options");
    box.replaceChildren();
    for (const [name, value] of Object.entries(state.scheduleOptions)) {
      const id = `lr-schedule-${name}`;
      const label = document.createElement("label");
      label.htmlFor = id;
      label.textContent = name;
      const input = document.createElement("input");
      input.id = id;
      input.type = "number";
      input.step = INTEGER_OPTIONS.has(name) ? "1" : "any";
      input.className = "short";
      input.value = value;
      input.addEventListener("change", () => {
        state.scheduleOptions[name] = Number(input.value);
        changed();
        refresh();
      });
      box.append(label, input);
    }
  }

  function defaultOptions(name) {
    const spec = SCHEDULES[name] || { options: {} };
    return Object.fromEntries(Object.entries(spec.options).map(([k, f]) => [k, f(state.steps)]));
  }

  // A landscape's start: the catalogue's own when it names one, else a point
  // inside its map, away from the minima at the middle (as the mountain panel's).
  function defaultStart(name) {
    const entry = catalogue.landscapes.find((l) => l.name === name);
    if (!entry) return DEFAULTS.start;
    if (Array.isArray(entry.start) && entry.start.length === 2) return [...entry.start];
    if (name === DEFAULTS.landscape) return DEFAULTS.start;
    const [[x0], [, y1]] = entry.domain;
    return [Math.round(x0 * 50) / 100, Math.round(y1 * 50) / 100];
  }

  async function chosenRates() {
    try {
      return await post("/api/three_rates", { ...source(), start: state.start, optimizer: state.optimizer, steps: state.steps });
    } catch (error) {
      if (error.status >= 400 && error.status < 500 && error.field !== "landscape" && error.field !== "expression") return null;
      throw error;
    }
  }

  function ratesFromAnswer(answer) {
    if (!answer || !answer.small || !answer.good) return null;
    // Where no rate of the sweep fails (none falls off, none ends higher), "too big" is ten times good.
    const big = answer.big ? answer.big.lr : answer.good.lr * 10;
    const values = [answer.small.lr, answer.good.lr, big].map((v) => Number(v.toPrecision(3)));
    return values.every((v) => Number.isFinite(v) && v > 0) ? values : null;
  }

  // Learning rates from the curvature: well below, at, and just past the bound.
  function advisedRates(answer) {
    const L = answer.curvature;
    if (!(L > 0) || !Number.isFinite(L)) return [0.001, 0.01, 0.1];
    return [0.1 / L, 1 / L, 2.2 / L].map((v) => Number(v.toPrecision(3)));
  }

  // Server calls ---------------------------------------------------------------------
  async function refresh({ newSurface = false, newAdvice = false } = {}) {
    const work = async () => {
      const [surfaceAnswer, adviceAnswer] = await Promise.all([
        newSurface || !surface ? post("/api/surface", { ...source(), n: 70, gradients: false }) : surface,
        newAdvice || !advice ? adviceAt(state.start) : advice,
      ]);
      // No rates chosen by the learner: the library picks three from a sweep of real
      // climbs (POST /api/three_rates), so each does what its name says on this
      // mountain; the curvature's 1/(10L), 1/L, 2.2/L only where that sweep fails.
      const choice = state.lrs ? null : await chosenRates();
      const rates = state.lrs || ratesFromAnswer(choice) || advisedRates(adviceAnswer);
      const common = { ...source(), start: state.start, optimizer: state.optimizer, steps: state.steps };
      const schedule = scheduleSpec();
      const runAnswers = await Promise.all(
        rates.map((lr) => post("/api/descend", { ...common, lr, ...(schedule ? { schedule } : {}) })),
      );
      const sweepAnswer = await post("/api/lr_sweep", { ...common, lrs: sweepRates(rates, adviceAnswer) });
      return { surfaceAnswer, adviceAnswer, rates, runAnswers, sweepAnswer };
    };
    let answer;
    try {
      answer = await busy(section, () => fetchAll(work));
    } catch (error) {
      showError(section, error, { landscape: "expression", lrs: "lr", point: "start", options: "schedule" });
      return;
    }
    if (answer === undefined) return;
    clearErrors(section);
    surface = answer.surfaceAnswer;
    scale = heightScale(surface.z, surface.zmin, surface.zmax);
    advice = answer.adviceAnswer;
    state.lrs = answer.rates;
    runs = Object.fromEntries(KINDS.map((k, i) => [k, answer.runAnswers[i]]));
    sweep = answer.sweepAnswer;
    syncControls();
    changed();
    await draw();
  }

  // No advice where the curvature is not finite (a kink): say so, carry on.
  async function adviceAt(point) {
    try {
      return await post("/api/lr_advice", { ...source(), point });
    } catch (error) {
      if (error.status !== 400 && error.status !== 422) throw error;
      return { curvature: NaN, max_stable_lr: null, suggested_lr: null, message: error.message };
    }
  }

  // A sweep that spans the three chosen rates and the bound, log-spaced.
  function sweepRates(rates, adviceAnswer) {
    const bound = adviceAnswer.max_stable_lr;
    const values = [...rates];
    if (Number.isFinite(bound) && bound > 0 && bound < 1e6) values.push(bound);
    const low = Math.min(...values) / 4;
    const high = Math.max(...values) * 2;
    const n = 25;
    return Array.from({ length: n }, (_, i) => Number((low * (high / low) ** (i / (n - 1))).toPrecision(4)));
  }

  // Drawing ---------------------------------------------------------------------------
  async function draw() {
    const bound = advice.max_stable_lr;
    $("lr-advice").textContent = advice.message || "";
    section.dataset.maxStableLr = String(bound);

    const [x0, x1] = [surface.x[0], surface.x[surface.x.length - 1]];
    const [y0, y1] = [surface.y[0], surface.y[surface.y.length - 1]];
    await Promise.all(
      KINDS.map((kind, i) => {
        const run = runs[kind];
        const xs = run.points.map((p) => (p ? p[0] : null));
        const ys = run.points.map((p) => (p ? p[1] : null));
        const color = LR_COLORS[kind];
        return Plotly.react(
          maps[kind],
          [
            { type: "contour", x: surface.x, y: surface.y, z: scale.z, colorscale: TERRAIN, showscale: false, ncontours: 22, contours: { coloring: "heatmap" }, line: { color: "rgba(20,30,40,0.25)", width: 0.5 }, hoverinfo: "skip" },
            { type: "scatter", mode: "lines+markers", x: xs, y: ys, line: { color: "#ffffff", width: 3.5 }, marker: { size: 0 }, hoverinfo: "skip" },
            { type: "scatter", mode: "lines+markers", x: xs, y: ys, line: { color, width: 2 }, marker: { color, size: 4 }, hovertemplate: "(%{x:.4g}, %{y:.4g})<extra></extra>" },
            { type: "scatter", mode: "markers", x: [state.start[0]], y: [state.start[1]], marker: { color: "#ffb000", size: 12, line: { color: "#111", width: 2 } }, hoverinfo: "skip" },
          ],
          layout({
            dragmode: false,
            title: { text: `${KIND_NAMES[kind]}: lr = ${fmt(state.lrs[i], 3)}`, font: { size: 14, color: LR_INK[kind] }, y: 0.97 },
            margin: { l: 36, r: 8, t: 30, b: 30 },
            xaxis: axis("", { range: [x0, x1] }),
            yaxis: axis("", { range: [y0, y1] }),
          }),
          { ...CONFIG, displayModeBar: false },
        );
      }),
    );
    renderTable();
    renderOutcome();
    await Promise.all([drawLoss(), drawBound(bound), drawSchedule()]);
  }

  async function drawLoss() {
    const all = KINDS.flatMap((k) => runs[k].values.filter((v) => v !== null && Number.isFinite(v)));
    const positive = all.every((v) => v > 0);
    const startValue = runs.good.values[0];
    const traces = KINDS.map((kind, i) => ({
      type: "scatter",
      mode: "lines",
      x: runs[kind].values.map((_, k) => k),
      y: runs[kind].values,
      name: `${KIND_NAMES[kind]} (lr ${fmt(state.lrs[i], 3)})`,
      line: { color: LR_COLORS[kind], width: 2 },
    }));
    const low = Math.min(...all);
    const yaxis = positive
      ? axis("f (log scale)", { type: "log", exponentformat: "power", range: [Math.log10(low) - 0.3, Math.log10(Math.max(startValue, low) * 30)] })
      : axis("f", { range: [low - 0.1 * Math.abs(low), startValue + 2 * Math.abs(startValue - low) + 1] });
    await Plotly.react(
      $("lr-loss"),
      traces,
      layout({
        showlegend: true,
        legend: { x: 0.01, y: 0.01, yanchor: "bottom", bgcolor: "rgba(255,255,255,0.85)", font: { size: 11 } },
        title: { text: "height f along the way", font: { size: 14 }, y: 0.97 },
        margin: { l: 56, r: 10, t: 30, b: 40 },
        xaxis: axis("step"),
        yaxis,
      }),
      CONFIG,
    );
  }

  async function drawBound(bound) {
    const rows = sweep.rows;
    const finals = rows.map((r) => r.final_value);
    const finite = finals.filter((v) => v !== null && Number.isFinite(v));
    const positive = finite.every((v) => v > 0);
    const startValue = sweep.start_value ?? runs.good.values[0];
    const cap = positive ? Math.max(startValue, Math.min(...finite)) * 1e3 : Math.max(...finite);
    const y = finals.map((v) => (v === null || v > cap ? cap : v));
    const labelColor = { "too small": LR_COLORS.small, good: LR_COLORS.good, "too big": LR_COLORS.big };
    const traces = [
      { type: "scatter", mode: "lines", x: rows.map((r) => r.lr), y, line: { color: "#9aa5b1", width: 1.5 }, hoverinfo: "skip" },
      {
        type: "scatter",
        mode: "markers",
        x: rows.map((r) => r.lr),
        y,
        marker: { size: 7, color: rows.map((r) => labelColor[r.label] || "#555"), symbol: rows.map((r) => (r.status === "diverged" ? "x" : "circle")) },
        text: rows.map((r) => `${r.label}: ${r.status}`),
        hovertemplate: "lr %{x:.3g}<br>final f %{y:.4g}<br>%{text}<extra></extra>",
      },
      ...KINDS.map((kind, i) => ({
        type: "scatter",
        mode: "markers",
        x: [state.lrs[i]],
        y: [Math.min(cap, runs[kind].final_value ?? cap)],
        marker: { size: 14, color: LR_COLORS[kind], line: { color: "#111", width: 2 } },
        name: KIND_NAMES[kind],
        hovertemplate: `${KIND_NAMES[kind]}: lr %{x:.3g}<extra></extra>`,
      })),
    ];
    const shapes = [];
    const annotations = [];
    // The rates the sweep itself saw arrive, shaded green (sweep.good_band = [low, high],
    // LRSweep.good_band: from one tried rate to another, never halfway to the next one,
    // which may fall off; test_e2e_seen reads the screen for that).
    const band = sweep.good_band;
    if (Array.isArray(band) && band.length === 2 && band.every((v) => Number.isFinite(v) && v > 0)) {
      shapes.push({ type: "rect", xref: "x", yref: "paper", x0: band[0], x1: band[1], y0: 0, y1: 1, fillcolor: LR_COLORS.good, opacity: 0.12, line: { width: 0 }, layer: "below" });
      annotations.push({ x: Math.log10(Math.sqrt(band[0] * band[1])), y: 0, xref: "x", yref: "paper", text: "good", showarrow: false, yanchor: "bottom", font: { color: LR_INK.good, size: 12 } });
    }
    if (Number.isFinite(bound) && bound > 0) {
      const right = rows[rows.length - 1].lr * 1.5;
      shapes.push(
        { type: "rect", xref: "x", yref: "paper", x0: bound, x1: Math.max(right, bound * 1.5), y0: 0, y1: 1, fillcolor: LR_COLORS.big, opacity: 0.08, line: { width: 0 } },
        { type: "line", xref: "x", yref: "paper", x0: bound, x1: bound, y0: 0, y1: 1, line: { color: LR_COLORS.big, width: 2, dash: "dash" } },
      );
      annotations.push({ x: Math.log10(bound), y: 1, xref: "x", yref: "paper", text: `2/L = ${fmt(bound, 4)}`, showarrow: false, xanchor: "right", yanchor: "top", font: { color: LR_INK.big, size: 12 }, bgcolor: "rgba(255,255,255,0.8)" });
    }
    await Plotly.react(
      $("lr-bound"),
      traces,
      layout({
        title: { text: `final f after ${state.steps} steps (constant rate)`, font: { size: 14 }, y: 0.97 },
        margin: { l: 56, r: 10, t: 30, b: 40 },
        xaxis: axis("learning rate (log scale)", { type: "log", exponentformat: "power" }),
        yaxis: axis("final f", positive ? { type: "log", exponentformat: "power" } : {}),
        shapes,
        annotations,
      }),
      CONFIG,
    );
  }

  async function drawSchedule() {
    const traces = KINDS.map((kind) => ({
      type: "scatter",
      mode: "lines",
      x: runs[kind].lrs.map((_, k) => k),
      y: runs[kind].lrs,
      name: KIND_NAMES[kind],
      line: { color: LR_COLORS[kind], width: 2, shape: "hv" },
    }));
    await Plotly.react(
      $("lr-schedule-plot"),
      traces,
      layout({
        title: { text: `learning rate at each step${state.schedule ? ` (${SCHEDULES[state.schedule]?.label || state.schedule})` : ""}`, font: { size: 14 }, y: 0.95 },
        margin: { l: 56, r: 10, t: 30, b: 36 },
        xaxis: axis("step"),
        yaxis: axis("lr (log scale)", { type: "log", dtick: rateTicks(), exponentformat: "power", range: rateRange() }),
      }),
      CONFIG,
    );
  }

  // Whole decades around the rates, so the log axis labels only powers of ten.
  function rateRange() {
    const all = KINDS.flatMap((k) => runs[k].lrs).filter((v) => v > 0);
    return [Math.floor(Math.log10(Math.min(...all)) - 0.05), Math.ceil(Math.log10(Math.max(...all)) + 0.05)];
  }

  function rateTicks() {
    const [low, high] = rateRange();
    return Math.max(1, Math.ceil((high - low) / 4));
  }

  // What each rate did, in words that follow the results (not the labels'
  // promises): "too big" falls off on a bowl, but on a bounded mountain such as
  // Ackley's it cannot blow up, and fails by ending higher instead.
  function renderOutcome() {
    const good = runs.good;
    const said = KINDS.map((kind, i) => {
      const run = runs[kind];
      const name = `${KIND_NAMES[kind]} (lr ${fmt(state.lrs[i], 3)})`;
      if (run.status === "diverged") return `${name} fell off the mountain at step ${run.diverged_at}`;
      const where = `f = ${fmt(run.final_value, 3)}`;
      if (kind === "good") return `${name} ${run.status === "converged" ? "arrived" : "ran out of steps"} at ${where}`;
      const higher = Number.isFinite(good.final_value) && run.final_value > good.final_value;
      if (kind === "small") {
        return higher ? `${name} never got as low: it ended at ${where}` : `${name} ended as low as good, at ${where}: not too small here`;
      }
      return higher
        ? `${name} did not fall off (this mountain is bounded, a climber cannot blow up on it) but failed all the same: it ended higher, at ${where}`
        : `${name} did not fail here: it ended at ${where}; try a bigger rate`;
    });
    $("lr-outcome").textContent = `${said[0]}; ${said[1]}; ${said[2]}.`.replace(/^./, (c) => c.toUpperCase());
  }

  function renderTable() {
    const body = section.querySelector("#lr-table tbody");
    body.replaceChildren();
    KINDS.forEach((kind, i) => {
      const run = runs[kind];
      const row = document.createElement("tr");
      row.dataset.kind = kind;
      row.dataset.status = run.status;
      row.dataset.finalPoint = JSON.stringify(run.final_point);
      const words = { converged: "arrived", diverged: `fell off at step ${run.diverged_at}`, max_steps: "ran out of steps" };
      row.innerHTML = [
        `<span class="lr-${kind}">${KIND_NAMES[kind]}</span>: ${fmt(state.lrs[i], 4)}`,
        `<span class="status-${run.status}">${words[run.status] || run.status}</span>`,
        String(run.steps_taken),
        fmtPoint(run.final_point, 6),
        fmt(run.final_value, 6),
      ].map((c) => `<td>${c}</td>`).join("");
      body.append(row);
    });
  }

  // Events ------------------------------------------------------------------------------
  controls.landscape.addEventListener("change", () => {
    state.landscape = controls.landscape.value;
    if (!state.landscape) {
      controls.formula.focus();
      return;
    }
    // Each mountain from its own start: booth's (-6, -6) lies off sphere's and rosenbrock's maps.
    state.start = defaultStart(state.landscape);
    state.lrs = null;
    changed();
    refresh({ newSurface: true, newAdvice: true });
  });
  controls.formula.addEventListener("change", () => {
    state.formula = controls.formula.value.trim();
    state.landscape = "";
    controls.landscape.value = "";
    state.lrs = null;
    changed();
    refresh({ newSurface: true, newAdvice: true });
  });
  for (const key of ["startX", "startY"]) {
    controls[key].addEventListener("change", () => {
      state.start = [Number(controls.startX.value), Number(controls.startY.value)];
      changed();
      refresh({ newAdvice: true });
    });
  }
  // Click any of the three maps to move the start there.
  for (const div of Object.values(maps)) {
    div.addEventListener("click", (event) => {
      const point = dataPoint(div, event);
      if (!point) return;
      state.start = point.map((v) => Math.round(v * 100) / 100);
      changed();
      refresh({ newAdvice: true });
    });
  }
  controls.optimizer.addEventListener("change", () => {
    state.optimizer = controls.optimizer.value;
    changed();
    refresh();
  });
  controls.steps.addEventListener("change", () => {
    state.steps = Number(controls.steps.value);
    changed();
    refresh();
  });
  for (const kind of KINDS) {
    controls[kind].addEventListener("change", () => {
      state.lrs = KINDS.map((k) => Number(controls[k].value));
      changed();
      refresh();
    });
  }
  $("lr-advise").addEventListener("click", () => {
    state.lrs = null;
    refresh({ newAdvice: true });
  });
  controls.schedule.addEventListener("change", () => {
    state.schedule = controls.schedule.value;
    state.scheduleOptions = defaultOptions(state.schedule);
    renderScheduleOptions();
    changed();
    refresh();
  });

  return {
    async apply(params) {
      if (!catalogue) {
        catalogue = await loadPicker(section, controls);
        if (!catalogue) return;
        const offered = new Set(scheduleNames(catalogue));
        fillSelect(
          controls.schedule,
          Object.entries(SCHEDULES)
            .filter(([name]) => name === "" || !offered.size || offered.has(name))
            .map(([value, { label }]) => ({ value, label })),
        );
      }
      state.formula = readString(params, "f", "");
      state.landscape = readString(params, "landscape", state.formula ? "" : DEFAULTS.landscape);
      const fallback = state.landscape ? defaultStart(state.landscape) : DEFAULTS.start;
      state.start = readNumbers(params, "start", fallback).slice(0, 2);
      if (state.start.length !== 2) state.start = fallback;
      state.optimizer = readString(params, "optimizer", DEFAULTS.optimizer);
      state.steps = readInteger(params, "steps", DEFAULTS.steps);
      const lrs = readNumbers(params, "lrs", []);
      state.lrs = lrs.length === 3 ? lrs : null;
      state.schedule = readString(params, "schedule", "");
      if (!(state.schedule in SCHEDULES)) state.schedule = "";
      state.scheduleOptions = defaultOptions(state.schedule);
      for (const name of Object.keys(state.scheduleOptions)) {
        state.scheduleOptions[name] = readNumber(params, `s_${name}`, state.scheduleOptions[name]);
      }
      surface = advice = null;
      syncControls();
      await refresh({ newSurface: true, newAdvice: true });
    },
    params() {
      const p = {
        landscape: state.landscape || undefined,
        f: state.landscape ? undefined : state.formula,
        start: state.start.join(","),
        optimizer: state.optimizer,
        steps: state.steps,
        lrs: state.lrs ? state.lrs.join(",") : undefined,
        schedule: state.schedule || undefined,
      };
      for (const [name, value] of Object.entries(state.scheduleOptions)) p[`s_${name}`] = value;
      return p;
    },
    python() {
      const { setup, name } = pythonSource(state);
      const schedule = state.schedule ? `, schedule=(${py(state.schedule)}, ${py(state.scheduleOptions)})` : "";
      const lines = [
        "import downhill as dh",
        ...setup,
        "",
        `start = ${py(state.start)}`,
        "# The steepest curvature L at the start, and the bound 2/L.",
        `print(dh.lr_advice(${name}, start))`,
        "",
        "# One climber, three learning rates: too small, good, too big.",
        `for lr in ${py(state.lrs || [])}:`,
        `    trajectory = dh.descend(${name}, start, ${pyKeywords({ optimizer: state.optimizer })}, lr=lr, steps=${state.steps}${schedule})`,
        '    print(f"lr={lr}:", trajectory.summary())',
        "",
        "# Final height against the learning rate (constant rate).",
        `print(dh.lr_sweep(${name}, start, ${py(sweep ? sweep.rows.map((r) => r.lr) : [])}, ${pyKeywords({ optimizer: state.optimizer, steps: state.steps })}))`,
      ];
      return lines.join("\n") + "\n";
    },
    shown() {
      for (const div of section.querySelectorAll(".plot")) if (div.data) Plotly.Plots.resize(div);
    },
  };
}
