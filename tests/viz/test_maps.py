"""mountain and compare: contour maps, downhill arrows, paths with start and end, minima, loss curves."""

from __future__ import annotations

import matplotlib.colors
import numpy as np
import pytest
from matplotlib.quiver import Quiver

import downhill as dh
import downhill.viz as viz

from .conftest import legend_texts


@pytest.fixture(scope="module")
def walks():
    one = dh.descend("himmelblau", [0.0, 0.0], lr=0.01, steps=200)
    many = dh.descend("himmelblau", [[-4.0, 4.0], [4.0, 4.0], [-1.0, -4.0]], lr=0.01, steps=200)
    return one, many


def test_mountain_with_paths(tmp_path, check_png, walks):
    fig = viz.mountain("himmelblau", paths=walks, save=tmp_path / "m.png")
    check_png(tmp_path / "m.png", min_bytes=40_000)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "x" and ax.get_ylabel() == "y"
    assert "Himmelblau" in fig._suptitle.get_text()
    assert "f(x, y) = (x**2 + y - 11)**2" in ax.get_title()
    # One line per climber (1 + 3), each from its start to where it ended.
    lines = [line for line in ax.get_lines() if len(line.get_xdata()) > 1]
    assert len(lines) == 4
    assert np.allclose(lines[0].get_xydata()[0], [0.0, 0.0])
    assert np.allclose(lines[0].get_xydata()[-1], walks[0].final_point)
    # Arrows point downhill: against the gradient.
    quiver = next(c for c in ax.collections if isinstance(c, Quiver))
    X, Y = quiver.X, quiver.Y
    g = dh.grad(lambda p: dh.landscapes.get("himmelblau")(p).sum())(np.stack([X, Y], axis=1))
    direction = np.stack([quiver.U, quiver.V], axis=1)
    assert np.all(np.sum(direction * g, axis=1) < 0)
    labels = legend_texts(fig)
    for expected in ("sgd, lr=0.01", "sgd, lr=0.01 (3 climbers)", "start", "end", "known minimum",
                     "downhill (−gradient); longer = steeper"):
        assert expected in labels


def test_mountain_marks_the_known_minima():
    fig = viz.mountain("himmelblau", field=False)
    ax = fig.axes[0]
    stars = [c for c in ax.collections if c.get_offsets().shape == (4, 2)]
    assert stars and np.allclose(sorted(stars[0].get_offsets()[:, 0]), sorted(
        m.point[0] for m in dh.landscapes.get("himmelblau").minima))
    assert not any(isinstance(c, Quiver) for c in ax.collections)
    assert "downhill (−gradient); longer = steeper" not in legend_texts(fig)


def test_mountain_with_surface_panel(tmp_path, check_png, walks):
    fig = viz.mountain("rosenbrock", paths=[dh.descend("rosenbrock", [-1.5, 2.0], optimizer="adam", lr=0.05,
                                                       steps=300)], surface=True, save=tmp_path / "s.png")
    check_png(tmp_path / "s.png", min_bytes=60_000)
    assert any(ax.name == "3d" for ax in fig.axes)


def test_mountain_marks_a_climber_that_fell_off():
    fell = dh.descend("sphere", [3.0, 3.0], lr=1.2, steps=50)
    assert fell.status == "diverged"
    fig = viz.mountain("sphere", paths=fell)
    assert "fell off (diverged)" in legend_texts(fig)


def test_mountain_takes_plain_point_arrays_and_a_custom_landscape():
    bowl = dh.landscapes.from_expression("x**2 + 3*y**2")
    fig = viz.mountain(bowl, paths=np.array([[2.0, 2.0], [1.0, 0.5], [0.0, 0.0]]))
    assert "x**2 + 3*y**2" in fig.axes[0].get_title()


@pytest.mark.parametrize("bad, error, message", [
    ("himmelblu", ValueError, "did you mean 'himmelblau'"),
    (42, TypeError, "landscape name"),
])
def test_mountain_bad_landscape(bad, error, message):
    with pytest.raises(error, match=message):
        viz.mountain(bad)


def test_mountain_needs_two_variables():
    with pytest.raises(ValueError, match="map of 2 variables"):
        viz.mountain(dh.landscapes.from_expression("t**2", variables=["t"]))


def test_mountain_bad_paths_and_domain():
    with pytest.raises(ValueError, match=r"shape \(steps, 2\)"):
        viz.mountain("sphere", paths=[np.zeros((5, 3))])
    with pytest.raises(ValueError, match="record=True"):
        viz.mountain("sphere", paths=dh.descend("sphere", [1.0, 1.0], record=False))
    with pytest.raises(ValueError, match="low < high"):
        viz.mountain("sphere", domain=((1, -1), (0, 1)))


def test_compare_runs_side_by_side(tmp_path, check_png):
    runs = {f"lr={lr}": dh.descend("booth", [-8.0, 8.0], lr=lr, steps=100) for lr in (0.01, 0.05, 0.12)}
    fig = viz.compare("booth", runs, save=tmp_path / "c.png")
    check_png(tmp_path / "c.png", min_bytes=40_000)
    ax_map, ax_loss = fig.axes
    assert ax_loss.get_yscale() == "log"
    assert ax_loss.get_xlabel() == "step" and "f − f*" in ax_loss.get_ylabel()
    labels = [t.get_text() for t in ax_loss.get_legend().get_texts()]
    assert labels[0] == "lr=0.01: 100 steps, still walking"
    assert labels[2].startswith("lr=0.12: fell off at step")
    assert len(ax_loss.get_lines()) == 3
    assert "fell off (diverged)" in legend_texts(fig)
    # The loss curve is the height above the minimum, step by step.
    first = ax_loss.get_lines()[1].get_ydata()
    assert first[0] == pytest.approx(runs["lr=0.05"].values[0])


def test_compare_labels_a_list_by_optimizer():
    runs = [dh.descend("sphere", [1.0, 2.0], optimizer=name, lr=0.1, steps=50) for name in ("sgd", "adam")]
    fig = viz.compare("sphere", runs)
    labels = [t.get_text().split(":")[0] for t in fig.axes[1].get_legend().get_texts()]
    assert labels == ["sgd, lr=0.1", "adam, lr=0.1"]


def test_compare_with_no_known_minimum_uses_heights():
    bowl = dh.landscapes.from_expression("x**2 + y**2 - 5")
    fig = viz.compare(bowl, {"sgd": dh.descend(bowl, [1.0, 1.0], lr=0.1, steps=20)})
    assert fig.axes[1].get_yscale() == "symlog" and fig.axes[1].get_ylabel() == "height f"


def test_compare_needs_runs():
    with pytest.raises(ValueError, match="at least one run"):
        viz.compare("sphere", {})


def test_mountain_at_a_point_draws_the_arrow_downhill_along_the_negative_gradient():
    # Himmelblau at (0.5, -1): gradient (4x(x² + y - 11) + 2(x + y² - 7), 2(x² + y - 11) + 4y(x + y² - 7))
    # = (-34.5, -1.5), so downhill is (34.5, 1.5) / |(34.5, 1.5)|.
    fig = viz.mountain("himmelblau", at=[0.5, -1.0])
    ax = fig.axes[0]
    (arrow,) = [a for a in ax.texts if getattr(a, "arrow_patch", None) is not None]
    tail, tip = np.asarray(arrow.xyann, dtype=float), np.asarray(arrow.xy, dtype=float)
    assert tail.tolist() == [0.5, -1.0]
    direction = (tip - tail) / np.hypot(*(tip - tail))
    np.testing.assert_allclose(direction, np.array([34.5, 1.5]) / np.hypot(34.5, 1.5), rtol=1e-12)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "the point (0.5, -1)" in labels
    assert any("−gradient = (34.5, 1.5)" in label and "(-34.5, -1.5) points uphill" in label for label in labels)
    assert "start" not in labels and "end" not in labels
    assert fig.get_suptitle() == "Himmelblau: which way is downhill at (0.5, -1)?"


def test_mountain_at_a_flat_point_says_so_and_draws_no_arrow():
    fig = viz.mountain("sphere", at=[0.0, 0.0], field=False)
    assert not [a for a in fig.axes[0].texts if getattr(a, "arrow_patch", None) is not None]
    assert "the point (0, 0): flat there (gradient 0)" in [t.get_text() for t in fig.legends[0].get_texts()]


def test_mountain_at_a_point_outside_the_window_widens_it():
    fig = viz.mountain("booth", at=[14.0, -2.0], field=False)
    low, high = fig.axes[0].get_xlim()
    assert low <= -10 and high >= 14 + 2


def test_mountain_at_needs_a_point_of_the_map():
    with pytest.raises(dh.errors.InputError, match="3 coordinate"):
        viz.mountain("sphere", at=[1, 1, 1])


def _fell_markers(ax):
    return [c for c in ax.collections if getattr(c, "get_offsets", None) is not None
            and len(c.get_offsets()) == 1 and c.get_facecolor().shape[0] == 1
            and np.allclose(c.get_facecolor()[0][:3], matplotlib.colors.to_rgb(dh.viz.style.COLORS["vermillion"]))]


def test_a_climber_that_leaps_off_at_once_is_crossed_out_where_it_left_the_map_not_at_its_start():
    # lr = 0.16 on Booth (2/L = 1/9) from (-6, -6): the first step already lands outside
    # [-10, 10]², and every later leap crosses the map again, further out each time.
    fell = dh.descend("booth", [-6.0, -6.0], lr=0.16, steps=100)
    assert fell.status == "diverged" and not (np.abs(fell.points[1]) <= 10).all()
    fig = viz.compare("booth", {"too big": fell, "good": dh.descend("booth", [-6.0, -6.0], lr=0.04, steps=100)})
    ax = fig.axes[0]
    (cross,) = _fell_markers(ax)
    where = cross.get_offsets()[0]
    assert not np.allclose(where, [-6.0, -6.0])
    assert np.isclose(np.abs(where).max(), 10.0) and (np.abs(where) <= 10 + 1e-9).all(), where
    # Its thin line lies beneath the climber that stayed on the map.
    too_big, good = [line for line in ax.get_lines() if len(line.get_xdata()) > 2]
    assert too_big.get_zorder() < good.get_zorder() and too_big.get_linewidth() < good.get_linewidth()


def test_a_shorter_walk_lies_above_a_longer_one_on_the_same_road():
    walk = dh.descend("rosenbrock", [-1.5, 2.0], optimizer="adam", lr=0.02, steps=3000)
    fig = viz.compare("rosenbrock", {"all the way": walk.points, "half way": walk.points[:400]})
    whole, half = [line for line in fig.axes[0].get_lines() if len(line.get_xdata()) > 2]
    assert half.get_zorder() > whole.get_zorder()


def test_the_stars_on_the_3d_mountain_are_drawn_above_its_half_clear_surface():
    # Sorted by depth, the surface (alpha 0.7) was drawn over the stars at the minima and
    # tinted them brown; the legend's star is yellow.
    from mpl_toolkits.mplot3d.art3d import Poly3DCollection

    fig = viz.mountain("himmelblau", field=False, surface=True)
    ax3d = fig.axes[-1]
    (surface,) = [c for c in ax3d.collections if isinstance(c, Poly3DCollection)]
    stars = [c for c in ax3d.collections if c is not surface]
    assert not ax3d.computed_zorder
    assert stars and all(star.get_zorder() > surface.get_zorder() for star in stars)


def test_runs_named_by_their_verdict_wear_the_sweeps_colours():
    # Notebook 5 labels its runs "too small (lr=...)", "good (...)", "too big (...)": by the
    # palette's order good came out vermillion and too big green, the sweep's colours swapped.
    from downhill.viz.learning_rate import ZONE_DARK

    runs = {f"{kind} (lr={lr})": dh.descend("booth", [-6.0, 8.0], lr=lr, steps=30)
            for kind, lr in (("too small", 5e-4), ("good", 0.05), ("too big", 0.12))}
    fig = viz.compare("booth", runs)
    shown = {line.get_label().split(" (")[0]: matplotlib.colors.to_hex(line.get_color())
             for line in fig.axes[1].get_lines() if not line.get_label().startswith("_")}
    assert shown == {kind: ZONE_DARK[kind].lower() for kind in ZONE_DARK}
    # Other labels keep the palette's order.
    fig = viz.compare("booth", {"sgd": runs["good (lr=0.05)"], "good": runs["good (lr=0.05)"]})
    assert [matplotlib.colors.to_hex(line.get_color()) for line in fig.axes[1].get_lines()] == [
        dh.viz.style.PALETTE[0].lower(), dh.viz.style.PALETTE[1].lower()]


def test_a_start_on_the_frame_shows_whole_and_one_outside_the_window_stays_hidden():
    def start_marker(fig):
        white = [c for c in fig.axes[0].collections if c.get_offsets().shape == (1, 2)
                 and len(c.get_facecolor()) and np.allclose(c.get_facecolor()[0], [1, 1, 1, 1])]
        (marker,) = white
        return marker

    on_edge = dh.descend("rosenbrock", [-1.5, 2.0], optimizer="adam", lr=0.02, steps=200)
    assert not start_marker(viz.mountain("rosenbrock", paths=[on_edge], field=False)).get_clip_on()
    outside = dh.descend("rosenbrock", [-1.5, 3.0], optimizer="adam", lr=0.02, steps=200)
    assert start_marker(viz.mountain("rosenbrock", paths=[outside], field=False)).get_clip_on()


def test_the_title_counts_the_climbers():
    one = dh.descend("himmelblau", [0.0, 0.0], lr=0.01, steps=50)
    four = dh.descend("himmelblau", [[0.0, 0.0], [-4.0, 4.0]], lr=0.01, steps=50)
    assert viz.mountain("himmelblau", paths=[one]).get_suptitle() == "Himmelblau: the climber's path downhill"
    assert viz.mountain("himmelblau", paths=[four]).get_suptitle() == "Himmelblau: the climbers' paths downhill"


@pytest.mark.parametrize("name", ["himmelblau", "booth", "rosenbrock"])
def test_a_longer_arrow_is_steeper_ground(name):
    """The README says an arrow's length shows how steep the ground is: the drawn lengths (in cells,
    as the eye compares them) must rank exactly as the gradient's lengths do at the arrows' feet."""
    from downhill.landscapes import get
    from downhill.viz.style import new_figure
    from downhill.viz.terrain import draw_arrows, field

    landscape = get(name)
    domain = landscape.domain
    arrows = draw_arrows(new_figure(4, 4).add_subplot(), landscape, domain, n=9)
    (x0, x1), (y0, y1) = domain
    dx, dy = (x1 - x0) / 9, (y1 - y0) / 9
    feet = np.asarray(arrows.get_offsets())
    _, gx, gy = field(landscape, feet[:, 0], feet[:, 1])
    steepness = np.hypot(np.ravel(gx) / dx, np.ravel(gy) / dy)
    drawn = np.hypot(np.ravel(arrows.U) / dx, np.ravel(arrows.V) / dy)
    keep = np.isfinite(drawn) & (steepness > 0)
    order = np.argsort(steepness[keep], kind="stable")
    assert np.all(np.diff(drawn[keep][order]) >= -1e-12)
    assert drawn[keep].max() > 1.5 * drawn[keep].min()  # not one length for all
