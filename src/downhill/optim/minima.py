"""Find the minima a crowd of climbers found: cluster their end points, then polish each.

A typed formula comes with no list of minima, so a basin map cannot say which
valley a climber reached by looking it up. The climbers themselves say it:
those that ended in one valley stand close together. :func:`find_minima`
groups the end points that touch (within ``tol`` of one another, chained),
takes the lowest point of each group, walks it the rest of the way down with
the same optimizer, and keeps it as a minimum when the slope there is flat.
Groups that polish to the same point are one minimum.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..results import Result, jsonable

__all__ = ["find_minima", "FoundMinima", "cluster_points"]


@dataclass
class FoundMinima(Result):
    """What :func:`find_minima` found.

    ``minima``: ``KnownPoint(point, value)`` for each minimum, lowest first;
    ``labels``: for each end point, the index of its minimum, or -1 when its
    group did not polish to a flat point (a climber still walking on a slope,
    or stuck on a ridge); ``groups``: how many end-point groups there were.
    """

    minima: tuple
    labels: np.ndarray
    groups: int

    def __str__(self) -> str:
        found = "; ".join("(" + ", ".join(f"{c:.6g}" for c in m.point) + f") with value {m.value:.6g}"
                          for m in self.minima) or "none"
        return f"{len(self.minima)} minima from {self.groups} group(s) of end points: {found}"

    def to_dict(self) -> dict:
        """Strict JSON: the minima (point and value), each end point's label, the number of groups."""
        return jsonable({"minima": [{"point": m.point, "value": m.value} for m in self.minima],
                         "labels": self.labels, "groups": self.groups})


def cluster_points(points: np.ndarray, tol: float) -> np.ndarray:
    """Group points that lie within ``tol`` of each other (chained): one label per point.

    Points are put in square cells of side ``tol``; cells that touch (the 8
    neighbours of a cell) join one group. Non-finite points get -1. Labels are
    0, 1, ... in order of each group's first point.

    >>> cluster_points(np.array([[0.0, 0.0], [0.05, 0.0], [3.0, 3.0], [np.nan, 0.0]]), 0.1)
    array([ 0,  0,  1, -1])
    """
    points = np.asarray(points, dtype=np.float64)
    labels = np.full(len(points), -1, dtype=np.int64)
    finite = np.all(np.isfinite(points), axis=1)
    if not finite.any():
        return labels
    cells = np.floor(points[finite] / tol).astype(np.int64)
    unique, inverse = np.unique(cells, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    index = {tuple(cell): i for i, cell in enumerate(unique.tolist())}
    parent = list(range(len(unique)))

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    neighbours = [(dx, dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1) if (dx, dy) > (0, 0)]
    for (cx, cy), i in index.items():
        for dx, dy in neighbours:
            j = index.get((cx + dx, cy + dy))
            if j is not None:
                a, b = root(i), root(j)
                if a != b:
                    parent[max(a, b)] = min(a, b)
    roots = np.array([root(i) for i in range(len(unique))])[inverse]
    # Number groups in order of first appearance, so labels do not depend on cell order.
    _, first, relabelled = np.unique(roots, return_index=True, return_inverse=True)
    order = np.argsort(np.argsort(first))
    labels[finite] = order[relabelled.ravel()]
    return labels


def find_minima(function, end_points, tol, optimizer="sgd", lr=0.01, polish_steps=2000, grad_tol=1e-6,
                **options) -> FoundMinima:
    """The minima that climbers ending at ``end_points`` reached.

    ``function`` is anything :func:`downhill.descend` takes. ``tol`` is the
    distance within which end points belong together (and two polished
    minima are one). Each group's lowest end point is walked on with
    ``optimizer`` and ``lr`` for up to ``polish_steps`` steps; it counts as a
    minimum when the slope's length there is at most ``grad_tol``.

    >>> import numpy as np
    >>> import downhill as dh
    >>> hill = dh.landscapes.from_expression("(x - 3)**2 + 10*sin(y)**2")
    >>> ends = np.array([[2.99, 3.1416], [3.01, 3.14], [2.98, 0.001], [3.0, -3.1415]])
    >>> found = find_minima(hill, ends, tol=0.1)
    >>> [tuple(round(c, 4) for c in m.point) for m in found.minima]
    [(3.0, -3.1416), (3.0, 0.0), (3.0, 3.1416)]
    >>> found.labels.tolist()
    [2, 2, 1, 0]
    """
    from ..landscapes.landscape import KnownPoint
    from .descend import descend

    end_points = np.asarray(end_points, dtype=np.float64)
    if end_points.ndim != 2:
        raise InputError(f"find_minima: end_points must have shape (n, d), got {end_points.shape}")
    if not (isinstance(tol, (int, float, np.floating)) and math.isfinite(tol) and tol > 0):
        raise InputError(f"find_minima: tol must be a number > 0, got {tol!r}")
    groups = cluster_points(end_points, tol)
    count = int(groups.max()) + 1 if groups.size and groups.max() >= 0 else 0
    if count == 0:
        return FoundMinima((), np.full(len(end_points), -1, dtype=np.int64), 0)
    with np.errstate(all="ignore"):
        heights = np.asarray(descend(function, end_points[groups >= 0], lr=0.0, steps=0, record=False,
                                     optimizer="sgd").final_value, dtype=np.float64).ravel()
    members = np.flatnonzero(groups >= 0)
    lowest = np.empty((count, end_points.shape[1]))
    for group in range(count):
        mine = groups[members] == group
        values = np.where(np.isfinite(heights[mine]), heights[mine], np.inf)
        lowest[group] = end_points[members[mine][np.argmin(values)]]
    polished = descend(function, lowest, optimizer=optimizer, lr=lr, steps=polish_steps, tol=grad_tol,
                       record=False, **options)
    points = np.asarray(polished.final_point, dtype=np.float64).reshape(count, -1)
    values = np.asarray(polished.final_value, dtype=np.float64).ravel()
    flat = np.asarray(polished.status).ravel() == "converged"

    # Groups that polish to one point are one minimum; lowest first, and
    # equally deep ones (to 9 digits: rounding differs) left to right.
    minima, group_to_minimum = [], np.full(count, -1, dtype=np.int64)
    for group in sorted(np.flatnonzero(flat), key=lambda g: (round(float(values[g]), 9), *np.round(points[g], 6))):
        same = [k for k, (point, _) in enumerate(minima) if np.linalg.norm(point - points[group]) <= tol]
        if same:
            group_to_minimum[group] = same[0]
        else:
            group_to_minimum[group] = len(minima)
            minima.append((points[group], values[group]))
    labels = np.where(groups >= 0, group_to_minimum[np.maximum(groups, 0)], -1)
    return FoundMinima(tuple(KnownPoint(tuple(float(c) for c in p), float(v)) for p, v in minima), labels, count)
