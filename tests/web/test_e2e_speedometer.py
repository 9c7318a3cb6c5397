"""The speedometer panel in a real browser: the slope under a dragged point, the car trip, errors, export."""

import re

import pytest

from .e2e_support import browser, page, server  # noqa: F401 (fixtures)
from .e2e_support import (
    data,
    export_code,
    hash_params,
    needs_browser,
    open_panel,
    run_python,
    screenshot,
    wait_idle,
)

pytestmark = needs_browser


def slope_shown(panel) -> float:
    return float(panel.locator("#speed-slope").inner_text())


def test_slope_tangent_gauge_and_export(page):
    panel = open_panel(page, "speedometer", "f=x**3 - 3*x&x=1.5&t=1&h=0.5")
    assert panel.locator("#speed-value").inner_text() == "-1.125"
    assert slope_shown(panel) == 3.75
    assert panel.locator("#speed-tangent").inner_text() == "y = 3.75·x − 6.75"
    assert "1.5" in panel.locator("#speed-sentence").inner_text()
    # The curve, its tangent, the point; and the needle reads the slope.
    assert page.evaluate("document.getElementById('speed-plot').data.length") == 5
    assert float(panel.locator('#speed-gauge').get_attribute('data-value')) == 3.75
    assert panel.locator('#speed-gauge .gauge-number').text_content() == '3.75'
    assert panel.locator("#speed-plot .scatterlayer .trace").count() >= 3
    screenshot(page, "speedometer")

    # The exported code prints the slope the page shows, and the car trip's average speed.
    code = export_code(page)
    assert 'from_expression("x**3 - 3*x"' in code
    printed = run_python(code)
    slope = float(re.search(r"slope f'\(1.5\) = (\S+)", printed).group(1))
    assert slope == pytest.approx(slope_shown(panel))
    assert slope == pytest.approx(3 * 1.5**2 - 3)
    average = float(re.search(r"average speed over \S+ \S+ (\S+) km/h", printed).group(1))
    assert average == pytest.approx(data(panel, "trip-average"))


def test_drag_the_point_and_shrink_the_car_trip(page):
    panel = open_panel(page, "speedometer", "f=x**2&x=1.5&from=-3&to=3&t=1&h=1")
    area = panel.locator("#speed-plot .nsewdrag").first.bounding_box()
    y = area["y"] + area["height"] * 0.3
    page.mouse.move(area["x"] + area["width"] * 0.75, y)
    page.mouse.down()
    page.mouse.move(area["x"] + area["width"] * 0.2, y, steps=6)
    page.mouse.up()
    wait_idle(page, "speedometer")
    page.wait_for_function("() => Number(document.getElementById('panel-speedometer').dataset.slope) < 0")
    # About a fifth of the way along [-3, 3], and the slope of x² there is 2x.
    x = float(hash_params(page)[1]["x"])
    assert -2.0 < x < -1.4
    assert slope_shown(panel) == pytest.approx(2 * x, abs=1e-9)
    # Keyboard: the slider moves the point too.
    panel.locator("#speed-x").focus()
    page.keyboard.press("End")
    wait_idle(page, "speedometer")
    page.wait_for_function("() => document.getElementById('speed-slope').textContent === '6'")

    # The car trip: over a long stretch the average speed is not the speedometer's reading...
    wide = data(panel, "trip-average") - data(panel, "trip-instant")
    assert wide == pytest.approx(10.0)  # s = 30t² - 5t³: average over [1, 2] is 80 - 25 = 55, speed at 1 is 45
    assert panel.locator("#trip-instant").inner_text() == "45 km/h"
    panel.locator("#trip-h").focus()
    page.keyboard.press("Home")  # ...shrink the stretch to 0.01 h and the two meet
    page.wait_for_function("() => document.getElementById('trip-h-out').textContent === '0.01'")
    page.wait_for_function("() => Math.abs(document.getElementById('panel-speedometer').dataset.tripAverage - 45) < 0.5")
    assert abs(data(panel, "trip-average") - data(panel, "trip-instant")) < 0.5
    assert hash_params(page)[1]["h"] == "0.01"
    assert page.evaluate("document.getElementById('trip-plot').data.length") == 4


def test_typed_formula_and_errors_next_to_the_box(page):
    panel = open_panel(page, "speedometer")
    box = panel.locator("#speed-expression")
    error = panel.locator("[data-error-for='expression']")
    box.fill("x**")
    box.press("Enter")
    error.wait_for(state="visible")
    assert "x**" in error.inner_text() or "formula" in error.inner_text().lower()
    assert box.get_attribute("aria-invalid") == "true"
    box.fill("exp(x) + spam(x)")
    box.press("Enter")
    page.wait_for_function("() => document.querySelector(\"[data-error-for='expression']\").textContent.includes('spam')")
    # A good formula clears the error and gives its slope: d/dx sin(x) at 0 is 1.
    box.fill("sin(x)")
    box.press("Enter")
    error.wait_for(state="hidden")
    panel.locator("#speed-x").fill("0")
    wait_idle(page, "speedometer")
    page.wait_for_function("() => document.getElementById('speed-slope').textContent === '1'")
    assert box.get_attribute("aria-invalid") is None
    assert hash_params(page)[1]["f"] == "sin(x)"
