"""The climbers walking downhill, as an animated GIF (frames drawn with Agg, written with Pillow)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from matplotlib.lines import Line2D
from PIL import Image

from ..errors import InputError, shorten
from .inputs import as_domain, as_landscape, as_paths, climbers, describe
from .style import COLORS, PALETTE, START_STYLE, color, new_figure, outlined, style, write_picture
from .terrain import draw_arrows, draw_map, draw_minima, exit_point, label_axes

__all__ = ["animate", "frame_steps"]

MAX_FRAMES = 200
MAX_PIXELS = 1280


def frame_steps(length: int, frames: int) -> np.ndarray:
    """Which steps to show: denser at the start, where a descent moves fastest.

    >>> frame_steps(101, 6).tolist()
    [0, 4, 16, 36, 64, 100]
    >>> frame_steps(3, 10).tolist()
    [0, 1, 2]
    """
    if length <= frames:
        return np.arange(length)
    picks = np.round((length - 1) * np.linspace(0, 1, frames) ** 2).astype(int)
    return np.unique(picks)


def _palette(images):
    """One GIF palette for all frames, so colours do not flicker from frame to frame.

    Made from the first and last frames plus a swatch of the path colours:
    a thin trail has too few pixels to win a palette entry on its own, and
    would otherwise come out in the colour of the map beneath it.
    """
    first, last = images[0], images[-1]
    block = max(8, first.shape[0] // 12)
    swatch = np.zeros((block, first.shape[1], 3), dtype=np.uint8)
    shades = [*PALETTE, "#FFFFFF", COLORS["grey"]]
    width = first.shape[1] // len(shades)
    for i, shade in enumerate(shades):
        swatch[:, i * width:(i + 1) * width] = [int(shade[j:j + 2], 16) for j in (1, 3, 5)]
    sample = Image.fromarray(np.concatenate([first, last, swatch], axis=0))
    return sample.quantize(colors=160, method=Image.Quantize.MEDIANCUT)


def _check(fps, frames, size):
    if not (isinstance(frames, (int, np.integer)) and 2 <= frames <= MAX_FRAMES):
        raise InputError(f"animate: frames must be a whole number from 2 to {MAX_FRAMES}, got {frames!r}")
    if not (isinstance(fps, (int, float, np.integer, np.floating)) and 0 < fps <= 50):
        raise InputError(f"animate: fps must be a number above 0 and at most 50, got {fps!r}")
    try:
        width, height = (int(v) for v in size)
    except (TypeError, ValueError):
        raise InputError(f"animate: size must be (width, height) in pixels, got {size!r}") from None
    if not (120 <= width <= MAX_PIXELS and 120 <= height <= MAX_PIXELS):
        raise InputError(f"animate: size must be 120 to {MAX_PIXELS} pixels each way, got {size!r}")
    return width, height


def animate(landscape, trajectories, save="walk.gif", fps=12, frames=40, size=(560, 480), domain=None,
            field=False, title=None):
    """An animated GIF of the climbers walking downhill on the map; returns its path.

    ``trajectories`` are Trajectories from ``dh.descend`` (one climber or many,
    e.g. a start of shape (n, 2)) or arrays of points (steps, 2). Every frame
    shows each climber's trail so far and where it stands; the shown steps are
    denser at the start, where a descent moves most. ``frames`` (at most 200;
    small GIFs: 40 or so) and ``size`` in pixels set the file's size; ``fps``
    its speed (the last frame is held a moment). With ``save=None`` nothing is
    written and the frames come back as a list of RGB arrays (height, width, 3).

    >>> import downhill as dh, os, tempfile
    >>> walks = dh.descend("himmelblau", [[0.0, 0.0], [-1.0, -1.0]], lr=0.01, steps=100)
    >>> path = dh.viz.animate("himmelblau", walks, save=os.path.join(tempfile.mkdtemp(), "walk.gif"), frames=10)
    >>> path.read_bytes()[:6]
    b'GIF89a'
    """
    landscape = as_landscape(landscape, "animate")
    domain = as_domain(domain, landscape, "animate")
    width, height = _check(fps, frames, size)
    paths = as_paths(trajectories)
    if not paths:
        raise InputError("animate: give at least one trajectory (from dh.descend) to animate")
    walkers = [(k, walker) for k, path in enumerate(paths) for walker in climbers(path)]
    length = max(len(w.points) for _, w in walkers)
    steps = frame_steps(length, int(frames))
    (x0, x1), (y0, y1) = domain

    with style():
        fig = new_figure(width / 100, height / 100, dpi=100)
        ax = fig.add_subplot(1, 1, 1)
        draw_map(ax, landscape, domain, resolution=110, colorbar=False)
        if field:
            draw_arrows(ax, landscape, domain, n=12)
        draw_minima(ax, landscape, annotate=False, size=180)
        label_axes(ax, landscape, domain)
        for k, walker in walkers:
            ax.scatter(*walker.points[0], **dict(START_STYLE, s=35))
        trails, heads = [], []
        for k, walker in walkers:
            trail, = ax.plot([], [], "-", color=color(k), linewidth=1.8, animated=True,
                             path_effects=outlined(3.5))
            head, = ax.plot([], [], "o", color=color(k), markersize=8, markeredgecolor="black", animated=True,
                            clip_on=False)  # a cross on the frame shows whole
            trails.append(trail)
            heads.append(head)
        handles = []
        for k, path in enumerate(paths):
            many = len(climbers(path))
            handles.append(Line2D([], [], color=color(k), linewidth=2, marker="o", markersize=5,
                                  markeredgecolor="black",
                                  label=describe(path) + (f" ({many} climbers)" if many > 1 else "")))
        # The legend and the step counter go beneath the map (under the x label), where they
        # hide no climber: the legend on the right, the counter on the left.
        legend = ax.legend(handles=handles, loc="upper right", bbox_to_anchor=(1.0, -0.12), fontsize=8.5,
                           frameon=False, borderaxespad=0, ncol=1 if len(handles) == 1 else 2)
        name = landscape.name.replace("_", " ").capitalize()
        ax.set_title(title or f"{name}: feel the ground, step, repeat", fontsize=10.5)
        canvas = fig.canvas
        canvas.draw()
        box = legend.get_window_extent().transformed(ax.transAxes.inverted())
        clock = ax.text(min(0.0, box.x0 - 0.02), (box.y0 + box.y1) / 2, "", transform=ax.transAxes,
                        ha="left" if box.x0 > 0.45 else "right", va="center", fontsize=10, fontweight="bold",
                        animated=True, clip_on=False)
        background = canvas.copy_from_bbox(fig.bbox)

        images = []
        for step in steps:
            for (k, walker), trail, head in zip(walkers, trails, heads):
                upto = walker.points[: min(step, len(walker.points) - 1) + 1]
                finite = upto[np.all(np.isfinite(upto), axis=1)]
                trail.set_data(finite[:, 0], finite[:, 1])
                here = upto[-1]
                inside = np.all(np.isfinite(here)) and x0 <= here[0] <= x1 and y0 <= here[1] <= y1
                if inside:
                    head.set_data([here[0]], [here[1]])
                    head.set_marker("o")
                    head.set_color(color(k))
                else:  # fell off the map: a cross where it left the map (as on the still maps)
                    last = exit_point(finite, domain)
                    if last is None:
                        seen = finite[(finite[:, 0] >= x0) & (finite[:, 0] <= x1) & (finite[:, 1] >= y0)
                                      & (finite[:, 1] <= y1)]
                        last = seen[-1] if len(seen) else walker.points[0]
                    head.set_data([last[0]], [last[1]])
                    head.set_marker("X")
                    head.set_color(COLORS["vermillion"])
            clock.set_text(f"step {step} of {length - 1}")
            canvas.restore_region(background)
            for artist in (*trails, *heads, clock):
                ax.draw_artist(artist)
            images.append(np.asarray(canvas.buffer_rgba())[..., :3].copy())
    if save is None:
        return images
    path = Path(os.fspath(save))
    if path.suffix.lower() != ".gif":
        raise InputError(f"animate: save must name a .gif file, got {shorten(str(path))!r}")
    pictures = [Image.fromarray(image) for image in images]
    palette = _palette(images)
    frames_p = [p.quantize(palette=palette, dither=Image.Dither.NONE) for p in pictures]
    durations = [int(1000 / fps)] * len(frames_p)
    durations[-1] = max(durations[-1], 1500)
    # Pillow stores each frame as the box that changed since the one before.
    return write_picture(path, lambda file: frames_p[0].save(
        file, format="GIF", save_all=True, append_images=frames_p[1:], duration=durations, loop=0))
