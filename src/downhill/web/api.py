"""The playground's JSON API: one small function per route, over the library.

Each handler takes the request's JSON body (a dict), checks every field with
:mod:`downhill.web.limits`, calls one library function, and returns its
JSON-ready result (a result's ``to_dict()``; large arrays of finite numbers
may stay NumPy arrays, which :func:`downhill.results.json_bytes` writes directly). Handlers hold no mathematics and touch no files; the HTTP
side (body size, content type, worker processes, time budget, encoding, error
responses) lives in :mod:`downhill.web.app`.

Routes (bodies and answers are JSON; defaults in brackets)
-----------------------------------------------------------

``GET /``
    the page (``static/index.html``); ``GET /static/...`` its files, which
    are also served from the root (``/style.css``, ``/js/...``) so that the
    page may use relative links.

``GET /api/landscapes``
    ``{"landscapes": [{"name", "formula", "variables", "domain": [[lo, hi], ...],
    "minima": [{"point": [...], "value": v}], "smooth", "many_local_minima",
    "description", "start"}], "optimizers": [names, with the aliases "momentum" and
    "nesterov"], "schedules": [names], "optimizer_options": {optimizer: {option:
    default}}, "limits": {name: value}}``.

Every ``POST`` names its mountain with ``"landscape": NAME`` (see
``/api/landscapes``) or ``"expression": TEXT`` (a formula in x, y, z, read by the
safe parser), exactly one of the two, except where a route says otherwise.

``POST /api/descend``
    ``{"landscape" | "expression", "start": [x, y] or [[x, y], ...] (many
    climbers), "optimizer" ["sgd"], "lr" [0.01], "steps" [1000], "options" [{}],
    "schedule" [null], "tol" [1e-8], "max_value" [1e12]}`` ->
    ``Trajectory.to_dict()`` of ``dh.descend`` with the same arguments; up to
    2,500 climbers, climbers x steps at most 250,000 (every point is sent).
    ``optimizer``: sgd, adam, adamw, rmsprop, adagrad, or "momentum" (sgd with
    momentum 0.9) or "nesterov" (and nesterov true); ``options`` what the
    optimizer accepts (momentum, dampening, nesterov, betas, eps, weight_decay,
    alpha, centered, amsgrad, lr_decay, ...). ``schedule``: ``{"name": "step" |
    "cosine" | ..., "options": {...}}`` (see :func:`downhill.web.limits.schedule`).

``POST /api/surface``
    ``{"landscape" | "expression" (two variables), "domain" [the landscape's],
    "n" [100], "gradients" [true]}`` -> ``{"x": [...], "y": [...], "z": [[...]]
    (row j is y[j]), "gx": [[...]], "gy": [[...]] (null without gradients),
    "zmin", "zmax", "minima": [{"point", "value"}], "formula", "name",
    "variables", "domain"}``. Grids carry 7 significant digits; NaN and
    infinities are null.

``POST /api/derivative``
    ``{"expression" (one variable), "x", "span" [[x - 3, x + 3]], "n" [200]}`` ->
    ``explain.derivative_at(expression, x).to_dict()`` (formula, x, value,
    slope, intercept, sentence) plus ``"curve": {"x": [...], "y": [...],
    "slope": [...]}`` over the span.

``POST /api/gradient``
    ``{"landscape" | "expression", "point": [x, y]}`` ->
    ``explain.gradient_at(...).to_dict()``.

``POST /api/basins``
    ``{"landscape" | "expression" (two variables), "optimizer" ["sgd"], "lr"
    [0.01], "grid" [50] (or [nx, ny]), "steps" [200], "options" [{}], "domain"
    [the landscape's], "per_start" [true]}`` -> ``optim.basins.basins(...).to_dict()``;
    ``"per_start": false`` leaves out each start's final point, status and steps
    (the map alone: labels, axes, minima, counts; what the playground draws).
    Starts x steps at most 50,000,000 (500 x 500 x 200).

``POST /api/lr_sweep``
    ``{"landscape" | "expression", "start": [x, y], "lrs": [...], "optimizer"
    ["sgd"], "steps" [100], "options" [{}], "tol" [1e-8], "max_value" [1e12]}``
    -> ``dh.lr_sweep(...).to_dict()``; learning rates x steps at most 100,000.

``POST /api/loss_landscape``
    the fields of ``/api/train`` and ``"resolution"`` [25] (5 to 41) ->
    ``nn.recipes.chain_loss_landscape(...).to_dict()``: the run's error
    mountain on a plane through its trained weights, its path on it.

``POST /api/three_rates``
    ``{"landscape" | "expression", "start": [x, y], "optimizer" ["sgd"],
    "steps" [100], "options" [{}]}`` -> ``optim.three_rates(...).to_dict()``:
    ``small``, ``good``, ``big`` (null where no rate fails), each ``{"lr",
    "status", "final_value", "steps_taken", "words"}``, and the sweep behind them.

``POST /api/lr_advice``
    ``{"landscape" | "expression", "point"}`` -> ``{"curvature",
    "max_stable_lr" (null if infinite), "suggested_lr" (null if none),
    "eigenvalues", "message", "point"}`` from ``dh.lr_advice``.

``POST /api/graph``
    ``{"expression", "point"}`` -> ``graph_of(...).to_dict()``: the graph of
    the formula evaluated at the point, inputs named by the variables.

``POST /api/train``
    ``{"dataset": "moons" | "circles" | "xor" | "spirals", "hidden" [[4, 4]],
    "steps" [200], "lr" [0.5], "seed" [0], "snapshot_every" [10; at least
    steps / 200], "activation" ["tanh"] (or "relu")}`` ->
    ``nn.recipes.chain_snapshots(...)`` with the same arguments: sizes, data,
    snapshots (weights, biases and their gradients), loss_curve, boundary,
    backprop (one sample's backward pass, link by link).

Errors: ``{"error": "what was wrong and what is allowed", "field": name or
null, "allowed": ...}`` with status 400 (not JSON), 404 (no such route), 405
(wrong method), 413 (body over 64 KiB), 415 (not ``application/json``), 422 (a
value: wrong type, out of bounds, unknown or missing field; a formula the
parser refuses adds ``"message"`` (with carets), ``"position"``, ``"end"`` and
``"hint"``; a request whose estimated cost is past the limit has ``"allowed":
{"cost_s", "max_cost_s", "lower": {field: the largest value that fits}}``), 503
(stopped at the time budget, or no worker free), 500 (a bug; no traceback is sent).
The bounds are in :mod:`downhill.web.limits`.

>>> gradient({"expression": "x**2 + 3*y**2", "point": [1, 2]})["gradient"]
[2.0, 12.0]
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .. import explain
from ..errors import DownhillError, UnknownNameError
from ..landscapes import ExpressionError, Landscape, from_expression, resolve
from ..landscapes.field import surface as sample_surface
from ..landscapes import get as get_landscape
from ..landscapes import names as landscape_names
from ..optim import get_functional, lr_sequence
from ..optim import names as optimizer_names
from ..optim.descend import descend as run_descend
from ..optim.lr_tools import lr_advice as run_lr_advice
from ..optim.lr_tools import lr_sweep as run_lr_sweep
from . import limits
from .limits import RequestError

__all__ = ["ROUTES", "Handler", "Grid", "landscapes", "descend", "surface", "derivative",
           "gradient", "basins", "lr_sweep", "lr_advice", "three_rates", "graph", "train", "loss_landscape"]

MOUNTAIN = ("landscape", "expression")
DATASETS = ("moons", "circles", "xor", "spirals")


# ---------------------------------------------------------------------------
# Shared pieces: the mountain of a request, library errors, JSON.
# ---------------------------------------------------------------------------


def expression_error(error: ExpressionError, field: str = "expression") -> RequestError:
    """A formula the safe parser refused, as a 422 that points at the offending part.

    >>> from downhill.landscapes import parse_expression
    >>> try:
    ...     parse_expression("x.__class__")
    ... except ExpressionError as error:
    ...     body = expression_error(error).to_dict()
    >>> body["error"], body["position"], body["end"]
    ("a formula cannot use attribute access (a '.' after a name)", 0, 11)
    """
    return RequestError(error.reason, field=field, allowed=None, message=str(error),
                        position=error.start, end=error.end, hint=error.hint)


@contextlib.contextmanager
def library_errors(field: str | None):
    """Turn the library's user errors (:class:`~downhill.errors.DownhillError`) into a 422 that names ``field``.

    The library says what was wrong in its own words (``"descend: lr must be
    ..."``); that sentence becomes the error, so the two never disagree.
    Any other exception is a bug: it goes on to the server, which logs it and
    answers 500.
    """
    try:
        yield
    except ExpressionError as error:
        raise expression_error(error) from None
    except DownhillError as error:
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise RequestError(message, field=field) from None


def mountain(body: dict, dimensions: int | None = None) -> Landscape:
    """The landscape a request names: ``"landscape": NAME`` or ``"expression": TEXT``.

    >>> mountain({"landscape": "Rosenbrock"}).name
    'rosenbrock'
    >>> mountain({"expression": "x^2 + y^2"}).variables
    ('x', 'y')
    >>> mountain({"landscape": "x**2 + y"}).formula  # as dh.descend("x**2 + y") reads it
    'x**2 + y'
    """
    given = [key for key in MOUNTAIN if key in body]
    if len(given) != 1:
        what = "both" if given else "neither"
        raise RequestError(
            f'give exactly one of "landscape" (a name such as "himmelblau") or "expression" (a formula '
            f'such as "x**2 + y**2"); this request has {what}',
            field="landscape", allowed=list(landscape_names()),
        )
    if given[0] == "landscape":
        name = body["landscape"]
        if not isinstance(name, str):
            limits.choice(name, "landscape", landscape_names())  # raises, listing the names
        # A name or a formula, read as the library and the command read it.
        text = limits.text(name, "landscape", limits.MAX_BODY_BYTES)
        try:
            landscape = resolve(text)
        except UnknownNameError as error:
            raise RequestError(str(error), field="landscape", allowed=list(landscape_names())) from None
        except ExpressionError as error:
            raise expression_error(error, field="landscape") from None
    else:
        # The parser bounds the length itself, and says so in its own words.
        formula = limits.text(body["expression"], "expression", limits.MAX_BODY_BYTES)
        try:
            landscape = from_expression(formula)
        except ExpressionError as error:
            raise expression_error(error) from None
    if dimensions is not None and len(landscape.variables) != dimensions:
        names = ", ".join(landscape.variables)
        want = {1: "one variable, such as x**3 - x", 2: "two variables, x and y"}[dimensions]
        raise RequestError(
            f"this needs a formula of {want}; {landscape.formula!r} has {len(landscape.variables)} "
            f"({names})", field=given[0], allowed={"variables": dimensions},
        )
    return landscape


class Grid:
    """A 2-D array sent as nested JSON lists with ``digits`` significant digits (non-finite -> null).

    Formatting a 200 x 200 grid with ``%.7g`` takes about a third of the time
    ``json.dumps`` needs for full precision, and 7 digits are more than a
    picture can show.

    >>> Grid(np.array([[1.0, np.nan], [1 / 3, -np.inf]])).json()
    '[[1,null],[0.3333333,null]]'
    """

    __slots__ = ("array", "digits")

    def __init__(self, array, digits: int = 7):
        self.array = np.asarray(array, dtype=np.float64)
        self.digits = digits

    def json(self) -> str:
        """The JSON text."""
        rows, cols = self.array.shape
        if rows == 0 or cols == 0:
            return "[" + ",".join("[]" for _ in range(rows)) + "]"
        row = "[" + ",".join([f"%.{self.digits}g"] * cols) + "]"
        text = "[" + ",".join([row % tuple(values) for values in self.array.tolist()]) + "]"
        if not np.all(np.isfinite(self.array)):
            # %g writes nan, inf and -inf; as numbers only appear here, this is exact.
            text = text.replace("-inf", "null").replace("inf", "null").replace("nan", "null")
        return text


def _optimizer(body: dict) -> tuple[str, dict]:
    return limits.optimizer(body.get("optimizer", "sgd"), body.get("options"))


def _check_optimizer(name: str, lr: float, options: dict) -> None:
    """Let the optimizer check its options (ranges) now, so the error names them."""
    with library_errors("options"):
        get_functional(name).bind(lr=lr, **options)


def _schedule(body: dict, steps: int, lr: float):
    spec = limits.schedule(body.get("schedule"), steps, lr)
    if spec is None:
        return None
    with library_errors("schedule"):
        lr_sequence(spec, steps, lr=lr)  # builds it now, so that its errors name the schedule
    return spec


# ---------------------------------------------------------------------------
# The handlers.
# ---------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _catalog() -> dict:
    entries = [get_landscape(name).to_dict() for name in landscape_names()]
    options = {}
    for name in optimizer_names():
        defaults = dict(get_functional(name).defaults)
        defaults.pop("lr", None)
        options[name] = {key: list(value) if isinstance(value, tuple) else value for key, value in defaults.items()}
    return {
        "landscapes": entries,
        "optimizers": optimizer_names(aliases=True),
        "schedules": list(limits.SCHEDULES),
        "optimizer_options": options,
        "limits": {name: value for name, (value, _) in limits.LIMITS.items()},
    }


def landscapes(body: dict | None = None) -> dict:
    """The catalog: test mountains, optimizer names, schedule names, limits.

    >>> info = landscapes()
    >>> info["landscapes"][0]["name"], info["optimizers"][:2]
    ('sphere', ['sgd', 'adam'])
    """
    return _catalog()


DESCEND_FIELDS = (*MOUNTAIN, "start", "optimizer", "lr", "steps", "options", "schedule", "tol", "max_value")


def descend(body: dict) -> dict:
    """``POST /api/descend``: one climber or many, as ``Trajectory.to_dict()``.

    >>> result = descend({"landscape": "sphere", "start": [1.0, 2.0], "lr": 0.5})
    >>> result["status"], result["final_point"]
    ('converged', array([0., 0.]))
    """
    limits.check_fields(body, DESCEND_FIELDS, ["start"])
    landscape = mountain(body)
    start = limits.points(body["start"], "start", len(landscape.variables))
    name, options = _optimizer(body)
    lr = limits.number(body.get("lr", 0.01), "lr", 0.0, limits.MAX_LR)
    steps = limits.integer(body.get("steps", 1000), "steps", 0, limits.MAX_STEPS)
    limits.check_recorded(len(start) if start.ndim == 2 else 1, steps)
    tol = limits.number(body.get("tol", 1e-8), "tol", 0.0, 1e6)
    max_value = limits.number(body.get("max_value", 1e12), "max_value", 0.0, 1e300, low_open=True)
    _check_optimizer(name, lr, options)
    schedule = _schedule(body, steps, lr)
    climbers = len(start) if start.ndim == 2 else 1
    limits.admit(lambda s, k, ops: limits.climb_seconds(ops, s, batch=k, recorded=k * (s + 1)),
                 limits.Lever("steps", "steps", steps), limits.Lever("start", "climbers", climbers),
                 limits.formula_lever(body, landscape.expression.operations))
    with library_errors(None):
        trajectory = run_descend(landscape, start, optimizer=name, lr=lr, steps=steps, tol=tol,
                                 max_value=max_value, schedule=schedule, **options)
    return trajectory.to_dict(arrays=True)


SURFACE_FIELDS = (*MOUNTAIN, "domain", "n", "gradients")


def surface(body: dict) -> dict:
    """``POST /api/surface``: heights and slopes over an n x n grid, for contour maps and arrows.

    >>> s = surface({"landscape": "sphere", "n": 3, "domain": [[-1, 1], [0, 2]]})
    >>> s["x"], s["y"], s["zmin"], s["zmax"]
    ([-1.0, 0.0, 1.0], [0.0, 1.0, 2.0], 0.0, 5.0)
    >>> s["gy"].json()
    '[[0,0,0],[2,2,2],[4,4,4]]'
    """
    limits.check_fields(body, SURFACE_FIELDS)
    landscape = mountain(body, dimensions=2)
    if body.get("domain") is not None:
        (x0, x1), (y0, y1) = limits.domain(body["domain"], "domain", 2)
    else:
        (x0, x1), (y0, y1) = landscape.domain
    n = limits.integer(body.get("n", 100), "n", 2, limits.MAX_SURFACE_N)
    gradients = limits.boolean(body.get("gradients", True), "gradients")
    limits.admit(lambda side, ops: limits.grid_seconds(ops, side * side), limits.Lever("n", "n", n, least=2),
                 limits.formula_lever(body, landscape.expression.operations))
    with library_errors(None):
        grid = sample_surface(landscape, ((x0, x1), (y0, y1)), n, gradients)
    # The grids travel as Grid (7 significant digits, null where not finite); the rest as the library says.
    return {
        "x": grid.x.tolist(), "y": grid.y.tolist(), "z": Grid(grid.z),
        "gx": Grid(grid.gx) if gradients else None, "gy": Grid(grid.gy) if gradients else None,
        "zmin": grid.zmin, "zmax": grid.zmax, "minima": landscape.to_dict()["minima"],
        "formula": landscape.formula, "name": landscape.name, "variables": list(landscape.variables),
        "domain": [[x0, x1], [y0, y1]],
    }


DERIVATIVE_FIELDS = ("expression", "x", "span", "n")


def derivative(body: dict) -> dict:
    """``POST /api/derivative``: the speedometer at x, and the curve and its slope around it.

    >>> d = derivative({"expression": "x**3", "x": 2, "span": [0, 2], "n": 3})
    >>> d["value"], d["slope"], d["curve"]
    (8.0, 12.0, {'x': [0.0, 1.0, 2.0], 'y': [0.0, 1.0, 8.0], 'slope': [0.0, 3.0, 12.0]})
    """
    limits.check_fields(body, DERIVATIVE_FIELDS, ["expression", "x"])
    landscape = mountain({"expression": body["expression"]}, dimensions=1)
    x = limits.number(body["x"], "x", -limits.MAX_COORDINATE, limits.MAX_COORDINATE)
    if body.get("span") is not None:
        ((low, high),) = limits.domain([body["span"]], "span", 1)
    else:
        low, high = x - 3.0, x + 3.0
    n = limits.integer(body.get("n", 200), "n", 2, limits.MAX_CURVE_N)
    limits.admit(lambda points, ops: limits.grid_seconds(ops, points), limits.Lever("n", "n", n, least=2),
                 limits.formula_lever(body, landscape.expression.operations))
    with library_errors("x"):
        reading = explain.derivative_at(landscape, x)
    with library_errors("span"):
        curve = explain.derivative_curve(landscape, low, high, n).to_dict()
    curve.pop("formula")
    return {**reading.to_dict(), "curve": curve}


POINT_FIELDS = (*MOUNTAIN, "point")


def gradient(body: dict) -> dict:
    """``POST /api/gradient``: the value, gradient and the way downhill at a point.

    >>> gradient({"landscape": "sphere", "point": [3, 4]})["steepness"]
    10.0
    """
    limits.check_fields(body, POINT_FIELDS, ["point"])
    landscape = mountain(body)
    if len(landscape.variables) == 1:
        # explain.gradient_at reads points of two or more coordinates.
        raise RequestError("a gradient needs a formula of two or more variables; for one variable, "
                           "ask /api/derivative for the slope", field="landscape" if "landscape" in body
                           else "expression", allowed={"min_variables": 2})
    point = limits.point(body["point"], "point", len(landscape.variables))
    limits.admit(lambda ops: limits.grid_seconds(ops, 1), limits.formula_lever(body, landscape.expression.operations))
    with library_errors("point"):
        return explain.gradient_at(landscape, point).to_dict()


BASINS_FIELDS = (*MOUNTAIN, "optimizer", "lr", "grid", "steps", "options", "domain", "per_start")


def basins(body: dict) -> dict:
    """``POST /api/basins``: which minimum a climber reaches from each start of a grid.

    >>> b = basins({"landscape": "himmelblau", "grid": 10, "lr": 0.01})
    >>> sorted(b["counts"])
    ['0', '1', '2', '3']
    """
    from ..optim.basins import basins as run_basins

    limits.check_fields(body, BASINS_FIELDS)
    landscape = mountain(body, dimensions=2)
    name, options = _optimizer(body)
    lr = limits.number(body.get("lr", 0.01), "lr", 0.0, limits.MAX_LR)
    grid = limits.grid(body.get("grid", 50), "grid", 2, limits.MAX_BASIN_GRID)
    steps = limits.integer(body.get("steps", 200), "steps", 0, limits.MAX_STEPS)
    limits.check_work(grid[0] * grid[1], steps, limits.MAX_BASIN_WORK, "starts")
    domain = limits.domain(body["domain"], "domain", 2) if body.get("domain") is not None else None
    per_start = limits.boolean(body.get("per_start", True), "per_start")
    _check_optimizer(name, lr, options)
    limits.admit(lambda s, side, ops: limits.climb_seconds(ops, s, batch=side * min(grid)),
                 limits.Lever("steps", "steps", steps),
                 limits.Lever("grid", "grid points per side", max(grid), least=2),
                 limits.formula_lever(body, landscape.expression.operations))
    with library_errors(None):
        result = run_basins(landscape, optimizer=name, lr=lr, grid=grid, steps=steps, domain=domain, **options)
    return result.to_dict(per_start=per_start, arrays=True)


SWEEP_FIELDS = (*MOUNTAIN, "start", "lrs", "optimizer", "steps", "options", "tol", "max_value")


def lr_sweep(body: dict) -> dict:
    """``POST /api/lr_sweep``: the same climb at each learning rate, labelled too small / good / too big.

    >>> rows = lr_sweep({"landscape": "booth", "start": [0, 0], "lrs": [1e-4, 0.05, 0.2], "steps": 200})["rows"]
    >>> [row["label"] for row in rows]
    ['too small', 'good', 'too big']
    """
    limits.check_fields(body, SWEEP_FIELDS, ["start", "lrs"])
    landscape = mountain(body)
    start = limits.point(body["start"], "start", len(landscape.variables))
    lrs = limits.number_list(body["lrs"], "lrs", limits.MAX_LRS, 0.0, limits.MAX_LR)
    name, options = _optimizer(body)
    steps = limits.integer(body.get("steps", 100), "steps", 0, limits.MAX_STEPS)
    limits.check_work(len(lrs), steps, limits.MAX_SWEEP_WORK, "learning rates")
    tol = limits.number(body.get("tol", 1e-8), "tol", 0.0, 1e6)
    max_value = limits.number(body.get("max_value", 1e12), "max_value", 0.0, 1e300, low_open=True)
    _check_optimizer(name, lrs[0], options)
    limits.admit(lambda s, runs, ops: limits.climb_seconds(ops, s, runs=runs), limits.Lever("steps", "steps", steps),
                 limits.Lever("lrs", "learning rates", len(lrs)),
                 limits.formula_lever(body, landscape.expression.operations))
    with library_errors(None):
        return run_lr_sweep(landscape, start, lrs, optimizer=name, steps=steps, tol=tol,
                            max_value=max_value, **options).to_dict()


RATES_FIELDS = (*MOUNTAIN, "start", "optimizer", "steps", "options")


def three_rates(body: dict) -> dict:
    """``POST /api/three_rates``: too small, good and too big, chosen from a sweep of real climbs.

    >>> answer = three_rates({"landscape": "booth", "start": [-6, -6], "steps": 100})
    >>> [answer[kind]["status"] for kind in ("small", "good", "big")]
    ['max_steps', 'max_steps', 'diverged']
    """
    from ..optim.three_rates import DEFAULT_SWEEP, three_rates as run_three_rates

    limits.check_fields(body, RATES_FIELDS, ["start"])
    landscape = mountain(body)
    start = limits.point(body["start"], "start", len(landscape.variables))
    name, options = _optimizer(body)
    steps = limits.integer(body.get("steps", 100), "steps", 1, limits.MAX_STEPS)
    limits.check_work(len(DEFAULT_SWEEP), steps, limits.MAX_SWEEP_WORK, "learning rates")
    _check_optimizer(name, DEFAULT_SWEEP[0], options)
    limits.admit(lambda s, ops: limits.climb_seconds(ops, s, runs=len(DEFAULT_SWEEP)),
                 limits.Lever("steps", "steps", steps), limits.formula_lever(body, landscape.expression.operations))
    with library_errors(None):
        return run_three_rates(landscape, start, optimizer=name, steps=steps, **options).to_dict()


def lr_advice(body: dict) -> dict:
    """``POST /api/lr_advice``: the curvature at a point and the largest stable learning rate, 2/L.

    >>> advice = lr_advice({"landscape": "sphere", "point": [1, 1]})
    >>> advice["curvature"], advice["max_stable_lr"], advice["suggested_lr"]
    (2.0, 1.0, 0.5)
    """
    limits.check_fields(body, POINT_FIELDS, ["point"])
    landscape = mountain(body)
    point = limits.point(body["point"], "point", len(landscape.variables))
    limits.admit(lambda ops: limits.grid_seconds(ops, 1, passes=3 * len(point)),
                 limits.formula_lever(body, landscape.expression.operations))
    with library_errors("point"):
        return run_lr_advice(landscape, point).to_dict()


GRAPH_FIELDS = ("expression", "point")


def graph(body: dict) -> dict:
    """``POST /api/graph``: the computational graph of a formula at a point, link by link.

    >>> g = graph({"expression": "x*y + sin(x)", "point": [2, 3]})
    >>> [node["label"] for node in g["nodes"]][:3]
    ['x', 'y', 'multiply']
    """
    limits.check_fields(body, GRAPH_FIELDS, ["expression", "point"])
    landscape = mountain({"expression": body["expression"]})
    point = limits.point(body["point"], "point", len(landscape.variables))
    limits.admit(lambda ops: limits.grid_seconds(ops, 1), limits.formula_lever(body, landscape.expression.operations))
    with library_errors("point"):
        return explain.graph_at(landscape, point).to_dict()


TRAIN_FIELDS = ("dataset", "hidden", "steps", "lr", "seed", "snapshot_every", "activation")


def train(body: dict) -> dict:
    """``POST /api/train``: train a small network and return snapshots of its chain of layers.

    >>> run = train({"dataset": "xor", "hidden": [4], "steps": 20, "snapshot_every": 10})
    >>> [s["step"] for s in run["snapshots"]], run["sizes"]
    ([0, 10, 20], [2, 4, 1])
    """
    from ..nn.recipes import chain_snapshots

    limits.check_fields(body, TRAIN_FIELDS, ["dataset"])
    dataset = limits.choice(body["dataset"], "dataset", DATASETS)
    hidden = limits.hidden_layers(body.get("hidden", [4, 4]))
    steps = limits.integer(body.get("steps", 200), "steps", 0, limits.MAX_TRAIN_STEPS)
    lr = limits.number(body.get("lr", 0.5), "lr", 0.0, 100.0, low_open=True)
    seed = limits.integer(body.get("seed", 0), "seed", 0, 2**32 - 1)
    fewest = max(1, -(-steps // (limits.MAX_SNAPSHOTS - 1)))  # ceil(steps / 200)
    every = limits.integer(body.get("snapshot_every", max(fewest, 10)), "snapshot_every", fewest,
                           limits.MAX_TRAIN_STEPS)
    activation = limits.choice(body.get("activation", "tanh"), "activation", ("tanh", "relu"))
    limits.admit(lambda s: limits.training_seconds([2, *hidden, 1], s), limits.Lever("steps", "steps", steps))
    with library_errors(None):
        return chain_snapshots(dataset, hidden=hidden, steps=steps, lr=lr, seed=seed, snapshot_every=every,
                               activation=activation)


def loss_landscape(body: dict) -> dict:
    """``POST /api/loss_landscape``: the chain panel's run on its own error mountain.

    The same fields as ``/api/train`` (the same run) and ``resolution`` [25]
    (points per side, 5 to 41) -> ``nn.recipes.chain_loss_landscape(...).to_dict()``:
    the loss on a plane through the trained weights, with the training path on it.

    >>> slice_ = loss_landscape({"dataset": "xor", "hidden": [4], "steps": 40, "snapshot_every": 10,
    ...                          "resolution": 5})
    >>> len(slice_["losses"]) == len(slice_["betas"]), len(slice_["path"])  # the path: one point per snapshot
    (True, 5)
    """
    from ..nn.recipes import chain_loss_landscape

    limits.check_fields(body, (*TRAIN_FIELDS, "resolution"), ["dataset"])
    resolution = limits.integer(body.get("resolution", 25), "resolution", 5, 41)
    hidden = limits.hidden_layers(body.get("hidden", [4, 4]))
    steps = limits.integer(body.get("steps", 200), "steps", 0, limits.MAX_TRAIN_STEPS)
    # The training, then one forward pass of the whole data set per point of the
    # slice (counted as half a training step each: no backward pass).
    limits.admit(lambda s, r: limits.training_seconds([2, *hidden, 1], s + (r + 1) ** 2 // 2),
                 limits.Lever("steps", "steps", steps), limits.Lever("resolution", "resolution", resolution, least=5))
    run = train({key: value for key, value in body.items() if key != "resolution"})
    with library_errors(None):
        return chain_loss_landscape(run, resolution=resolution).to_dict()


# ---------------------------------------------------------------------------
# The route table.
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Handler:
    """One route of the API: its path, method, and the function that answers it.

    ``engine``: whether the function computes (in a worker process, after
    its checks; see ``app``); the catalog does not, and is answered at once.
    ``kept``: whether its answer depends on the body alone, so that the
    server may keep it for the next identical request (``answers``).
    """

    path: str
    method: str
    function: Callable[[dict], dict]
    engine: bool = True
    kept: bool = False


# Every computing route is a function of its body alone (training is seeded), so its answers are kept.
ROUTES: tuple[Handler, ...] = (
    Handler("/api/landscapes", "GET", landscapes, engine=False),
    Handler("/api/descend", "POST", descend, kept=True),
    Handler("/api/surface", "POST", surface, kept=True),
    Handler("/api/derivative", "POST", derivative, kept=True),
    Handler("/api/gradient", "POST", gradient, kept=True),
    Handler("/api/basins", "POST", basins, kept=True),
    Handler("/api/lr_sweep", "POST", lr_sweep, kept=True),
    Handler("/api/lr_advice", "POST", lr_advice, kept=True),
    Handler("/api/three_rates", "POST", three_rates, kept=True),
    Handler("/api/graph", "POST", graph, kept=True),
    Handler("/api/train", "POST", train, kept=True),
    Handler("/api/loss_landscape", "POST", loss_landscape, kept=True),
)
