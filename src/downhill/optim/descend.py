"""descend(): the mountain climber. Feel the ground, take a step, repeat.

The slope comes from the engine. For a landscape (or a landscape's name) the
formula is traced once into straight-line code (``autodiff.compile``), so a
step costs a few NumPy calls; for any other callable the ordinary engine
(Tensor, backward) is used. The step itself is the optimizer's pure function
(``optim.functional``), the same mathematics as the optimizer classes.

Many climbers run at once: ``start`` of shape (n, d). Their coordinates are
kept as (d, n) arrays, processed in chunks small enough to stay in the CPU
cache, each chunk taking all its steps with the trace written for kept
buffers (``autodiff.compile_inplace``: a step allocates nothing), and each
climber stops on its own: finished climbers are taken out of the working set.
With numba installed, big batches go through one fused kernel instead
(:mod:`.fused`).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from ..autodiff import Tensor, enable_grad
from ..errors import InputError, InputTypeError
from ..landscapes.field import program_for
from ..progress import bar as progress_bar
from ..progress import counting
from .registry import get_functional
from .registry import resolve as resolve_optimizer
from .schedules import lr_sequence
from .trajectory import Trajectory

# Climbers per chunk: a chunk's arrays of (CHUNK,) float64 (64 KiB each: the
# coordinates, the gradients, the slope's kept buffers, the optimizer's state
# and scratch; about 14 for Rosenbrock and SGD) stay within a core's 1 MiB L2
# cache while the chunk takes all its steps, and each NumPy call has enough
# work to hide its fixed cost (about a microsecond).
CHUNK = 8192
# Climbers up to which a step's stopping test reads Python numbers instead of NumPy reductions.
SMALL = 16
# Climbers up to which a batch climbs one by one: a step on NumPy scalars costs a
# third of one on arrays of one or two, as much as one on three.
FEW = 2
# Threads for many climbers (the chunks are independent).
WORKERS = min(4, os.cpu_count() or 1)


def _resolve(f):
    """(name, landscape or None, callable) for what descend was given.

    A string is a catalog name or a formula typed by a person, read by
    :func:`downhill.landscapes.resolve` like everywhere else.
    """
    from ..landscapes import Landscape, resolve

    if isinstance(f, (str, Landscape)):
        landscape = resolve(f)
        return landscape.name, landscape, landscape
    if callable(f):
        return getattr(f, "__name__", None), None, f
    raise InputTypeError(
        f"descend needs a landscape name (see dh.landscapes.names()), a formula such as 'x**2 + y**2', "
        f"a Landscape, or a callable taking a point; got {type(f).__name__}"
    )


def _engine_slope(function, dimension):
    """value_and_grad over coordinates (d, n) using the ordinary engine."""

    def slope(*coords):
        batch = np.ndim(coords[0]) == 1
        point = np.stack([np.asarray(c, dtype=np.float64) for c in coords], axis=-1)
        tensor = Tensor(point)
        tensor.requires_grad = True
        value = function(tensor)
        if not isinstance(value, Tensor):
            value = Tensor(np.asarray(value, dtype=np.float64))
        expected = (point.shape[0],) if batch else ()
        if value.shape != expected:
            raise InputError(
                f"descend: f(point) must return one number per point: a point of shape {point.shape} "
                f"gave a value of shape {value.shape}"
            )
        if value.requires_grad:
            value.sum().backward() if batch else value.backward()
            grad = tensor.grad.data
        else:
            grad = np.zeros_like(point)
        values = value.data if batch else value.data[()]
        return values, tuple(grad[..., i] for i in range(dimension))

    return slope


def _of_the_coordinate(landscape):
    """``landscape`` as a function of a point ``(x,)`` (or a batch ``(n, 1)``)."""
    return lambda point: landscape(point[..., 0])


def _check_settings(lr, steps, tol, max_value):
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise InputError(f"descend: steps must be a whole number >= 0, got {steps!r}")
    if not (isinstance(lr, (int, float, np.floating)) and math.isfinite(lr) and lr >= 0):
        raise InputError(f"descend: lr must be a finite number >= 0, got {lr!r}")
    if not (isinstance(tol, (int, float, np.floating)) and tol >= 0):
        raise InputError(f"descend: tol must be a number >= 0, got {tol!r}")
    if not (isinstance(max_value, (int, float, np.floating)) and max_value > 0):
        raise InputError(f"descend: max_value must be a number > 0, got {max_value!r}")


def descend(f, start, optimizer="sgd", lr=0.01, steps=1000, tol=1e-8, max_value=1e12,
            schedule=None, record=True, progress=False, **optimizer_options):
    """Walk downhill from ``start`` and return the :class:`Trajectory`.

    ``f`` is a landscape name (``dh.landscapes.names()``), a Landscape, or a
    callable taking a point Tensor of shape (d,) (or a batch (n, d)) and
    returning a number (one per point). ``optimizer`` names an optimizer of
    :mod:`downhill.optim` and ``optimizer_options`` go to it (``momentum=0.9``,
    ``betas=(0.9, 0.99)``, ...). ``schedule`` is an optional learning-rate
    schedule: a callable ``step -> lr``, or a scheduler name or class with
    options as a ``(spec, options)`` pair.

    Each step: evaluate the value and the slope; stop as ``"converged"`` when
    the slope's length is at most ``tol``, as ``"diverged"`` when the value is
    NaN, infinite or larger than ``max_value`` in size (the climber fell off
    the mountain: a result, never an exception), as ``"max_steps"`` after
    ``steps`` steps; otherwise take the optimizer's step.

    ``start`` of shape (n, d) runs n climbers at once, each stopping on its
    own, with results identical to running each alone. ``record=False`` keeps
    only the final points and per-climber figures. ``progress=True`` shows a
    bar of steps on stderr when it is a terminal and the climb takes a while
    (see :mod:`downhill.progress`); it changes nothing else.

    >>> import downhill as dh
    >>> t = dh.descend("rosenbrock", [-1.5, 2.0], optimizer="adam", lr=0.02, steps=5000)
    >>> t.status, np.round(t.final_point, 4)
    ('converged', array([1., 1.]))
    """
    _check_settings(lr, steps, tol, max_value)
    name, landscape, function = _resolve(f)
    given = start
    # No copy yet: the fused kernel only reads the starts (a million of them are 16 MB).
    start = np.asarray(start, dtype=np.float64)
    if start.ndim not in (1, 2) or start.shape[-1] == 0:
        raise InputError(
            f"descend: start must be a point of shape (d,) or a batch of shape (n, d); got shape {start.shape}"
        )
    if not np.all(np.isfinite(start)):
        raise InputError("descend: start must be finite numbers")
    dimension = start.shape[-1]
    if landscape is not None and len(landscape.variables) != dimension:
        raise InputError(
            f"descend: {landscape.name} has {len(landscape.variables)} variable(s) "
            f"{tuple(landscape.variables)}, but start has {dimension} coordinate(s)"
        )
    optimizer, optimizer_options = resolve_optimizer(optimizer, optimizer_options)
    functional = get_functional(optimizer)
    init, update = functional.bind(lr=lr, **optimizer_options)
    program = program_for(landscape) if landscape is not None else None
    if program is None and landscape is not None and dimension == 1:
        # A one-variable landscape takes x itself (its formula reads x, not x[0]); the
        # engine path hands every function a point (x,).
        function = _of_the_coordinate(landscape)
    climb = _Climb(
        slope=program.function if program is not None else _engine_slope(function, dimension),
        inplace=None,  # the NumPy path's kept-buffer form, written below only if that path runs
        init=init, update=update, lr=lr, steps=steps, tol=tol, max_value=max_value, record=record,
        rates=lr_sequence(schedule, steps, lr=lr) if schedule is not None else None,
        labels=dict(optimizer=functional.name, landscape=name,
                    options={"lr": lr, "steps": steps, "tol": tol, "max_value": max_value, **optimizer_options}),
    )
    # Overflow on the way to infinity is how a climber falls off the
    # mountain: a result to report, not a warning to raise. The climber needs
    # its slopes even when called inside no_grad(), so it records for itself.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"), enable_grad():
        if start.ndim == 2 and program is not None:
            fast = _climb_fused(landscape, functional, optimizer_options, start, climb)
            if fast is not None:
                return Trajectory(**fast, **climb.labels)
        if isinstance(given, np.ndarray) and np.may_share_memory(start, given):
            # The climb and its record own their points: never the caller's array.
            start = start.copy()
        if program is not None and start.ndim == 2 and _in_place(update, start):
            climb = dataclasses.replace(climb, inplace=program.inplace())
        if not progress:
            return _dispatch(climb, start, program)
        # Each step evaluates the slope once (per chunk of climbers): count those.
        chunks = 1 if start.ndim == 1 else max(1, -(-start.shape[0] // CHUNK))
        with progress_bar(True, total=chunks * (steps + 1), desc="descend", unit="step") as shown:
            slope = counting(climb.slope, shown)
            # The kept-buffer path calls its own slope, which has no counter: with a bar, the plain one.
            climb = dataclasses.replace(climb, slope=slope, inplace=None)
            try:
                return _dispatch(climb, start, program)
            finally:
                slope.flush()


def _dispatch(climb, start, program):
    """The climb of one climber, of a few (one by one), or of a batch."""
    if start.ndim == 1:
        return _climb_one(climb, start)
    if 0 < start.shape[0] <= FEW and program is not None:
        return _climb_few(climb, start)
    return _climb_many(climb, start)


def _climb_fused(landscape, functional, optimizer_options, start, climb):
    """Many climbers through the compiled kernel of :mod:`.fused`, or None for the NumPy path."""
    from . import fused

    if not fused.available():
        return None
    settings = {k: v for k, v in {**functional.defaults, **optimizer_options}.items() if k != "lr"}
    steps = climb.steps
    rates = np.full(steps, float(climb.lr)) if climb.rates is None else np.asarray(climb.rates, dtype=np.float64)
    try:
        out = fused.climb(landscape.formula, tuple(landscape.variables), functional.name, settings, start,
                          rates, steps, climb.tol, climb.max_value, record=climb.record)
    except fused.NotFusable:
        return None
    taken = int(out["steps_taken"].max(initial=0))
    return dict(lrs=rates[:taken], points=out.pop("points", None), values=out.pop("values", None),
                grad_norms=out.pop("grad_norms", None), **out)


@dataclass(frozen=True)
class _Climb:
    """Everything a climb needs besides where it starts: its slope, its steps and when to stop."""

    slope: Callable  # (*coordinates) -> (value, gradients), for one point or a (d, n) batch
    inplace: object  # the slope's InplaceProgram (buffers kept from step to step), or None
    init: Callable  # the optimizer's pure pair, options bound
    update: Callable
    lr: float | np.ndarray  # one for all, or one per climber (of the whole batch)
    rates: np.ndarray | None  # the schedule's learning rate per step, or None for a constant lr
    steps: int
    tol: float
    max_value: float
    record: bool
    labels: dict  # optimizer, landscape and options, for the Trajectory


def _in_place(update, point):
    """The in-place form (``<name>_update_``) of a bound pure update, with its options and kept scratch.

    None where there is none (an update that is not one of downhill's rules)
    or the point is not float64.
    """
    from . import functional as rules

    if not isinstance(update, functools.partial) or point.dtype != np.float64:
        return None
    in_place = getattr(rules, getattr(update.func, "__name__", "") + "_", None)
    if in_place is None or update.args:
        return None
    return functools.partial(in_place, **update.keywords, scratch=rules.Scratch(point))


def _climb_lone(climb, point):
    """One climber to the end, coordinates as NumPy scalars: a few microseconds a step.

    Returns its recorded lists (empty without ``record``) and its last figures:
    ``(points, values, norms2, status, diverged_at, steps_taken, final_point, final_value, final_norm2)``.
    """
    slope, update, rates, steps, record = climb.slope, climb.update, climb.rates, climb.steps, climb.record
    tol, max_value = climb.tol, climb.max_value
    state = climb.init(point)
    # The climber owns its point: the optimizer's in-place rule steps it with
    # kept scratch arrays (the pure rule runs the same arithmetic on copies,
    # so both round alike), and the recorded path keeps copies.
    step = _in_place(update, point)
    if step is not None:
        point = point.copy()
    points, values, norms = [], [], []
    tol2 = tol * tol
    status, diverged_at, t = "max_steps", None, 0
    dims = range(point.shape[0])
    while True:
        value, grads = slope(*[point[i] for i in dims])
        grad = np.array(grads, dtype=np.float64)
        # Square by square, in the batch's order: a dot product (BLAS) may
        # round differently, and lone climbers must match the batch bit for bit.
        norm2 = 0.0
        for g in grad:
            norm2 += g * g
        norm2 = float(norm2)
        value = float(value)
        if record:
            points.append(point.copy() if step is not None else point)
            values.append(value)
            norms.append(norm2)
        if not (abs(value) <= max_value) or not math.isfinite(norm2):
            status, diverged_at = "diverged", t
            break
        if norm2 <= tol2:
            status = "converged"
            break
        if t == steps:
            break
        if step is not None:
            state = step(point, grad, state) if rates is None else step(point, grad, state, lr=rates[t])
        elif rates is None:
            point, state = update(point, grad, state)
        else:
            point, state = update(point, grad, state, lr=rates[t])
        t += 1
    return points, values, norms, status, diverged_at, t, np.array(point, dtype=np.float64), value, norm2


def _climb_one(climb, point):
    """One climber: its :class:`Trajectory`."""
    points, values, norms, status, diverged_at, t, final_point, value, norm2 = _climb_lone(climb, point)
    record, rates = climb.record, climb.rates
    used = rates[:t] if rates is not None else np.full(t, float(climb.lr))
    final_norm = math.sqrt(norm2) if math.isfinite(norm2) else float("nan")
    return Trajectory(
        points=np.array(points) if record else None,
        values=np.array(values) if record else None,
        grad_norms=np.sqrt(np.array(norms)) if record else None,
        lrs=used, status=status, steps_taken=t, diverged_at=diverged_at,
        final_point=final_point, final_value=value, final_grad_norm=final_norm,
        **climb.labels,
    )


def _climb_few(climb, start):
    """A batch of a few climbers, each climbed alone (NumPy scalars cost less than arrays of one or two).

    The same Trajectory as the batch path, bit for bit: each climber's numbers
    are the lone climber's (as in every batch), and the rows after a climber
    stopped repeat where it stopped.
    """
    n, d = start.shape
    runs = [_climb_lone(climb, point) for point in start]
    taken = max(run[5] for run in runs)
    points = values = norms = None
    if climb.record:
        points, values, norms = np.empty((taken + 1, n, d)), np.empty((taken + 1, n)), np.empty((taken + 1, n))
        for i, (path, heights, squares, *_, t, _, _, _) in enumerate(runs):
            points[:t + 1, i], values[:t + 1, i], norms[:t + 1, i] = path, heights, squares
            points[t + 1:, i], values[t + 1:, i], norms[t + 1:, i] = path[-1], heights[-1], squares[-1]
        norms = np.sqrt(norms)
    rates = climb.rates
    return Trajectory(
        points=points, values=values, grad_norms=norms,
        lrs=rates[:taken] if rates is not None else np.full(taken, float(climb.lr)),
        status=np.array([run[3] for run in runs], dtype="<U9"),
        steps_taken=np.array([run[5] for run in runs], dtype=np.int64),
        diverged_at=np.array([-1 if run[4] is None else run[4] for run in runs], dtype=np.int64),
        final_point=np.array([run[6] for run in runs]).reshape(n, d),
        final_value=np.array([run[7] for run in runs], dtype=np.float64),
        final_grad_norm=np.sqrt(np.array([run[8] for run in runs], dtype=np.float64)), **climb.labels,
    )


def _take(state, keep, width):
    """The optimizer state of the climbers in ``keep`` (arrays are (d, width))."""
    if state is None:
        return None
    if isinstance(state, np.ndarray):
        return state[..., keep] if state.ndim == 2 and state.shape[1] == width else state
    if isinstance(state, tuple):
        parts = [_take(part, keep, width) for part in state]
        return type(state)(*parts) if hasattr(state, "_fields") else tuple(parts)
    return state


def _retire(out, ids, P, value, norm2, t, last, tol2, max_value):
    """Write the figures of the climbers that stop at step ``t`` (all of them on the ``last``
    step) into their rows ``ids`` of ``out``; the mask of those that go on."""
    diverged = ~(np.abs(value) <= max_value) | ~(norm2 < np.inf)
    converged = ~diverged & (norm2 <= tol2)
    done = np.ones(P.shape[1], dtype=bool) if last else diverged | converged
    ids = ids[done]
    out["final_point"][ids] = P.T[done]
    out["final_value"][ids] = value[done]
    out["final_norm2"][ids] = norm2[done]
    out["steps_taken"][ids] = t
    out["status"][ids] = np.where(diverged[done], "diverged", np.where(converged[done], "converged", "max_steps"))
    out["diverged_at"][ids] = np.where(diverged[done], t, -1)
    return ~done


def _climb_chunk(climb, P, out, offset):
    """Run the climbers of one chunk (coordinates P of shape (d, c)) to the end."""
    slope, update, rates, steps, record = climb.slope, climb.update, climb.rates, climb.steps, climb.record
    tol2, max_value = climb.tol * climb.tol, float(climb.max_value)
    d, c = P.shape
    state = climb.init(P)
    # One learning rate per climber (a sweep), or one for all.
    each = None if np.ndim(climb.lr) == 0 else np.array(climb.lr[offset:offset + c], dtype=np.float64)
    # The chunk owns its coordinates (_run_chunks hands it a copy) and steps them in
    # place with kept scratch (the pure rule runs the same arithmetic on copies: both round alike).
    step = _in_place(update, P)
    small = c <= SMALL
    alive = np.arange(c)
    history = [] if record else None
    for t in range(steps + 1):
        value, grads = slope(*P)
        if np.ndim(value) == 0:  # a constant function gives one number back
            value = np.full(P.shape[1], value)
        norm2 = grads[0] * grads[0]
        for g in grads[1:]:
            norm2 += g * g
        if record:
            history.append((alive, P.T.copy(), np.array(value), norm2))
        # One cheap test for the usual case, where nobody stops: NaN fails
        # every comparison, so it is caught by the ``<=`` and ``<`` below.
        if small:  # for a few climbers, Python numbers cost less than NumPy reductions
            going = (t < steps and all([-max_value <= v <= max_value for v in value.tolist()])
                     and all([tol2 < q < math.inf for q in norm2.tolist()]))
        else:
            going = (np.abs(value).max() <= max_value and norm2.max() < np.inf
                     and norm2.min() > tol2 and t < steps)
        if going:
            G = np.array(grads, dtype=np.float64)
        else:
            keep = _retire(out, alive + offset, P, value, norm2, t, t == steps, tol2, max_value)
            if not keep.any():
                break
            width = P.shape[1]
            P = P[:, keep]
            G = np.array(grads, dtype=np.float64).reshape(d, width)[:, keep]
            state = _take(state, keep, width)
            alive = alive[keep]
            if each is not None:
                each = each[keep]
            if step is not None:
                step = _in_place(update, P)  # scratch of the new width
        if step is not None:
            if rates is not None:
                state = step(P, G, state, lr=rates[t])
            elif each is not None:
                state = step(P, G, state, lr=each)
            else:
                state = step(P, G, state)
        elif rates is not None:
            P, state = update(P, G, state, lr=rates[t])
        elif each is not None:
            P, state = update(P, G, state, lr=each)
        else:
            P, state = update(P, G, state)
    return history


def _climb_chunk_inplace(climb, P, out, offset):
    """:func:`_climb_chunk` with kept buffers: the slope's and the optimizer's in-place forms.

    The same operations in the same order as the plain chunk (so the same
    numbers, bit for bit), but a step allocates nothing: each link of the
    slope writes into a buffer made for this chunk's width, the gradients land
    in the rows of ``G`` and the optimizer steps ``P`` in place (descend
    gives ``climb.inplace`` only where the optimizer has an in-place form).
    """
    step = _in_place(climb.update, P)
    rates, steps, record = climb.rates, climb.steps, climb.record
    tol2, max_value = climb.tol * climb.tol, climb.max_value
    d, c = P.shape
    state = climb.init(P)
    alive = np.arange(c)
    history = [] if record else None

    def fit(width):
        G, V, N2 = np.empty((d, width)), np.empty(width), np.empty(width)
        return G, climb.inplace.build(width, G, V), V, N2, np.empty((d, width)), np.empty(width)

    G, slope, value, norm2, squares, size = fit(c)
    for t in range(steps + 1):
        slope(*P)
        # Square by square, in the lone climber's order.
        if d == 1:
            np.multiply(G[0], G[0], out=norm2)
        else:
            np.multiply(G, G, out=squares)
            np.add(squares[0], squares[1], out=norm2)
            for k in range(2, d):
                np.add(norm2, squares[k], out=norm2)
        if record:
            history.append((alive, P.T.copy(), value.copy(), norm2.copy()))
        # One cheap test for the usual case, where nobody stops (see _climb_chunk).
        if not (np.abs(value, out=size).max() <= max_value and norm2.max() < np.inf
                and norm2.min() > tol2 and t < steps):
            keep = _retire(out, alive + offset, P, value, norm2, t, t == steps, tol2, max_value)
            if not keep.any():
                break
            width = P.shape[1]
            P = np.ascontiguousarray(P[:, keep])
            kept = G[:, keep]
            G, slope, value, norm2, squares, size = fit(P.shape[1])
            G[...] = kept
            state = _take(state, keep, width)
            alive = alive[keep]
            step = _in_place(climb.update, P)
        state = step(P, G, state) if rates is None else step(P, G, state, lr=rates[t])
    return history


def _run_chunks(climb, start):
    """Every climber of ``start`` (n, d) to the end: the per-climber figures, and the chunks' histories."""
    n, d = start.shape
    out = {
        "final_point": np.empty((n, d)), "final_value": np.empty(n), "final_norm2": np.empty(n),
        "steps_taken": np.zeros(n, dtype=np.int64), "status": np.empty(n, dtype="<U9"),
        "diverged_at": np.full(n, -1, dtype=np.int64),
    }

    def run(begin):
        # A copy (never a view of start): the in-place chunk steps it.
        P = np.array(start[begin:begin + CHUNK].T, order="C")
        # NumPy's error state is per thread: set it here too.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            chunk = _climb_chunk_inplace if climb.inplace is not None else _climb_chunk
            return chunk(climb, P, out, begin)

    begins = range(0, n, CHUNK)
    if len(begins) > 1 and WORKERS > 1:
        # Chunks are independent and write disjoint rows of ``out``; NumPy
        # lets go of the GIL inside its loops, so threads use every core.
        with ThreadPoolExecutor(WORKERS) as pool:
            histories = list(pool.map(run, begins))
    else:
        histories = [run(begin) for begin in begins]
    return out, histories


def _climb_many(climb, start):
    n, d = start.shape
    rates, record = climb.rates, climb.record
    out, histories = _run_chunks(climb, start)
    begins = range(0, n, CHUNK)
    taken = int(out["steps_taken"].max(initial=0))
    points = values = norms = None
    if record:
        points = np.empty((taken + 1, n, d))
        values = np.empty((taken + 1, n))
        norms = np.empty((taken + 1, n))
        for begin, history in zip(begins, histories):
            end = begin + len(history[0][0])
            for t, (alive, P, value, norm2) in enumerate(history):
                if len(alive) == end - begin:  # nobody in the chunk has stopped yet
                    points[t, begin:end], values[t, begin:end], norms[t, begin:end] = P, value, norm2
                    continue
                # A climber that stopped stays where it stopped: the row before, then the moving ones.
                points[t, begin:end], values[t, begin:end], norms[t, begin:end] = (
                    points[t - 1, begin:end], values[t - 1, begin:end], norms[t - 1, begin:end])
                ids = alive + begin
                points[t, ids], values[t, ids], norms[t, ids] = P, value, norm2
            last = len(history) - 1  # every climber of the chunk had stopped by then
            points[last + 1:, begin:end] = points[last, begin:end]
            values[last + 1:, begin:end] = values[last, begin:end]
            norms[last + 1:, begin:end] = norms[last, begin:end]
        norms = np.sqrt(norms)
    used = rates[:taken] if rates is not None else np.full(taken, float(climb.lr))
    return Trajectory(
        points=points, values=values, grad_norms=norms, lrs=used, status=out["status"],
        steps_taken=out["steps_taken"], diverged_at=out["diverged_at"], final_point=out["final_point"],
        final_value=out["final_value"], final_grad_norm=np.sqrt(out["final_norm2"]), **climb.labels,
    )


def climb_each_rate(f, start, lrs, optimizer="sgd", steps=100, tol=1e-8, max_value=1e12, **optimizer_options):
    """The climb from ``start`` at each learning rate of ``lrs``, all at once: ``(final values, statuses, steps)``.

    Each rate's figures are exactly those of ``descend(f, start, lr=rate,
    record=False)`` (its final value, status and steps taken): the rates run
    as one batch of climbers, one rate each, so a sweep of 25 rates costs
    about what one climb costs. None when the batch cannot run, so that the
    caller climbs rate by rate instead: ``f`` is not a landscape with a traced
    program (any other callable may not take a batch of points), or
    ``start`` is not one finite point of the landscape's dimension (descend
    then says what is wrong).

    >>> finals, statuses, taken = climb_each_rate("sphere", [1.0, 1.0], [0.1, 0.5, 1.5], steps=50)
    >>> statuses.tolist(), taken.tolist(), bool(finals[1] == 0.0)
    (['max_steps', 'converged', 'diverged'], [50, 1, 20], True)
    """
    lrs = np.asarray(lrs, dtype=np.float64).ravel()
    for lr in lrs[:1].tolist():  # lr_sweep checked every rate: finite and >= 0
        _check_settings(lr, steps, tol, max_value)
    name, landscape, _ = _resolve(f)
    start = np.array(start, dtype=np.float64)
    program = program_for(landscape) if landscape is not None else None
    if (program is None or lrs.size == 0 or start.ndim != 1 or start.shape[0] != len(landscape.variables)
            or not np.all(np.isfinite(start))):
        return None
    optimizer, optimizer_options = resolve_optimizer(optimizer, optimizer_options)
    init, update = get_functional(optimizer).bind(lr=float(lrs[0]), **optimizer_options)
    # Each climber passes its own rate to the optimizer's rule (an array the
    # rule broadcasts), the same arithmetic a lone climber does with its number.
    climb = _Climb(slope=program.function, inplace=None, init=init, update=update, lr=lrs, rates=None,
                   steps=steps, tol=tol, max_value=max_value, record=False, labels={})
    starts = np.repeat(start[None, :], lrs.size, axis=0)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"), enable_grad():
        out, _ = _run_chunks(climb, starts)
    return out["final_value"], out["status"], out["steps_taken"]
