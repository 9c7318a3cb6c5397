"""The mountain seen from above: contour maps with downhill arrows and climbers' paths."""

from __future__ import annotations

import numpy as np
from matplotlib.lines import Line2D

from ..errors import InputError
from .inputs import as_domain, as_landscape, as_paths, climbers, describe
from .learning_rate import ZONE_DARK
from .style import COLORS, MAP_CMAP, color, new_figure, outlined, picture
from .terrain import (any_fell, draw_arrows, draw_map, draw_minima, draw_paths, grid, label_axes,
                      landscape_label, legend_handles)

__all__ = ["mountain", "compare"]


def _formula_title(ax, landscape):
    formula = " ".join(landscape.formula.split())
    if len(formula) > 70:
        formula = formula[:67] + "..."
    ax.set_title(f"{landscape_label(landscape)} = {formula}", fontsize=9, fontweight="normal", color="#333333")


def _point_text(point) -> str:
    return "(" + ", ".join(f"{v:.3g}" for v in point) + ")"


def _draw_reading(ax, reading, domain):
    """One point and the way downhill from it: a bold arrow (black, haloed, unlike the field's
    white ones), as long as a seventh of the window. Returns the legend handles."""
    point = np.asarray(reading.point, dtype=np.float64)
    ax.scatter(*point, marker="o", s=90, facecolor="white", edgecolor="black", linewidth=2, zorder=11)
    handles = [Line2D([], [], linestyle="", marker="o", markersize=8, markerfacecolor="white",
                      markeredgecolor="black", markeredgewidth=2, label=f"the point {_point_text(point)}")]
    if reading.steepness == 0:
        handles[0].set_label(f"the point {_point_text(point)}: flat there (gradient 0)")
        return handles
    (x0, x1), (y0, y1) = domain
    tip = point + min(x1 - x0, y1 - y0) / 7 * np.asarray(reading.downhill, dtype=np.float64)
    ax.annotate("", tip, point, zorder=10,
                arrowprops=dict(arrowstyle="-|>,head_width=0.45,head_length=0.9", color="black", linewidth=3,
                                shrinkA=0, shrinkB=0, path_effects=outlined(6.5)))
    uphill = _point_text(reading.gradient)
    downhill = _point_text([-g for g in reading.gradient])
    handles.append(Line2D([], [], color="black", linewidth=3, marker=">", markersize=8, markevery=[1],
                          label=f"downhill there: −gradient = {downhill} (the gradient {uphill} points uphill)"))
    return handles


@picture
def mountain(landscape, paths=(), field=True, surface=False, minima=True, domain=None, resolution=150,
             title=None, at=None):
    """A landscape as a contour map: which way is downhill, where the climbers went.

    ``landscape``: a name from ``dh.landscapes.names()`` or a 2-D Landscape.
    ``paths``: Trajectories from ``dh.descend`` (one climber or many) or arrays of
    points (steps, 2); each is drawn with its start (white dot) and end (dot,
    or a red cross where a climber fell off). ``field`` draws arrows pointing
    downhill (the negative gradient, computed with ``dh.grad`` on a coarse grid;
    a longer arrow is steeper ground, on a logarithmic scale so gentle slopes still show). ``surface`` adds a
    3-D view of the same mountain. ``minima`` marks the known minima. ``at``
    marks one point and draws the way downhill from it, a bold black arrow
    along the negative gradient (from ``dh.explain.gradient_at``), with the
    gradient's numbers in the legend: the foggy mountain's question, answered
    at one spot. ``save="map.png"`` (or ``.svg``) writes the picture. Returns
    the Figure.

    >>> import downhill as dh, os, tempfile
    >>> walk = dh.descend("himmelblau", [0.0, 0.0], lr=0.01, steps=200)
    >>> fig = dh.viz.mountain("himmelblau", paths=[walk], save=os.path.join(tempfile.mkdtemp(), "m.png"))
    >>> fig.axes[0].get_xlabel(), fig.axes[0].get_ylabel()
    ('x', 'y')
    >>> fig = dh.viz.mountain("himmelblau", at=[0.5, -1.0])
    >>> fig.get_suptitle()
    'Himmelblau: which way is downhill at (0.5, -1)?'
    """
    landscape = as_landscape(landscape, "mountain")
    domain = as_domain(domain, landscape, "mountain")
    paths = as_paths(paths)
    reading = None
    if at is not None:
        from ..explain import gradient_at

        reading = gradient_at(landscape, at)
        domain = _around(domain, reading.point)
    width = 12.5 if surface else 7.6
    fig = new_figure(width, 6.8)
    ax = fig.add_subplot(1, 2, 1) if surface else fig.add_subplot(1, 1, 1)
    draw_map(ax, landscape, domain, resolution=resolution)
    if field:
        draw_arrows(ax, landscape, domain)
    path_handles = draw_paths(ax, paths, domain)
    if reading is not None:
        path_handles += _draw_reading(ax, reading, domain)
    if minima:
        draw_minima(ax, landscape)
    label_axes(ax, landscape, domain)
    _formula_title(ax, landscape)
    handles = path_handles + legend_handles(paths, minima=minima and bool(landscape.minima), arrows=field,
                                            fell=any_fell(paths))
    if handles:
        # The point's long label gets a row of its own.
        columns = 1 if reading is not None and reading.steepness != 0 and not paths else min(4, len(handles))
        fig.legend(handles=handles, loc="outside lower center", ncol=columns, frameon=False)
    name = landscape.name.replace("_", " ").capitalize()
    if title is None and reading is not None and not paths:
        title = f"{name}: which way is downhill at {_point_text(reading.point)}?"
    elif title is None:
        many = sum(len(climbers(path)) for path in paths) > 1
        title = ((f"{name}: the climbers' paths downhill" if many else f"{name}: the climber's path downhill")
                 if paths
                 else f"{name}: the map of the mountain" + (", arrows point downhill" if field else ""))
    fig.suptitle(title)
    if surface:
        _surface(fig, landscape, domain, paths, minima)
    return fig


def _around(domain, point):
    """The window, grown if need be so that ``point`` sits inside it with a margin."""
    (x0, x1), (y0, y1) = domain
    px, py = point
    mx, my = (x1 - x0) / 10, (y1 - y0) / 10
    return (min(x0, px - mx), max(x1, px + mx)), (min(y0, py - my), max(y1, py + my))


def _surface(fig, landscape, domain, paths, minima):
    ax = fig.add_subplot(1, 2, 2, projection="3d")
    # Drawn in the order given (paths, then stars, above the surface): by depth, the half-clear
    # surface tinted the stars at the minima brown, as if they were part of it.
    ax.computed_zorder = False
    X, Y = grid(domain, 70)
    with np.errstate(all="ignore"):
        Z = np.asarray(landscape(np.stack([X, Y], axis=-1)), dtype=np.float64)
    Z = np.where(np.isfinite(Z), Z, np.nan)
    ax.plot_surface(X, Y, Z, cmap=MAP_CMAP, linewidth=0, antialiased=True, alpha=0.7, rcount=70, ccount=70)
    (x0, x1), (y0, y1) = domain
    for k, path in enumerate(paths):
        for walker in climbers(path):
            inside = (np.all(np.isfinite(walker.points), axis=1) & (walker.points[:, 0] >= x0)
                      & (walker.points[:, 0] <= x1) & (walker.points[:, 1] >= y0) & (walker.points[:, 1] <= y1))
            points = walker.points[inside]
            if len(points) == 0:
                continue
            with np.errstate(all="ignore"):
                heights = np.asarray(landscape(points), dtype=np.float64)
            ax.plot(points[:, 0], points[:, 1], heights, color=color(k), linewidth=2.2, zorder=10,
                    path_effects=outlined(4))
            ax.scatter(*points[0], heights[0], color="white", edgecolor="black", s=40, zorder=11)
    if minima and landscape.minima:
        for m in landscape.minima:
            ax.scatter(*m.point, m.value, marker="*", s=200, color=COLORS["yellow"], edgecolor="black", zorder=12)
    ax.set_xlabel(landscape.variables[0])
    ax.set_ylabel(landscape.variables[1])
    ax.set_zlabel("height", labelpad=6)
    ax.set_box_aspect(None, zoom=0.85)  # room for the axis labels
    ax.set_title("the same mountain in 3-D", fontsize=10, fontweight="normal")
    ax.view_init(elev=35, azim=-60)
    return ax


def _runs(runs):
    """(label, Trajectory) pairs from a dict, a list of Trajectories, or a list of pairs."""
    if hasattr(runs, "items"):
        pairs = list(runs.items())
    else:
        pairs = []
        for item in as_paths(runs):
            if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
                pairs.append(item)
            else:
                pairs.append((describe(item), item))
    if not pairs:
        raise InputError("compare: give at least one run, e.g. {'sgd': dh.descend(...), 'adam': dh.descend(...)}")
    return pairs


def _outcome(path) -> str:
    walkers = climbers(path)
    if len(walkers) != 1 or not hasattr(path, "steps_taken"):
        return ""
    if path.status == "converged":
        return f": reached a flat spot in {path.steps_taken} steps"
    if path.status == "diverged":
        return f": fell off at step {path.diverged_at}"
    return f": {path.steps_taken} steps, still walking"


def _verdict(label: str):
    """The learning-rate verdict a run's label starts with ("too small (lr=...)"), or None."""
    return next((kind for kind in ZONE_DARK if label.lower().startswith(kind)), None)


def _run_colors(colors, labels):
    if colors is None:
        verdicts = [_verdict(label) for label in labels]
        if all(verdicts):
            # Runs named by their verdict wear the sweep's colours: good is green everywhere.
            return [ZONE_DARK[kind] for kind in verdicts]
        return [color(k) for k in range(len(labels))]
    if isinstance(colors, dict):
        missing = [label for label in labels if label not in colors]
        if missing:
            raise InputError(f"compare: colors has no colour for {missing}")
        return [colors[label] for label in labels]
    colors = list(colors)
    if len(colors) != len(labels):
        raise InputError(f"compare: give one colour per run ({len(labels)}), got {len(colors)}")
    return colors


@picture
def compare(landscape, runs, domain=None, field=False, title=None, colors=None):
    """Several climbs side by side: their paths on one map, their heights step by step.

    ``runs`` is a dict ``{label: Trajectory}`` or a list of Trajectories (then
    labelled by optimizer and learning rate), e.g. the same start with
    different optimizers or learning rates. The right panel shows the height
    above the lowest known point, ``f - f*``, at every step on a log scale
    (plain heights when no minimum is known), so that a tenfold improvement is
    always the same distance down. ``colors`` gives each run its colour (a list
    in the runs' order, or a dict by label); by default the palette in order,
    or, when every label starts with a learning-rate verdict ("too small",
    "good", "too big"), the colours the sweep gives those verdicts.

    >>> import downhill as dh
    >>> runs = {f"lr={lr}": dh.descend("booth", [-8.0, 8.0], lr=lr, steps=100) for lr in (0.01, 0.05)}
    >>> fig = dh.viz.compare("booth", runs)
    >>> [t.get_text().split(":")[0] for t in fig.axes[1].get_legend().get_texts()]
    ['lr=0.01', 'lr=0.05']
    """
    landscape = as_landscape(landscape, "compare")
    domain = as_domain(domain, landscape, "compare")
    pairs = _runs(runs)
    labels = [label for label, _ in pairs]
    paths = [path for _, path in pairs]
    fig = new_figure(13.5, 6.2)
    grid_spec = fig.add_gridspec(1, 2, width_ratios=[1.12, 1])
    ax_map = fig.add_subplot(grid_spec[0])
    ax_loss = fig.add_subplot(grid_spec[1])
    draw_map(ax_map, landscape, domain, colorbar=False)
    if field:
        draw_arrows(ax_map, landscape, domain)
    colors = _run_colors(colors, labels)
    draw_paths(ax_map, paths, domain, labels=labels, colors=colors)
    draw_minima(ax_map, landscape)
    label_axes(ax_map, landscape, domain)
    _formula_title(ax_map, landscape)
    markers = legend_handles(paths, minima=bool(landscape.minima), arrows=field, fell=any_fell(paths))
    fig.legend(handles=markers, loc="outside lower center", ncol=len(markers), frameon=False)

    floor = min((m.value for m in landscape.minima), default=None)
    log_ok = True
    curves = []
    for label, path, shade in zip(labels, paths, colors):
        for i, walker in enumerate(climbers(path)):
            values = walker.values
            if values is None:
                with np.errstate(all="ignore"):
                    values = np.asarray(landscape(walker.points), dtype=np.float64)
            heights = values - floor if floor is not None else values
            curves.append(heights)
            ax_loss.plot(np.arange(len(heights)), heights, color=shade, linewidth=2,
                         label=(label + _outcome(path)) if i == 0 else None)
    finite = np.concatenate([c[np.isfinite(c)] for c in curves]) if curves else np.array([])
    if floor is not None:
        # At the minimum the gap is 0 (or a rounding hair below): drawn at 1e-16.
        for line in ax_loss.get_lines():
            line.set_ydata(np.clip(line.get_ydata(), 1e-16, None))
    elif finite.size and finite.min() <= 0:
        log_ok = False
    if log_ok:
        ax_loss.set_yscale("log")
    else:
        ax_loss.set_yscale("symlog", linthresh=max(1e-3, float(np.abs(finite).max()) * 1e-6))
    if finite.size:
        top = float(np.nanmax(finite))
        # Diverging runs go to huge values; keep the others readable.
        starts = [c[0] for c in curves if np.isfinite(c[0])]
        limit = max(starts) * 1e3 if starts and floor is not None else top
        if log_ok and top > limit > 0:
            ax_loss.set_ylim(top=limit)
    ax_loss.set_xlabel("step")
    ax_loss.set_ylabel("height above the lowest point, f − f*" if floor is not None else "height f")
    ax_loss.set_title("how high each climber still is (log scale)", fontsize=10, fontweight="normal")
    ax_loss.grid(True, which="major")
    ax_loss.legend(loc="best")
    name = landscape.name.replace("_", " ").capitalize()
    fig.suptitle(title or f"{name}: {len(pairs)} climbs compared")
    return fig
