"""A landscape over a grid: its heights and slopes at every point, for maps and arrows.

The pictures (contour maps, arrows downhill), the playground's surface and
the command all read a mountain through :func:`field` and :func:`surface`, so
they draw the same numbers. A formula is traced once into straight-line code
(:func:`program_for`); a formula the tracer cannot straighten out falls back
to the engine (``dh.grad``) on the whole batch at once. Where the mountain has
no finite height or slope (``log`` of a negative number, ``1/0``), the grid
holds NaN.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from ..autodiff import grad
from ..autodiff.compile import NotCompilable, trace
from ..errors import InputError
from ..results import Result, jsonable
from .landscape import Landscape

__all__ = ["program_for", "field", "surface", "Surface"]


@functools.lru_cache(maxsize=256)
def _program_for(formula, variables):
    from .expression import parse_expression
    from .namespaces import DOWNHILL_FUNCTIONS

    expression = parse_expression(formula, variables)
    return trace(lambda *values: expression.evaluate(values, DOWNHILL_FUNCTIONS), len(variables),
                 names=[f"x{i}" for i in range(len(variables))])


def program_for(landscape: Landscape):
    """The traced value-and-gradient program of a landscape (cached), or None.

    >>> import downhill as dh
    >>> program_for(dh.landscapes.get("booth"))(1.0, 3.0)
    (0.0, (0.0, 0.0))
    """
    try:
        return _program_for(landscape.formula, tuple(landscape.variables))
    except NotCompilable:
        return None


def field(landscape: Landscape, X: np.ndarray, Y: np.ndarray, gradients: bool = True):
    """``(Z, GX, GY)``: heights and slopes of a two-variable landscape over a grid, NaN where not finite.

    ``X`` and ``Y`` are arrays of one shape (from ``np.meshgrid``); so are the
    answers. Without ``gradients``, ``GX`` and ``GY`` are None.

    >>> import downhill as dh
    >>> X, Y = np.meshgrid([0.0, 1.0], [0.0, 2.0])
    >>> Z, GX, GY = field(dh.landscapes.get("sphere"), X, Y)
    >>> Z.tolist(), GY.tolist()
    ([[0.0, 1.0], [4.0, 5.0]], [[0.0, 0.0], [4.0, 4.0]])
    """
    X, Y = np.asarray(X, dtype=np.float64), np.asarray(Y, dtype=np.float64)
    with np.errstate(all="ignore"):
        if not gradients:
            Z = np.asarray(landscape(np.stack([X, Y], axis=-1)), dtype=np.float64)
            return _on_grid(Z, X), None, None
        program = program_for(landscape)
        if program is not None:
            Z, (GX, GY) = program.function(X, Y)
        else:
            points = np.stack([X.ravel(), Y.ravel()], axis=1)
            Z = np.asarray(landscape(points), dtype=np.float64)
            G = np.asarray(grad(lambda p: landscape(p).sum())(points), dtype=np.float64)
            GX, GY = G[:, 0], G[:, 1]
    return _on_grid(Z, X), _on_grid(GX, X), _on_grid(GY, X)


def _on_grid(values, X):
    """Values as an array of X's shape (a constant broadcast), NaN where not finite."""
    values = np.asarray(values, dtype=np.float64)
    values = values.reshape(X.shape) if values.size == X.size else np.broadcast_to(values, X.shape)
    return np.where(np.isfinite(values), values, np.nan)


@dataclass
class Surface(Result):
    """A landscape sampled on an n x n grid: ``z[j, i]`` is the height at ``(x[i], y[j])``.

    ``gx`` and ``gy`` are the slopes (None when not asked for); NaN marks
    points without a finite height or slope. ``zmin``/``zmax`` span the
    finite heights (None when there are none).
    """

    x: np.ndarray
    y: np.ndarray
    z: np.ndarray
    gx: np.ndarray | None
    gy: np.ndarray | None
    landscape: Landscape

    @property
    def zmin(self):
        finite = self.z[np.isfinite(self.z)]
        return float(finite.min()) if finite.size else None

    @property
    def zmax(self):
        finite = self.z[np.isfinite(self.z)]
        return float(finite.max()) if finite.size else None

    @property
    def domain(self):
        return ((float(self.x[0]), float(self.x[-1])), (float(self.y[0]), float(self.y[-1])))

    def __str__(self) -> str:
        (x0, x1), (y0, y1) = self.domain
        span = "no finite height" if self.zmin is None else f"heights from {self.zmin:.6g} to {self.zmax:.6g}"
        return (f"{self.landscape.name} ({self.landscape.formula}) on a {self.x.size} x {self.y.size} grid "
                f"over [{x0:g}, {x1:g}] x [{y0:g}, {y1:g}]: {span}")

    def to_dict(self) -> dict:
        """Strict JSON: grids as nested lists, NaN as null (with a note saying so)."""
        return jsonable({
            "x": self.x, "y": self.y, "z": self.z, "gx": self.gx, "gy": self.gy,
            "zmin": self.zmin, "zmax": self.zmax, "minima": self.landscape.to_dict()["minima"],
            "formula": self.landscape.formula, "name": self.landscape.name,
            "variables": list(self.landscape.variables), "domain": self.domain,
        })


def surface(landscape, domain=None, n: int = 100, gradients: bool = True) -> Surface:
    """Heights (and slopes) of a two-variable landscape on an ``n`` x ``n`` grid over ``domain``.

    ``landscape`` is a Landscape, a catalog name or a formula; ``domain`` is
    ``((x0, x1), (y0, y1))``, the landscape's own by default.

    >>> s = surface("sphere", domain=((-1, 1), (0, 2)), n=3)
    >>> s.x.tolist(), s.gy.tolist(), s.zmax
    ([-1.0, 0.0, 1.0], [[0.0, 0.0, 0.0], [2.0, 2.0, 2.0], [4.0, 4.0, 4.0]], 5.0)
    """
    from .catalog import resolve

    landscape = resolve(landscape)
    if len(landscape.variables) != 2:
        raise InputError(f"a surface needs a landscape of two variables, x and y; {landscape.formula!r} has "
                         f"{len(landscape.variables)} ({', '.join(landscape.variables)})")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise InputError(f"a surface needs n >= 2 points per side (a whole number); got {n!r}")
    (x0, x1), (y0, y1) = landscape.domain if domain is None else domain
    xs, ys = np.linspace(x0, x1, n), np.linspace(y0, y1, n)
    Z, GX, GY = field(landscape, *np.meshgrid(xs, ys), gradients=gradients)
    return Surface(xs, ys, Z, GX, GY, landscape)
