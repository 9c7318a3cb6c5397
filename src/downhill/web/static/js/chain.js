// Panel 3, the chain: a small network (2-4-4-1) trained by full-batch SGD on
// a two-class toy, from POST /api/train (downhill.nn.recipes.chain_snapshots).
// Snapshots of the weights and of the gradient on each weight (edge widths and
// colours, an orange glow), the decision boundary, the loss curve, and one
// sample's backward pass, link by link: upstream gradient x local derivative.

import { post, latest } from "./api.js";
import { fmt, py } from "./format.js";
import { Plotly, CONFIG, TERRAIN, layout, axis, colorbarFor } from "./plots.js";
import { readInteger, readNumber, readString } from "./state.js";
import { showError, clearErrors, busy } from "./ui.js";

const DEFAULTS = { dataset: "moons", hidden: "4,4", lr: 0.5, steps: 400, seed: 0 };
const SNAPSHOTS = 20; // about this many snapshots per run
const PLAY_MS = 150; // per snapshot: a run plays in about 3 s
const SVG_NS = "http://www.w3.org/2000/svg";
const POSITIVE = "#2b6cb0";
const NEGATIVE = "#d6352b";
const GLOW = "#ffb000";
const SUBSCRIPTS = "₀₁₂₃₄₅₆₇₈₉";

export function createChain(section, { changed }) {
  const $ = (id) => section.querySelector(`#${id}`);
  const controls = {
    dataset: $("chain-dataset"),
    hidden: $("chain-hidden"),
    lr: $("chain-lr"),
    steps: $("chain-steps"),
    seed: $("chain-seed"),
  };
  const slider = $("chain-snapshot");
  const svg = $("chain-svg");

  const state = { ...DEFAULTS };
  let run = null; // the /api/train answer
  let index = 0; // the snapshot shown
  let revealed = 0; // links of the backward pass shown (from the output back)
  let stepping = false; // following the links one by one: the current link's edges stand out
  let timer = null;
  const train = latest((body) => post("/api/train", body));
  const fetchMountain = latest((body) => post("/api/loss_landscape", body));
  let mountain = null; // the /api/loss_landscape answer for this run

  const hiddenSizes = () => state.hidden.split(",").map(Number);
  const snapshotEvery = () => Math.max(1, Math.floor(state.steps / SNAPSHOTS));
  const body = () => ({
    dataset: state.dataset,
    hidden: hiddenSizes(),
    steps: state.steps,
    lr: state.lr,
    seed: state.seed,
    snapshot_every: snapshotEvery(),
  });

  function syncControls() {
    controls.dataset.value = state.dataset;
    if (![...controls.hidden.options].some((o) => o.value === state.hidden)) {
      const option = document.createElement("option");
      option.value = state.hidden;
      option.textContent = ["2", ...hiddenSizes(), "1"].join("-");
      controls.hidden.append(option);
    }
    controls.hidden.value = state.hidden;
    controls.lr.value = state.lr;
    controls.steps.value = state.steps;
    controls.seed.value = state.seed;
  }

  async function retrain({ animate = false } = {}) {
    stop();
    let answer;
    try {
      answer = await busy(section, () => train(body()));
    } catch (error) {
      showError(section, error);
      return;
    }
    if (answer === undefined) return;
    clearErrors(section);
    run = answer;
    mountain = null; // the old run's slice: its path no longer matches
    slider.max = run.snapshots.length - 1;
    revealed = run.backprop.links.length;
    stepping = false;
    index = animate ? 0 : run.snapshots.length - 1;
    $("chain-final-loss").textContent = fmt(run.loss_curve[run.loss_curve.length - 1], 6);
    renderDiverged();
    section.dataset.finalLoss = String(run.loss_curve[run.loss_curve.length - 1]);
    await Promise.all([drawBoundary(), drawLoss()]);
    showSnapshot();
    renderBackprop();
    await drawMountain();
    if (animate) play();
  }

  // Training that made things worse is said in words, above the pictures.
  function renderDiverged() {
    const line = $("chain-diverged");
    const k = run.diverged_at;
    line.hidden = k === null || k === undefined;
    section.dataset.divergedAt = line.hidden ? "" : String(k);
    if (line.hidden) {
      line.textContent = "";
      return;
    }
    const first = run.loss_curve[0];
    const blown = !Number.isFinite(run.loss_curve[k] ?? NaN);
    line.textContent =
      `Training diverged at step ${k}: ` +
      (blown ? "the loss blew up (it is no longer a number). " : `from there on the loss stays above where it started (${fmt(first, 3)}); training made the network worse. `) +
      `Learning rate ${fmt(state.lr, 4)} takes steps too big for this network: try a smaller one.`;
  }

  // The network ---------------------------------------------------------------------
  function layout2d() {
    const sizes = run.sizes;
    const width = 560;
    const height = 300;
    const columns = sizes.map((n, c) => {
      const x = 50 + (c * (width - 100)) / (sizes.length - 1);
      const gap = Math.min(60, (height - 50) / Math.max(1, n));
      return Array.from({ length: n }, (_, i) => ({ x, y: height / 2 + (i - (n - 1) / 2) * gap }));
    });
    return columns;
  }

  function drawNetwork() {
    const snapshot = run.snapshots[index];
    const columns = layout2d();
    const showGrads = $("chain-show-grads").checked;
    const biggestWeight = Math.max(1e-12, ...snapshot.weights.flat(2).map(Math.abs));
    // One scale for the whole run: the glow fades as the network learns (small loss, small gradients).
    const biggestGrad = Math.max(1e-12, ...run.snapshots.flatMap((s) => s.weight_grads.flat(2).map(Math.abs)));
    const focus = stepping && revealed > 0 ? run.backprop.links[revealed - 1].layer - 1 : -1;
    svg.replaceChildren();
    const glows = element("g", { class: "glows" });
    const edges = element("g", { class: "edges" });
    snapshot.weights.forEach((matrix, layer) => {
      matrix.forEach((row, j) => {
        row.forEach((w, i) => {
          const from = columns[layer][i];
          const to = columns[layer + 1][j];
          const g = snapshot.weight_grads[layer][j][i];
          const ends = { x1: from.x, y1: from.y, x2: to.x, y2: to.y };
          if (showGrads) {
            glows.append(element("line", { ...ends, stroke: GLOW, "stroke-opacity": focus >= 0 && focus !== layer ? 0.15 : 0.55, "stroke-linecap": "round", "stroke-width": 14 * Math.sqrt(Math.abs(g) / biggestGrad) }));
          }
          const edge = element("line", {
            ...ends,
            class: `edge${focus >= 0 && focus !== layer ? " dim" : ""}`,
            stroke: w >= 0 ? POSITIVE : NEGATIVE,
            "stroke-width": 0.6 + 6 * (Math.abs(w) / biggestWeight),
            "data-layer": layer + 1,
            "data-weight": w,
            "data-grad": g,
          });
          const title = element("title");
          title.textContent = `layer ${layer + 1}, ${nodeName(layer, i)} → ${nodeName(layer + 1, j)}: weight ${fmt(w, 4)}, ∂loss/∂weight ${fmt(g, 3)}`;
          edge.append(title);
          edges.append(edge);
        });
      });
    });
    const nodes = element("g", { class: "nodes" });
    columns.forEach((column, c) => {
      column.forEach((p, i) => {
        const node = element("circle", { cx: p.x, cy: p.y, r: 15, class: c === 0 ? "node input" : c === columns.length - 1 ? "node output" : "node" });
        const label = element("text", { x: p.x, y: p.y + 5, "text-anchor": "middle", class: "node-label" });
        label.textContent = nodeName(c, i);
        nodes.append(node, label);
      });
      const caption = element("text", { x: column[0].x, y: 292, "text-anchor": "middle", class: "column-label" });
      caption.textContent = c === 0 ? "input" : c === columns.length - 1 ? "output" : `layer ${c} (${run.activation})`;
      nodes.append(caption);
    });
    svg.append(glows, edges, nodes);
  }

  function nodeName(column, i) {
    if (column === 0) return `x${SUBSCRIPTS[i + 1]}`;
    if (column === run.sizes.length - 1) return "ŷ";
    return `h${SUBSCRIPTS[(i + 1) % 10]}`;
  }

  // Boundary and loss ------------------------------------------------------------------
  // The probabilities at the snapshot shown (older answers carry only the final ones).
  const boundaryAt = (k) => run.snapshots[k].boundary || run.boundary.p;
  const boundaryTitle = (k) => `decision boundary at step ${run.snapshots[k].step}`;

  async function drawBoundary() {
    const { boundary, data } = run;
    const p = boundaryAt(index);
    const classes = [0, 1].map((c) => data.X.filter((_, k) => data.y[k] === c));
    await Plotly.react(
      $("chain-boundary"),
      [
        { type: "heatmap", x: boundary.x, y: boundary.y, z: p, zmin: 0, zmax: 1, zsmooth: "best", colorscale: [[0, "#c6dbef"], [0.5, "#ffffff"], [1, "#f7c6c0"]], showscale: false, hovertemplate: "p(class 1) = %{z:.2f}<extra></extra>" },
        { type: "contour", x: boundary.x, y: boundary.y, z: p, contours: { start: 0.5, end: 0.5, size: 1, coloring: "lines" }, line: { color: "#1d2733", width: 2 }, colorscale: [[0, "#1d2733"], [1, "#1d2733"]], showscale: false, hoverinfo: "skip" },
        ...classes.map((points, c) => ({
          type: "scatter",
          mode: "markers",
          x: points.map((p) => p[0]),
          y: points.map((p) => p[1]),
          marker: { size: 6, color: c ? NEGATIVE : POSITIVE, line: { color: "#ffffff", width: 0.8 } },
          name: `class ${c}`,
          hovertemplate: `class ${c}<extra></extra>`,
        })),
        {
          type: "scatter",
          mode: "markers",
          x: [run.backprop.x[0]],
          y: [run.backprop.x[1]],
          marker: { size: 16, color: "rgba(0,0,0,0)", line: { color: GLOW, width: 3 } },
          name: "the sample traced below",
          hovertemplate: "the sample traced link by link<extra></extra>",
        },
      ],
      layout({
        dragmode: false,
        title: { text: boundaryTitle(index), font: { size: 14 }, y: 0.97 },
        margin: { l: 36, r: 10, t: 30, b: 30 },
        xaxis: axis("", { range: [boundary.x[0], boundary.x[boundary.x.length - 1]] }),
        yaxis: axis("", { range: [boundary.y[0], boundary.y[boundary.y.length - 1]] }),
      }),
      { ...CONFIG, displayModeBar: false },
    );
  }

  // The network's own error mountain: the loss on a plane through the trained
  // weights (nn.recipes.chain_loss_landscape), the training path walking down it.
  async function drawMountain() {
    const div = $("chain-landscape");
    let answer;
    try {
      answer = await busy(section, () => fetchMountain({ ...body(), resolution: 25 }));
    } catch (error) {
      mountain = null;
      $("chain-landscape-note").textContent = `The error mountain could not be drawn: ${error.message}`;
      return;
    }
    if (answer === undefined) return;
    mountain = answer;
    const finite = mountain.losses.flat().filter((v) => v !== null && v > 0);
    const low = Math.min(...finite);
    const log = (v) => (v === null || !(v > 0) ? null : Math.log10(v));
    const path = mountain.path || [];
    await Plotly.react(
      div,
      [
        { type: "contour", x: mountain.alphas, y: mountain.betas, z: mountain.losses.map((row) => row.map(log)), colorscale: TERRAIN, ncontours: 24, contours: { coloring: "heatmap" }, line: { color: "rgba(20,30,40,0.3)", width: 0.6 }, colorbar: colorbarFor($("chain-landscape"), { title: { text: "log₁₀ loss", side: "right" }, thickness: 12 }), hovertemplate: "loss 10^%{z:.2f}<extra></extra>" },
        { type: "scatter", mode: "lines+markers", x: path.map((p) => p[0]), y: path.map((p) => p[1]), line: { color: "#ffffff", width: 3 }, marker: { color: "#ffffff", size: 6, line: { color: "#1d2733", width: 1 } }, name: "training path", hovertemplate: "snapshot on the path<extra></extra>" },
        { type: "scatter", mode: "markers", x: [0], y: [0], marker: { symbol: "star", size: 16, color: "#ffd400", line: { color: "#111", width: 1 } }, name: "trained weights", hovertemplate: "the trained weights<extra></extra>" },
        { type: "scatter", mode: "markers", x: path.length ? [path[index][0]] : [], y: path.length ? [path[index][1]] : [], marker: { size: 14, color: GLOW, line: { color: "#1d2733", width: 2 } }, name: "this snapshot", hoverinfo: "skip" },
      ],
      layout({
        dragmode: false,
        // On a phone the long title takes two lines (on one it ran off both sides).
        title: { text: `the error mountain:${$("chain-landscape").clientWidth < 520 ? "<br>" : " "}loss on a plane through the trained weights`, font: { size: 14 }, y: 0.97 },
        margin: { l: 50, r: 10, t: $("chain-landscape").clientWidth < 520 ? 48 : 30, b: 40 },
        xaxis: axis(mountain.directions === "principal" ? "first direction of the path" : "random direction 1"),
        yaxis: axis(mountain.directions === "principal" ? "second direction" : "random direction 2"),
      }),
      { ...CONFIG, displayModeBar: false },
    );
    const kept = mountain.explained === null || mountain.explained === undefined ? "" : ` The plane holds ${Math.round(100 * mountain.explained)}% of the path's movement.`;
    $("chain-landscape-note").textContent =
      `${mountain.parameters} weights; this is a slice through them along ${mountain.directions} directions (Li et al., 2018), ` +
      `centred on the trained network (the star, loss ${fmt(mountain.center_loss, 4)}, lowest on the slice ${fmt(low, 4)}).${kept} ` +
      "The orange dot follows the snapshot shown above.";
  }

  async function drawLoss() {
    const steps = run.loss_curve.map((_, k) => k);
    await Plotly.react(
      $("chain-loss-plot"),
      [
        { type: "scatter", mode: "lines", x: steps, y: run.loss_curve, line: { color: "#1d2733", width: 2 }, hovertemplate: "step %{x}: loss %{y:.4g}<extra></extra>" },
        { type: "scatter", mode: "markers", x: [0], y: [run.loss_curve[0]], marker: { size: 12, color: GLOW, line: { color: "#1d2733", width: 1.5 } }, hoverinfo: "skip" },
      ],
      layout({
        title: { text: "loss (binary cross-entropy) at every step", font: { size: 14 }, y: 0.97 },
        margin: { l: 56, r: 10, t: 30, b: 40 },
        xaxis: axis("step"),
        yaxis: axis("loss (log scale)", { type: "log", exponentformat: "power" }),
      }),
      CONFIG,
    );
  }

  function showSnapshot() {
    const snapshot = run.snapshots[index];
    slider.value = index;
    $("chain-snapshot-out").textContent = String(snapshot.step);
    $("chain-step").textContent = `${snapshot.step} of ${state.steps}`;
    $("chain-loss").textContent = fmt(snapshot.loss, 6);
    section.dataset.snapshot = String(index);
    section.dataset.playing = timer ? "1" : "0";
    drawNetwork();
    const lossPlot = $("chain-loss-plot");
    if (lossPlot.data) Plotly.restyle(lossPlot, { x: [[snapshot.step]], y: [[snapshot.loss]] }, [1]);
    // The boundary as it was at this step: it moves while "watch it learn" plays.
    const map = $("chain-boundary");
    if (map.data && map.dataset.shownSnapshot !== String(index)) {
      const p = boundaryAt(index);
      Plotly.update(map, { z: [p, p] }, { "title.text": boundaryTitle(index) }, [0, 1]);
    }
    map.dataset.shownSnapshot = String(index);
    const slice = $("chain-landscape");
    if (mountain && mountain.path && slice.data && mountain.path.length === run.snapshots.length) {
      const p = mountain.path[index];
      Plotly.restyle(slice, { x: [[p[0]]], y: [[p[1]]] }, [3]);
    }
  }

  // The backward pass, link by link -------------------------------------------------------
  function renderBackprop() {
    const { backprop } = run;
    const links = backprop.links;
    $("chain-backprop-intro").textContent =
      `The final network, one sample: x = (${backprop.x.map((v) => fmt(v, 3)).join(", ")}), class ${backprop.target}, ` +
      `loss ${fmt(backprop.loss, 4)} (ringed in orange on the map). Backward from the loss: each layer's δ = ∂loss/∂z is the ` +
      "gradient arriving from above times the layer's own local slope; the weights' gradients are δ × input.";
    const list = $("chain-links");
    list.replaceChildren();
    links.forEach((link, k) => {
      const item = document.createElement("li");
      item.dataset.layer = String(link.layer);
      item.className = k < revealed - 1 ? "done" : k === revealed - 1 ? "current" : "future";
      const output = link.layer === run.sizes.length - 1;
      const heading = document.createElement("p");
      heading.innerHTML = output
        ? `<strong>Link ${k + 1}: the loss ← output z</strong>. The sigmoid and the cross-entropy together give ∂loss/∂z = ŷ − y; the local slope of the output (no activation) is 1.`
        : `<strong>Link ${k + 1}: layer ${link.layer} (${run.activation})</strong>. Upstream: what arrives from layer ${link.layer + 1} through its weights, ∂loss/∂h. Local: the slope of ${run.activation} at z, ${run.activation === "tanh" ? "1 − tanh²(z)" : "1 where z > 0, else 0"}.`;
      item.append(heading);
      if (k < revealed) item.append(linkTable(link));
      list.append(item);
    });
    const last = links[revealed - 1];
    $("chain-product").textContent = last ? productSentence(last, revealed) : "Press “Link ▶” to follow the chain from the loss back.";
    $("chain-link-prev").disabled = revealed <= 0;
    $("chain-link-next").disabled = stepping && revealed >= links.length; // not stepping: starts a walk
    section.dataset.revealed = String(revealed);
    drawNetwork();
  }

  function linkTable(link) {
    const table = document.createElement("table");
    table.className = "link-table";
    const names = link.z.map((_, i) => (link.layer === run.sizes.length - 1 ? "ŷ" : `h${SUBSCRIPTS[(i + 1) % 10]}`));
    const rows = [
      ["unit", ...names],
      ["z", ...link.z.map((v) => fmt(v, 4))],
      [link.layer === run.sizes.length - 1 ? "from the loss: ŷ − y" : "upstream ∂loss/∂h", ...link.upstream.map((v) => fmt(v, 4))],
      ["× local slope", ...link.local.map((v) => fmt(v, 4))],
      ["= δ = ∂loss/∂z", ...link.delta.map((v) => fmt(v, 4))],
    ];
    rows.forEach((cells, r) => {
      const tr = document.createElement("tr");
      cells.forEach((text, c) => {
        const cell = document.createElement(r === 0 || c === 0 ? "th" : "td");
        cell.textContent = text;
        tr.append(cell);
      });
      table.append(tr);
    });
    return table;
  }

  // One unit's link written out: upstream x local = delta, the engine's value, and one weight's gradient.
  function productSentence(link, k) {
    let unit = 0;
    link.delta.forEach((v, i) => {
      if (Math.abs(v) > Math.abs(link.delta[unit])) unit = i;
    });
    const name = link.layer === run.sizes.length - 1 ? "the output" : `unit h${SUBSCRIPTS[(unit + 1) % 10]} of layer ${link.layer}`;
    let input = 0;
    link.input.forEach((v, i) => {
      if (Math.abs(v) > Math.abs(link.input[input])) input = i;
    });
    const inputName = link.layer === 1 ? `x${SUBSCRIPTS[input + 1]}` : `h${SUBSCRIPTS[(input + 1) % 10]} of layer ${link.layer - 1}`;
    const engine = link.delta_engine[unit];
    const agrees = Math.abs(engine - link.delta[unit]) <= 1e-6 * Math.max(1, Math.abs(engine));
    return (
      `Link ${k}, ${name}: δ = upstream × local = ${fmt(link.upstream[unit], 4)} × ${fmt(link.local[unit], 4)} = ${fmt(link.delta[unit], 4)}` +
      ` (the engine's own backward pass: ${fmt(engine, 4)}${agrees ? ", the same" : ", which differs!"}).` +
      ` Its weight from ${inputName}: ∂loss/∂w = δ × input = ${fmt(link.delta[unit], 4)} × ${fmt(link.input[input], 4)} = ${fmt(link.weight_grad[unit][input], 4)}.`
    );
  }

  // Playback ------------------------------------------------------------------------------
  function play() {
    if (!run) return;
    if (index >= run.snapshots.length - 1) index = 0;
    clearInterval(timer);
    timer = setInterval(() => {
      index += 1;
      if (index >= run.snapshots.length - 1) {
        index = run.snapshots.length - 1;
        stop();
      }
      showSnapshot();
    }, PLAY_MS);
    $("chain-play").textContent = "❚❚ Pause";
    $("chain-play").setAttribute("aria-label", "Pause");
    showSnapshot();
  }

  function stop() {
    clearInterval(timer);
    timer = null;
    $("chain-play").textContent = "▶ Play";
    $("chain-play").setAttribute("aria-label", "Play");
    section.dataset.playing = "0";
  }

  // Events ---------------------------------------------------------------------------------
  for (const key of Object.keys(controls)) {
    controls[key].addEventListener("change", () => {
      const value = controls[key].value;
      state[key] = key === "dataset" || key === "hidden" ? value : Number(value);
      changed();
      retrain({ animate: true });
    });
  }
  $("chain-train").addEventListener("click", () => retrain({ animate: true }));
  $("chain-play").addEventListener("click", () => (timer ? stop() : play()));
  $("chain-back").addEventListener("click", () => {
    stop();
    index = Math.max(0, index - 1);
    showSnapshot();
  });
  $("chain-forward").addEventListener("click", () => {
    stop();
    index = Math.min(run.snapshots.length - 1, index + 1);
    showSnapshot();
  });
  slider.addEventListener("input", () => {
    stop();
    index = Number(slider.value);
    showSnapshot();
  });
  $("chain-show-grads").addEventListener("change", drawNetwork);
  $("chain-link-prev").addEventListener("click", () => {
    stepping = true;
    revealed = Math.max(0, revealed - 1);
    renderBackprop();
  });
  $("chain-link-next").addEventListener("click", () => {
    if (!stepping) revealed = 0; // start the walk from the loss
    stepping = true;
    revealed = Math.min(run.backprop.links.length, revealed + 1);
    renderBackprop();
  });
  $("chain-link-all").addEventListener("click", () => {
    stepping = false;
    revealed = run.backprop.links.length;
    renderBackprop();
  });

  return {
    async apply(params) {
      state.dataset = readString(params, "dataset", DEFAULTS.dataset);
      state.hidden = readString(params, "hidden", DEFAULTS.hidden);
      if (!/^\d+(,\d+)*$/.test(state.hidden)) state.hidden = DEFAULTS.hidden;
      state.lr = readNumber(params, "lr", DEFAULTS.lr);
      state.steps = readInteger(params, "steps", DEFAULTS.steps);
      state.seed = readInteger(params, "seed", DEFAULTS.seed);
      syncControls();
      await retrain();
    },
    params() {
      return { dataset: state.dataset, hidden: state.hidden, lr: state.lr, steps: state.steps, seed: state.seed };
    },
    python() {
      const b = body();
      return [
        "from downhill.nn.recipes import chain_snapshots",
        "",
        "# A 2-" + b.hidden.join("-") + "-1 network trained by full-batch SGD; snapshots of its weights and gradients.",
        `run = chain_snapshots(${py(b.dataset)}, hidden=${py(b.hidden)}, steps=${b.steps}, lr=${py(b.lr)}, seed=${b.seed}, snapshot_every=${b.snapshot_every})`,
        'print("final loss:", run["loss_curve"][-1])',
        "",
        "# One sample's backward pass, link by link from the loss back: delta = upstream * local.",
        'for link in run["backprop"]["links"]:',
        '    print("layer", link["layer"], "upstream", link["upstream"], "local", link["local"], "delta", link["delta"])',
        "",
      ].join("\n");
    },
    shown() {
      for (const div of section.querySelectorAll(".plot")) if (div.data) Plotly.Plots.resize(div);
    },
  };
}

function element(name, attributes = {}) {
  const node = document.createElementNS(SVG_NS, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  return node;
}
