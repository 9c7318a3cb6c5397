// Talking to the playground's JSON API (the only thing the page fetches).
//
// Every route answers JSON. A request the server refuses comes back as a 4xx
// with {"error": message, "field": name of the bad input, "allowed": ...};
// it becomes an ApiError, so a panel can show the message next to the control
// the learner has to change.

export class ApiError extends Error {
  constructor(message, { field = null, allowed = null, status = 0 } = {}) {
    super(message);
    this.name = "ApiError";
    this.field = field;
    this.allowed = allowed;
    this.status = status;
  }
}

// A request refused before computing because it would take too long comes
// with allowed = {cost_s, max_cost_s, lower: {field: largest value that fits}}:
// say it in the page's words, with what the learner can change (the page sets
// surface grids and resolutions itself; the basin map's detail is a control).
const LEVERS = {
  steps: (v) => `at most ${v.toLocaleString("en")} steps`,
  start: (v) => `at most ${v.toLocaleString("en")} climbers`,
  lrs: (v) => `at most ${v.toLocaleString("en")} learning rates`,
  expression: (v) => `a shorter formula (at most ${v.toLocaleString("en")} operations)`,
  // The basin map's detail control goes down to 60 x 60.
  grid: (v) => (v >= 60 ? `less detail in the basin map (at most ${v} × ${v})` : null),
};

function costInWords(data) {
  const allowed = data && data.allowed;
  if (!allowed || typeof allowed.cost_s !== "number" || !allowed.lower) return null;
  const ways = Object.entries(allowed.lower)
    .filter(([field]) => LEVERS[field])
    .map(([field, v]) => LEVERS[field](v))
    .filter(Boolean);
  const seconds = allowed.cost_s < 10 ? allowed.cost_s.toFixed(1) : Math.round(allowed.cost_s);
  const head = `This would take about ${seconds} s to compute; the playground computes at most ${allowed.max_cost_s} s for one request.`;
  return ways.length ? `${head} To fit, use ${ways.join(", or ")}.` : head;
}

async function request(method, path, body) {
  let response;
  try {
    response = await fetch(path, {
      method,
      headers: body === undefined ? {} : { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    throw new ApiError(`Could not reach the playground's server (${error.message}). Is "downhill serve" still running?`);
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    const message = costInWords(data) || (data && (data.error || data.detail)) || `The server answered ${response.status} ${response.statusText}.`;
    throw new ApiError(message, {
      field: data ? data.field ?? null : null,
      allowed: data ? data.allowed ?? null : null,
      status: response.status,
    });
  }
  return data;
}

export const get = (path) => request("GET", path);
export const post = (path, body) => request("POST", path, body);

// Only the answer to the latest call counts. While a learner drags a slider,
// requests pile up; an older answer arriving late must not overwrite a newer
// one. `latest(fn)` wraps an async function so that a superseded call resolves
// to undefined instead of its (stale) result.
export function latest(fn) {
  let ticket = 0;
  return async (...args) => {
    const mine = ++ticket;
    try {
      const result = await fn(...args);
      return mine === ticket ? result : undefined;
    } catch (error) {
      if (mine === ticket) throw error;
      return undefined;
    }
  };
}

// The catalogue (landscapes, optimizers, schedules), fetched once.
let catalogue = null;
export function getCatalogue() {
  if (!catalogue) catalogue = get("/api/landscapes");
  return catalogue;
}
