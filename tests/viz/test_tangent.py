"""speedometer and car_trip: the tangent line, its slope, the derivative curve; secant against tangent."""

from __future__ import annotations

import numpy as np
import pytest

import downhill as dh
import downhill.viz as viz

from .conftest import legend_texts, texts_of


def test_speedometer_draws_curve_tangent_and_derivative(tmp_path, check_png):
    fig = viz.speedometer(lambda x: x ** 3 - 3 * x, 1.5, save=tmp_path / "s.png")
    check_png(tmp_path / "s.png")
    top, bottom = fig.axes
    assert len(top.get_lines()) >= 2 and len(bottom.get_lines()) >= 1
    # f'(1.5) = 3 * 1.5**2 - 3 = 3.75: written on the tangent and in the title.
    assert "slope = f'(1.5) = 3.75" in texts_of(fig)
    assert "3.75" in top.get_title()
    # The tangent line really has that slope and touches f at x.
    tangent = top.get_lines()[1]
    xs, ys = tangent.get_xdata(), tangent.get_ydata()
    assert np.allclose(np.diff(ys) / np.diff(xs), 3.75)
    assert np.interp(1.5, xs, ys) == pytest.approx(1.5 ** 3 - 4.5)
    # The bottom curve is the derivative, from dh.derivative.
    curve = bottom.get_lines()[0]
    assert np.allclose(curve.get_ydata(), 3 * curve.get_xdata() ** 2 - 3)
    assert bottom.get_ylabel().startswith("f'(x)")
    assert any("tangent line" in t for t in legend_texts(fig))


def test_speedometer_accepts_formulas_downhill_functions_and_an_interval():
    fig = viz.speedometer("x**2", 1.0, interval=(-1, 2))
    assert fig.axes[0].get_xlim()[0] <= -1 and "slope = f'(1) = 2" in texts_of(fig)
    fig = viz.speedometer(dh.sin, 0.0)
    assert "slope = f'(0) = 1" in texts_of(fig)


@pytest.mark.parametrize("bad, message", [
    ("himmelblau", "2 variables"),
    ("x * y", "2 variables"),
    (lambda p: p[0] ** 2 + p[1] ** 2, "function of one number"),
    (lambda x: dh.stack([x, x]).sum(), "one number per x"),
    (3.0, "function of one number"),
])
def test_speedometer_refuses_functions_of_two_variables(bad, message):
    with pytest.raises((ValueError, TypeError), match=message):
        viz.speedometer(bad, 1.0)


@pytest.mark.parametrize("x", [float("nan"), "1", None, [1.0, 2.0]])
def test_speedometer_needs_one_finite_number(x):
    with pytest.raises(ValueError, match="one finite number"):
        viz.speedometer(lambda v: v ** 2, x)


def test_speedometer_rejects_a_backwards_interval():
    with pytest.raises(ValueError, match="low < high"):
        viz.speedometer(lambda v: v ** 2, 1.0, interval=(3, 1))


def test_car_trip_secant_against_tangent(tmp_path, check_png):
    fig = viz.car_trip(lambda t: 5 * t ** 2, 2.0, dt=1.0, save=tmp_path / "car.png")
    check_png(tmp_path / "car.png")
    left, right = fig.axes
    labels = [line.get_label() for line in left.get_lines()]
    assert labels[1] == "average speed over [2, 3]: Δs/Δt = 25"
    assert labels[2] == "speed at t = 2: s'(2) = 20"
    # The right panel's averages close in on the instant speed as the interval shrinks.
    averages = right.get_lines()[0].get_ydata()
    assert averages[0] == pytest.approx(25) and averages[-1] == pytest.approx(20, abs=1e-2)
    assert right.get_xscale() == "log" and right.xaxis_inverted()
    assert "car trip" in fig._suptitle.get_text()


def test_car_trip_needs_a_nonzero_interval():
    with pytest.raises(ValueError, match="dt must not be 0"):
        viz.car_trip(lambda t: t ** 2, 1.0, dt=0.0)


@pytest.mark.parametrize("f, x", [(lambda x: x ** 3 - 3 * x, 1.5), (lambda x: x ** 2, 1.5), (dh.sin, 0.0),
                                  (lambda x: x ** 3 - 3 * x, -1.0)])
def test_the_slope_written_on_the_tangent_hides_no_part_of_the_curve_and_no_other_words(f, x):
    # Read from the drawn figure: the slope's label box, in pixels, against every drawn
    # point of f and the boxes of the other words (rise, run) on the panel.
    fig = viz.speedometer(f, x)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    top = fig.axes[0]
    label = next(t for t in top.texts if t.get_text().startswith("slope = "))
    box = label.get_bbox_patch().get_window_extent(renderer)
    curve = top.get_lines()[0]
    points = top.transData.transform(np.column_stack([curve.get_xdata(), curve.get_ydata()]))
    covered = ((points[:, 0] >= box.x0) & (points[:, 0] <= box.x1)
               & (points[:, 1] >= box.y0) & (points[:, 1] <= box.y1))
    assert not covered.any(), f"the slope's label covers f at x = {curve.get_xdata()[covered][:3]}"
    for other in top.texts:
        if other is not label:
            assert not box.overlaps(other.get_window_extent(renderer)), other.get_text()
    assert not box.overlaps(top.get_legend().get_window_extent(renderer))
    frame = top.get_window_extent(renderer)
    assert frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1
