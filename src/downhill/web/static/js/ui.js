// Small helpers shared by the panels: errors shown next to their control,
// debouncing, status lines.

import { ApiError } from "./api.js";

// Show an error where the learner will look: next to the control named by the
// error's field (an element with data-error-for="<field>" inside the panel),
// else in the panel's general error line (data-error-for="panel").
// `aliases` maps API field names onto the panel's own ({"landscape": "formula"}).
export function showError(section, error, aliases = {}) {
  clearErrors(section);
  const message = error instanceof ApiError || error instanceof Error ? error.message : String(error);
  let field = error instanceof ApiError && error.field ? String(error.field) : null;
  if (field) {
    const head = field.split(/[.[]/)[0];
    field = aliases[field] || aliases[head] || (slot(section, field) ? field : head);
  }
  const target = (field && slot(section, field)) || slot(section, "panel");
  let text = message;
  if (error instanceof ApiError && Array.isArray(error.allowed) && error.allowed.length && error.allowed.length <= 20 && !message.includes(error.allowed[0])) {
    text += ` Allowed: ${error.allowed.join(", ")}.`;
  }
  target.textContent = text;
  target.hidden = false;
  // The server refused the settings now in the controls (and in the address): the
  // charts still show the last accepted ones, so they are faded and say so.
  if (error instanceof ApiError) markStale(section, true);
  const control = target.dataset.control && section.querySelector(`#${target.dataset.control}`);
  if (control) control.setAttribute("aria-invalid", "true");
  if (!(error instanceof ApiError)) console.error(error);
}

function slot(section, field) {
  return section.querySelector(`[data-error-for="${CSS.escape(field)}"]`);
}

function markStale(section, stale) {
  for (const figures of section.querySelectorAll(".figures")) {
    if (stale) figures.dataset.stale = "1";
    else delete figures.dataset.stale;
  }
}

export function clearErrors(section) {
  markStale(section, false);
  for (const element of section.querySelectorAll("[data-error-for]")) {
    element.textContent = "";
    element.hidden = true;
    const control = element.dataset.control && section.querySelector(`#${element.dataset.control}`);
    if (control) control.removeAttribute("aria-invalid");
  }
}

export function debounce(fn, ms = 250) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

// Mark a panel busy while it waits for the server (tests wait on this too).
export async function busy(section, work) {
  section.dataset.busy = String(Number(section.dataset.busy || 0) + 1);
  try {
    return await work();
  } finally {
    section.dataset.busy = String(Number(section.dataset.busy) - 1);
  }
}

export function fillSelect(select, options, selected) {
  select.replaceChildren(
    ...options.map(({ value, label }) => {
      const option = document.createElement("option");
      option.value = value;
      option.textContent = label;
      return option;
    }),
  );
  if (selected !== undefined) select.value = selected;
}
