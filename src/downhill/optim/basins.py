"""Basins of attraction: start a climber at every point of a grid, see where each ends.

A landscape with several valleys splits its map into regions: from anywhere in
one region, gradient descent rolls down to the same minimum. :func:`basins`
computes that map with one vectorized :func:`~downhill.optim.descend.descend`
over the whole grid of starts and labels each start by the known minimum it
reached, so a picture (``downhill.viz.basins_plot``) only has to colour it.

Labels: ``0, 1, ...`` the index of the minimum in ``minima`` (the landscape's
known minima unless given; for a typed formula or a function, which know none,
the minima the climbers found, by :func:`~downhill.optim.minima.find_minima`),
:data:`DIVERGED` (-1) for a climber that fell off the mountain,
:data:`ELSEWHERE` (-2) for one that stopped (or ran out of steps) away from
every minimum: a local minimum nobody listed, a saddle, or a slow valley floor.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError
from ..results import Result, jsonable
from ..notebook import shows_in_notebook
from .descend import _resolve, descend
from .minima import find_minima
from .parallel import check_executor, run_all

DIVERGED = -1
ELSEWHERE = -2

__all__ = ["basins", "BasinMap", "DIVERGED", "ELSEWHERE"]


@shows_in_notebook
@dataclass
class BasinMap(Result):
    """Where each start of a grid ended: the result of :func:`basins`.

    Arrays over the grid have shape ``(ny, nx)``: row ``i`` is ``y = ys[i]``,
    column ``j`` is ``x = xs[j]`` (the layout of ``np.meshgrid(xs, ys)`` and of
    an image drawn with ``origin="lower"``).

    Fields: ``xs``, ``ys`` (the grid axes); ``labels`` (int, see the module
    notes); ``final_points`` ``(ny, nx, 2)``; ``status`` (``"converged"``,
    ``"diverged"`` or ``"max_steps"`` per start); ``steps_taken``; ``minima``
    (the points the labels index); ``counts`` (label -> how many starts);
    ``landscape`` (name); ``optimizer``, ``lr``, ``steps``, ``tol``,
    ``options``; ``domain``; ``found`` (True when the minima were found from
    the climbers' end points rather than known).

    >>> import downhill as dh
    >>> from downhill.optim.basins import basins
    >>> result = basins("sphere", lr=0.1, grid=5)
    >>> result.labels.shape, result.counts
    ((5, 5), {0: 25})
    """

    xs: np.ndarray
    ys: np.ndarray
    labels: np.ndarray
    final_points: np.ndarray
    status: np.ndarray
    steps_taken: np.ndarray
    minima: tuple
    counts: dict
    landscape: str | None = None
    optimizer: str = "sgd"
    lr: float = 0.01
    steps: int = 200
    tol: float = 0.0
    domain: tuple = ()
    options: dict = field(default_factory=dict)
    found: bool = False

    @property
    def starts(self) -> np.ndarray:
        """The start of every climber, shape ``(ny, nx, 2)``."""
        X, Y = np.meshgrid(self.xs, self.ys)
        return np.stack([X, Y], axis=-1)

    def fraction(self, label: int) -> float:
        """The share of starts with this label (0 to 1).

        >>> from downhill.optim.basins import basins
        >>> basins("sphere", lr=2.0, grid=4).fraction(-1)
        1.0
        """
        return self.counts.get(int(label), 0) / self.labels.size

    def label_at(self, point) -> int:
        """The label of the grid start nearest to ``point``.

        >>> from downhill.optim.basins import basins
        >>> basins("himmelblau", lr=0.01, grid=21).label_at((3.0, 2.0))
        0
        """
        x, y = np.asarray(point, dtype=np.float64)
        return int(self.labels[np.argmin(np.abs(self.ys - y)), np.argmin(np.abs(self.xs - x))])

    def summary(self) -> str:
        """One line per label: how many starts ended there.

        >>> from downhill.optim.basins import basins
        >>> print(basins("booth", lr=0.05, grid=6).summary())
        36 starts (sgd, lr=0.05, 200 steps):
          minimum 0 at (1, 3): 36 (100%)
        """
        total = self.labels.size
        lines = [f"{total} starts ({self.optimizer}, lr={self.lr:g}, {self.steps} steps):"]
        if self.found:
            # A typed formula: say where its minima came from.
            lines[0] = (f"{total} starts ({self.optimizer}, lr={self.lr:g}, {self.steps} steps); no list of minima "
                        f"for this formula, so these are where the climbers gathered:")
        for label in sorted(self.counts, key=lambda k: (k < 0, abs(k))):
            count = self.counts[label]
            lines.append(f"  {label_name(label, self.minima, self.found)}: {count} ({100 * count / total:.0f}%)")
        return "\n".join(lines)

    def to_dict(self, per_start: bool = True, arrays: bool = False) -> dict:
        """Strict JSON (:func:`downhill.results.jsonable`): NaN and inf become None, noted in ``non_finite``.

        ``per_start=False`` leaves out ``final_points``, ``status`` and
        ``steps_taken``: the map alone (labels, axes, minima, counts), what a
        picture needs; a 500 x 500 map is then under a megabyte of JSON instead of 15.
        ``arrays=True`` leaves finite arrays as NumPy arrays (for
        :func:`downhill.results.json_bytes`, which writes them directly).

        >>> import json
        >>> from downhill.optim.basins import basins
        >>> sorted(json.loads(json.dumps(basins("sphere", grid=3).to_dict())))[:3]
        ['counts', 'domain', 'final_points']
        >>> "final_points" in basins("sphere", grid=3).to_dict(per_start=False)
        False
        """
        fields = {"xs": self.xs, "ys": self.ys, "labels": self.labels}
        if per_start:
            fields.update(final_points=self.final_points, status=self.status, steps_taken=self.steps_taken)
        return jsonable({
            **fields,
            "minima": [list(m.point) if hasattr(m, "point") else list(m) for m in self.minima],
            "counts": {str(k): v for k, v in self.counts.items()},
            "landscape": self.landscape, "optimizer": self.optimizer, "lr": self.lr, "steps": self.steps,
            "tol": self.tol, "domain": [list(d) for d in self.domain], "options": dict(self.options),
            "found": self.found,
        }, arrays=arrays)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        where = f" on {self.landscape}" if self.landscape else ""
        ny, nx = self.labels.shape
        parts = ", ".join(f"{label_name(k, self.minima)}: {v}" for k, v in sorted(self.counts.items()))
        return f"<BasinMap{where}, {nx}x{ny} starts: {parts}>"


# Most starts in one block sent to a worker.
BLOCK = 65536


def _climb_block(target, starts, optimizer, lr, steps, grad_tol, max_value, options):
    """Climb a block of starts at once: (final points, statuses, steps taken, optimizer's name)."""
    run = descend(target, starts, optimizer=optimizer, lr=lr, steps=steps, tol=grad_tol,
                  max_value=max_value, record=False, **options)
    return (np.asarray(run.final_point, dtype=np.float64).reshape(len(starts), 2),
            np.asarray(run.status).reshape(len(starts)),
            np.asarray(run.steps_taken).reshape(len(starts)), run.optimizer)


def label_name(label: int, minima=(), found: bool = False) -> str:
    """Words for a basin label: ``minimum 1 at (-2.81, 3.13)``, ``diverged``, ``elsewhere``.

    ``found``: the minima were found from the climbers' end points (a typed
    formula), not known beforehand.

    >>> label_name(-1), label_name(-2), label_name(-2, found=True)
    ('diverged (fell off)', 'ended away from the known minima', 'ended away from every minimum found')
    """
    if label == DIVERGED:
        return "diverged (fell off)"
    if label == ELSEWHERE:
        return "ended away from every minimum found" if found else "ended away from the known minima"
    if 0 <= label < len(minima):
        point = minima[label].point if hasattr(minima[label], "point") else minima[label]
        # A coordinate that is zero up to rounding prints as 0, not -3.94e-75.
        return f"minimum {label} at ({', '.join(f'{0.0 if abs(c) < 1e-12 else c:.3g}' for c in point)})"
    return f"minimum {label}"


def _grid_shape(grid):
    if isinstance(grid, (int, np.integer)) and not isinstance(grid, bool):
        nx = ny = int(grid)
    else:
        try:
            nx, ny = (int(n) for n in grid)
        except (TypeError, ValueError):
            raise InputError(f"basins: grid must be a whole number or a pair (nx, ny), got {grid!r}") from None
    if nx < 1 or ny < 1 or nx * ny > 4_000_000:
        raise InputError(f"basins: grid must have 1 to 4,000,000 starts in all, got {nx} x {ny}")
    return nx, ny


def _domain(domain, landscape, name):
    if domain is None:
        if landscape is None:
            raise InputError(
                f"basins: give domain=((x_low, x_high), (y_low, y_high)) for the callable {name!r}; "
                "a landscape from dh.landscapes brings its own"
            )
        domain = landscape.domain
    try:
        (x0, x1), (y0, y1) = ((float(a), float(b)) for a, b in domain)
    except (TypeError, ValueError):
        raise InputError(
            f"basins: domain must be ((x_low, x_high), (y_low, y_high)), got {domain!r}"
        ) from None
    if not all(math.isfinite(v) for v in (x0, x1, y0, y1)) or x0 >= x1 or y0 >= y1:
        raise InputError(f"basins: domain must be finite with low < high on each axis, got {domain!r}")
    return (x0, x1), (y0, y1)


def basins(landscape, optimizer="sgd", lr=0.01, grid=(100, 100), steps=200, domain=None, tol=None,
           minima=None, grad_tol=1e-8, max_value=1e12, executor=None, progress=False, **options):
    """Start a climber at every point of a grid; label each by the minimum it reaches.

    ``landscape`` is a 2-D landscape (or its name, see ``dh.landscapes.names()``)
    or a callable taking points ``(n, 2)``; then give ``domain`` too. ``grid`` is
    ``(nx, ny)`` or one number for both; the starts are ``np.linspace`` over the
    domain (edges included). Every climber runs ``dh.descend(..., record=False)``
    with ``optimizer``, ``lr``, ``steps``, ``grad_tol`` (descend's ``tol``),
    ``max_value`` and the optimizer ``options`` (``momentum=0.9``, ...), all at once.

    A climber is labelled with the index of the nearest point of ``minima``
    (default: the landscape's known minima) if it ended within ``tol`` of it
    (default: 1% of the domain's smaller side), :data:`DIVERGED` (-1) if it
    fell off, :data:`ELSEWHERE` (-2) otherwise. Where no minima are known
    (a typed formula, a function), the end points are clustered and each
    cluster polished into a minimum (:func:`~downhill.optim.minima.find_minima`);
    a climber is labelled by its cluster's minimum, and ``found`` is True.

    ``executor`` (any ``concurrent.futures.Executor``: a ``ProcessPoolExecutor``,
    dask's ``Client.get_executor()``) cuts the grid's starts into blocks and
    climbs them side by side; each climber gets exactly the numbers it gets in
    one batch, so the map is the same, bit for bit. ``progress=True`` climbs in
    blocks (with or without an executor) and shows a progress bar on a terminal.

    >>> import downhill as dh
    >>> from downhill.optim.basins import basins
    >>> result = basins("himmelblau", lr=0.01, grid=40, steps=300)
    >>> sorted(result.counts)              # all four valleys are found
    [0, 1, 2, 3]
    >>> basins("himmelblau", lr=0.2, grid=10).counts  # far too big a step
    {-1: 100}
    >>> typed = basins(dh.landscapes.from_expression("(x - 3)**2 + 10*sin(y)**2"), grid=30)
    >>> typed.found, [round(m.point[1] / np.pi, 6) for m in typed.minima]  # (3, k pi)
    (True, [-2.0, -1.0, -0.0, 1.0, 2.0])
    """
    name, found_landscape, function = _resolve(landscape)
    if found_landscape is not None and len(found_landscape.variables) != 2:
        raise InputError(
            f"basins: {found_landscape.name} has {len(found_landscape.variables)} variable(s) "
            f"{tuple(found_landscape.variables)}; "
            "a basin map needs a landscape of two variables (x, y)"
        )
    nx, ny = _grid_shape(grid)
    (x0, x1), (y0, y1) = _domain(domain, found_landscape, name)
    if minima is None:
        minima = found_landscape.minima if found_landscape is not None else ()
    minima = tuple(minima)
    points = np.array([m.point if hasattr(m, "point") else m for m in minima], dtype=np.float64).reshape(-1, 2)
    if tol is None:
        tol = 0.01 * min(x1 - x0, y1 - y0)
    if not (isinstance(tol, (int, float, np.floating)) and tol > 0):
        raise InputError(f"basins: tol (how close counts as reaching a minimum) must be a number > 0, got {tol!r}")

    xs = np.linspace(x0, x1, nx)
    ys = np.linspace(y0, y1, ny)
    X, Y = np.meshgrid(xs, ys)
    starts = np.stack([X.ravel(), Y.ravel()], axis=1)
    target = function if found_landscape is None else found_landscape
    if check_executor(executor, "basins") is None and not progress:
        final, status, steps_taken, optimizer_name = _climb_block(
            target, starts, optimizer, lr, steps, grad_tol, max_value, options)
    else:
        # Blocks of starts: a few per worker for small grids, cache-sized ones for big grids.
        size = max(1, min(BLOCK, -(-len(starts) // 8)))
        jobs = [(target, starts[i:i + size], optimizer, lr, steps, grad_tol, max_value, options)
                for i in range(0, len(starts), size)]
        blocks = run_all(_climb_block, jobs, executor, "basins", progress)
        final = np.concatenate([block[0] for block in blocks])
        status = np.concatenate([block[1] for block in blocks])
        steps_taken = np.concatenate([block[2] for block in blocks])
        optimizer_name = blocks[0][3]
    labels = np.full(len(starts), ELSEWHERE, dtype=np.int64)
    finite = np.all(np.isfinite(final), axis=1)
    found = not minima
    if found:
        # Nobody listed the minima: the climbers' end points say where they are.
        landed = finite & (status != "diverged")
        result = find_minima(function if found_landscape is None else found_landscape, final[landed], tol,
                             optimizer=optimizer, lr=lr, grad_tol=grad_tol, **options)
        minima = result.minima
        labels[landed] = np.where(result.labels >= 0, result.labels, ELSEWHERE)
    elif len(points):
        with np.errstate(over="ignore", invalid="ignore"):
            distance = np.linalg.norm(final[:, None, :] - points[None, :, :], axis=2)
        distance[~finite] = np.inf
        nearest = np.argmin(distance, axis=1)
        close = distance[np.arange(len(final)), nearest] <= tol
        labels[close] = nearest[close]
    labels[(status == "diverged") | ~finite] = DIVERGED
    values, counts = np.unique(labels, return_counts=True)
    return BasinMap(
        xs=xs, ys=ys, labels=labels.reshape(ny, nx), final_points=final.reshape(ny, nx, 2),
        status=status.reshape(ny, nx), steps_taken=steps_taken.reshape(ny, nx),
        minima=minima, counts={int(v): int(c) for v, c in zip(values, counts)}, landscape=name,
        optimizer=optimizer_name, lr=float(lr), steps=int(steps), tol=float(tol),
        domain=((x0, x1), (y0, y1)), options={"grad_tol": grad_tol, "max_value": max_value, **options},
        found=found,
    )
