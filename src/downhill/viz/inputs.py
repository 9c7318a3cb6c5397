"""What the pictures accept, turned into what they draw (with clear errors otherwise)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError, InputTypeError
from ..landscapes import Landscape
from ..landscapes import resolve
from ..landscapes.field import field  # heights and slopes over a grid: the library's, as the playground's
from ..optim.trajectory import Trajectory

__all__ = ["as_landscape", "as_domain", "Climber", "climbers", "describe", "as_paths", "field"]


def as_landscape(landscape, who: str, dimensions: int | None = 2) -> Landscape:
    """A Landscape from a Landscape, a catalog name or a typed formula; checks the number of variables.

    >>> as_landscape("himmelblau", "mountain").name
    'himmelblau'
    >>> as_landscape("x**2 + 3*y**2", "mountain").variables
    ('x', 'y')
    """
    if isinstance(landscape, str):
        landscape = resolve(landscape)  # unknown names: an error with suggestions
    if not isinstance(landscape, Landscape):
        raise InputTypeError(
            f"{who}: give a landscape name (see dh.landscapes.names()) or a Landscape "
            f"(dh.landscapes.from_expression('x**2 + y**2')); got {type(landscape).__name__}"
        )
    if dimensions is not None and len(landscape.variables) != dimensions:
        raise InputError(
            f"{who}: {landscape.name} has {len(landscape.variables)} variable(s) "
            f"{tuple(landscape.variables)}; this picture draws a map of 2 variables (x, y)"
        )
    return landscape


def as_domain(domain, landscape: Landscape, who: str):
    """((x0, x1), (y0, y1)) from the given window or the landscape's own.

    >>> from downhill.landscapes import get
    >>> as_domain(None, get("booth"), "mountain"), as_domain([(0, 1), (2, 3)], get("booth"), "mountain")
    (((-10.0, 10.0), (-10.0, 10.0)), ((0.0, 1.0), (2.0, 3.0)))
    """
    domain = landscape.domain if domain is None else domain
    try:
        (x0, x1), (y0, y1) = ((float(a), float(b)) for a, b in domain)
    except (TypeError, ValueError):
        raise InputError(f"{who}: domain must be ((x_low, x_high), (y_low, y_high)), got {domain!r}") from None
    if not np.all(np.isfinite([x0, x1, y0, y1])) or x0 >= x1 or y0 >= y1:
        raise InputError(f"{who}: domain needs finite numbers with low < high on each axis, got {domain!r}")
    return (x0, x1), (y0, y1)


@dataclass
class Climber:
    """One walker's path: points (T, 2), their values (T,) or None, and how it ended."""

    points: np.ndarray
    values: np.ndarray | None
    status: str


def climbers(path) -> list[Climber]:
    """The walkers in a Trajectory (one or many) or in an array of points (T, 2) or (T, n, 2).

    >>> import downhill as dh
    >>> t = dh.descend("sphere", [[1.0, 1.0], [2.0, -1.0]], lr=0.1, steps=5)
    >>> [c.points.shape for c in climbers(t)]
    [(6, 2), (6, 2)]
    """
    if isinstance(path, Trajectory):
        if path.points is None:
            raise InputError(
                "this Trajectory has no recorded points (it was made with record=False); "
                "run dh.descend(..., record=True) to draw its path"
            )
        points = np.asarray(path.points, dtype=np.float64)
        values = None if path.values is None else np.asarray(path.values, dtype=np.float64)
        if points.ndim == 2:
            return [Climber(points, values, str(path.status))]
        taken = np.asarray(path.steps_taken)
        status = np.asarray(path.status)
        return [Climber(points[: taken[i] + 1, i], None if values is None else values[: taken[i] + 1, i],
                        str(status[i])) for i in range(points.shape[1])]
    points = np.asarray(path, dtype=np.float64)
    if points.ndim == 2 and points.shape[1] == 2 and len(points):
        return [Climber(points, None, "path")]
    if points.ndim == 3 and points.shape[2] == 2 and len(points):
        return [Climber(points[:, i], None, "path") for i in range(points.shape[1])]
    raise InputError(
        "a path must be a Trajectory (from dh.descend) or an array of points of shape (steps, 2) "
        f"or (steps, n, 2); got shape {points.shape}"
    )


def describe(path) -> str:
    """A short legend label: optimizer and its settings (``"sgd, lr=0.01"``).

    >>> import downhill as dh
    >>> describe(dh.descend("sphere", [1.0, 1.0], optimizer="sgd", lr=0.1, momentum=0.9, steps=3))
    'sgd, lr=0.1, momentum=0.9'
    """
    if not isinstance(path, Trajectory):
        return "path"
    skip = {"lr", "steps", "tol", "max_value"}
    extras = [f"{k}={v:g}" if isinstance(v, (int, float)) else f"{k}={v}"
              for k, v in path.options.items() if k not in skip and v not in (None, 0, 0.0, False)]
    lr = path.options.get("lr")
    return ", ".join([path.optimizer] + ([f"lr={lr:g}"] if lr is not None else []) + extras)


def as_paths(paths) -> list:
    """One path or a sequence of them, as a list.

    >>> len(as_paths(np.zeros((5, 2)))), len(as_paths([np.zeros((5, 2))] * 3)), as_paths(None)
    (1, 3, [])
    """
    if paths is None:
        return []
    if isinstance(paths, Trajectory):
        return [paths]
    if isinstance(paths, np.ndarray) and paths.dtype != object:
        return [paths]
    return list(paths)
