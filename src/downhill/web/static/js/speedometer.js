// Panel 1, the speedometer: a curve, a point on it, the tangent line there,
// and the slope as a needle. Below it, the car trip: average speed over a
// stretch of time against the instant speed.
//
// The numbers come from POST /api/derivative (the exact derivative, by the
// engine); this module only draws them.

import { post, latest } from "./api.js";
import { fmt, py } from "./format.js";
import { Plotly, CONFIG, layout, axis, dataPoint } from "./plots.js";
import { readNumber, readString } from "./state.js";
import { showError, clearErrors, busy, fillSelect } from "./ui.js";
import { drawGauge } from "./gauge.js";

const PRESETS = [
  { value: "x**3 - 3*x", label: "a hill and a valley: x³ − 3x" },
  { value: "x**2", label: "a parabola: x²" },
  { value: "sin(x)", label: "a wave: sin(x)" },
  { value: "exp(-x**2)", label: "a bump: exp(−x²)" },
  { value: "abs(x)", label: "a kink: |x|" },
  { value: "log(1 + x**2)", label: "a gentle valley: log(1 + x²)" },
];
const CUSTOM = "";
const DEFAULTS = { f: "x**3 - 3*x", x: 1.5, from: -2.5, to: 2.5, t: 1, h: 0.5 };

// The car trip: s(t) = 30t² − 5t³ km for 0 ≤ t ≤ 4 hours; it starts and ends at rest.
const TRIP = { formula: "30*x**2 - 5*x**3", shown: "30t² − 5t³", python: "30*t**2 - 5*t**3", span: [0, 4] };

export function createSpeedometer(section, { changed }) {
  const $ = (id) => section.querySelector(`#${id}`);
  const preset = $("speed-preset");
  const expression = $("speed-expression");
  const from = $("speed-from");
  const to = $("speed-to");
  const slider = $("speed-x");
  const sliderOut = $("speed-x-out");
  const plot = $("speed-plot");
  const gauge = $("speed-gauge");
  const tripT = $("trip-t");
  const tripH = $("trip-h");

  fillSelect(preset, [...PRESETS, { value: CUSTOM, label: "your own formula…" }]);
  $("trip-formula").textContent = TRIP.shown;

  const state = { ...DEFAULTS };
  const derivativeAt = latest((body) => post("/api/derivative", body));
  const tripAt = latest((t, h) =>
    Promise.all([
      post("/api/derivative", { expression: TRIP.formula, x: t, span: TRIP.span, n: 161 }),
      post("/api/derivative", { expression: TRIP.formula, x: t + h, span: TRIP.span, n: 2 }),
    ]),
  );

  function syncControls() {
    expression.value = state.f;
    preset.value = PRESETS.some((p) => p.value === state.f) ? state.f : CUSTOM;
    from.value = state.from;
    to.value = state.to;
    slider.min = state.from;
    slider.max = state.to;
    slider.step = (state.to - state.from) / 1000;
    slider.value = state.x;
    sliderOut.textContent = fmt(state.x, 4);
    tripT.value = state.t;
    tripH.value = Math.log10(state.h);
    $("trip-t-out").textContent = fmt(state.t, 3);
    $("trip-h-out").textContent = fmt(state.h, 3);
  }

  // The curve, the point and its tangent -----------------------------------
  async function drawCurve() {
    const answer = await busy(section, () =>
      derivativeAt({ expression: state.f, x: state.x, span: [state.from, state.to], n: 241 }),
    ).catch((error) => {
      showError(section, error, { landscape: "expression" });
      $("speed-value").textContent = $("speed-slope").textContent = $("speed-tangent").textContent = "—";
      $("speed-sentence").textContent = "";
      return undefined;
    });
    if (answer === undefined) return;
    clearErrors(section);
    const { value, slope, intercept, curve } = answer;
    $("speed-value").textContent = fmt(value, 6);
    $("speed-slope").textContent = fmt(slope, 6);
    $("speed-tangent").textContent =
      slope === null ? "—" : `y = ${fmt(slope, 4)}·x ${intercept < 0 ? "−" : "+"} ${fmt(Math.abs(intercept), 4)}`;
    $("speed-sentence").textContent = answer.sentence || "";
    section.dataset.slope = slope === null ? "" : String(slope);
    section.dataset.value = value === null ? "" : String(value);

    const finiteY = curve.y.filter((v) => v !== null);
    const low = Math.min(...finiteY);
    const high = Math.max(...finiteY);
    const pad = (high - low) * 0.12 || 1;
    const span = [state.from, state.to];
    const tangentY = slope === null ? [null, null] : span.map((x) => slope * x + intercept);
    const slopes = curve.slope.filter((v) => v !== null);
    const slopeLow = Math.min(0, ...slopes);
    const slopeHigh = Math.max(0, ...slopes);
    const slopePad = (slopeHigh - slopeLow) * 0.12 || 1;

    const traces = [
      { x: curve.x, y: curve.y, mode: "lines", line: { color: "#1d2733", width: 2.5 }, name: "f(x)", hovertemplate: "x=%{x:.3f}<br>f=%{y:.4g}<extra></extra>" },
      { x: span, y: tangentY, mode: "lines", line: { color: "#d6352b", width: 2, dash: "dash" }, name: "tangent", hoverinfo: "skip" },
      { x: [state.x], y: [value], mode: "markers", marker: { size: 16, color: "#ffb000", line: { color: "#1d2733", width: 2 } }, name: "point", hoverinfo: "skip" },
      { x: curve.x, y: curve.slope, mode: "lines", line: { color: "#17635a", width: 2 }, xaxis: "x", yaxis: "y2", name: "f′(x)", hovertemplate: "x=%{x:.3f}<br>f′=%{y:.4g}<extra></extra>" },
      { x: [state.x], y: [slope], mode: "markers", marker: { size: 10, color: "#ffb000", line: { color: "#1d2733", width: 1.5 } }, xaxis: "x", yaxis: "y2", hoverinfo: "skip" },
    ];
    const figure = layout({
      dragmode: false,
      margin: { l: 56, r: 16, t: 16, b: 40 },
      xaxis: axis("x", { range: span }),
      yaxis: axis("f(x)", { domain: [0.36, 1], range: [low - pad, high + pad] }),
      yaxis2: axis("slope f′(x)", { domain: [0, 0.26], range: [slopeLow - slopePad, slopeHigh + slopePad], zeroline: true, zerolinecolor: "#9aa5b1" }),
      shapes: [{ type: "line", xref: "x", yref: "paper", x0: state.x, x1: state.x, y0: 0, y1: 1, line: { color: "#ffb000", width: 1, dash: "dot" } }],
    });
    await Plotly.react(plot, traces, figure, CONFIG);

    const reach = niceCeiling(Math.max(Math.abs(slopeLow), Math.abs(slopeHigh), 1e-9));
    drawGauge(gauge, slope, reach);
  }

  // The car trip ---------------------------------------------------------------
  async function drawTrip() {
    const answer = await tripAt(state.t, state.h).catch((error) => {
      showError(section, Object.assign(error, { field: "trip" }));
      return undefined;
    });
    if (answer === undefined) return;
    const [here, later] = answer;
    const average = (later.value - here.value) / state.h;
    $("trip-average").textContent = `${fmt(average, 5)} km/h`;
    $("trip-instant").textContent = `${fmt(here.slope, 5)} km/h`;
    $("trip-gap").textContent = `${fmt(average - here.slope, 3)} km/h`;
    section.dataset.tripAverage = String(average);
    section.dataset.tripInstant = String(here.slope);

    const [t0, t1] = TRIP.span;
    const chordSlope = average;
    const chord = [t0, t1].map((t) => here.value + chordSlope * (t - state.t));
    const tangent = [t0, t1].map((t) => here.value + here.slope * (t - state.t));
    const traces = [
      { x: here.curve.x, y: here.curve.y, mode: "lines", line: { color: "#1d2733", width: 2.5 }, name: "distance s(t)", hovertemplate: "t=%{x:.2f} h<br>s=%{y:.1f} km<extra></extra>" },
      { x: [t0, t1], y: chord, mode: "lines", line: { color: "#4e79a7", width: 2 }, name: `average speed over [t, t+h]: ${fmt(average, 4)} km/h` },
      { x: [t0, t1], y: tangent, mode: "lines", line: { color: "#d6352b", width: 2, dash: "dash" }, name: `instant speed at t: ${fmt(here.slope, 4)} km/h` },
      { x: [state.t, state.t + state.h], y: [here.value, later.value], mode: "markers", marker: { size: 11, color: ["#ffb000", "#4e79a7"], line: { color: "#1d2733", width: 1.5 } }, showlegend: false, hoverinfo: "skip" },
    ];
    const top = Math.max(...here.curve.y);
    const narrow = $("trip-plot").clientWidth < 600;
    await Plotly.react(
      $("trip-plot"),
      traces,
      layout({
        dragmode: false,
        showlegend: true,
        // On a narrow screen the legend's long lines go under the chart: inside it they
        // pushed the axes into a strip ~80 px wide on a phone.
        ...(narrow
          ? { legend: { orientation: "h", x: 0, y: -0.22, yanchor: "top", font: { size: 12 } }, margin: { l: 50, r: 12, t: 16, b: 40 } }
          : { legend: { x: 0.01, y: 0.99, bgcolor: "rgba(255,255,255,0.85)" }, margin: { l: 56, r: 16, t: 16, b: 44 } }),
        xaxis: axis("time t (hours)", { range: TRIP.span }),
        yaxis: axis("distance s(t) (km)", { range: [-5, top * 1.1] }),
        shapes: [{ type: "rect", xref: "x", yref: "paper", x0: state.t, x1: state.t + state.h, y0: 0, y1: 1, fillcolor: "#4e79a7", opacity: 0.08, line: { width: 0 } }],
      }),
      CONFIG,
    );
  }

  // Controls --------------------------------------------------------------------
  function setX(x, { redraw = true } = {}) {
    state.x = Math.min(state.to, Math.max(state.from, x));
    slider.value = state.x;
    sliderOut.textContent = fmt(state.x, 4);
    changed();
    if (redraw) drawCurve();
  }

  preset.addEventListener("change", () => {
    if (preset.value === CUSTOM) {
      expression.focus();
      return;
    }
    state.f = preset.value;
    expression.value = state.f;
    changed();
    drawCurve();
  });
  expression.addEventListener("change", () => {
    state.f = expression.value.trim();
    preset.value = PRESETS.some((p) => p.value === state.f) ? state.f : CUSTOM;
    changed();
    drawCurve();
  });
  for (const input of [from, to]) {
    input.addEventListener("change", () => {
      const low = Number(from.value);
      const high = Number(to.value);
      if (!(Number.isFinite(low) && Number.isFinite(high) && low < high)) {
        showError(section, Object.assign(new Error("The left end must be a number smaller than the right end."), { field: "span" }));
        return;
      }
      state.from = low;
      state.to = high;
      syncControls();
      setX(state.x);
    });
  }
  slider.addEventListener("input", () => setX(Number(slider.value)));

  // Drag the point along the curve (anywhere on the upper plot moves it there).
  let dragging = false;
  plot.addEventListener("pointerdown", (event) => {
    const point = dataPoint(plot, event);
    if (!point) return;
    dragging = true;
    plot.setPointerCapture(event.pointerId);
    setX(point[0]);
  });
  plot.addEventListener("pointermove", (event) => {
    if (!dragging) return;
    const point = dataPoint(plot, { clientX: event.clientX, clientY: Math.max(event.clientY, 0) });
    if (point) setX(point[0]);
  });
  plot.addEventListener("pointerup", () => (dragging = false));
  plot.addEventListener("pointercancel", () => (dragging = false));

  tripT.addEventListener("input", () => {
    state.t = Number(tripT.value);
    $("trip-t-out").textContent = fmt(state.t, 3);
    changed();
    drawTrip();
  });
  tripH.addEventListener("input", () => {
    state.h = Number((10 ** Number(tripH.value)).toPrecision(3));
    $("trip-h-out").textContent = fmt(state.h, 3);
    changed();
    drawTrip();
  });

  return {
    async apply(params) {
      state.f = readString(params, "f", DEFAULTS.f);
      state.from = readNumber(params, "from", DEFAULTS.from);
      state.to = readNumber(params, "to", DEFAULTS.to);
      if (!(state.from < state.to)) [state.from, state.to] = [DEFAULTS.from, DEFAULTS.to];
      state.x = Math.min(state.to, Math.max(state.from, readNumber(params, "x", DEFAULTS.x)));
      state.t = Math.min(3.5, Math.max(0, readNumber(params, "t", DEFAULTS.t)));
      state.h = Math.min(2, Math.max(0.01, readNumber(params, "h", DEFAULTS.h)));
      syncControls();
      await Promise.all([drawCurve(), drawTrip()]);
    },
    params() {
      return { f: state.f, x: round(state.x), from: state.from, to: state.to, t: state.t, h: state.h };
    },
    python() {
      return [
        "import downhill as dh",
        "",
        "# The speedometer: the exact slope of f at x.",
        `f = dh.landscapes.from_expression(${py(state.f)}, variables=["x"])`,
        `x = ${py(round(state.x))}`,
        "slope = dh.derivative(f)(x)",
        'print(f"f({x}) = {float(f(x)):.6g}, slope f\'({x}) = {slope:.6g}")',
        "",
        "# The car trip: average speed over [t, t + h] against the instant speed at t.",
        `s = dh.landscapes.from_expression(${py(TRIP.python)}, variables=["t"])`,
        `t, h = ${py(state.t)}, ${py(state.h)}`,
        "average = (float(s(t + h)) - float(s(t))) / h",
        'print(f"average speed over [{t}, {t + h}]: {average:.6g} km/h")',
        'print(f"instant speed at {t}: {dh.derivative(s)(t):.6g} km/h")',
        "",
      ].join("\n");
    },
    shown() {
      for (const div of [plot, $("trip-plot")]) if (div.data) Plotly.Plots.resize(div);
    },
  };
}

// Keep the address short: x to 4 decimals is finer than any slider step.
function round(x) {
  return Math.round(x * 1e4) / 1e4;
}

function niceCeiling(v) {
  const power = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * power >= v) return m * power;
  return 10 * power;
}
