"""The network's error mountain, pictured: a contour map of the loss on a slice through its weights."""

from __future__ import annotations

import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.ticker import LogFormatterSciNotation, LogLocator

from .style import COLORS, END_STYLE, START_STYLE, new_figure, picture

__all__ = ["loss_landscape", "loss_landscape_plot"]


@picture
def loss_landscape_plot(result, title=None):
    """Draw a :class:`~downhill.nn.LossLandscape`: the loss as a contour map, the training path on it.

    The trained weights sit at the centre (a star); the path, when there is
    one, runs from a white dot (the first snapshot) to the star. The colour
    scale is logarithmic where every loss is positive, since a network's loss
    spans decades between the valley floor and the slopes.

    >>> import downhill as dh
    >>> from downhill import nn
    >>> _ = nn.manual_seed(0)
    >>> model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 2))
    >>> X, y = dh.datasets.moons(100, noise=0.1, seed=0)
    >>> fig = loss_landscape_plot(nn.loss_landscape(model, X, y, resolution=7))
    >>> fig.axes[0].get_xlabel()
    'direction 1 (random, filter-normalised)'
    """
    A, B = np.meshgrid(result.alphas, result.betas)
    losses = np.where(np.isfinite(result.losses), result.losses, np.nan)
    fig = new_figure(7.4, 6.2)
    ax = fig.add_subplot(1, 1, 1)
    finite = losses[np.isfinite(losses)]
    positive = finite.size and finite.min() > 0
    if positive and finite.max() / finite.min() > 10:
        levels = np.geomspace(finite.min(), finite.max(), 25)
        filled = ax.contourf(A, B, losses, levels=levels, norm=LogNorm(), cmap="viridis")
    else:
        filled = ax.contourf(A, B, losses, levels=25, cmap="viridis")
    ax.contour(A, B, losses, levels=filled.levels[::3], colors="white", linewidths=0.6, alpha=0.6)
    log = isinstance(filled.norm, LogNorm)
    bar = fig.colorbar(filled, ax=ax, label="loss" + (" (log scale)" if log else ""))
    if log:  # ticks at powers of ten, not at the 25 contour levels
        bar.locator, bar.formatter = LogLocator(), LogFormatterSciNotation()
        bar.update_ticks()
    principal = result.directions == "principal"
    if result.path is not None:
        path = np.asarray(result.path)
        ax.plot(path[:, 0], path[:, 1], color=COLORS["vermillion"], linewidth=2.4, marker="o", markersize=3,
                label=f"training path ({len(path)} snapshots)", zorder=6)
        ax.scatter(path[:1, 0], path[:1, 1], label="start of training", **START_STYLE)
    ax.scatter([0.0], [0.0], marker="*", s=320, color="#F0E442", edgecolor="black", linewidth=1.2, zorder=9,
               label=f"trained weights: loss {result.center_loss:.4g}")
    ax.scatter([0.0], [0.0], edgecolor=COLORS["vermillion"] if result.path is not None else "none", **END_STYLE)
    kind = "principal direction of the path" if principal else "random, filter-normalised"
    ax.set_xlabel(f"direction 1 ({kind})")
    ax.set_ylabel(f"direction 2 ({kind})")
    ax.legend(loc="upper left", fontsize=8.5)
    held = f"\nthe plane holds {100 * result.explained:.0f}% of the path's movement" if result.explained else ""
    ax.set_title(f"{result.parameters} weights, cut by a plane through the trained ones{held}",
                 fontsize=9.5, fontweight="normal")
    fig.suptitle(title or "The error mountain: the loss around the trained network")
    return fig


@picture
def loss_landscape(model, X, y, loss_fn=None, path=None, resolution=25, span=1.0, seed=0, title=None):
    """Compute :func:`downhill.nn.loss_landscape` and draw it (:func:`loss_landscape_plot`).

    >>> import downhill as dh
    >>> from downhill import nn
    >>> _ = nn.manual_seed(0)
    >>> model = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 2))
    >>> X, y = dh.datasets.moons(60, noise=0.1, seed=0)
    >>> fig = dh.viz.loss_landscape(model, X, y, resolution=5)
    >>> fig._suptitle.get_text()
    'The error mountain: the loss around the trained network'
    """
    from ..nn.loss_landscape import loss_landscape as compute

    result = compute(model, X, y, loss_fn=loss_fn, path=path, resolution=resolution, span=span, seed=seed)
    return loss_landscape_plot.__wrapped__(result, title=title)
