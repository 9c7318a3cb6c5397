"""Readings of a formula at a point, in numbers and in words.

The speedometer (value, slope and tangent line of a 1-D formula) and the
foggy mountain (value, gradient, the downhill direction and how steep it is)
as small results that the command line, the playground and the tour share.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from .autodiff import grad
from .autodiff.transforms import derivative
from .landscapes import resolve as _landscape


@dataclass
class DerivativeReading:
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
            trend = "is flat here: not changing at this instant"
        else:
            trend = (f"is {'rising' if self.slope > 0 else 'falling'} at {abs(self.slope):.6g} "
                     "per unit of x at this instant")
        return (f"At x = {self.x:g}, f(x) = {self.value:.6g} and f'(x) = {self.slope:.6g}: "
                f"the function {trend}. The tangent line is y = {self.slope:.6g}·x "
                f"{'-' if self.intercept < 0 else '+'} {abs(self.intercept):.6g}.")

    def to_dict(self) -> dict:
        """JSON-ready fields plus the sentence."""
        return {**asdict(self), "sentence": self.sentence}


def derivative_at(formula, x) -> DerivativeReading:
    """The speedometer's reading of a formula of one variable at ``x``.

    >>> from downhill.explain import derivative_at
    >>> r = derivative_at("x**3", 2.0)
    >>> r.value, r.slope, r.intercept
    (8.0, 12.0, -16.0)
    """
    landscape = _landscape(formula)
    if len(landscape.variables) != 1:
        raise ValueError(
            f"a derivative needs a formula of one variable; {landscape.formula!r} has "
            f"{len(landscape.variables)}: {', '.join(landscape.variables)}"
        )
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(f"x must be a finite number, got {x}")
    with np.errstate(all="ignore"):
        value = float(landscape(np.float64(x)))
        slope = float(derivative(lambda t: landscape(t))(x))
    if not (math.isfinite(value) and math.isfinite(slope)):
        raise ValueError(f"{landscape.formula!r} has no finite value or slope at x = {x:g}")
    return DerivativeReading(landscape.formula, x, value, slope, value - slope * x)


@dataclass
class GradientReading:
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

    def to_dict(self) -> dict:
        """JSON-ready fields plus the sentence."""
        data = asdict(self)
        data["variables"] = list(self.variables)
        return {**data, "sentence": self.sentence}


def gradient_at(formula, point) -> GradientReading:
    """The gradient of a formula (or landscape) at ``point`` and the way downhill.

    >>> from downhill.explain import gradient_at
    >>> r = gradient_at("x**2 + 3*y**2", [1.0, 2.0])
    >>> r.gradient, round(r.steepness, 4)
    ([2.0, 12.0], 12.1655)
    """
    landscape = _landscape(formula)
    point = np.asarray(point, dtype=np.float64).ravel()
    if point.size != len(landscape.variables):
        raise ValueError(
            f"{landscape.formula!r} has {len(landscape.variables)} variable(s) "
            f"({', '.join(landscape.variables)}) but the point has {point.size} coordinate(s)"
        )
    if not np.all(np.isfinite(point)):
        raise ValueError("the point must be finite numbers")
    # A one-variable landscape reads a point of shape (1,) as a batch of one x
    # and answers with shape (1,); summing that one height makes it a scalar.
    height = (lambda p: landscape(p).sum()) if point.size == 1 else landscape
    with np.errstate(all="ignore"):
        value = float(height(point))
        g = np.asarray(grad(lambda p: height(p))(point), dtype=np.float64).reshape(-1)
    if not (math.isfinite(value) and np.all(np.isfinite(g))):
        raise ValueError(f"{landscape.formula!r} has no finite value or gradient at {point.tolist()}")
    steepness = float(np.sqrt(g @ g))
    down = (-g / steepness) if steepness > 0 else np.zeros_like(g)
    return GradientReading(landscape.formula, tuple(landscape.variables), point.tolist(), value,
                           g.tolist(), steepness, down.tolist())


__all__ = ["derivative_at", "gradient_at", "DerivativeReading", "GradientReading"]
