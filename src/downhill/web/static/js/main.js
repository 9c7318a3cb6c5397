// The playground's shell: tabs, the address (URL state), "Export as Python".
//
// Each panel is a module exporting a factory `create(section, {changed})` that
// returns {apply(params), params(), python()}:
//   apply(params)  set the controls from the address and draw (async);
//   params()       the panel's settings, written back into the address;
//   python()       downhill code that reproduces what the panel shows.
// A panel calls `changed()` whenever the learner changes something.

import { createSpeedometer } from "./speedometer.js";
import { createMountain } from "./mountain.js";
import { createChain } from "./chain.js";
import { createLearningRate } from "./learning_rate.js";
import { readLocation, writeLocation } from "./state.js";

const FACTORIES = {
  speedometer: createSpeedometer,
  mountain: createMountain,
  chain: createChain,
  "learning-rate": createLearningRate,
};
const DEFAULT_PANEL = "speedometer";

const tabs = [...document.querySelectorAll('[role="tab"]')];
const panels = {}; // id -> panel object, created the first time it is shown
let current = null;

function sectionOf(id) {
  return document.getElementById(`panel-${id}`);
}

async function show(id, params, { focusTab = false } = {}) {
  if (!(id in FACTORIES)) id = DEFAULT_PANEL;
  for (const tab of tabs) {
    const selected = tab.dataset.panel === id;
    tab.setAttribute("aria-selected", String(selected));
    tab.tabIndex = selected ? 0 : -1;
    if (selected && focusTab) tab.focus();
  }
  for (const name of Object.keys(FACTORIES)) sectionOf(name).hidden = name !== id;
  current = id;
  document.title = `${tabs.find((t) => t.dataset.panel === id).textContent.trim()} · downhill playground`;
  if (!panels[id]) {
    const section = sectionOf(id);
    panels[id] = FACTORIES[id](section, { changed: () => remember(id) });
    await panels[id].apply(params || {});
  } else if (params) {
    await panels[id].apply(params);
  } else if (panels[id].shown) {
    panels[id].shown(); // charts drawn while hidden need their size again
  }
  remember(id);
}

function remember(id) {
  if (id === current) writeLocation(id, panels[id].params());
}

// Tabs: click, or arrow keys / Home / End as in the WAI-ARIA tabs pattern.
for (const [index, tab] of tabs.entries()) {
  tab.addEventListener("click", () => show(tab.dataset.panel));
  tab.addEventListener("keydown", (event) => {
    const moves = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: tabs.length - 1 };
    if (!(event.key in moves)) return;
    event.preventDefault();
    const next = tabs[(moves[event.key] + tabs.length) % tabs.length];
    show(next.dataset.panel, undefined, { focusTab: true });
  });
}

// A link pasted into the address bar of an open page.
window.addEventListener("hashchange", () => {
  const { panel, params } = readLocation();
  show(panel, params);
});

// Export as Python.
const dialog = document.getElementById("export-dialog");
const codeBox = document.getElementById("export-code");
document.getElementById("export-button").addEventListener("click", () => {
  codeBox.textContent = panels[current] ? panels[current].python() : "";
  dialog.showModal();
});
document.getElementById("export-copy").addEventListener("click", async (event) => {
  const button = event.currentTarget;
  try {
    await navigator.clipboard.writeText(codeBox.textContent);
    button.textContent = "Copied";
  } catch {
    window.getSelection().selectAllChildren(codeBox);
    button.textContent = "Selected: press Ctrl+C";
  }
  setTimeout(() => (button.textContent = "Copy"), 2000);
});
document.getElementById("export-close").addEventListener("click", () => dialog.close());

document.getElementById("share-button").addEventListener("click", async (event) => {
  const button = event.currentTarget;
  try {
    await navigator.clipboard.writeText(window.location.href);
    button.textContent = "Link copied";
  } catch {
    window.prompt("Copy this link:", window.location.href);
  }
  setTimeout(() => (button.textContent = "Copy link"), 2000);
});

const start = readLocation();
show(start.panel || DEFAULT_PANEL, start.params).then(() => {
  document.getElementById("loading").hidden = true;
  document.body.dataset.ready = "1";
});
