// The choice of mountain, shared by the mountain and learning-rate panels:
// a landscape from the catalogue, by name, or a formula the learner typed.

import { getCatalogue } from "./api.js";
import { py } from "./format.js";
import { busy, fillSelect, showError } from "./ui.js";

export const OWN_FORMULA = "";

export function landscapeOptions(catalogue) {
  return [
    ...catalogue.landscapes.map((l) => ({ value: l.name, label: l.name.replace(/_/g, " ") })),
    { value: OWN_FORMULA, label: "your own formula…" },
  ];
}

// The optimizers by their library names; the API's aliases ("momentum",
// "nesterov") are left out, as the panels set momentum and Nesterov themselves
// and the exported code must name what downhill itself accepts.
export function optimizerNames(catalogue) {
  if (catalogue.optimizer_options) return Object.keys(catalogue.optimizer_options);
  const list = catalogue.optimizers || ["sgd", "adam", "adamw", "rmsprop", "adagrad"];
  return list.map((o) => (typeof o === "string" ? o : o.name));
}

// The catalogue, fetched (once for the whole page) while the panel shows it is
// busy, with the panel's landscape and optimizer menus filled from it; null,
// with the error shown in the panel, if it could not be fetched.
export async function loadPicker(section, controls) {
  let catalogue;
  try {
    catalogue = await busy(section, getCatalogue);
  } catch (error) {
    showError(section, error);
    return null;
  }
  fillSelect(controls.landscape, landscapeOptions(catalogue));
  fillSelect(controls.optimizer, optimizerNames(catalogue).map((name) => ({ value: name, label: name })));
  return catalogue;
}

export function scheduleNames(catalogue) {
  const list = catalogue.schedules || [];
  return list.map((s) => (typeof s === "string" ? s : s.name));
}

// The request fields that name the mountain.
export function sourceOf(state) {
  return state.landscape ? { landscape: state.landscape } : { expression: state.formula };
}

// Python that names the same mountain: a catalogue name as a string, or a
// landscape built from the formula (read by the same safe parser as the server).
export function pythonSource(state) {
  if (state.landscape) return { setup: [], name: py(state.landscape) };
  return { setup: ["", `mountain = dh.landscapes.from_expression(${py(state.formula)})`], name: "mountain" };
}
