"""The derivative as a speedometer: tangent lines, slopes, and average versus instant speed."""

from __future__ import annotations

import math

import numpy as np
from matplotlib.transforms import Bbox

from ..errors import InputError, InputTypeError
from ..autodiff import Tensor, derivative
from ..landscapes import Landscape, resolve
from .style import COLORS, new_figure, picture

__all__ = ["speedometer", "car_trip"]


def _one_variable(f, who: str):
    """(name, f on NumPy arrays, f') for a function of one number; clear errors otherwise."""
    if isinstance(f, str):
        f = resolve(f)
    if isinstance(f, Landscape):
        if len(f.variables) != 1:
            raise InputError(
                f"{who} draws a function of one variable, but {f.name!r} has {len(f.variables)} "
                f"variables {tuple(f.variables)}; for a mountain of two variables use dh.viz.mountain"
            )
        name = f"f({f.variables[0]}) = {' '.join(f.formula.split())}"
    elif callable(f):
        name = getattr(f, "__name__", "f")
        name = "f(x)" if name in ("<lambda>", "f") else f"{name}(x)"
    else:
        raise InputTypeError(f"{who} needs a function of one number, like lambda x: x ** 2; got {type(f).__name__}")

    def values(x):
        with np.errstate(all="ignore"):
            out = f(x)
        out = out.data if isinstance(out, Tensor) else out
        out = np.asarray(out, dtype=np.float64)
        if out.shape != np.shape(x):
            raise InputError(
                f"{who} draws a function of one number: f(x) must give one number per x (act "
                f"elementwise, like x ** 2 or dh.sin(x)); an input of shape {np.shape(x)} gave shape "
                f"{out.shape}. For a function of a point (x, y) use dh.viz.mountain"
            )
        return out

    slope_of = derivative(f)

    def slopes(x):
        try:
            with np.errstate(all="ignore"):
                out = slope_of(x)
        except TypeError as error:
            raise InputError(f"{who} needs f to act on each number separately: {error}") from None
        return np.asarray(out, dtype=np.float64)

    return name, values, slopes


def _check_point(x, who, what="x"):
    if isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)) or not math.isfinite(x):
        raise InputError(f"{who}: {what} must be one finite number, got {x!r}")
    return float(x)


def _interval(interval, x, who, width=3.0):
    if interval is None:
        return x - width, x + width
    try:
        low, high = (float(v) for v in interval)
    except (TypeError, ValueError):
        raise InputError(f"{who}: interval must be a pair (low, high), got {interval!r}") from None
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise InputError(f"{who}: interval needs finite low < high, got {interval!r}")
    return low, high


def _fmt(v: float) -> str:
    return f"{v:.4g}"


def _evaluate(values, x, who):
    try:
        return float(values(np.float64(x)))
    except (IndexError, TypeError) as error:
        raise InputError(
            f"{who} needs a function of one number, but f({x:g}) failed ({error}); "
            "for a function of a point (x, y) use dh.viz.mountain"
        ) from None


def _ylim_from(curve):
    finite = curve[np.isfinite(curve)]
    if finite.size == 0:
        return -1.0, 1.0
    low, high = float(finite.min()), float(finite.max())
    pad = 0.12 * (high - low) if high > low else 1.0
    return low - pad, high + pad


def _write_slope(fig, ax, text, x0, y0, slope, xs, ys, low, high):
    """The slope, written on the tangent line where its box hides no part of f's curve.

    Places along the visible tangent are tried in turn, nearest first to a
    fifth of the window left of the point (the rise-over-run triangle is on
    the right), just above, below or beside the line, then further off it;
    the first whose box stays in the panel and covers no drawn point of f, no
    other words, not the legend and not the point wins (the first place if
    none is free).
    """
    width = high - low
    # Along the visible tangent, nearest first to a fifth of the window left of the point; close
    # to the line before further off it (then a short lead joins them).
    bottom, top = ax.get_ylim()
    along = [w for w in np.linspace(low + width / 12, high - width / 12, 23)
             if abs(w - x0) > width / 10 and bottom < y0 + slope * (w - x0) < top]
    along.sort(key=lambda w: abs(w - (x0 - width / 5)))
    # (where, offset in points, ha, va): above or below the line, or beside it (for a steep one).
    offsets = [((0, 14), "center", "bottom"), ((0, -14), "center", "top"), ((-14, 0), "right", "center"),
               ((14, 0), "left", "center"), ((0, 34), "center", "bottom"), ((0, -34), "center", "top"),
               ((-34, 0), "right", "center"), ((34, 0), "left", "center")]
    places = [(w, *offset) for offset in offsets for w in along] or [(x0 - width / 5, *offsets[0])]
    fig.canvas.draw()  # the axes' final limits and transforms
    renderer = fig.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    curve = ax.transData.transform(np.column_stack([xs, ys])[np.isfinite(ys)])
    # The other words on the panel (rise, run) and the point itself must stay readable too.
    taken = [text.get_window_extent(renderer).padded(3) for text in ax.texts]
    if ax.get_legend() is not None:
        taken.append(ax.get_legend().get_window_extent(renderer))
    point = ax.transData.transform([[x0, y0]])[0]
    taken.append(Bbox.from_extents(*(point - 8), *(point + 8)))

    def write(where, offset, ha, va):
        return ax.annotate(text, (where, y0 + slope * (where - x0)), xytext=offset,
                           textcoords="offset points", ha=ha, va=va, fontsize=10, fontweight="bold",
                           color=COLORS["vermillion"], zorder=6,
                           # Written away from the line: a short lead back to it.
                           arrowprops=dict(arrowstyle="-", color=COLORS["vermillion"], linewidth=1.2)
                           if max(map(abs, offset)) > 20 else None, in_layout=False,
                           bbox=dict(boxstyle="round,pad=0.3", facecolor="white", edgecolor=COLORS["vermillion"]))

    for place in places:
        label = write(*place)
        label.update_positions(renderer)  # where the words and their rounded frame will be drawn
        label.update_bbox_position_size(renderer)
        box = label.get_bbox_patch().get_window_extent(renderer).padded(1)
        inside = frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1
        covered = ((curve[:, 0] >= box.x0) & (curve[:, 0] <= box.x1) & (curve[:, 1] >= box.y0)
                   & (curve[:, 1] <= box.y1))
        if inside and not covered.any() and not any(box.overlaps(other) for other in taken):
            return label
        label.remove()
    return write(*places[0])


@picture
def speedometer(f, x, interval=None, points=400):
    """The derivative at ``x`` as the slope of the tangent line, and f'(x) everywhere beneath.

    ``f`` is a function of one number written with downhill's ops (``lambda x:
    x ** 3 - x``, ``dh.sin``), a formula text (``"x**3 - x"``) or a landscape of one
    variable. The top panel draws f, the tangent line at ``x`` with its slope
    written on it, and a little rise-over-run triangle; the bottom panel draws
    the derivative f' (from ``dh.derivative``), the speedometer's reading at every
    x, with the reading at ``x`` marked. ``interval`` is the range of x shown
    (default x - 3 to x + 3).

    >>> import downhill as dh
    >>> fig = dh.viz.speedometer(lambda x: x ** 2, 1.5)
    >>> fig.axes[0].get_title()
    "f(x) and its tangent line at x = 1.5: slope f'(1.5) = 3"
    """
    who = "speedometer"
    name, values, slopes = _one_variable(f, who)
    x0 = _check_point(x, who)
    low, high = _interval(interval, x0, who)
    y0 = _evaluate(values, x0, who)
    slope = float(slopes(np.float64(x0)))
    xs = np.linspace(low, high, int(points))
    ys = values(xs)
    ds = slopes(xs)

    fig = new_figure(8.2, 8.4)
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[1.35, 1])
    top.plot(xs, ys, color=COLORS["blue"], linewidth=2.4, label=name)
    tangent = y0 + slope * (xs - x0)
    top.plot(xs, tangent, color=COLORS["vermillion"], linewidth=1.8, linestyle="--",
             label=f"tangent line at x = {_fmt(x0)}")
    top.set_ylim(*_ylim_from(ys))
    # Rise over run: a small triangle along the tangent.
    run = (high - low) / 8
    top.plot([x0, x0 + run, x0 + run], [y0, y0, y0 + slope * run], color="black", linewidth=1.1)
    top.annotate(f"run {_fmt(run)}", (x0 + run / 2, y0), xytext=(0, -13), textcoords="offset points",
                 ha="center", fontsize=8.5)
    top.annotate(f"rise {_fmt(slope * run)}", (x0 + run, y0 + slope * run / 2), xytext=(5, 0),
                 textcoords="offset points", va="center", fontsize=8.5)
    top.scatter([x0], [y0], s=70, color=COLORS["vermillion"], edgecolor="black", zorder=5)
    top.set_ylabel("f(x)")
    top.set_title(f"f(x) and its tangent line at x = {_fmt(x0)}: slope f'({_fmt(x0)}) = {_fmt(slope)}",
                  fontsize=10.5)
    top.legend(loc="best")
    top.grid(True)

    bottom.plot(xs, ds, color=COLORS["green"], linewidth=2.4, label="f'(x), from dh.derivative")
    bottom.axhline(0, color=COLORS["grey"], linewidth=1)
    bottom.scatter([x0], [slope], s=70, color=COLORS["vermillion"], edgecolor="black", zorder=5,
                   label=f"the reading at x = {_fmt(x0)}: {_fmt(slope)}")
    bottom.set_ylim(*_ylim_from(ds))
    for ax in (top, bottom):
        ax.axvline(x0, color=COLORS["grey"], linewidth=1, linestyle=":")
    bottom.set_xlabel("x")
    bottom.set_ylabel("f'(x)  (slope)")
    bottom.set_title("the speedometer: the slope f'(x) at every x (0 where f is flat)", fontsize=10.5)
    bottom.legend(loc="best")
    bottom.grid(True)
    fig.suptitle("The derivative is the slope of the tangent line")
    # Last, once the layout is settled: the label's place is chosen in pixels.
    _write_slope(fig, top, f"slope = f'({_fmt(x0)}) = {_fmt(slope)}", x0, y0, slope, xs, ys, low, high)
    return fig


@picture
def car_trip(position_fn, t, dt=1.0, interval=None, points=400):
    """Average speed over an interval (a secant) against the speed at one instant (the tangent).

    ``position_fn(t)`` is the distance travelled by time t (a function of one
    number, as for :func:`speedometer`). Left: the distance over time with the
    secant from ``t`` to ``t + dt`` (its slope is the average speed Δs/Δt) and the
    tangent at ``t`` (its slope is the speedometer's reading s'(t)). Right: as the
    interval shrinks, the average speed closes in on the speedometer's reading:
    that limit is the derivative.

    >>> import downhill as dh
    >>> fig = dh.viz.car_trip(lambda t: 5 * t ** 2, 2.0, dt=1.0)
    >>> [line.get_label() for line in fig.axes[0].get_lines()][:3]
    ['distance s(t)', 'average speed over [2, 3]: Δs/Δt = 25', "speed at t = 2: s'(2) = 20"]
    """
    who = "car_trip"
    _, values, slopes = _one_variable(position_fn, who)
    t0 = _check_point(t, who, "t")
    dt = _check_point(dt, who, "dt")
    if dt == 0:
        raise InputError("car_trip: dt must not be 0 (an interval needs a length)")
    low, high = _interval(interval, t0, who, width=max(2.0, 2.5 * abs(dt)))
    s0 = _evaluate(values, t0, who)
    s1 = _evaluate(values, t0 + dt, who)
    average = (s1 - s0) / dt
    speed = float(slopes(np.float64(t0)))
    ts = np.linspace(low, high, int(points))
    ss = values(ts)

    fig = new_figure(13, 5.8)
    left, right = fig.subplots(1, 2, width_ratios=[1.25, 1])
    left.plot(ts, ss, color=COLORS["blue"], linewidth=2.4, label="distance s(t)")
    left.plot(ts, s0 + average * (ts - t0), color=COLORS["orange"], linewidth=1.8, linestyle="-.",
              label=f"average speed over [{_fmt(t0)}, {_fmt(t0 + dt)}]: Δs/Δt = {_fmt(average)}")
    left.plot(ts, s0 + speed * (ts - t0), color=COLORS["vermillion"], linewidth=1.8, linestyle="--",
              label=f"speed at t = {_fmt(t0)}: s'({_fmt(t0)}) = {_fmt(speed)}")
    left.axvspan(min(t0, t0 + dt), max(t0, t0 + dt), color=COLORS["orange"], alpha=0.12)
    left.scatter([t0, t0 + dt], [s0, s1], s=60, color=COLORS["orange"], edgecolor="black", zorder=5)
    left.scatter([t0], [s0], s=80, color=COLORS["vermillion"], edgecolor="black", zorder=6)
    left.set_ylim(*_ylim_from(ss))
    left.set_xlabel("time t")
    left.set_ylabel("distance s(t)")
    left.set_title("secant (average speed) and tangent (speed right now)", fontsize=10.5)
    left.legend(loc="upper left", fontsize=8.5)
    left.grid(True)

    shrink = dt * np.logspace(0, -4, 60)
    with np.errstate(all="ignore"):
        averages = (values(t0 + shrink) - s0) / shrink
    right.plot(np.abs(shrink), averages, color=COLORS["orange"], linewidth=2.2, marker="o", markersize=3,
               label="average speed over [t, t + Δt]")
    right.axhline(speed, color=COLORS["vermillion"], linestyle="--", linewidth=1.8,
                  label=f"speedometer reading s'({_fmt(t0)}) = {_fmt(speed)}")
    right.set_xscale("log")
    right.invert_xaxis()  # the interval shrinks as we read left to right
    right.set_xlabel("interval length Δt (log scale, shrinking →)")
    right.set_ylabel("speed")
    right.set_title("shrink the interval: the average becomes the instant speed", fontsize=10.5)
    right.legend(loc="best", fontsize=8.5)
    right.grid(True)
    fig.suptitle("A car trip: average speed over an interval versus speed at one instant")
    return fig
