"""The learning rate, made measurable: sweeps and the 2/L stability bound.

Too big a step and you fall off the mountain; too small and you never reach
the bottom. :func:`lr_sweep` runs the same climb at many learning rates and
labels each; :func:`lr_advice` reads the curvature at a point (the Hessian's
largest eigenvalue L) and gives the largest stable step of plain gradient
descent, 2/L.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError
from ..notebook import shows_in_notebook
from ..autodiff import Tensor, hessian
from ..results import Result, jsonable
from .descend import _resolve, climb_each_rate, descend
from .parallel import run_all
from .trajectory import rounded

TOO_SMALL, GOOD, TOO_BIG = "too small", "good", "too big"

#: The learning rates a sweep tries when none are given: 12 from 1e-5 to 10, evenly spaced in log.
DEFAULT_SWEEP_LRS = tuple(np.logspace(-5, 1, 12).tolist())


@dataclass
class SweepRow:
    """One learning rate's climb: where it ended and what that says."""

    lr: float
    final_value: float
    steps_taken: int
    status: str
    label: str


@shows_in_notebook
@dataclass
class LRSweep(Result):
    """The result of :func:`lr_sweep`: one row per learning rate, and the best one."""

    rows: list[SweepRow]
    start_value: float
    best_lr: float | None
    landscape: str | None = None
    options: dict = field(default_factory=dict)

    def table(self) -> str:
        """The rows as a plain-text table.

        >>> import downhill as dh
        >>> print(dh.lr_sweep("sphere", [1.0, 1.0], [0.01, 0.4, 1.2], steps=50).table())
        learning rate   final value   steps   status      verdict
                 0.01      0.265239      50   max_steps   too small
                  0.4   1.34218e-18      13   converged   good
                  1.2   1.92101e+12      41   diverged    too big
        """
        lines = [f"{'learning rate':>13}   {'final value':>11}   {'steps':>5}   {'status':<10}  verdict"]
        for row in self.rows:
            lines.append(
                f"{row.lr:>13.6g}   {row.final_value:>11.6g}   {row.steps_taken:>5}   {row.status:<10}  {row.label}"
            )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()

    def to_dict(self) -> dict:
        """Strict JSON: rows as dicts (NaN and inf become None, noted in ``non_finite``), and ``good_band``.

        >>> import downhill as dh
        >>> data = dh.lr_sweep("sphere", [1.0, 1.0], [0.1, 1e200], steps=100).to_dict()
        >>> data["rows"][1]["final_value"], data["non_finite"]
        (None, {'rows[1].final_value': 'inf'})
        """
        return jsonable({"rows": self.rows, "start_value": self.start_value, "best_lr": self.best_lr,
                         "landscape": self.landscape, "options": self.options, "good_band": self.good_band})

    def zones(self) -> list:
        """The verdicts as bands of rates: see :func:`verdict_zones`.

        >>> import downhill as dh
        >>> sweep = dh.lr_sweep("booth", [0.0, 0.0], [0.001, 0.01, 0.1, 1.0], steps=200)
        >>> [(z.verdict, z.low, z.high, z.fell_off) for z in sweep.zones()]
        [('too small', 0.001, 0.001, False), ('good', 0.01, 0.1, False), ('too big', 1.0, 1.0, True)]
        """
        return verdict_zones([r.lr for r in self.rows], [r.label for r in self.rows], [r.status for r in self.rows])

    @property
    def good_band(self) -> list | None:
        """[low, high]: the rates seen arriving around the best one (None when none did).

        The band ends at the last rate that arrived, never halfway to the next
        one: the sweep did not see what happens in between, and the next one
        may fall off.
        """
        for zone in self.zones():
            if zone.verdict == GOOD and self.best_lr is not None and zone.low <= self.best_lr <= zone.high:
                return [zone.low, zone.high]
        return None


@dataclass(frozen=True)
class Zone:
    """Neighbouring rates of a sweep with one verdict: from ``low`` to ``high`` (both tried).

    ``fell_off``: whether any of them diverged (a "too big" zone on a bounded
    mountain may hold none: its climbers overshoot without blowing up).
    """

    verdict: str
    low: float
    high: float
    fell_off: bool


def verdict_zones(lrs, labels, statuses) -> list[Zone]:
    """Group a sweep's rates (sorted by rate) into runs of one verdict, each spanning only the rates tried.

    A zone never reaches past its own rates: between the last good rate and
    the first too-big one nobody climbed, so neither may claim that gap.

    >>> [(z.verdict, z.low, z.high) for z in verdict_zones([0.3, 0.1, 0.2], ["too big", "good", "good"],
    ...                                                   ["diverged", "converged", "converged"])]
    [('good', 0.1, 0.2), ('too big', 0.3, 0.3)]
    """
    order = sorted(range(len(lrs)), key=lambda i: lrs[i])
    zones, first = [], 0
    for k in range(1, len(order) + 1):
        if k == len(order) or labels[order[k]] != labels[order[first]]:
            members = order[first:k]
            zones.append(Zone(labels[members[0]], float(lrs[members[0]]), float(lrs[members[-1]]),
                              any(statuses[i] == "diverged" for i in members)))
            first = k
    return zones


def _label_rows(lrs, finals, statuses, start_value):
    """too small / good / too big for each run.

    A run is good if it converged, or if it closed at least 99.9% of the gap
    between the start and the best final value of the sweep. Otherwise it is
    too big if it diverged or its learning rate is above the best one, and
    too small if below.
    """
    healthy = [i for i, s in enumerate(statuses) if s != "diverged" and math.isfinite(finals[i])]
    if not healthy:
        return [TOO_BIG] * len(lrs), None
    best = min(healthy, key=lambda i: (finals[i], lrs[i]))
    best_value = finals[best]
    gap = start_value - best_value
    labels = []
    for i, lr in enumerate(lrs):
        if statuses[i] == "diverged" or not math.isfinite(finals[i]):
            labels.append(TOO_BIG)
        elif statuses[i] == "converged" or (gap > 0 and finals[i] - best_value <= 1e-3 * gap):
            labels.append(GOOD)
        elif lr > lrs[best]:
            labels.append(TOO_BIG)
        else:
            labels.append(TOO_SMALL)
    return labels, lrs[best]


def lr_sweep(f, start, lrs, optimizer="sgd", steps=100, tol=1e-8, max_value=1e12, executor=None,
             progress=False, **optimizer_options):
    """Run the same climb at each learning rate; label each too small / good / too big.

    Each run is exactly what ``descend(f, start, lr=...)`` gives alone; on a
    landscape the rates climb side by side as one batch of climbers
    (:func:`~downhill.optim.descend.climb_each_rate`), otherwise one after another.
    ``executor`` (any ``concurrent.futures.Executor``: a ``ProcessPoolExecutor``,
    dask's ``Client.get_executor()``) runs the climbs side by side; the result
    is the same, bit for bit (see :mod:`downhill.optim.parallel`). ``progress=True``
    shows a progress bar on a terminal.

    >>> import downhill as dh
    >>> sweep = dh.lr_sweep("booth", [0.0, 0.0], [1e-4, 0.05, 0.2], steps=200)
    >>> [row.label for row in sweep.rows]
    ['too small', 'good', 'too big']
    """
    lrs = np.asarray(lrs, dtype=np.float64).ravel()
    if lrs.size == 0 or not np.all(np.isfinite(lrs)) or np.any(lrs < 0):
        raise InputError("lr_sweep: give one or more finite learning rates >= 0")
    name, landscape, function = _resolve(f)
    start = np.asarray(start, dtype=np.float64)
    if start.ndim != 1:
        raise InputError(f"lr_sweep: start must be one point of shape (d,), got shape {start.shape}")
    # One number: a one-variable landscape answers a (1,)-point with a (1,)-value.
    with np.errstate(all="ignore"):
        start_value = float(np.sum(np.asarray(function(Tensor(start)).data if landscape is None
                                              else landscape(start), dtype=np.float64)))
    if np.all(np.isfinite(start)) and not (math.isfinite(start_value) and abs(start_value) <= max_value):
        # Every rate would "diverge" at step 0 and be labelled too big: the rates are not to blame.
        what = "not a finite number" if not math.isfinite(start_value) else f"past max_value={max_value:g}"
        raise InputError(f"lr_sweep: the value at the start {rounded(start)} is {start_value:g} ({what}): the "
                         "climber is off the mountain before any step, so no learning rate can be judged from "
                         "there; start where the formula is finite and not huge")
    rows = []
    batch = None
    if executor is None and not progress:
        # All rates at once, one climber each (exactly what each lone climb gives).
        batch = climb_each_rate(landscape if landscape is not None else f, start, lrs, optimizer=optimizer,
                                steps=steps, tol=tol, max_value=max_value, **optimizer_options)
    if batch is not None:
        final_values, statuses, taken = batch
        finals = [value if math.isfinite(value) else math.inf for value in final_values.tolist()]
        statuses, taken = statuses.tolist(), taken.tolist()
    else:
        # One climb per rate: side by side on the executor, or for a callable that takes one point.
        target = f if landscape is None else landscape  # a Landscape travels to workers as its formula
        jobs = [(target, start, optimizer, float(lr), steps, tol, max_value, optimizer_options) for lr in lrs]
        finals, statuses, taken = (list(column) for column in
                                   zip(*run_all(_sweep_climb, jobs, executor, "lr_sweep", progress)))
    labels, best_lr = _label_rows(list(lrs), finals, statuses, start_value)
    for lr, final, n, status, label in zip(lrs, finals, taken, statuses, labels):
        rows.append(SweepRow(float(lr), final, int(n), status, label))
    options = {"optimizer": optimizer, "steps": steps, "start": start.tolist(), **optimizer_options}
    return LRSweep(rows, start_value, best_lr, name, options)


def _sweep_climb(f, start, optimizer, lr, steps, tol, max_value, options):
    """One rate of a sweep: (final value, status, steps taken). Module-level, so workers can run it."""
    run = descend(f, start, optimizer=optimizer, lr=lr, steps=steps, tol=tol, max_value=max_value,
                  record=False, **options)
    final = float(run.final_value) if math.isfinite(run.final_value) else math.inf
    return final, run.status, run.steps_taken


@dataclass
class LRAdvice(Result):
    """What the curvature at a point says about the learning rate."""

    point: np.ndarray
    curvature: float
    eigenvalues: np.ndarray
    max_stable_lr: float
    suggested_lr: float
    message: str

    def __str__(self) -> str:
        return self.message

    def to_dict(self) -> dict:
        """Strict JSON: an infinite bound (a hilltop: no step is stable) becomes None, noted in ``non_finite``.

        >>> import downhill as dh
        >>> data = dh.lr_advice("x**2 + 3*y**2", [1.0, 1.0]).to_dict()
        >>> data["curvature"], data["max_stable_lr"], data["eigenvalues"]
        (6.0, 0.3333333333333333, [2.0, 6.0])
        """
        return jsonable({"curvature": self.curvature, "max_stable_lr": self.max_stable_lr,
                         "suggested_lr": self.suggested_lr, "eigenvalues": self.eigenvalues,
                         "message": self.message, "point": self.point})


def lr_advice(f, point):
    """The largest stable step of plain gradient descent near ``point``: 2/L.

    L is the largest eigenvalue of the Hessian at ``point``: the steepest
    curvature. On a bowl curved that much, a step above 2/L overshoots
    further each time (falls off); 1/L is a safe, quick choice.

    >>> import downhill as dh
    >>> advice = dh.lr_advice("sphere", [1.0, 1.0])
    >>> advice.curvature, advice.max_stable_lr
    (2.0, 1.0)
    """
    name, landscape, function = _resolve(f)
    point = np.asarray(point, dtype=np.float64)
    if point.ndim != 1:
        raise InputError(f"lr_advice: point must have shape (d,), got {point.shape}")
    # At a kink (Ackley's tip, Bukin's ridge) the Hessian has NaN or inf
    # entries: reported just below as a plain error, not as warnings.
    with np.errstate(all="ignore"):
        H = np.asarray(hessian(lambda p: function(p))(point), dtype=np.float64).reshape(point.size, point.size)
        H = (H + H.T) / 2  # rounding can leave it a hair off symmetric
    where = f" at {rounded(point)}"
    if not np.all(np.isfinite(H)):  # eigvalsh may give finite numbers for a NaN matrix
        raise InputError(f"lr_advice: the curvature{where} is not finite (the function is not smooth there)")
    eigenvalues = np.linalg.eigvalsh(H)
    L = float(eigenvalues[-1])
    # "Zero" up to rounding, measured against the Hessian's own size.
    flat = abs(L) <= 1e-12 * max(1.0, float(np.abs(eigenvalues).max()))
    if flat:
        message = (f"The ground{where} is not curved (the Hessian is zero): it is a flat slope, "
                   "like the sides of abs(x) + abs(y), so 2/L sets no limit here. Each step moves "
                   "lr x the slope downhill; too big a step overshoots a kink or a bend farther on, "
                   "so try a sweep (dh.lr_sweep) to see which rates arrive.")
        return LRAdvice(point, 0.0, eigenvalues, math.inf, math.nan, message)
    if L < 0:
        message = (f"The curvature{where} is nowhere positive (largest Hessian eigenvalue {L:.4g}): "
                   "this is a hilltop or a ridge, not a bowl, so no step size is stable here; "
                   "gradient descent moves away from this point whatever the learning rate.")
        return LRAdvice(point, L, eigenvalues, math.inf, math.nan, message)
    bound = 2.0 / L
    message = (f"The steepest curvature{where} is L = {L:.6g} (the Hessian's largest eigenvalue). "
               f"Plain gradient descent is stable here only for learning rates below 2/L = {bound:.6g}: "
               f"a bigger step overshoots the valley floor further each time and falls off the mountain. "
               f"A step of about 1/L = {1 / L:.6g} is a safe choice near this point.")
    return LRAdvice(point, L, eigenvalues, bound, 1.0 / L, message)


__all__ = ["DEFAULT_SWEEP_LRS", "lr_sweep", "lr_advice", "LRSweep", "SweepRow", "LRAdvice", "Zone", "verdict_zones",
           "TOO_SMALL", "GOOD", "TOO_BIG"]
