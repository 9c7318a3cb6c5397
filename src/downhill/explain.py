"""Readings of a formula at a point, in numbers and in words.

The speedometer (value, slope and tangent line of a 1-D formula, and the
curve with its slope around it), the foggy mountain (value, gradient, the
downhill direction and how steep it is) and the bicycle chain (the graph of
the formula at a point) as small results that the command line, the
playground and the tour share. Each takes a formula, a catalog name or a
Landscape (:func:`downhill.landscapes.resolve`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .autodiff import grad
from .autodiff.transforms import derivative
from .errors import InputError, numbers
from .landscapes import resolve as _landscape
from .results import Result, jsonable


def _one_variable(formula, what: str):
    landscape = _landscape(formula)
    if len(landscape.variables) != 1:
        raise InputError(
            f"{what} needs a formula of one variable; {landscape.formula!r} has "
            f"{len(landscape.variables)}: {', '.join(landscape.variables)}"
        )
    return landscape


def _point(landscape, point) -> np.ndarray:
    """``point`` as finite float64 coordinates, one per variable of ``landscape``."""
    point = numbers(point, "the point").ravel()
    if point.size != len(landscape.variables):
        raise InputError(
            f"{landscape.formula!r} has {len(landscape.variables)} variable(s) "
            f"({', '.join(landscape.variables)}) but the point has {point.size} coordinate(s)"
        )
    if not np.all(np.isfinite(point)):
        raise InputError("the point must be finite numbers")
    return point


@dataclass
class DerivativeReading(Result):
    """f, f' and the tangent line of a 1-D formula at one point."""

    formula: str
    x: float
    value: float
    slope: float
    intercept: float

    @property
    def sentence(self) -> str:
        """What the speedometer says, in words."""
        if self.slope == 0:
            trend = "is flat here, not changing at this instant"
        else:
            trend = (f"is {'rising' if self.slope > 0 else 'falling'} at {abs(self.slope):.6g} "
                     "per unit of x at this instant")
        return (f"At x = {self.x:g}, f(x) = {self.value:.6g} and f'(x) = {self.slope:.6g}: "
                f"the function {trend}. The tangent line is y = {self.slope:.6g}·x "
                f"{'-' if self.intercept < 0 else '+'} {abs(self.intercept):.6g}.")

    def __str__(self) -> str:
        return (f"f(x) = {self.formula}\nf({self.x:g}) = {self.value:.10g}\nf'({self.x:g}) = {self.slope:.10g}\n"
                f"{self.sentence}")

    def to_dict(self) -> dict:
        """Strict JSON: the fields plus the sentence."""
        return jsonable({**asdict(self), "sentence": self.sentence})


def derivative_at(formula, x) -> DerivativeReading:
    """The speedometer's reading of a formula of one variable at ``x``.

    >>> from downhill.explain import derivative_at
    >>> r = derivative_at("x**3", 2.0)
    >>> r.value, r.slope, r.intercept
    (8.0, 12.0, -16.0)
    """
    landscape = _one_variable(formula, "a derivative")
    x = float(x)
    if not math.isfinite(x):
        raise InputError(f"x must be a finite number, got {x}")
    with np.errstate(all="ignore"):
        value = float(landscape(np.float64(x)))
        slope = float(derivative(lambda t: landscape(t))(x))
    if not (math.isfinite(value) and math.isfinite(slope)):
        raise InputError(f"{landscape.formula!r} has no finite value or slope at x = {x:g}")
    return DerivativeReading(landscape.formula, x, value, slope, value - slope * x)


@dataclass
class GradientReading(Result):
    """Value, gradient and the way downhill of a formula at one point."""

    formula: str
    variables: tuple
    point: list
    value: float
    gradient: list
    steepness: float
    downhill: list

    @property
    def sentence(self) -> str:
        """Which way is downhill, in words."""
        where = ", ".join(f"{v} = {p:g}" for v, p in zip(self.variables, self.point))
        if self.steepness == 0:
            return f"At {where} the ground is flat (gradient zero): a minimum, a maximum or a saddle."
        direction = ", ".join(f"{d:+.4f}" for d in self.downhill)
        main = int(np.argmax(np.abs(self.downhill)))
        sign = "-" if self.downhill[main] < 0 else "+"
        return (f"At {where} the value is {self.value:.6g}. Uphill is the gradient "
                f"({', '.join(f'{g:.6g}' for g in self.gradient)}); downhill is the opposite way, "
                f"the unit direction ({direction}), mostly toward {sign}{self.variables[main]}. "
                f"The slope there is {self.steepness:.6g}: each small step of length h along it "
                f"lowers the value by about {self.steepness:.6g}·h.")

    def __str__(self) -> str:
        vector = ", ".join(f"{g:.10g}" for g in self.gradient)
        down = ", ".join(f"{d:.6f}" for d in self.downhill)
        return (f"f = {self.formula}\nvalue     = {self.value:.10g}\ngradient  = ({vector})\n"
                f"downhill  = ({down})\nsteepness = {self.steepness:.10g}\n{self.sentence}")

    def to_dict(self) -> dict:
        """Strict JSON: the fields plus the sentence."""
        return jsonable({**asdict(self), "sentence": self.sentence})

    def step(self, domain, fraction: float = 0.08) -> np.ndarray:
        """The point and one short step downhill from it, ``fraction`` of the window's narrower side long.

        A path of two points, to draw as an arrow on a map of ``domain``.

        >>> gradient_at("x**2 + y**2", [1.0, 0.0]).step(((-5, 5), (-5, 5)))
        array([[1. , 0. ],
               [0.2, 0. ]])
        """
        low, high = np.asarray(domain, dtype=np.float64).T
        point = np.asarray(self.point, dtype=np.float64)
        return np.array([point, point + fraction * float(np.min(high - low)) * np.asarray(self.downhill)])


def gradient_at(formula, point) -> GradientReading:
    """The gradient of a formula (or landscape) at ``point`` and the way downhill.

    >>> from downhill.explain import gradient_at
    >>> r = gradient_at("x**2 + 3*y**2", [1.0, 2.0])
    >>> r.gradient, round(r.steepness, 4)
    ([2.0, 12.0], 12.1655)
    """
    landscape = _landscape(formula)
    point = _point(landscape, point)
    # A one-variable landscape reads a point of shape (1,) as a batch of one x
    # and answers with shape (1,); summing that one height makes it a scalar.
    height = (lambda p: landscape(p).sum()) if point.size == 1 else landscape
    with np.errstate(all="ignore"):
        value = float(height(point))
        g = np.asarray(grad(lambda p: height(p))(point), dtype=np.float64).reshape(-1)
    if not (math.isfinite(value) and np.all(np.isfinite(g))):
        raise InputError(f"{landscape.formula!r} has no finite value or gradient at {point.tolist()}")
    steepness = float(np.sqrt(g @ g))
    down = (-g / steepness) if steepness > 0 else np.zeros_like(g)
    return GradientReading(landscape.formula, tuple(landscape.variables), point.tolist(), value,
                           g.tolist(), steepness, down.tolist())


@dataclass
class DerivativeCurve(Result):
    """A one-variable formula and its slope at ``n`` points: what the speedometer drives along.

    ``y`` and ``slope`` hold NaN where the formula has no finite value or slope.
    """

    formula: str
    x: np.ndarray
    y: np.ndarray
    slope: np.ndarray

    def __str__(self) -> str:
        return (f"f(x) = {self.formula} and its slope at {self.x.size} points "
                f"from x = {self.x[0]:g} to {self.x[-1]:g}")

    def to_dict(self) -> dict:
        """Strict JSON: ``{"formula", "x", "y", "slope"}``; NaN becomes None, noted in ``non_finite``."""
        return jsonable(asdict(self))


def derivative_curve(formula, low: float, high: float, n: int = 200) -> DerivativeCurve:
    """The values and slopes of a one-variable formula at ``n`` evenly spaced points from ``low`` to ``high``.

    >>> c = derivative_curve("x**3", 0, 2, 3)
    >>> c.x.tolist(), c.y.tolist(), c.slope.tolist()
    ([0.0, 1.0, 2.0], [0.0, 1.0, 8.0], [0.0, 3.0, 12.0])
    """
    landscape = _one_variable(formula, "a derivative curve")
    low, high = float(low), float(high)
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise InputError(f"a derivative curve needs finite ends with low < high; got {low:g} and {high:g}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise InputError(f"a derivative curve needs n >= 2 points (a whole number); got {n!r}")
    xs = np.linspace(low, high, n)
    with np.errstate(all="ignore"):
        ys = np.broadcast_to(np.asarray(landscape(xs), dtype=np.float64), xs.shape)
        slopes = np.broadcast_to(np.asarray(derivative(landscape)(xs), dtype=np.float64), xs.shape)
    return DerivativeCurve(landscape.formula, xs, np.where(np.isfinite(ys), ys, np.nan),
                           np.where(np.isfinite(slopes), slopes, np.nan))


@dataclass
class GraphReading(Result):
    """The computational graph of a formula at a point (:func:`graph_at`).

    ``graph`` is :func:`downhill.autodiff.graph.graph_of`'s :class:`Graph`;
    ``value`` the result Tensor and ``names`` the input Tensors by variable,
    as ``downhill.viz.graph(value, names=names)`` draws them.
    """

    formula: str
    point: list
    graph: Any
    value: Any
    names: dict

    def __str__(self) -> str:
        return self.graph.table()

    def to_dict(self) -> dict:
        """Strict JSON: the formula, the point and the graph's nodes and edges."""
        return jsonable({"formula": self.formula, "point": self.point, **self.graph.to_dict()})


def graph_at(formula, point, require_finite: bool = False) -> GraphReading:
    """The graph of ``formula`` evaluated at ``point``, its inputs named by the variables.

    Where the formula is undefined (``log(-1)``) the graph still shows how far
    the numbers got, with NaN from there on; ``require_finite`` refuses that
    instead (the command does: it has a picture to draw).

    >>> reading = graph_at("x*y + sin(x)", [2.0, 3.0])
    >>> [node.label for node in reading.graph.nodes][:3], reading.graph.node("y").grad
    (['x', 'y', 'multiply'], 2.0)
    """
    from .autodiff import Tensor
    from .autodiff.graph import graph_of
    from .landscapes.namespaces import DOWNHILL_FUNCTIONS

    landscape = _landscape(formula)
    point = _point(landscape, point)
    inputs = [Tensor(np.float64(v), requires_grad=True) for v in point]
    with np.errstate(all="ignore"):
        value = landscape.expression.evaluate(inputs, DOWNHILL_FUNCTIONS)
    if require_finite and not np.all(np.isfinite(value.data)):
        raise InputError(f"{landscape.formula!r} has no finite value at {point.tolist()}")
    names = dict(zip(landscape.variables, inputs))
    return GraphReading(landscape.formula, point.tolist(), graph_of(value, names=names), value, names)


__all__ = ["derivative_at", "gradient_at", "derivative_curve", "graph_at", "DerivativeReading",
           "GradientReading", "DerivativeCurve", "GraphReading"]
