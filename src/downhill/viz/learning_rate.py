"""The learning rate, pictured: sweeps with their too-small / good / too-big zones, and the range test."""

from __future__ import annotations

import math

import numpy as np
from matplotlib.lines import Line2D

from ..errors import InputError
from ..optim.lr_tools import verdict_zones
from .style import COLORS, ZONE_COLORS, new_figure, picture

__all__ = ["lr_sweep_plot", "lr_range_plot"]

ZONE_WORDS = {"too small": "too small:\nnever arrives", "good": "good", "too big": "too big:\nfalls off"}
ZONE_DARK = {"too small": COLORS["blue"], "good": COLORS["green"], "too big": COLORS["vermillion"]}


def _rows(sweep):
    """(lrs, finals, statuses, labels, start_value, options, landscape) from an LRSweep or its dict."""
    if isinstance(sweep, dict):
        rows = sweep.get("rows")
        get = dict.get
        start_value = sweep.get("start_value")
        options = sweep.get("options", {}) or {}
        landscape = sweep.get("landscape")
    else:
        rows = getattr(sweep, "rows", None)
        get = getattr
        start_value = getattr(sweep, "start_value", None)
        options = getattr(sweep, "options", {}) or {}
        landscape = getattr(sweep, "landscape", None)
    if not rows:
        raise InputError("lr_sweep_plot needs the result of dh.lr_sweep (rows of lr, final_value, status, label)")
    lrs = np.array([float(get(r, "lr")) for r in rows])
    finals = np.array([math.inf if get(r, "final_value") is None else float(get(r, "final_value")) for r in rows])
    statuses = [str(get(r, "status")) for r in rows]
    labels = [str(get(r, "label")) for r in rows]
    order = np.argsort(lrs)
    if np.any(lrs <= 0):
        raise InputError("lr_sweep_plot draws learning rates on a log scale: they must all be > 0")
    return (lrs[order], finals[order], [statuses[i] for i in order], [labels[i] for i in order],
            None if start_value is None else float(start_value), options, landscape)


def _bound(bound, options, landscape):
    """2/L: given as a number or an LRAdvice, or worked out with dh.lr_advice at the sweep's start."""
    if bound is False:
        return None
    if bound is not None:
        return float(getattr(bound, "max_stable_lr", bound))
    if landscape is None or options.get("optimizer", "sgd") != "sgd" or "start" not in options:
        return None
    if any(k in options and options[k] for k in ("momentum", "weight_decay")):
        return None  # 2/L is plain gradient descent's bound
    from ..optim.lr_tools import lr_advice

    try:
        advice = lr_advice(landscape, options["start"])
    except (ValueError, TypeError):
        return None
    return advice.max_stable_lr if math.isfinite(advice.max_stable_lr) else None


def _span(zone, lower, upper, low_edge, high_edge):
    """Where a zone is shaded: over the rates it was seen at, and no further.

    ``lower`` / ``upper``: the neighbouring rates tried (None at the ends). The
    first zone reaches the left edge and the last the right edge (smaller and
    bigger rates than any tried), except a good zone: nobody saw those arrive.
    A zone of one rate is a sliver reaching a quarter of the way (in log) to a
    neighbour: up for too big (bigger rates are no better), down for the rest,
    so that a good zone never covers a rate above the last one seen arriving.
    """
    left, right = zone.low, zone.high
    if lower is None and zone.verdict != "good":
        left = low_edge
    if upper is None and zone.verdict != "good":
        right = high_edge
    if left == right:
        if zone.verdict == "too big":
            right = left * ((upper if upper is not None else high_edge) / left) ** 0.25
        else:
            left = right * ((lower if lower is not None else low_edge) / right) ** 0.25
    return left, right


@picture
def lr_sweep_plot(sweep, bound=None, title=None):
    """Final height against learning rate, with the too-small, good and too-big zones shaded.

    ``sweep`` is the result of ``dh.lr_sweep`` (or its ``to_dict()``). Each run is a
    dot coloured by its verdict; a run that fell off the mountain is drawn as a
    triangle at the top. ``bound`` is the largest stable step of plain gradient
    descent, 2/L (a number, or the advice from ``dh.lr_advice``); by default it is
    worked out with ``dh.lr_advice`` at the sweep's start when the sweep used
    plain SGD on a known landscape. ``bound=False`` leaves it out.

    >>> import downhill as dh
    >>> sweep = dh.lr_sweep("sphere", [1.0, 1.0], np.logspace(-3, 0.3, 12), steps=60)
    >>> fig = dh.viz.lr_sweep_plot(sweep)
    >>> sorted(t.get_text() for t in fig.legends[0].get_texts())[:2]
    ['2/L = 1 (largest stable step, dh.lr_advice)', 'fell off (diverged)']
    """
    lrs, finals, statuses, labels, start_value, options, landscape = _rows(sweep)
    limit = _bound(bound, options, landscape)
    fig = new_figure(9, 5.8)
    ax = fig.add_subplot(1, 1, 1)
    ax.set_xscale("log")
    diverged = np.array([s == "diverged" or not math.isfinite(f) for s, f in zip(statuses, finals)])
    healthy = finals[~diverged]
    floor = 1e-16
    tops = [v for v in [start_value, *(healthy.tolist())] if v is not None and math.isfinite(v)]
    top = max(max(tops, default=1.0), floor) * 30
    positive = healthy.size == 0 or healthy.min() > -1e-300
    shown = np.where(diverged, top, np.clip(finals, floor, None) if positive else finals)
    if positive:
        ax.set_yscale("log")
        # Room below the lowest dot for the zone names.
        # Never with the floor as the edge: a rate that reached it (booth's best reach 1e-17) is drawn
        # at the floor, and a dot on the axes' edge shows only its top half.
        ax.set_ylim(max(floor / 30, min(shown.min(), start_value or top) / 1000), top * 3)

    # Zones: contiguous runs of one verdict (verdict_zones), each shaded only
    # over the rates it was seen at. The gap between two neighbouring verdicts
    # was not tried: it stays unshaded, so no band calls good a rate that the
    # sweep (or a denser one) shows falling off. The 2/L line is drawn, not
    # used to cut a band: measured at the start, it is a bowl's bound, and on
    # other mountains rates past it may well arrive (the dots say which).
    low_edge, high_edge = lrs[0] / 2, lrs[-1] * 2
    ax.set_xlim(low_edge, high_edge)
    zones = verdict_zones(lrs.tolist(), labels, statuses)
    seen = set()
    for number, zone in enumerate(zones):
        lower = zones[number - 1].high if number > 0 else None
        upper = zones[number + 1].low if number + 1 < len(zones) else None
        left, right = _span(zone, lower, upper, low_edge, high_edge)
        verdict = zone.verdict
        ax.axvspan(left, right, color=ZONE_COLORS.get(verdict, COLORS["light"]), alpha=0.16, lw=0,
                   label=f"zone: {verdict}")
        if verdict not in seen:
            words = ZONE_WORDS.get(verdict, verdict)
            if verdict == "too big" and not any(z.fell_off for z in zones if z.verdict == verdict):
                words = "too big:\novershoots"  # nothing fell off: a bounded mountain
            ax.text(math.sqrt(left * right), 0.03, words, transform=ax.get_xaxis_transform(),
                    ha="center", va="bottom", fontsize=9.5, fontweight="bold",
                    color=ZONE_DARK.get(verdict, "black"))
            seen.add(verdict)

    ax.plot(lrs[~diverged], shown[~diverged], color=COLORS["grey"], linewidth=1, zorder=2)
    for verdict in ZONE_DARK:
        mask = np.array([lab == verdict for lab in labels]) & ~diverged
        if mask.any():
            ax.scatter(lrs[mask], shown[mask], s=55, color=ZONE_DARK[verdict], edgecolor="black", zorder=4)
    if diverged.any():
        ax.scatter(lrs[diverged], shown[diverged], marker="^", s=90, color=COLORS["vermillion"], edgecolor="black",
                   zorder=4)
    handles = [Line2D([], [], linestyle="", marker="o", markersize=8, markerfacecolor=ZONE_DARK[v],
                      markeredgecolor="black", label=f"final height: {v}") for v in ZONE_DARK
               if any(lab == v and not d for lab, d in zip(labels, diverged))]
    if diverged.any():
        handles.append(Line2D([], [], linestyle="", marker="^", markersize=9, markerfacecolor=COLORS["vermillion"],
                              markeredgecolor="black", label="fell off (diverged)"))
    if start_value is not None and math.isfinite(start_value):
        ax.axhline(start_value, color="black", linestyle=":", linewidth=1.2)
        handles.append(Line2D([], [], color="black", linestyle=":", label=f"start height {start_value:.3g}"))
    if limit is not None and low_edge < limit < high_edge * 10:
        ax.axvline(limit, color="black", linestyle="--", linewidth=1.6)
        handles.append(Line2D([], [], color="black", linestyle="--",
                              label=f"2/L = {limit:.3g} (largest stable step, dh.lr_advice)"))
    fig.legend(handles=handles, loc="outside lower center", ncol=3, frameon=False)
    steps = options.get("steps")
    ax.set_xlabel("learning rate (log scale)")
    ax.set_ylabel(f"height after {steps} steps" if steps else "final height")
    ax.grid(True, which="major")
    where = f" on {landscape}" if landscape else ""
    optimizer = options.get("optimizer", "")
    ax.set_title(f"{optimizer}{where}: one climb per learning rate" if optimizer else f"one climb per rate{where}",
                 fontsize=10, fontweight="normal")
    # The title's promise follows the sweep: on a bounded mountain nothing falls off.
    big_words = "too big overshoots" if "too big" in labels and not diverged.any() else "too big falls off"
    fig.suptitle(title or f"The learning rate: too small never arrives, {big_words}")
    return fig


def _range_fields(result):
    def get(name):
        if isinstance(result, dict):
            if name not in result:
                raise InputError(f"lr_range_plot: the result has no {name!r}; it needs lrs, losses, smoothed, "
                                 "suggestions (from downhill.nn.lr_range_test)")
            return result[name]
        if not hasattr(result, name):
            raise InputError(f"lr_range_plot: the result has no {name!r}; it needs lrs, losses, smoothed, "
                             "suggestions (from downhill.nn.lr_range_test)")
        return getattr(result, name)

    def array(values):
        return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)

    lrs, losses = array(get("lrs")), array(get("losses"))
    smoothed = get("smoothed") if (isinstance(result, dict) and "smoothed" in result) or hasattr(result, "smoothed") \
        else None
    smoothed = losses if smoothed is None else array(smoothed)
    suggestions = get("suggestions") or {}
    if len(lrs) < 2 or len(lrs) != len(losses) or len(smoothed) != len(lrs):
        raise InputError(f"lr_range_plot: lrs, losses and smoothed must be equally long (>= 2); got "
                         f"{len(lrs)}, {len(losses)}, {len(smoothed)}")
    if np.any(~(lrs > 0)):
        raise InputError("lr_range_plot: learning rates must be > 0 (they are drawn on a log scale)")
    return lrs, losses, smoothed, dict(suggestions)


def _suggested_lr(value):
    if value is None:
        return None
    if hasattr(value, "lr"):
        return float(value.lr)
    if isinstance(value, (tuple, list)):
        return float(value[0])
    return float(value)


@picture
def lr_range_plot(result, title=None):
    """The learning-rate range test: loss against a growing learning rate, with the suggested rates.

    ``result`` is what ``downhill.nn.lr_range_test`` returns, or any object or
    dict with ``lrs``, ``losses``, ``smoothed`` and ``suggestions`` (a dict of
    name -> learning rate, such as ``{"valley": 3e-3, "steep": 1e-3}``). The raw
    loss is drawn faintly, the smoothed one boldly; each suggestion is a marker
    on the smoothed curve and a vertical line.

    >>> import downhill as dh
    >>> lrs = np.logspace(-5, 0, 80)
    >>> loss = 2 - 1.5 / (1 + (1e-3 / lrs) ** 2) + 30 * lrs ** 2
    >>> fig = dh.viz.lr_range_plot({"lrs": lrs, "losses": loss, "smoothed": loss,
    ...                             "suggestions": {"valley": 3e-3, "steep": 1e-3}})
    >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()][2:]
    ['valley: lr = 0.003', 'steep: lr = 0.001']
    """
    lrs, losses, smoothed, suggestions = _range_fields(result)
    fig = new_figure(9, 5.8)
    ax = fig.add_subplot(1, 1, 1)
    ax.set_xscale("log")
    ax.plot(lrs, losses, color=COLORS["sky"], linewidth=1, alpha=0.7, label="loss at each step")
    ax.plot(lrs, smoothed, color=COLORS["blue"], linewidth=2.6, label="smoothed loss")
    finite = smoothed[np.isfinite(smoothed)]
    if finite.size:
        best = int(np.nanargmin(np.where(np.isfinite(smoothed), smoothed, np.inf)))
        # The test ends by blowing up; keep the valley, not the explosion, in view.
        high = float(np.nanmax(smoothed[: best + 1])) if best > 0 else float(finite.max())
        low = float(np.nanmin(np.concatenate([finite, losses[np.isfinite(losses)]])))
        pad = 0.08 * (high - low) if high > low else max(abs(high), 1.0) * 0.1
        ax.set_ylim(low - pad, high + 3 * pad)
    # Not the sweep's zone colours: green and vermillion mean good and too big in every picture,
    # and a suggested rate is neither.
    marker_colors = [COLORS["pink"], COLORS["black"], COLORS["orange"], COLORS["yellow"]]
    order = np.argsort(lrs)
    log_lrs = np.log(lrs[order])
    curve = smoothed[order]
    ok = np.isfinite(curve)
    for k, (name, value) in enumerate(suggestions.items()):
        lr = _suggested_lr(value)
        if lr is None or not math.isfinite(lr) or lr <= 0:
            continue
        shade = marker_colors[k % len(marker_colors)]
        y = float(np.interp(math.log(lr), log_lrs[ok], curve[ok])) if ok.any() else np.nan
        ax.axvline(lr, color=shade, linestyle="--", linewidth=1.3, alpha=0.9)
        ax.scatter([lr], [y], s=90, color=shade, edgecolor="black", zorder=5, label=f"{name}: lr = {lr:.3g}")
    ax.set_xlabel("learning rate (log scale, growing at every step)")
    ax.set_ylabel("training loss")
    ax.grid(True, which="major")
    ax.legend(loc="lower left")
    ax.set_title("pick a rate where the loss falls fastest, well before it blows up", fontsize=10,
                 fontweight="normal")
    fig.suptitle(title or "Learning-rate range test")
    return fig

