"""lr_sweep_plot and lr_range_plot: zones, the 2/L bound, suggestions."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from matplotlib.patches import Polygon, Rectangle

import downhill as dh
import downhill.viz as viz

from .conftest import legend_texts, texts_of


@pytest.fixture(scope="module")
def sweep():
    return dh.lr_sweep("booth", [-5.0, 5.0], np.logspace(-4, -0.5, 10), steps=100)


def _zones(ax):
    return [p for p in ax.patches if isinstance(p, (Polygon, Rectangle))]


def test_lr_sweep_plot_zones_points_and_bound(tmp_path, check_png, sweep):
    fig = viz.lr_sweep_plot(sweep, save=tmp_path / "sweep.png")
    check_png(tmp_path / "sweep.png")
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert ax.get_xlabel() == "learning rate (log scale)" and ax.get_ylabel() == "height after 100 steps"
    # Three zones, named where a learner looks.
    texts = texts_of(fig)
    assert {"too small:\nnever arrives", "good", "too big:\nfalls off"} <= set(texts)
    assert len(_zones(ax)) == 3
    # 2/L from dh.lr_advice at the start: booth's Hessian is constant, L = 18.
    advice = dh.lr_advice("booth", [-5.0, 5.0])
    lines = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert lines and lines[0].get_xdata()[0] == pytest.approx(advice.max_stable_lr)
    labels = legend_texts(fig)
    assert f"2/L = {advice.max_stable_lr:.3g} (largest stable step, dh.lr_advice)" in labels
    assert "fell off (diverged)" in labels and "start height 104" in labels
    # Every run is drawn: dots for the healthy, triangles for those that fell off.
    offsets = np.concatenate([c.get_offsets() for c in ax.collections])
    assert len(offsets) == len(sweep.rows)


def test_the_bound_can_be_given_or_left_out(sweep):
    fig = viz.lr_sweep_plot(sweep, bound=0.05)
    assert any("2/L = 0.05" in t for t in legend_texts(fig))
    fig = viz.lr_sweep_plot(sweep, bound=False)
    assert not any(t.startswith("2/L") for t in legend_texts(fig))
    fig = viz.lr_sweep_plot(sweep, bound=dh.lr_advice("booth", [0.0, 0.0]))
    assert any(t.startswith("2/L = 0.111") for t in legend_texts(fig))


def test_no_bound_for_other_optimizers():
    sweep = dh.lr_sweep("booth", [-5.0, 5.0], [1e-3, 1e-2, 1e-1], optimizer="adam", steps=50)
    fig = viz.lr_sweep_plot(sweep)
    assert not any(t.startswith("2/L") for t in legend_texts(fig))


def test_lr_sweep_plot_from_a_dict(sweep):
    fig = viz.lr_sweep_plot(sweep.to_dict())
    assert "good" in texts_of(fig)


def test_lr_sweep_plot_bad_input():
    with pytest.raises(ValueError, match="result of dh.lr_sweep"):
        viz.lr_sweep_plot({"rows": []})
    with pytest.raises(ValueError, match="> 0"):
        viz.lr_sweep_plot({"rows": [dict(lr=0.0, final_value=1.0, status="max_steps", label="too small")]})


def _range_result():
    lrs = np.logspace(-5, 0, 80)
    loss = 2 - 1.5 / (1 + (1e-3 / lrs) ** 2) + 30 * lrs ** 2
    return SimpleNamespace(lrs=lrs, losses=loss + 0.02 * np.sin(np.arange(80)), smoothed=loss,
                           suggestions={"valley": 3e-3, "steep": 1e-3, "minimum": None})


def test_lr_range_plot(tmp_path, check_png):
    result = _range_result()
    fig = viz.lr_range_plot(result, save=tmp_path / "range.svg")
    assert "<svg" in (tmp_path / "range.svg").read_text()
    fig.savefig(tmp_path / "range.png")
    check_png(tmp_path / "range.png")
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["loss at each step", "smoothed loss", "valley: lr = 0.003", "steep: lr = 0.001"]
    # The markers sit on the smoothed curve.
    marker = ax.collections[0].get_offsets()[0]
    assert marker[0] == pytest.approx(3e-3)
    assert marker[1] == pytest.approx(np.interp(np.log(3e-3), np.log(result.lrs), result.smoothed))
    # The blow-up at the end does not squash the valley.
    assert ax.get_ylim()[1] < 3


def test_lr_range_plot_accepts_a_dict_and_suggestion_pairs():
    result = _range_result()
    data = {"lrs": list(result.lrs), "losses": list(result.losses), "smoothed": list(result.smoothed),
            "suggestions": {"valley": (3e-3, 0.6)}}
    fig = viz.lr_range_plot(data)
    assert "valley: lr = 0.003" in legend_texts(fig)


def test_lr_range_plot_accepts_the_nn_result_when_available():
    from downhill.nn import lr_range  # part of downhill: a broken import fails, never skips
    result = _range_result()
    made = lr_range.LRRangeTestResult(result.lrs, result.losses, result.smoothed, {"valley": 3e-3}, False, 0.5)
    assert "valley: lr = 0.003" in legend_texts(viz.lr_range_plot(made))


def test_lr_range_plot_bad_input():
    with pytest.raises(ValueError, match="no 'smoothed'|no 'lrs'"):
        viz.lr_range_plot({"losses": [1, 2]})
    with pytest.raises(ValueError, match="equally long"):
        viz.lr_range_plot({"lrs": [1e-3, 1e-2], "losses": [1.0], "smoothed": [1.0], "suggestions": {}})


def _zone_span(ax, verdict):
    (patch,) = [p for p in ax.patches if p.get_label() == f"zone: {verdict}"][:1]
    return patch.get_x(), patch.get_x() + patch.get_width()


def _pixel_at_lr(fig, path, lr):
    """The RGB colour drawn in the plot area, in the column of rate ``lr``, 60% of the way up."""
    from PIL import Image

    ax = fig.axes[0]
    fig.savefig(path, dpi=fig.dpi)
    x, _ = ax.transData.transform((lr, 1.0))
    box = ax.get_window_extent()
    y = box.y0 + 0.6 * box.height
    with Image.open(path) as image:
        rgb = image.convert("RGB")
        return np.array(rgb.getpixel((int(round(x)), int(round(rgb.height - y)))))


@pytest.mark.parametrize("lrs", [[0.001, 0.1, 1.0], np.logspace(-3, 0, 7), [1e-4, 0.05, 0.12, 0.2, 0.3]])
def test_the_good_band_never_covers_a_rate_that_falls_off(lrs, tmp_path):
    # Booth's Hessian is constant (L = 18): plain descent falls off for every
    # rate above 2/L = 0.111, e.g. 0.12, 0.2 and 0.3, whatever the sweep sampled.
    sweep = dh.lr_sweep("booth", [0.0, 0.0], lrs, steps=200)
    fig = viz.lr_sweep_plot(sweep)
    bound = 2 / 18
    _, right = _zone_span(fig.axes[0], "good")
    assert right <= bound + 1e-12
    for rate in (0.12, 0.2, 0.3):
        assert dh.descend("booth", [0.0, 0.0], lr=rate, steps=200).status == "diverged"
        if rate < fig.axes[0].get_xlim()[1]:
            # Where the learner looks: that column is not painted the good colour.
            drawn = _pixel_at_lr(fig, tmp_path / "sweep.png", rate)
            good = np.array([int(viz.style.ZONE_COLORS["good"][i:i + 2], 16) for i in (1, 3, 5)])
            tinted_good = 0.84 * 255 + 0.16 * good  # the band's alpha over white
            assert np.abs(drawn - tinted_good).max() > 6, (rate, drawn)


def test_the_good_band_stops_at_the_last_rate_seen_arriving_without_a_bound():
    sweep = dh.lr_sweep("booth", [0.0, 0.0], [0.001, 0.1, 1.0], steps=200)
    fig = viz.lr_sweep_plot(sweep, bound=False)
    left, right = _zone_span(fig.axes[0], "good")
    assert right == pytest.approx(0.1) and left < 0.1
    big_left, _ = _zone_span(fig.axes[0], "too big")
    assert big_left == pytest.approx(1.0)


# ---------------------------------------------------------------------------
# Defect 2 as the learner sees it: the drawn colour at the column of a rate
# that falls off is never the good band's, on the tour's sweep, the command's,
# and sweeps of other mountains from their own starts.
# ---------------------------------------------------------------------------

def _tint(verdict):
    """The colour a zone band is painted: its colour at alpha 0.16 over white."""
    hex_colour = viz.style.ZONE_COLORS[verdict]
    return 0.84 * 255 + 0.16 * np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)])


def _rgb(path):
    from PIL import Image

    with Image.open(path) as image:
        return np.asarray(image.convert("RGB")).astype(float)


def _band_at(fig, rgb, lr):
    """Which band (a verdict, or "none" for white) is painted in the column of rate ``lr``.

    The commonest colour of the plot area's columns around ``lr`` (dots, the
    curve and grid lines are thin; the band fills the column), matched to the
    nearest band tint.
    """
    ax = fig.axes[0]
    box = ax.get_window_extent()
    x, _ = ax.transData.transform((lr, 1.0))
    height = rgb.shape[0]
    rows = slice(int(height - box.y1) + 3, int(height - box.y0) - 3)
    column = rgb[rows, int(round(x)) - 3:int(round(x)) + 4].reshape(-1, 3).round()
    colours, counts = np.unique(column, axis=0, return_counts=True)
    common = colours[np.argmax(counts)]
    tints = {"none": np.full(3, 255.0), **{verdict: _tint(verdict) for verdict in viz.style.ZONE_COLORS}}
    name, tint = min(tints.items(), key=lambda item: np.abs(common - item[1]).max())
    assert np.abs(common - tint).max() <= 4, (lr, common)  # a band's colour, or white: nothing else fills it
    return name


def _falling_rates(where, start, sweep, steps):
    """The sweep's own rates that fell off, and rates in each gap after a good zone that fall off when climbed."""
    falling = [row.lr for row in sweep.rows if row.status == "diverged"]
    zones = sweep.zones()
    for zone, after in zip(zones, zones[1:]):
        if zone.verdict == "good":
            for lr in np.geomspace(zone.high, after.low, 8)[1:-1]:
                if dh.descend(where, start, lr=float(lr), steps=steps, record=False).status == "diverged":
                    falling.append(float(lr))
    return falling


def _assert_never_painted_good(fig, path, falling):
    rgb = _rgb(path)
    low, high = fig.axes[0].get_xlim()
    checked = [lr for lr in falling if low < lr < high]
    assert checked, "nothing to check"
    painted = {lr: _band_at(fig, rgb, lr) for lr in checked}
    assert "good" not in painted.values(), painted


def test_the_tours_sweep_never_paints_a_falling_rate_good(tmp_path):
    # Picture 5 of the tour: booth from (0, 0), 13 rates from 1e-4 to 1, 200 steps, 2/L drawn.
    start, lrs = [0.0, 0.0], np.logspace(-4, 0, 13)
    sweep = dh.lr_sweep("booth", start, lrs, steps=200)
    fig = viz.lr_sweep_plot(sweep, bound=dh.lr_advice("booth", start), save=tmp_path / "5-lr-sweep.png")
    # Booth's Hessian is constant (L = 18): every rate past 2/L = 0.111 falls off.
    past_the_bound = [0.115, 0.13, 0.147, 0.17, 0.2]
    for lr in past_the_bound:
        assert dh.descend("booth", start, lr=lr, steps=200, record=False).status == "diverged"
    falling = past_the_bound + _falling_rates("booth", start, sweep, 200)
    _assert_never_painted_good(fig, tmp_path / "5-lr-sweep.png", falling)


def test_the_commands_sweep_picture_never_paints_a_falling_rate_good(tmp_path, capsys):
    from downhill.cli import main

    drawn = tmp_path / "sweep.png"
    try:
        main(["lr-sweep", "booth", "--start", "0,0", "--lrs", "0.001,0.1,1", "--plot", str(drawn)])
    except SystemExit as done:
        assert done.code in (0, None)
    assert f"wrote picture {drawn}" in capsys.readouterr().out
    # The command draws what the library draws: the same pixels.
    sweep = dh.lr_sweep("booth", [0.0, 0.0], [0.001, 0.1, 1.0], steps=200)
    fig = viz.lr_sweep_plot(sweep, bound=dh.lr_advice("booth", [0.0, 0.0]), save=tmp_path / "library.png")
    np.testing.assert_array_equal(_rgb(drawn), _rgb(tmp_path / "library.png"))
    falling = [0.12, 0.2, 0.32, 0.5]
    for lr in falling:
        assert dh.descend("booth", [0.0, 0.0], lr=lr, steps=200, record=False).status == "diverged"
    _assert_never_painted_good(fig, drawn, falling)


@pytest.mark.parametrize("name", ["sphere", "himmelblau", "rosenbrock", "six_hump_camel", "goldstein_price",
                                  "styblinski_tang", "mccormick", "beale"])
def test_other_mountains_never_paint_a_falling_rate_good(name, tmp_path):
    from downhill.optim.lr_tools import DEFAULT_SWEEP_LRS

    start = list(dh.landscapes.get(name).start)
    sweep = dh.lr_sweep(name, start, DEFAULT_SWEEP_LRS, steps=200)
    fig = viz.lr_sweep_plot(sweep, save=tmp_path / "sweep.png")
    _assert_never_painted_good(fig, tmp_path / "sweep.png", _falling_rates(name, start, sweep, 200))
    # Each rate the sweep saw arriving sits inside a good band (a bound measured at the start does not cut it).
    rgb = _rgb(tmp_path / "sweep.png")
    zones = sweep.zones()
    for zone in zones:
        if zone.verdict == "good" and zone.low < zone.high:
            assert _band_at(fig, rgb, float(np.sqrt(zone.low * zone.high))) == "good"


def test_a_too_big_zone_where_nothing_fell_off_is_not_said_to_fall_off():
    # Ackley is bounded: from its start no rate up to 10 blows up, the big ones overshoot.
    sweep = dh.lr_sweep("ackley", list(dh.landscapes.get("ackley").start), [0.01, 0.2, 2.0, 10.0], steps=200)
    assert "diverged" not in [row.status for row in sweep.rows] and sweep.rows[-1].label == "too big"
    texts = texts_of(viz.lr_sweep_plot(sweep))
    assert "too big:\novershoots" in texts and not any("falls off" in t for t in texts)
    booth = texts_of(viz.lr_sweep_plot(dh.lr_sweep("booth", [0.0, 0.0], [0.01, 0.1, 1.0], steps=200)))
    assert "too big:\nfalls off" in booth


def test_the_sweeps_good_band_is_the_rates_seen_arriving():
    sweep = dh.lr_sweep("booth", [0.0, 0.0], np.logspace(-4, 0, 13), steps=200)
    low, high = sweep.good_band
    arrived = [row.lr for row in sweep.rows if row.label == "good"]
    assert (low, high) == (min(arrived), max(arrived)) and high < 2 / 18
    assert sweep.to_dict()["good_band"] == [low, high]


@pytest.mark.parametrize("name", ["levi13", "rosenbrock", "ackley", "rastrigin"])
def test_each_rate_tried_wears_its_own_verdicts_colour_or_none(name, tmp_path):
    # A band cut at 2/L measured at the start was once drawn backwards (from the
    # bound up to the first good rate), painting good over rates seen too small.
    from downhill.optim.lr_tools import DEFAULT_SWEEP_LRS

    start = list(dh.landscapes.get(name).start)
    sweep = dh.lr_sweep(name, start, DEFAULT_SWEEP_LRS, steps=200)
    fig = viz.lr_sweep_plot(sweep, save=tmp_path / "sweep.png")
    rgb = _rgb(tmp_path / "sweep.png")
    drawn = {row.lr: (row.label, _band_at(fig, rgb, row.lr)) for row in sweep.rows}
    assert all(band in (label, "none") for label, band in drawn.values()), drawn


def test_a_suggested_rate_never_wears_a_zones_colour():
    """Green is 'good' and vermillion 'too big' in every learning-rate picture; the range test's
    'valley' and 'steep' suggestions wore exactly those two."""
    from matplotlib.colors import to_hex

    from downhill.viz.style import ZONE_COLORS

    ax = viz.lr_range_plot(_range_result()).axes[0]
    worn = {to_hex(color) for collection in ax.collections for color in collection.get_facecolors()}
    worn |= {to_hex(line.get_color()) for line in ax.lines if line.get_linestyle() == "--"}
    assert worn and not worn & {to_hex(c).lower() for c in ZONE_COLORS.values()}, worn


def test_a_rate_that_reached_the_floor_is_drawn_whole_above_the_edge():
    """Booth's good rates reach 1e-17 and 1e-18; drawn at the 1e-16 floor with the floor as the axes'
    edge, only their top halves showed (the tour's picture 5)."""
    fig = viz.lr_sweep_plot(dh.lr_sweep("booth", [0.0, 0.0], np.logspace(-4, 0, 13), steps=200))
    ax = fig.axes[0]
    fig.canvas.draw()
    bottom = ax.get_window_extent().y0
    reached = [point for collection in ax.collections for point in np.asarray(collection.get_offsets())
               if point.size == 2 and np.isfinite(point).all() and point[1] <= 1e-15]
    assert reached, "booth's sweep should reach the floor"
    for x, y in reached:
        _, y_pixels = ax.transData.transform((x, y))
        assert y_pixels - bottom > 10, (x, y, y_pixels - bottom)  # a dot's radius is about 5 px
