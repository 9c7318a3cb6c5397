"""Drawing a landscape as a map: contours, downhill arrows, minima, the climbers' paths.

Shared by the mountain, compare, basin and animation pictures, so that a
mountain looks the same in all of them.
"""

from __future__ import annotations

import numpy as np
from matplotlib.colors import BoundaryNorm
from matplotlib.lines import Line2D

from .inputs import climbers, describe, field
from .style import COLORS, MAP_CMAP, END_STYLE, MINIMUM_STYLE, START_STYLE, color, outlined

__all__ = ["grid", "levels_for", "draw_map", "draw_arrows", "draw_minima", "draw_paths", "exit_point", "label_axes",
           "legend_handles", "landscape_label", "any_fell"]


def grid(domain, n: int):
    """Coordinates X, Y of an n x n grid over ``domain`` (edges included).

    >>> X, Y = grid(((0, 1), (0, 2)), 3)
    >>> X[0].tolist(), Y[:, 0].tolist()
    ([0.0, 0.5, 1.0], [0.0, 1.0, 2.0])
    """
    (x0, x1), (y0, y1) = domain
    return np.meshgrid(np.linspace(x0, x1, n), np.linspace(y0, y1, n))


def levels_for(Z: np.ndarray, count: int = 18) -> np.ndarray:
    """Contour heights at quantiles of the values, so flat valleys and steep walls both show.

    Heights of test mountains span many orders of magnitude (Rosenbrock: 0 to
    thousands); evenly spaced levels would draw every contour on the walls and
    none in the valley, which is where the climbers walk.

    >>> levels_for(np.arange(11.0), count=5).round(6).tolist()
    [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
    >>> levels_for(np.array([0.0, 1.0, 10.0, 1000.0]), count=3).round(1).tolist()
    [0.0, 1.0, 10.0, 1000.0]
    """
    finite = Z[np.isfinite(Z)]
    if finite.size == 0:
        return np.array([0.0, 1.0])
    # Each band covers the same share of the map.
    levels = np.unique(np.quantile(finite, np.linspace(0, 1, count + 1)))
    if levels.size < 2:
        levels = np.array([levels[0] - 1.0, levels[0] + 1.0])
    return levels


def draw_map(ax, landscape, domain, resolution: int = 150, colorbar: bool = True, lines: bool = True):
    """Filled contours of the landscape's height on ``ax``; returns the contour set.

    >>> from downhill.landscapes import get
    >>> from downhill.viz.style import new_figure
    >>> ax = new_figure(3, 3).add_subplot()
    >>> len(draw_map(ax, get("sphere"), ((-1, 1), (-1, 1)), resolution=30).levels) > 5
    True
    """
    X, Y = grid(domain, resolution)
    points = np.stack([X.ravel(), Y.ravel()], axis=1)
    with np.errstate(all="ignore"):
        Z = np.asarray(landscape(points), dtype=np.float64).reshape(X.shape)
    Z = np.where(np.isfinite(Z), Z, np.nan)
    levels = levels_for(Z)
    # One distinct colour per band (a linear colour scale would paint every
    # low band the same dark shade when the heights span orders of magnitude).
    norm = BoundaryNorm(levels, ncolors=256)
    filled = ax.contourf(X, Y, Z, levels=levels, cmap=MAP_CMAP, norm=norm, extend="neither")
    if lines:
        ax.contour(X, Y, Z, levels=levels, colors="white", linewidths=0.5, alpha=0.45,
                   negative_linestyles="solid")
    if colorbar:
        bar = ax.figure.colorbar(filled, ax=ax, spacing="uniform", shrink=0.9, pad=0.02)
        bar.set_label(f"height {landscape_label(landscape)}")
        step = max(1, len(levels) // 7)
        bar.set_ticks(levels[::step])
        bar.ax.set_yticklabels([f"{v:.3g}" for v in levels[::step]])
    return filled


def landscape_label(landscape) -> str:
    """``f(x, y)`` with the landscape's variable names.

    >>> from downhill.landscapes import from_expression
    >>> landscape_label(from_expression("a * b", variables=["a", "b"]))
    'f(a, b)'
    """
    return f"f({', '.join(landscape.variables)})"


def draw_arrows(ax, landscape, domain, n: int = 15):
    """Arrows pointing downhill (the negative gradient, from dh.grad); a longer arrow is steeper ground.

    Lengths grow with the logarithm of the steepness (measured against the
    median arrow's, up to 0.8 of a grid cell for the steepest), so that gentle
    slopes still show a direction beside cliffs a thousand times steeper.

    >>> from downhill.landscapes import get
    >>> from downhill.viz.style import new_figure
    >>> arrows = draw_arrows(new_figure(3, 3).add_subplot(), get("sphere"), ((-1, 1), (-1, 1)), n=4)
    >>> bool(arrows.U[0] > 0 and arrows.V[0] > 0)  # bottom-left corner: downhill is up and right
    True
    >>> import numpy as np
    >>> sizes = np.hypot(arrows.U, arrows.V)
    >>> bool(sizes[0] > sizes[5])  # the corner is steeper than near the middle
    True
    """
    (x0, x1), (y0, y1) = domain
    # Inset by half a cell so no arrow sits on the frame.
    dx, dy = (x1 - x0) / n, (y1 - y0) / n
    X, Y = np.meshgrid(np.linspace(x0 + dx / 2, x1 - dx / 2, n), np.linspace(y0 + dy / 2, y1 - dy / 2, n))
    _, GX, GY = field(landscape, X, Y)
    # Normalise in screen proportions: an arrow's direction on a stretched map
    # must still be the true downhill direction, so scale by the cell size.
    U, V = -GX, -GY
    length = np.hypot(U / dx, V / dy)
    finite = length[np.isfinite(length) & (length > 0)]
    typical = np.median(finite) if finite.size else 0.0
    with np.errstate(all="ignore"):
        if typical > 0 and finite.max() > typical:
            share = np.log1p(length / typical) / np.log1p(finite.max() / typical)
        else:
            share = np.ones_like(length)  # one steepness everywhere (a plane): one length
        size = 0.8 * (0.35 + 0.65 * share)
        U = np.where(length > 0, U / dx / length, np.nan) * dx * size
        V = np.where(length > 0, V / dy / length, np.nan) * dy * size
    return ax.quiver(X, Y, U, V, angles="xy", scale_units="xy", scale=1, color="white", alpha=0.85,
                     width=0.0035, headwidth=4, headlength=4.5, zorder=3)


def draw_minima(ax, landscape, annotate: bool = True, size: float = 260):
    """The known minima as yellow stars (labelled with their coordinates when ``annotate``).

    >>> from downhill.landscapes import get
    >>> from downhill.viz.style import new_figure
    >>> draw_minima(new_figure(3, 3).add_subplot(), get("himmelblau")).get_offsets().shape
    (4, 2)
    """
    if not landscape.minima:
        return None
    points = np.array([m.point for m in landscape.minima])
    style = dict(MINIMUM_STYLE, s=size)
    handle = ax.scatter(points[:, 0], points[:, 1], **style)
    if annotate and len(points) <= 4:
        for m in landscape.minima:
            ax.annotate(f"({m.point[0]:.3g}, {m.point[1]:.3g})", m.point, xytext=(7, 7),
                        textcoords="offset points", fontsize=8.5, color="black", zorder=8,
                        path_effects=outlined(2.5))
    return handle


def _inside(points, domain):
    (x0, x1), (y0, y1) = domain
    return (np.all(np.isfinite(points), axis=1) & (points[:, 0] >= x0) & (points[:, 0] <= x1)
            & (points[:, 1] >= y0) & (points[:, 1] <= y1))


def exit_point(points, domain):
    """Where a path leaves the window for the last time: the far end of its last segment that
    crosses the window, clipped to the frame (Liang and Barsky's clipping); None if no segment does.

    >>> exit_point(np.array([[0.0, 0.0], [4.0, 0.0], [-8.0, 0.0]]), ((-1, 1), (-1, 1))).tolist()
    [-1.0, 0.0]
    """
    (x0, x1), (y0, y1) = domain
    finite = points[np.all(np.isfinite(points), axis=1)]
    for a, b in zip(finite[-2::-1], finite[:0:-1]):
        d = b - a
        low, high = 0.0, 1.0
        for p, q in ((-d[0], a[0] - x0), (d[0], x1 - a[0]), (-d[1], a[1] - y0), (d[1], y1 - a[1])):
            if p == 0:
                if q < 0:
                    break
            elif p < 0:
                low = max(low, q / p)
            else:
                high = min(high, q / p)
        else:
            if low <= high:
                return a + high * d
    return None


def _reach(walker, domain) -> float:
    """How far a climber walks on the map: the length of its path inside the window."""
    points = walker.points[_inside(walker.points, domain)]
    return float(np.hypot(*np.diff(points, axis=0).T).sum()) if len(points) > 1 else 0.0


def draw_paths(ax, paths, domain, labels=None, colors=None, linewidth: float = 2.0):
    """Each path (Trajectory or points) as a line with its start and end marked.

    Returns the legend handles of the paths (one per path object, many climbers
    of one Trajectory share a colour and an entry). A climber that fell off the
    mountain gets a cross where it left the map for the last time, and its line
    goes thinner and beneath the others: its leaps across the map would hide
    the climbers that stayed. Of the others, a shorter walk lies above a longer
    one, so that climbers sharing a valley all show how far they came.
    """
    handles = []
    everyone = [walker for path in paths for walker in climbers(path)]
    reaches = sorted({_reach(walker, domain) for walker in everyone if walker.status != "diverged"},
                     reverse=True)
    for k, path in enumerate(paths):
        shade = colors[k] if colors is not None else color(k)
        walkers = climbers(path)
        for walker in walkers:
            points = walker.points
            shown = np.all(np.isfinite(points), axis=1)
            points_shown = points[shown]
            markevery = max(1, len(points_shown) // 40)
            fell = walker.status == "diverged"
            width = linewidth * 0.6 if fell else linewidth
            # Between the arrows (3) and the markers (7 and up).
            layer = 3.5 if fell else 4 + 2 * reaches.index(_reach(walker, domain)) / max(1, len(reaches))
            ax.plot(points_shown[:, 0], points_shown[:, 1], "-", color=shade, linewidth=width,
                    marker="o", markersize=2.8, markevery=markevery, zorder=layer,
                    path_effects=outlined(width + 2.2))
            inside = _inside(points, domain)
            # A start or end on the frame (Rosenbrock's classic start, (-1.5, 2), is on its top
            # edge) shows whole; one outside the window stays clipped away.
            ax.scatter(*points[0], **START_STYLE, clip_on=not inside[0])
            if fell:
                last = exit_point(points, domain)
                if last is None:
                    last = points[inside][-1] if inside.any() else points[0]
                ax.scatter(*last, marker="X", s=110, color=COLORS["vermillion"], edgecolor="white",
                           linewidth=1.2, zorder=8, clip_on=False)
            elif inside[-1]:
                # A ring, so that a known minimum (a star drawn above it) shows through.
                ax.scatter(*points[-1], edgecolor=shade, **END_STYLE, clip_on=False)
        label = labels[k] if labels is not None else describe(path)
        if len(walkers) > 1:
            label = f"{label} ({len(walkers)} climbers)"
        handles.append(Line2D([], [], color=shade, linewidth=linewidth, marker="o", markersize=3, label=label))
    return handles


def legend_handles(paths=(), minima=False, arrows=False, fell=False):
    """Proxy handles explaining the markers: start, end, fell off, minimum, downhill arrow.

    >>> [h.get_label() for h in legend_handles(["a path"], minima=True)]
    ['start', 'end', 'known minimum']
    """
    handles = []
    if paths:
        handles.append(Line2D([], [], linestyle="", marker="o", markersize=7, markerfacecolor="white",
                              markeredgecolor="black", label="start"))
        handles.append(Line2D([], [], linestyle="", marker="o", markersize=11, markerfacecolor="none",
                              markeredgecolor=COLORS["grey"], markeredgewidth=2.5, label="end"))
    if fell:
        handles.append(Line2D([], [], linestyle="", marker="X", markersize=9, color=COLORS["vermillion"],
                              label="fell off (diverged)"))
    if minima:
        handles.append(Line2D([], [], linestyle="", marker="*", markersize=14, markerfacecolor=COLORS["yellow"],
                              markeredgecolor="black", label="known minimum"))
    if arrows:
        handles.append(Line2D([], [], linestyle="", marker=r"$\rightarrow$", markersize=13, color="#555555",
                              label="downhill (−gradient); longer = steeper"))
    return handles


def any_fell(paths) -> bool:
    """True if a climber of any path diverged.

    >>> import downhill as dh
    >>> any_fell([dh.descend("sphere", [1.0, 1.0], lr=1.5, steps=50)]), any_fell([np.zeros((3, 2))])
    (True, False)
    """
    return any(w.status == "diverged" for p in paths for w in climbers(p))


def label_axes(ax, landscape, domain):
    """Axis names from the landscape's variables; the window set to the domain.

    >>> from downhill.landscapes import get
    >>> from downhill.viz.style import new_figure
    >>> ax = new_figure(3, 3).add_subplot()
    >>> label_axes(ax, get("booth"), ((-10, 10), (-10, 10)))
    >>> ax.get_xlabel(), [float(v) for v in ax.get_xlim()]
    ('x', [-10.0, 10.0])
    """
    (x0, x1), (y0, y1) = domain
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_xlabel(landscape.variables[0])
    ax.set_ylabel(landscape.variables[1], rotation=0, labelpad=10)
    ratio = (y1 - y0) / (x1 - x0)
    if 1 / 3 <= ratio <= 3:
        ax.set_aspect("equal")
