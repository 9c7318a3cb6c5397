"""Bounds on every request of the playground, and the checks that enforce them.

The JSON API runs computations a browser asks for, so every number that sets
how much work or memory a request costs has a ceiling here, and every value is
checked for its type and range before any computation starts. A value out of
bounds is refused with a :class:`RequestError`: an HTTP status (413 for a body
too large, 422 for a value, 400 for text that is not JSON, 415 for a body that
is not JSON at all) and a JSON body that names the limit and what is allowed::

    {"error": "steps must be a whole number from 0 to 10000; got 20000",
     "field": "steps", "allowed": {"min": 0, "max": 10000}}

Formulas are bounded by the safe parser itself (``landscapes.expression``:
length, nesting, size, exponents); the checks here only make sure that a
formula is text.

>>> integer(200, "steps", 0, MAX_STEPS)
200
>>> try:
...     integer(20000, "steps", 0, MAX_STEPS)
... except RequestError as error:
...     print(error.status, error.to_dict()["allowed"])
422 {'min': 0, 'max': 10000}
"""

from __future__ import annotations

import contextlib
import contextvars
import difflib
import inspect
import math
import numbers
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..landscapes.expression import MAX_LENGTH as MAX_FORMULA_LENGTH
from ..optim import get_functional
from ..optim import names as optimizer_names
from ..optim.registry import ALIASES as OPTIMIZER_ALIASES  # re-exported: the names people call SGD with momentum
from ..optim.registry import resolve as resolve_optimizer
from ..optim.lr_scheduler import get as get_scheduler
from ..optim.schedules import climb_length_defaults
from ..optim.lr_scheduler import names as scheduler_names

__all__ = [
    "RequestError",
    "LIMITS",
    "MAX_BODY_BYTES",
    "MAX_STEPS",
    "MAX_CLIMBERS",
    "MAX_RECORDED",
    "MAX_SURFACE_N",
    "MAX_BASIN_GRID",
    "MAX_BASIN_WORK",
    "MAX_LRS",
    "MAX_SWEEP_WORK",
    "MAX_CURVE_N",
    "MAX_HIDDEN_LAYERS",
    "MAX_HIDDEN_UNITS",
    "MAX_TRAIN_STEPS",
    "MAX_SNAPSHOTS",
    "MAX_COORDINATE",
    "MAX_LR",
    "MAX_FORMULA_LENGTH",
    "TIME_BUDGET_S",
    "OPTIMIZER_ALIASES",
    "SCHEDULES",
    "check_fields",
    "integer",
    "number",
    "boolean",
    "text",
    "choice",
    "point",
    "points",
    "domain",
    "number_list",
    "grid",
    "hidden_layers",
    "check_recorded",
    "check_work",
    "optimizer",
    "schedule",
    "MAX_COST_S",
    "HEAVY_COST_S",
    "Cost",
    "Lever",
    "Admitted",
    "climb_seconds",
    "grid_seconds",
    "training_seconds",
    "formula_lever",
    "admit",
    "checking_only",
]

# ---------------------------------------------------------------------------
# The bounds. Each is generous for teaching and small enough that the worst
# request still answers within the time budget on a laptop.
# ---------------------------------------------------------------------------

MAX_BODY_BYTES = 64 * 1024  # a request body: 2,500 starts written with 6 decimals fit (~60 KiB)
MAX_STEPS = 10_000  # steps of one climb (descend, lr_sweep, basins)
MAX_CLIMBERS = 2_500  # starting points of one descend request
MAX_RECORDED = 250_000  # climbers x steps of one descend: every point is sent back (~20 MB of JSON)
MAX_SURFACE_N = 200  # grid points per side of a surface
MAX_BASIN_GRID = 500  # grid points per side of a basin map
MAX_BASIN_WORK = 50_000_000  # starts x steps of one basin map (500 x 500 x 200: < 1 s with numba, ~3 s without)
MAX_LRS = 40  # learning rates of one sweep
MAX_SWEEP_WORK = 100_000  # learning rates x steps of one sweep (40 x 2,500; ~1.6 s at worst here)
MAX_CURVE_N = 2_000  # points of the curve under a derivative
MAX_HIDDEN_LAYERS = 3  # hidden layers of the chain panel's network
MAX_HIDDEN_UNITS = 16  # units per hidden layer
MAX_TRAIN_STEPS = 2_000  # training steps of that network
MAX_SNAPSHOTS = 201  # snapshots of the network sent back (the weights and gradients at a step)
MAX_COORDINATE = 1e6  # |coordinate| of a start, a point or a domain edge
MAX_LR = 1e6  # the largest learning rate (far past any stable one)
MAX_SCHEDULE_MEMBERS = 5  # schedules inside a "sequential" or "chained" schedule
MAX_LIST_ITEMS = 100  # items of a list-valued option, such as milestones
MAX_OPTION_TEXT = 32  # characters of a text-valued option, such as mode
TIME_BUDGET_S = 10.0  # seconds one request may compute before its worker is stopped (503)
MAX_COST_S = 5.0  # estimated seconds of computation of one request (see admit); half the budget
HEAVY_COST_S = 0.5  # estimated seconds past which a request queues for the heavy lane

#: name -> (value, what it bounds): the table the docs and ``GET /api/landscapes`` show.
LIMITS: Mapping[str, tuple[Any, str]] = {
    "body_bytes": (MAX_BODY_BYTES, "bytes of a request body (413 beyond)"),
    "steps": (MAX_STEPS, "steps of a climb: descend, lr_sweep, basins"),
    "climbers": (MAX_CLIMBERS, "starting points of one descend request"),
    "recorded": (MAX_RECORDED, "climbers x steps of one descend request (every point is sent back)"),
    "surface_n": (MAX_SURFACE_N, "grid points per side of a surface"),
    "basin_grid": (MAX_BASIN_GRID, "grid points per side of a basin map"),
    "basin_work": (MAX_BASIN_WORK, "starts x steps of one basin map"),
    "lrs": (MAX_LRS, "learning rates of one sweep"),
    "sweep_work": (MAX_SWEEP_WORK, "learning rates x steps of one sweep"),
    "curve_n": (MAX_CURVE_N, "points of the curve under a derivative"),
    "hidden_layers": (MAX_HIDDEN_LAYERS, "hidden layers of the training network"),
    "hidden_units": (MAX_HIDDEN_UNITS, "units per hidden layer"),
    "train_steps": (MAX_TRAIN_STEPS, "training steps"),
    "snapshots": (MAX_SNAPSHOTS, "snapshots of one training run (snapshot_every >= steps / 200)"),
    "coordinate": (MAX_COORDINATE, "largest |coordinate| of a start, point or domain"),
    "lr": (MAX_LR, "largest learning rate"),
    "formula_length": (MAX_FORMULA_LENGTH, "characters of a formula (the parser also bounds nesting, size, exponents)"),
    "time_budget_s": (TIME_BUDGET_S, "seconds of computation per request (503 beyond)"),
    "cost_s": (MAX_COST_S, "estimated seconds of computation of one request, from climbers, steps, grid and "
                           "the formula's operations (422 beyond, before computing)"),
}


# Schedulers whose options are plain data. lambda and multiplicative take a
# Python function; plateau depends on the losses, so descend cannot list it.
_EXCLUDED_SCHEDULES = ("lambda", "multiplicative", "plateau")
SCHEDULES: tuple[str, ...] = tuple(n for n in scheduler_names() if n not in _EXCLUDED_SCHEDULES)
_COMPOSITE_SCHEDULES = ("sequential", "chained")
# Options a request never sets: Python functions, and the replay position.
_HIDDEN_SCHEDULE_OPTIONS = {"self", "optimizer", "last_epoch", "scale_fn", "lr_lambda"}


class RequestError(Exception):
    """A request the API refuses: an HTTP status and a JSON body that says why.

    ``error`` is one plain sentence; ``field`` the request field at fault (or
    None); ``allowed`` what would have been accepted (a range, a list of names,
    ...); ``extra`` more keys for the JSON body (a formula's position, say).

    >>> RequestError("steps must be a whole number", field="steps", allowed={"min": 0}).to_dict()
    {'error': 'steps must be a whole number', 'field': 'steps', 'allowed': {'min': 0}}
    """

    def __init__(self, error: str, *, status: int = 422, field: str | None = None,
                 allowed: Any = None, **extra: Any):
        super().__init__(error)
        self.error = error
        self.status = status
        self.field = field
        self.allowed = allowed
        self.extra = extra

    def to_dict(self) -> dict:
        """The JSON body of the error response."""
        return {"error": self.error, "field": self.field, "allowed": self.allowed, **self.extra}


def _show(value: Any, width: int = 60) -> str:
    """A short, safe rendering of a value a client sent, for an error message."""
    shown = repr(value)
    return shown if len(shown) <= width else shown[: width - 3] + "..."


def _kind(value: Any) -> str:
    """The JSON name of a value's type, as a client would say it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


# ---------------------------------------------------------------------------
# Fields, numbers, text.
# ---------------------------------------------------------------------------


def check_fields(body: Any, accepted: Iterable[str], required: Iterable[str] = (),
                 where: str = "the request body") -> dict:
    """Check that ``body`` is a JSON object with only ``accepted`` fields and every ``required`` one.

    >>> check_fields({"x": 1}, ["x", "span"], ["x"])
    {'x': 1}
    >>> try:
    ...     check_fields({"x": 1, "spam": 2}, ["x", "span"])
    ... except RequestError as error:
    ...     print(error.error)
    unknown field 'spam' in the request body (did you mean 'span'?); accepted fields: x, span
    """
    accepted = list(accepted)
    top = where == "the request body"
    prefix = "" if top else f"{where}."  # fields of a nested object are named by their path
    if not isinstance(body, dict):
        raise RequestError(f"{where} must be a JSON object {{...}}, got {_kind(body)}",
                           field=None if top else where, allowed=accepted)
    unknown = [key for key in body if key not in accepted]
    if unknown:
        close = difflib.get_close_matches(str(unknown[0]), accepted, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise RequestError(
            f"unknown field {_show(unknown[0], 40)} in {where}{hint}; accepted fields: {', '.join(accepted)}",
            field=prefix + str(unknown[0])[:40], allowed=accepted,
        )
    for name in required:
        if name not in body:
            raise RequestError(f"{where} needs the field {name!r}", field=prefix + name, allowed=accepted)
    return body


def _real(value: Any, field: str, what: str, allowed: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise RequestError(f"{field} must be {what}; got {_kind(value)} {_show(value)}",
                           field=field, allowed=allowed)
    try:
        result = float(value)
    except OverflowError:  # a JSON integer with hundreds of digits
        result = math.inf
    if not math.isfinite(result):
        raise RequestError(f"{field} must be {what}; got {_show(value)}", field=field, allowed=allowed)
    return result


def integer(value: Any, field: str, low: int, high: int) -> int:
    """A whole number from ``low`` to ``high`` (``5.0`` counts as 5; ``true`` does not).

    >>> integer(5.0, "steps", 0, 10)
    5
    """
    allowed = {"min": low, "max": high}
    what = f"a whole number from {low} to {high}"
    number_value = _real(value, field, what, allowed)
    if not number_value.is_integer() or not low <= number_value <= high:
        raise RequestError(f"{field} must be {what}; got {_show(value)}", field=field, allowed=allowed)
    return int(number_value)


def number(value: Any, field: str, low: float = -math.inf, high: float = math.inf,
           low_open: bool = False) -> float:
    """A finite number in ``[low, high]`` (``(low, high]`` with ``low_open``).

    >>> number(0.5, "lr", 0.0, 10.0)
    0.5
    >>> try:
    ...     number(0.0, "max_value", 0.0, low_open=True)
    ... except RequestError as error:
    ...     print(error.error)
    max_value must be a finite number above 0; got 0.0
    """
    if low_open:
        what = "a finite number above " + f"{low:g}" + (f" and at most {high:g}" if high < math.inf else "")
    elif low > -math.inf and high < math.inf:
        what = f"a finite number from {low:g} to {high:g}"
    elif low > -math.inf:
        what = f"a finite number >= {low:g}"
    elif high < math.inf:
        what = f"a finite number <= {high:g}"
    else:
        what = "a finite number"
    allowed = {"min": None if low == -math.inf else low, "max": None if high == math.inf else high}
    if low_open:
        allowed["min_exclusive"] = True
    result = _real(value, field, what, allowed)
    if result > high or result < low or (low_open and result == low):
        raise RequestError(f"{field} must be {what}; got {_show(value)}", field=field, allowed=allowed)
    return result


def boolean(value: Any, field: str) -> bool:
    """``true`` or ``false``, nothing else.

    >>> boolean(True, "gradients")
    True
    """
    if not isinstance(value, bool):
        raise RequestError(f"{field} must be true or false; got {_kind(value)} {_show(value)}",
                           field=field, allowed=[True, False])
    return value


def text(value: Any, field: str, max_length: int) -> str:
    """Text of at most ``max_length`` characters.

    >>> text("x**2", "expression", 1000)
    'x**2'
    """
    if not isinstance(value, str):
        raise RequestError(f"{field} must be text; got {_kind(value)} {_show(value)}",
                           field=field, allowed={"max_length": max_length})
    if len(value) > max_length:
        raise RequestError(f"{field} is {len(value):,} characters long; at most {max_length:,} are allowed",
                           field=field, allowed={"max_length": max_length})
    return value


def choice(value: Any, field: str, choices: Iterable[str]) -> str:
    """One of ``choices`` (case and surrounding spaces do not matter); returns it as listed.

    >>> choice(" Moons", "dataset", ["moons", "circles"])
    'moons'
    """
    choices = list(choices)
    if isinstance(value, str):
        key = value.strip().lower()
        for option in choices:
            if key == option.lower():
                return option
    close = difflib.get_close_matches(str(value).strip().lower(), choices, n=1) if isinstance(value, str) else []
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise RequestError(f"{field} must be one of {', '.join(choices)}; got {_show(value)}{hint}",
                       field=field, allowed=choices)


# ---------------------------------------------------------------------------
# Points, lists, grids.
# ---------------------------------------------------------------------------


def _coordinates(value: Any, field: str, dimension: int | None) -> list[float]:
    if not isinstance(value, list) or not value:
        raise RequestError(f"{field} must be a list of coordinates such as [1.0, 2.0]; got {_kind(value)} "
                           f"{_show(value)}", field=field, allowed={"dimension": dimension})
    if dimension is not None and len(value) != dimension:
        raise RequestError(
            f"{field} needs {dimension} coordinate(s), one per variable; got {len(value)}",
            field=field, allowed={"dimension": dimension},
        )
    what = f"finite numbers from {-MAX_COORDINATE:g} to {MAX_COORDINATE:g}"
    allowed = {"min": -MAX_COORDINATE, "max": MAX_COORDINATE}
    result = []
    for item in value:
        if isinstance(item, list):
            raise RequestError(f"{field} must be one point [x, y], not a list of points",
                               field=field, allowed={"dimension": dimension})
        coordinate = _real(item, field, f"a list of {what}", allowed)
        if abs(coordinate) > MAX_COORDINATE:
            raise RequestError(f"the coordinates of {field} must be {what}; got {_show(item)}",
                               field=field, allowed=allowed)
        result.append(coordinate)
    return result


def point(value: Any, field: str, dimension: int | None = None) -> np.ndarray:
    """One point ``[x, y]`` (a bare number too, for one variable), as a float array.

    >>> point([1, 2.5], "point", 2)
    array([1. , 2.5])
    >>> point(3, "x", 1)
    array([3.])
    """
    if dimension == 1 and not isinstance(value, (list, dict, str)) and value is not None:
        value = [value]
    return np.array(_coordinates(value, field, dimension), dtype=np.float64)


def points(value: Any, field: str, dimension: int | None = None,
           max_points: int = MAX_CLIMBERS) -> np.ndarray:
    """One point ``[x, y]`` (shape ``(d,)``) or many ``[[x, y], ...]`` (shape ``(n, d)``).

    >>> points([[0, 1], [2, 3]], "start", 2).shape
    (2, 2)
    >>> try:
    ...     points([[0, 1]] * 3, "start", 2, max_points=2)
    ... except RequestError as error:
    ...     print(error.error)
    start has 3 points; at most 2 climbers are allowed
    """
    if isinstance(value, list) and value and isinstance(value[0], list):
        if len(value) > max_points:
            raise RequestError(f"{field} has {len(value):,} points; at most {max_points:,} climbers are allowed",
                               field=field, allowed={"max_points": max_points})
        rows = [_coordinates(item, field, dimension) for item in value]
        if len({len(row) for row in rows}) != 1:
            raise RequestError(f"every point of {field} needs the same number of coordinates",
                               field=field, allowed={"dimension": dimension})
        return np.array(rows, dtype=np.float64)
    return point(value, field, dimension)


def domain(value: Any, field: str, dimension: int) -> tuple[tuple[float, float], ...]:
    """One ``[low, high]`` per variable, finite, ``low < high``.

    >>> domain([[-1, 1], [0, 2]], "domain", 2)
    ((-1.0, 1.0), (0.0, 2.0))
    """
    allowed = {"dimension": dimension, "min": -MAX_COORDINATE, "max": MAX_COORDINATE}
    if not isinstance(value, list) or len(value) != dimension:
        raise RequestError(f"{field} must be {dimension} pair(s) [[low, high], ...], one per variable; "
                           f"got {_show(value)}", field=field, allowed=allowed)
    result = []
    for pair in value:
        if not isinstance(pair, list) or len(pair) != 2:
            raise RequestError(f"each entry of {field} must be a pair [low, high]; got {_show(pair)}",
                               field=field, allowed=allowed)
        low, high = (_real(v, field, "finite numbers", allowed) for v in pair)
        if not (-MAX_COORDINATE <= low < high <= MAX_COORDINATE):
            raise RequestError(
                f"each entry of {field} needs low < high, both from {-MAX_COORDINATE:g} to "
                f"{MAX_COORDINATE:g}; got {_show(pair)}", field=field, allowed=allowed,
            )
        result.append((low, high))
    return tuple(result)


def number_list(value: Any, field: str, max_items: int, low: float = -math.inf,
                high: float = math.inf) -> list[float]:
    """A list of 1 to ``max_items`` finite numbers in ``[low, high]``.

    >>> number_list([0.001, 0.01], "lrs", 40, 0.0, 10.0)
    [0.001, 0.01]
    """
    if not isinstance(value, list) or not value or len(value) > max_items:
        got = f"{len(value)} items" if isinstance(value, list) else f"{_kind(value)} {_show(value)}"
        raise RequestError(f"{field} must be a list of 1 to {max_items} numbers; got {got}",
                           field=field, allowed={"max_items": max_items, "min": low, "max": high})
    return [number(item, field, low, high) for item in value]


def grid(value: Any, field: str, low: int, high: int) -> tuple[int, int]:
    """Grid points per side: one whole number for both, or a pair ``[nx, ny]``.

    >>> grid(50, "grid", 2, 150), grid([20, 30], "grid", 2, 150)
    ((50, 50), (20, 30))
    """
    if isinstance(value, list):
        if len(value) != 2:
            raise RequestError(f"{field} must be one number or a pair [nx, ny]; got {_show(value)}",
                               field=field, allowed={"min": low, "max": high})
        return integer(value[0], field, low, high), integer(value[1], field, low, high)
    side = integer(value, field, low, high)
    return side, side


def hidden_layers(value: Any, field: str = "hidden") -> list[int]:
    """Hidden layer sizes: 1 to ``MAX_HIDDEN_LAYERS`` layers of 1 to ``MAX_HIDDEN_UNITS`` units.

    >>> hidden_layers([4, 4])
    [4, 4]
    """
    allowed = {"max_layers": MAX_HIDDEN_LAYERS, "max_units": MAX_HIDDEN_UNITS}
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_HIDDEN_LAYERS:
        raise RequestError(
            f"{field} must list 1 to {MAX_HIDDEN_LAYERS} hidden layer sizes, such as [4, 4]; got {_show(value)}",
            field=field, allowed=allowed,
        )
    sizes = []
    for item in value:
        try:
            sizes.append(integer(item, field, 1, MAX_HIDDEN_UNITS))
        except RequestError:
            raise RequestError(f"each hidden layer has 1 to {MAX_HIDDEN_UNITS} units; got {_show(item)}",
                               field=field, allowed=allowed) from None
    return sizes


def check_work(count: int, steps: int, limit: int, what: str) -> None:
    """Refuse ``count`` runs of ``steps`` steps when ``count x steps`` is past ``limit``.

    ``what`` names the runs (``"climbers"``, ``"starts"``, ``"learning rates"``);
    the error says how many steps would fit.

    >>> check_work(2500, 100, MAX_RECORDED, "climbers")
    >>> try:
    ...     check_work(2500, 1000, MAX_RECORDED, "climbers")
    ... except RequestError as error:
    ...     print(error.field, error.allowed)
    steps {'max': 100, 'max_climbers_x_steps': 250000}
    """
    if count * steps > limit:
        most = limit // max(count, 1)
        raise RequestError(
            f"{count:,} {what} x {steps:,} steps is {count * steps:,}; at most {limit:,} are allowed in one "
            f"request, so with {count:,} {what} use at most {most:,} steps",
            field="steps", allowed={"max": most, f"max_{what.replace(' ', '_')}_x_steps": limit},
        )


def check_recorded(climbers: int, steps: int) -> None:
    """Refuse a climb whose recorded path (climbers x steps points) is too large to send.

    >>> try:
    ...     check_recorded(25, 20_000)
    ... except RequestError as error:
    ...     print(error.error)
    25 climbers x 20,000 steps is 500,000; at most 250,000 are allowed in one request, so with 25 climbers ...
    """
    check_work(climbers, steps, MAX_RECORDED, "climbers")


# ---------------------------------------------------------------------------
# Optimizers and schedules.
# ---------------------------------------------------------------------------


def optimizer(name: Any, options: Any, field: str = "optimizer") -> tuple[str, dict]:
    """The optimizer's registry name and its checked options (aliases expanded).

    ``options`` may only name what the optimizer accepts (``lr`` is a field of
    its own); true/false options take booleans, ``betas`` a pair of numbers,
    the rest numbers. The optimizer's own checks (ranges) run when it is bound.

    >>> optimizer("nesterov", {})
    ('sgd', {'momentum': 0.9, 'nesterov': True})
    >>> optimizer("adam", {"betas": [0.8, 0.99]})
    ('adam', {'betas': (0.8, 0.99)})
    """
    key = choice(name, field, optimizer_names(aliases=True))
    registry_name, preset = resolve_optimizer(key)
    defaults = dict(get_functional(registry_name).defaults)
    defaults.pop("lr", None)
    if options is None:
        options = {}
    check_fields(options, defaults, where="options")
    result = dict(preset)
    for option, value in options.items():
        where = f"options.{option}"
        default = defaults[option]
        if isinstance(default, bool):
            result[option] = boolean(value, where)
        elif isinstance(default, tuple):
            if not isinstance(value, list) or len(value) != len(default):
                raise RequestError(f"{where} must be a list of {len(default)} numbers, such as "
                                   f"{list(default)}; got {_show(value)}", field=where,
                                   allowed={"length": len(default)})
            result[option] = tuple(number(v, where, -MAX_LR, MAX_LR) for v in value)
        else:
            result[option] = number(value, where, -MAX_LR, MAX_LR)
    return registry_name, result


def _schedule_value(value: Any, where: str) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        if isinstance(value, int) and abs(value) <= 10**9:
            return value  # step_size and friends must stay whole numbers
        return number(value, where, -1e9, 1e9)
    if isinstance(value, str):
        return text(value, where, MAX_OPTION_TEXT)
    if isinstance(value, list):
        if len(value) > MAX_LIST_ITEMS:
            raise RequestError(f"{where} lists at most {MAX_LIST_ITEMS} numbers; got {len(value)}",
                               field=where, allowed={"max_items": MAX_LIST_ITEMS})
        if any(isinstance(item, (list, dict)) for item in value):
            raise RequestError(f"{where} must be a flat list of numbers", field=where, allowed=None)
        return [_schedule_value(item, where) for item in value]
    raise RequestError(f"{where} must be a number, true/false, text or a list of numbers; got {_kind(value)}",
                       field=where, allowed=None)


def _schedule_parameters(name: str) -> tuple[list[str], list[str]]:
    """(accepted options, required options) of a scheduler, from its signature."""
    parameters = inspect.signature(get_scheduler(name).__init__).parameters
    accepted = [p for p in parameters if p not in _HIDDEN_SCHEDULE_OPTIONS]
    required = [p for p in accepted if parameters[p].default is inspect.Parameter.empty]
    return accepted, required


def schedule(value: Any, steps: int, lr: float, field: str = "schedule", members: bool = True):
    """A learning-rate schedule ``{"name": ..., "options": {...}}`` as descend's ``(name, options)``.

    Names are those of :data:`SCHEDULES` (or PyTorch's class names). Options
    that say how long a schedule lasts default to the climb's length: ``T_max``
    (cosine), ``total_iters`` (polynomial), ``total_steps`` and ``max_lr``
    (one_cycle, ``max_lr`` defaults to ``lr``). ``sequential`` and ``chained``
    take ``schedulers``: a list of up to 5 such objects.

    >>> schedule({"name": "cosine"}, steps=100, lr=0.1)
    ('cosine', {'T_max': 100})
    >>> schedule({"name": "step", "options": {"step_size": 10, "gamma": 0.5}}, 100, 0.1)
    ('step', {'step_size': 10, 'gamma': 0.5})
    """
    if value is None:
        return None
    check_fields(value, ["name", "options"], ["name"], where=field)
    raw_name = value["name"]
    try:
        cls = get_scheduler(raw_name) if isinstance(raw_name, str) and len(raw_name) <= 64 else None
    except ValueError:
        cls = None
    name = next((n for n in SCHEDULES if get_scheduler(n) is cls), None)
    if name is None or (not members and name in _COMPOSITE_SCHEDULES):
        allowed = [n for n in SCHEDULES if members or n not in _COMPOSITE_SCHEDULES]
        choice(raw_name, f"{field}.name", allowed)  # raises with a hint
        raise RequestError(f"{field}.name must be one of {', '.join(allowed)}", field=f"{field}.name",
                           allowed=allowed)
    accepted, required = _schedule_parameters(name)
    options = value.get("options") or {}
    check_fields(options, accepted, where=f"{field}.options")
    result = {}
    for option, item in options.items():
        where = f"{field}.options.{option}"
        if option == "schedulers":
            if not isinstance(item, list) or not 1 <= len(item) <= MAX_SCHEDULE_MEMBERS:
                raise RequestError(f"{where} must list 1 to {MAX_SCHEDULE_MEMBERS} schedules "
                                   '{"name": ..., "options": {...}}', field=where,
                                   allowed={"max_items": MAX_SCHEDULE_MEMBERS})
            result[option] = [schedule(member, steps, lr, where, members=False) for member in item]
        else:
            result[option] = _schedule_value(item, where)
    result = climb_length_defaults(name, result, steps, lr)  # a schedule lasts the whole climb
    missing = [option for option in required if option not in result]
    if missing:
        raise RequestError(f"the {name} schedule needs {', '.join(missing)} in {field}.options",
                           field=f"{field}.options", allowed=accepted)
    return name, result



# ---------------------------------------------------------------------------
# The cost of a request, estimated before it computes.
#
# Each handler checks its fields, then calls admit() with an estimate of the
# seconds it will compute, just before computing. The estimate is a small
# model fitted on the 2-core reference machine (benchmarks/load_web.py runs
# the mix): a climb costs, per step, a fixed part (the optimizer's update), and
# per operation of the formula a NumPy call plus a part per climber; each
# recorded point costs its share of the answer. It errs on the high side for
# small batches; the worker's hard time budget (app) catches what it misses.
# ---------------------------------------------------------------------------

STEP_US = 6.0  # per step of a climb: the update, bookkeeping
CALL_US = 0.8  # per operation of the formula per step: one NumPy call (derivative included)
ELEMENT_US = 0.006  # ...and per climber (or start, or grid point) in that call
RECORD_US = 1.2  # per recorded point of a descend answer (kept, converted, sent as JSON)
TRAIN_STEP_US = 200.0  # per training step of the chain panel's network
TRAIN_WEIGHT_US = 0.6  # ...and per weight


def climb_seconds(operations: int, steps: int, *, batch: int = 1, runs: int = 1, recorded: int = 0) -> float:
    """Estimated seconds of ``runs`` climbs of ``steps`` steps, each moving ``batch`` climbers at once.

    ``operations``: the formula's (``Expression.operations``); ``recorded``: the
    points sent back.

    >>> round(climb_seconds(9, 1000), 4)  # one climber on himmelblau
    0.0133
    >>> climb_seconds(9, 200, batch=3600) < climb_seconds(9, 200, batch=7200) < 1
    True
    """
    per_step = STEP_US + operations * (CALL_US + ELEMENT_US * batch)
    return (runs * steps * per_step + recorded * RECORD_US) * 1e-6


def grid_seconds(operations: int, points: int, passes: int = 3) -> float:
    """Estimated seconds of evaluating a formula (and its derivative: ``passes``) at ``points`` points.

    >>> grid_seconds(9, 200 * 200) < 0.01
    True
    """
    return passes * operations * (CALL_US + ELEMENT_US * points) * 1e-6


def training_seconds(sizes: Iterable[int], steps: int) -> float:
    """Estimated seconds of training a network with layer sizes ``sizes`` for ``steps`` steps.

    >>> 0.5 < training_seconds([2, 16, 16, 16, 1], 2000) < 2
    True
    """
    sizes = list(sizes)
    weights = sum((a + 1) * b for a, b in zip(sizes, sizes[1:]))
    return max(steps, 1) * (TRAIN_STEP_US + TRAIN_WEIGHT_US * weights) * 1e-6


@dataclass(frozen=True)
class Lever:
    """A number of the request that its cost grows with, and how to say it.

    ``field``: the request's field; ``words``: what the learner calls it
    (``"steps"``, ``"grid points per side"``); ``value``: its value;
    ``least``: the smallest value that makes sense; ``adjustable``: whether
    the learner can change it (a catalogue landscape's formula is fixed).
    """

    field: str
    words: str
    value: int
    least: int = 1
    adjustable: bool = True


def formula_lever(body: Mapping, operations: int) -> Lever:
    """The formula's operations as a lever: only a typed formula can be made shorter.

    >>> formula_lever({"expression": "x**2"}, 1).adjustable
    True
    >>> formula_lever({"landscape": "sphere"}, 3).adjustable
    False
    """
    typed = "expression" in body
    return Lever("expression" if typed else "landscape", "operations of the formula", operations, adjustable=typed)


@dataclass(frozen=True)
class Cost:
    """What :func:`admit` lets through: the estimated seconds, and whether that is heavy.

    >>> Cost(0.01).heavy, Cost(2.0).heavy
    (False, True)
    """

    seconds: float

    @property
    def heavy(self) -> bool:
        """Heavy requests share a limited number of workers, so light ones always find one."""
        return self.seconds > HEAVY_COST_S


class Admitted(Exception):
    """Raised by :func:`admit` while :func:`checking_only` is on: every check passed.

    The server checks a request in its own process (quick, never waiting
    behind computation), then sends it to a worker process, which runs the
    same handler for real. ``cost`` says how long that will take.
    """

    def __init__(self, cost: Cost):
        super().__init__(f"admitted, about {cost.seconds:.3g} s")
        self.cost = cost


_CHECKING_ONLY = contextvars.ContextVar("downhill_checking_only", default=False)


@contextlib.contextmanager
def checking_only():
    """Within this block, handlers stop at :func:`admit` (raising :class:`Admitted`) instead of computing.

    >>> with checking_only():
    ...     try:
    ...         admit(lambda: 0.25)
    ...     except Admitted as done:
    ...         print(done.cost)
    Cost(seconds=0.25)
    """
    token = _CHECKING_ONLY.set(True)
    try:
        yield
    finally:
        _CHECKING_ONLY.reset(token)


def _most(estimate: Callable[..., float], values: list[int], index: int, least: int, limit: float) -> int | None:
    """The largest value of lever ``index`` (the others kept) whose estimate is within ``limit``."""
    def fits(value: int) -> bool:
        return estimate(*values[:index], value, *values[index + 1:]) <= limit

    low, high = least, values[index] - 1
    if high < low or not fits(low):
        return None
    while low < high:  # the cost grows with every lever: bisect
        middle = (low + high + 1) // 2
        low, high = (middle, high) if fits(middle) else (low, middle - 1)
    return low


def admit(estimate: Callable[..., float], *levers: Lever, limit: float | None = None) -> Cost:
    """The last check of a request, just before it computes: its estimated cost is within bounds.

    ``estimate(*values)``: the seconds the request will compute (from
    :func:`climb_seconds` and friends), given the values of ``levers`` in
    order: the request's numbers its cost grows with, most useful to lower
    first. Past ``limit`` (default :data:`MAX_COST_S`) the request is refused
    at once with a 422 naming the first lever that can bring it within the
    limit, and how far each could go alone (``allowed["lower"]``).

    >>> admit(lambda steps: steps * 1e-3, Lever("steps", "steps", 100))
    Cost(seconds=0.1)
    >>> try:
    ...     admit(lambda steps, side: steps * side**2 * 1e-6, Lever("steps", "steps", 10_000),
    ...           Lever("grid", "grid points per side", 60, least=2))
    ... except RequestError as error:
    ...     print(error.field, error.allowed["lower"])
    ...     print(error.error)
    steps {'steps': 1388, 'grid': 22}
    this request would compute for about 36 s, and one request may compute for at most 5 s: lower steps to 1,388 (from 10,000), or grid points per side to 22 (from 60)
    """
    limit = MAX_COST_S if limit is None else limit
    values = [lever.value for lever in levers]
    cost = Cost(round(float(estimate(*values)), 6))
    if cost.seconds > limit:
        lower = {}
        for index, lever in enumerate(levers):
            if lever.adjustable:
                most = _most(estimate, values, index, lever.least, limit)
                if most is not None:
                    lower[lever.field] = most
        words = {lever.field: lever.words for lever in levers}
        value = {lever.field: lever.value for lever in levers}
        advice = ", or ".join(f"{words[field]} to {most:,} (from {value[field]:,})" for field, most in lower.items())
        raise RequestError(
            f"this request would compute for about {cost.seconds:.2g} s, and one request may compute for at "
            f"most {limit:g} s" + (f": lower {advice}" if advice else "; lower its numbers"),
            status=422, field=next(iter(lower), levers[0].field if levers else None),
            allowed={"max_cost_s": limit, "cost_s": cost.seconds, "lower": lower},
        )
    if _CHECKING_ONLY.get():
        raise Admitted(cost)
    return cost
