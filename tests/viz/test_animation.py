"""animate: an animated GIF of the climbers, written with Pillow."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import downhill as dh
import downhill.viz as viz
from downhill.viz.animation import frame_steps


def test_animate_writes_a_small_gif(tmp_path):
    walks = dh.descend("himmelblau", [[0.0, 0.0], [-1.0, -1.0], [4.5, -4.5]], lr=0.01, steps=150)
    wild = dh.descend("himmelblau", [0.5, 0.5], lr=0.03, steps=150)
    path = viz.animate("himmelblau", [walks, wild], save=tmp_path / "walk.gif", frames=30, size=(480, 400))
    assert path == tmp_path / "walk.gif"
    data = path.read_bytes()
    assert data[:6] == b"GIF89a"
    assert 20_000 < len(data) < 1_500_000
    with Image.open(path) as gif:
        assert gif.size == (480, 400)
        assert 10 <= gif.n_frames <= 30
        assert gif.info.get("loop") == 0
        first = np.asarray(gif.convert("RGB")).copy()
        gif.seek(gif.n_frames - 1)
        last = np.asarray(gif.convert("RGB"))
    assert np.any(first != last)  # the climbers moved
    # The second path's colour (vermillion) survives the GIF palette.
    assert np.any(np.all(np.abs(last.astype(int) - [0xD5, 0x5E, 0x00]) < 30, axis=-1))


def test_animate_without_saving_returns_frames():
    walk = dh.descend("sphere", [3.0, -2.0], lr=0.1, steps=40)
    frames = viz.animate("sphere", walk, save=None, frames=8, size=(300, 240))
    assert len(frames) == 8 and frames[0].shape == (240, 300, 3) and frames[0].dtype == np.uint8


def test_frame_steps_are_denser_early():
    steps = frame_steps(1000, 40)
    assert steps[0] == 0 and steps[-1] == 999 and len(steps) <= 40
    assert np.all(np.diff(steps) > 0) and np.diff(steps)[0] < np.diff(steps)[-1]


@pytest.mark.parametrize("options, message", [
    (dict(frames=1), "frames"),
    (dict(frames=500), "frames"),
    (dict(fps=0), "fps"),
    (dict(size=(5000, 400)), "pixels"),
    (dict(save="walk.png"), r"\.gif"),
])
def test_animate_bad_settings(tmp_path, options, message):
    walk = dh.descend("sphere", [1.0, 1.0], lr=0.1, steps=5)
    if "save" in options:
        options["save"] = tmp_path / options["save"]
    with pytest.raises(ValueError, match=message):
        viz.animate("sphere", walk, **options)


def test_animate_needs_a_trajectory_and_a_known_landscape():
    with pytest.raises(ValueError, match="at least one trajectory"):
        viz.animate("sphere", [])
    with pytest.raises(ValueError, match="unknown landscape"):
        viz.animate("nowhere", np.zeros((3, 2)))


def test_the_legend_and_the_step_counter_are_readable_and_hide_no_part_of_the_map(monkeypatch):
    # The frames are pixels; the figure they come from is caught as it is made.
    from matplotlib.text import Text

    import downhill.viz.animation as animation

    made = []
    new_figure = animation.new_figure
    monkeypatch.setattr(animation, "new_figure", lambda *a, **k: made.append(new_figure(*a, **k)) or made[-1])
    walks = dh.descend("rosenbrock", [-1.5, 2.0], optimizer="adam", lr=0.02, steps=400)
    viz.animate("rosenbrock", walks, save=None, frames=5)
    (fig,) = made
    ax = fig.axes[0]
    renderer = fig.canvas.get_renderer()
    legend = ax.get_legend()
    clock = next(t for t in ax.texts if t.get_text().startswith("step "))
    assert clock.get_text().endswith(f"of {len(walks.points) - 1}")
    for text in [*legend.get_texts(), clock]:
        assert text.get_fontsize() >= 8, (text.get_text(), text.get_fontsize())
    frame = ax.get_window_extent(renderer)
    for box in (legend.get_window_extent(renderer), clock.get_window_extent(renderer)):
        assert box.y1 <= frame.y0, "beneath the map, not on it"
    assert not legend.get_window_extent(renderer).overlaps(clock.get_window_extent(renderer))
    small = [t.get_text() for t in fig.findobj(Text) if t.get_text() and t.get_fontsize() < 8]
    assert not small, small
