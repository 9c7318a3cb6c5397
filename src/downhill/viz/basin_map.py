"""Basins of attraction, pictured: every start coloured by the minimum it rolls into."""

from __future__ import annotations

import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.patches import Patch

from ..landscapes import Landscape
from ..landscapes import resolve
from ..optim.basins import DIVERGED, ELSEWHERE, label_name
from ..optim.basins import basins as compute_basins
from .style import MINIMUM_STYLE, new_figure, picture

__all__ = ["basins_plot", "basins"]

# Minima take the palette's distinct colours; divergence is dark, "elsewhere" light.
BASIN_COLORS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#F0E442", "#D55E00")
DIVERGED_COLOR = "#303030"
ELSEWHERE_COLOR = "#D9D9D9"


def _landscape_for(result, landscape):
    if isinstance(landscape, Landscape):
        return landscape
    name = landscape or result.landscape
    if not name:
        return None
    try:
        return resolve(name)  # a catalogue name or the typed formula itself
    except ValueError:
        return None


@picture
def basins_plot(result, landscape=None, contours=True, title=None):
    """Each start of a grid coloured by the known minimum its climber reached.

    ``result`` comes from ``downhill.optim.basins`` (a BasinMap). Starts that fell
    off the mountain are dark, starts that stopped away from every known
    minimum light grey; the minima are yellow stars; the legend gives each
    basin's share of the map. Faint contour lines of the landscape are drawn
    when it is known (pass ``landscape`` for a landscape outside the catalog).

    >>> import downhill as dh
    >>> from downhill.optim.basins import basins
    >>> fig = dh.viz.basins_plot(basins("himmelblau", lr=0.01, grid=30))
    >>> len(fig.axes[0].get_legend().get_texts())
    4
    """
    labels = np.asarray(result.labels)
    minima = list(result.minima)
    count = len(minima)
    colors = [BASIN_COLORS[i % len(BASIN_COLORS)] for i in range(count)] + [DIVERGED_COLOR, ELSEWHERE_COLOR]
    # Label -> colour index: minima 0..count-1, diverged count, elsewhere count+1.
    index = np.where(labels >= 0, labels, np.where(labels == DIVERGED, count, count + 1))
    (x0, x1), (y0, y1) = result.domain
    fig = new_figure(8.2, 7.0)
    ax = fig.add_subplot(1, 1, 1)
    ax.imshow(index, origin="lower", extent=(x0, x1, y0, y1), cmap=ListedColormap(colors),
              vmin=-0.5, vmax=count + 1.5, interpolation="nearest", aspect="auto")
    land = _landscape_for(result, landscape) if contours else None
    if land is not None and len(land.variables) == 2:
        X, Y = np.meshgrid(np.linspace(x0, x1, 120), np.linspace(y0, y1, 120))
        with np.errstate(all="ignore"):
            Z = np.asarray(land(np.stack([X, Y], axis=-1)), dtype=np.float64)
        Z = np.where(np.isfinite(Z), Z, np.nan)
        finite = Z[np.isfinite(Z)]
        if finite.size:
            levels = np.unique(np.quantile(finite, np.linspace(0, 1, 16)))
            if levels.size >= 2:
                ax.contour(X, Y, Z, levels=levels, colors="white", linewidths=0.6, alpha=0.55,
                           negative_linestyles="solid")
    if count:
        points = np.array([m.point if hasattr(m, "point") else m for m in minima], dtype=np.float64)
        ax.scatter(points[:, 0], points[:, 1], **MINIMUM_STYLE)
    # The map is the grid of starts; a minimum found beyond it stays off the picture.
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    total = labels.size
    found = bool(getattr(result, "found", False))  # minima found from the end points, not known
    handles = []
    for label in [*range(count), DIVERGED, ELSEWHERE]:
        share = result.counts.get(label, 0)
        if label < 0 and share == 0:
            continue
        shade = colors[label] if label >= 0 else (DIVERGED_COLOR if label == DIVERGED else ELSEWHERE_COLOR)
        handles.append(Patch(facecolor=shade, edgecolor="black",
                             label=f"{label_name(label, minima, found)}: {100 * share / total:.0f}%"))
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=2, frameon=False)
    variables = land.variables if land is not None else ("x", "y")
    ax.set_xlabel(variables[0])
    ax.set_ylabel(variables[1], rotation=0, labelpad=10)
    ratio = (y1 - y0) / (x1 - x0)
    if 1 / 3 <= ratio <= 3:
        ax.set_aspect("equal")
    ny, nx = labels.shape
    ax.set_title(f"{result.optimizer}, lr={result.lr:g}, {result.steps} steps, {nx} x {ny} starts"
                 + (f" on {result.landscape}" if result.landscape else ""), fontsize=10, fontweight="normal")
    fig.suptitle(title or "Basins of attraction: which valley does each start roll into?")
    return fig


def basins(landscape, optimizer="sgd", lr=0.01, grid=(120, 120), steps=200, domain=None, title=None, save=None,
           **options):
    """Compute the basins of ``landscape`` (``downhill.optim.basins``) and draw them (:func:`basins_plot`).

    Takes the arguments of ``downhill.optim.basins`` (``optimizer``, ``lr``,
    ``grid``, ``steps``, ``domain``, optimizer options) and ``save=path``.
    Returns the Figure.

    >>> import downhill as dh
    >>> fig = dh.viz.basins("himmelblau", lr=0.01, grid=30)
    >>> fig.axes[0].get_title()
    'sgd, lr=0.01, 200 steps, 30 x 30 starts on himmelblau'
    """
    result = compute_basins(landscape, optimizer=optimizer, lr=lr, grid=grid, steps=steps, domain=domain,
                            **options)
    return basins_plot(result, landscape=landscape if isinstance(landscape, Landscape) else None, title=title,
                       save=save)

