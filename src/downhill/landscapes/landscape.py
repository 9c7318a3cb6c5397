"""The Landscape type: a mountain as data (formula, function, domain, known minima).

A landscape's function is compiled from its formula text by the safe expression
compiler, so the text a learner reads is exactly what gets evaluated and
differentiated: there is no second, hand-written copy to drift out of step.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, fields
from typing import Any, Mapping, NamedTuple, Sequence

import numpy as np

from ..errors import InputError
from ..notebook import shows_in_notebook
from ..autodiff import Tensor
from ..results import Result, jsonable
from .expression import Expression, parse_expression
from .namespaces import DOWNHILL_FUNCTIONS, NUMPY_FUNCTIONS

__all__ = ["Landscape", "KnownPoint", "from_expression"]

DEFAULT_RANGE = (-5.0, 5.0)


class KnownPoint(NamedTuple):
    """A point of a landscape with its value, such as a known global minimum.

    >>> KnownPoint((1.0, 1.0), 0.0).point
    (1.0, 1.0)
    """

    point: tuple[float, ...]
    value: float


@shows_in_notebook
@dataclass(frozen=True, repr=False)
class Landscape(Result):
    """A test function for optimization, with what is known about it.

    Call it (or its alias ``f``) on a point: a downhill Tensor or anything NumPy
    reads. With two or more variables a point has shape ``(k,)`` (one coordinate
    per variable, in the order of ``variables``) or a batch ``(n, k)`` (any
    ``(..., k)``, such as a grid), and the value has shape ``()`` or ``(n,)`` (the
    batch's shape). With one variable the point is the value of that variable, of
    any shape. A Tensor in gives a Tensor out, evaluated with
    downhill's differentiable functions; anything else gives NumPy.

    Fields: ``name``; ``formula`` (text in the syntax of :func:`from_expression`);
    ``variables`` (inferred from the formula when not given); ``domain``, one
    ``(low, high)`` per variable, the recommended window; ``minima``, the known
    global minima as ``KnownPoint(point, value)``; ``smooth`` (``False`` where the
    gradient is undefined somewhere, ``None`` if unknown); ``many_local_minima``;
    ``description``, one sentence for learners; ``local_maxima``; ``notes``;
    ``start``, where a climber starts by default (in the domain, away from the
    minima; for a typed formula, a point 60% of the way from the domain's centre
    towards its upper-left corner).

    >>> bowl = Landscape("bowl", "x**2 + 3*y**2", minima=[((0, 0), 0)])
    >>> float(bowl([1.0, 2.0]))
    13.0
    >>> bowl([[1.0, 2.0], [0.0, 1.0]])
    array([13.,  3.])
    >>> bowl.minima[0]
    KnownPoint(point=(0.0, 0.0), value=0.0)
    >>> bowl.start
    (-3.0, 3.0)
    """

    name: str
    formula: str
    variables: tuple[str, ...] | None = None
    domain: tuple[tuple[float, float], ...] | None = None
    minima: tuple[KnownPoint, ...] = ()
    smooth: bool | None = None
    many_local_minima: bool | None = None
    description: str = ""
    local_maxima: tuple[KnownPoint, ...] = ()
    notes: str = ""
    start: tuple[float, ...] | None = None
    expression: Expression = field(init=False, compare=False)

    def __post_init__(self):
        expression = parse_expression(self.formula, self.variables)
        variables = expression.variables
        count = len(variables)
        domain = self.domain if self.domain is not None else (DEFAULT_RANGE,) * count
        domain = tuple((float(low), float(high)) for low, high in domain)
        if len(domain) != count or not all(
            np.isfinite(low) and np.isfinite(high) and low < high for low, high in domain
        ):
            raise InputError(
                f"domain of {self.name!r} must be one finite (low, high) with low < high "
                f"for each of its variables {variables}, got {self.domain}"
            )
        # The dataclass is frozen so that a catalog entry cannot be changed by
        # accident; normalizing the fields here is the one place that may set them.
        set_field = functools.partial(object.__setattr__, self)
        set_field("expression", expression)
        set_field("variables", variables)
        set_field("domain", domain)
        for what in ("minima", "local_maxima"):
            set_field(what, _known_points(getattr(self, what), count, self.name, what))
        set_field("start", _start(self.start, domain, self.name))

    def __call__(self, point):
        """The height of the landscape at ``point`` (or at each point of a batch).

        >>> from downhill.landscapes import get
        >>> float(get("rosenbrock")([1.0, 1.0]))
        0.0
        """
        namespace, point = _namespace_for(point)
        count = len(self.variables)
        if count == 1:
            return self.expression.evaluate((point,), namespace)
        shape = tuple(point.shape)
        if len(shape) == 0 or shape[-1] != count:
            raise InputError(
                f"{self.name} takes points of shape ({count},) or (n, {count}), one "
                f"coordinate per variable {self.variables}; got shape {shape}"
            )
        values = [point[..., i] for i in range(count)]
        return self.expression.evaluate(values, namespace)

    # ``landscape.f(point)`` reads like the mathematics; it is the same call.
    f = __call__

    def __reduce__(self):
        # The compiled expression is made of closures, which pickle cannot carry.
        # A landscape is data: it travels (to a worker process, a dask cluster)
        # as its fields and is compiled again from its formula on arrival.
        return (_rebuild, ({f.name: getattr(self, f.name) for f in fields(self) if f.init},))

    def __repr__(self) -> str:
        return f"Landscape({self.name!r}, {self.formula!r})"

    def __str__(self) -> str:
        minima = "; ".join("(" + ", ".join(f"{c:.6g}" for c in m.point) + f") with value {m.value:.6g}"
                           for m in self.minima) or "not known"
        lines = [f"{self.name}: f({', '.join(self.variables)}) = {self.formula}", f"minimum: {minima}"]
        return "\n".join(lines + ([self.description] if self.description else []))

    def to_dict(self) -> dict:
        """Strict JSON: what the catalog knows about this mountain.

        >>> Landscape("bowl", "x**2 + 3*y**2", minima=[((0, 0), 0)], domain=[(-1, 1), (-2, 2)]).to_dict()["minima"]
        [{'point': [0.0, 0.0], 'value': 0.0}]
        """
        return jsonable({
            "name": self.name, "formula": self.formula, "variables": self.variables, "domain": self.domain,
            "minima": [{"point": m.point, "value": m.value} for m in self.minima],
            "smooth": self.smooth, "many_local_minima": self.many_local_minima, "description": self.description,
            "start": self.start,
        })


def _rebuild(settings: dict) -> Landscape:
    """A landscape from its fields (how a pickled one is made again)."""
    return Landscape(**settings)


def _known_points(points, count: int, name: str, what: str) -> tuple[KnownPoint, ...]:
    result = []
    for item in points:
        point, value = item
        point = tuple(float(coordinate) for coordinate in np.atleast_1d(point))
        if len(point) != count:
            raise InputError(
                f"each of {name!r}'s {what} needs {count} coordinate(s), got {point}"
            )
        result.append(KnownPoint(point, float(value)))
    return tuple(result)


def _start(start, domain, name: str) -> tuple[float, ...]:
    """The given default start, checked to lie in the domain; or one chosen from the domain."""
    if start is None:
        # Off-centre on purpose: most test functions keep their minima near the
        # middle, and a climb that starts there shows nothing.
        centre = [(low + high) / 2 for low, high in domain]
        half = [(high - low) / 2 for low, high in domain]
        direction = [-1.0] + [1.0] * (len(domain) - 1)
        return tuple(round(c + 0.6 * d * h, 6) for c, d, h in zip(centre, direction, half))
    start = tuple(float(v) for v in np.atleast_1d(start))
    if len(start) != len(domain) or not all(low <= v <= high for v, (low, high) in zip(start, domain)):
        raise InputError(f"the default start of {name!r} must be a point inside its domain {domain}, got {start}")
    return start


def _namespace_for(point) -> tuple[Mapping[str, Any], Any]:
    """Which functions evaluate the formula: downhill's for a Tensor, else NumPy's."""
    if isinstance(point, Tensor):
        return DOWNHILL_FUNCTIONS, point
    point = np.asarray(point)
    if not np.issubdtype(point.dtype, np.floating):
        point = point.astype(np.float64)
    return NUMPY_FUNCTIONS, point


def from_expression(
    text: str,
    variables: Sequence[str] | None = None,
    name: str | None = None,
    domain: Sequence[tuple[float, float]] | None = None,
) -> Landscape:
    """A landscape from a formula a person typed, read safely (never with ``eval``).

    ``variables`` default to the names in the text, sorted, from x, y, z; name
    others explicitly. The domain defaults to (-5, 5) for each variable. Minima,
    smoothness and local minima are unknown (empty, ``None``, ``None``). ``^`` is
    read as a power, like ``**``.

    >>> hill = from_expression("x^2 + 3*y^2")
    >>> hill.variables, float(hill([1.0, 1.0]))
    (('x', 'y'), 4.0)
    >>> speed = from_expression("t**3 - t", variables=["t"])
    >>> speed([0.0, 2.0])
    array([0., 6.])
    """
    return Landscape(
        name=name if name is not None else " ".join(str(text).split()),
        formula=text,
        variables=variables,
        domain=domain,
        description="A formula typed by a person.",
    )
