"""The mountain panel in a real browser: climbers, playback, arrows, basins, 3-D, the URL, export."""

import ast
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
    wait_until,
)

pytestmark = needs_browser

ROWS = "#mtn-table tbody tr"


def final_points(panel):
    rows = panel.locator(ROWS)
    return [data(rows.nth(i), "final-point") for i in range(rows.count())]


def click_map_at(page, x, y):
    """Click the map where the data point (x, y) is drawn."""
    box = page.locator("#mtn-plot .nsewdrag").first.bounding_box()
    (x0, x1), (y0, y1) = _ranges(page)
    page.mouse.click(box["x"] + box["width"] * (x - x0) / (x1 - x0), box["y"] + box["height"] * (y1 - y) / (y1 - y0))


def _ranges(page):
    return page.evaluate("() => { const l = document.getElementById('mtn-plot').layout; return [l.xaxis.range, l.yaxis.range]; }")


def wait_still(page):
    wait_idle(page, "mountain")
    wait_until(page, "document.getElementById('panel-mountain').dataset.playing === '0'")


def test_export_reproduces_the_final_point(page):
    panel = open_panel(page, "mountain", "landscape=rosenbrock&optimizer=adam&lr=0.02&steps=500&start=-1.5,2")
    [shown] = final_points(panel)
    assert panel.locator(ROWS).first.get_attribute("data-status") == "max_steps"
    assert "ran out of steps" in panel.locator(ROWS).first.inner_text()
    code = export_code(page)
    assert 'dh.descend("rosenbrock", [-1.5, 2], optimizer="adam", lr=0.02, steps=500)' in code
    printed = run_python(code)
    exported = ast.literal_eval(re.search(r"final point: (\[.*\])", printed).group(1))
    assert exported == pytest.approx(shown, rel=1e-12, abs=1e-12)
    # The table shows the same point, rounded for reading.
    assert panel.locator(ROWS).first.locator("td").nth(4).inner_text() == "({:.6g}, {:.6g})".format(*shown)


def test_click_drops_a_climber_who_walks_down(page):
    panel = open_panel(page, "mountain", "landscape=himmelblau&optimizer=sgd&lr=0.01&steps=200&start=0,0")
    assert panel.locator(ROWS).count() == 1
    click_map_at(page, 3.5, 3.5)
    wait_until(page, "document.querySelectorAll('#mtn-table tbody tr').length === 2")
    starts = hash_params(page)[1]["start"].split(";")
    assert len(starts) == 2
    x, y = map(float, starts[1].split(","))
    assert (x, y) == pytest.approx((3.5, 3.5), abs=0.1)
    # Where it lands, the climber feels the ground: the gradient points uphill, it goes the other way.
    wait_until(page, "document.getElementById('mtn-ground').textContent.includes('downhill is the opposite way')")
    assert f"At x = {x:g}, y = {y:g}" in panel.locator("#mtn-ground").inner_text()
    # The climbers walk down from their starts; pause them on the way.
    wait_until(page, "document.getElementById('panel-mountain').dataset.playing === '1'")
    wait_until(page, "+document.getElementById('panel-mountain').dataset.frame > 0")
    panel.get_by_role("button", name="Pause", exact=True).click()
    wait_still(page)
    last = int(re.search(r"of (\d+)", panel.locator("#mtn-frame").inner_text()).group(1))
    assert 0 < int(panel.get_attribute("data-frame")) < last
    # Both reach Himmelblau's minimum at (3, 2).
    for point in final_points(panel):
        assert point == pytest.approx([3.0, 2.0], abs=1e-3)
    # Reset, step, play.
    panel.get_by_role("button", name="Reset", exact=True).click()
    # Read at once: the step shown must change with the click itself (it used
    # to show the old step until the drawing caught up).
    assert panel.get_attribute("data-frame") == "0"
    panel.get_by_role("button", name="Step", exact=True).click()
    assert panel.get_attribute("data-frame") == "1"
    assert panel.locator("#mtn-frame").inner_text() == f"Step 1 of {last}"
    path = page.evaluate("() => document.getElementById('mtn-climbers').data.filter(t => t.name === 'climber 2')[0].x.length")
    assert path == 2  # the start and one step
    panel.get_by_role("button", name="Play", exact=True).click()
    wait_until(page, "document.getElementById('panel-mountain').dataset.playing === '1'")
    wait_still(page)
    assert panel.get_attribute("data-frame") == str(last)
    assert panel.locator("#mtn-frame").inner_text() == f"Step {last} of {last} (the end)"


def test_keyboard_climber_arrows_basins_and_3d(page):
    panel = open_panel(page, "mountain", "landscape=himmelblau&optimizer=sgd&lr=0.01&steps=200&start=0,0;-1,-1;-4,1")
    panel.get_by_label("x", exact=True).fill("2")
    panel.get_by_label("y", exact=True).fill("-4")
    panel.get_by_role("button", name="Add climber").click()
    wait_until(page, "document.querySelectorAll('#mtn-table tbody tr').length === 4")
    wait_still(page)
    assert final_points(panel)[3] == pytest.approx([3.584428, -1.848126], abs=1e-3)

    panel.get_by_label("Downhill arrows (−gradient)").check()
    wait_until(page, "document.getElementById('mtn-plot').data.some(t => t.marker && t.marker.symbol === 'arrow')")
    assert hash_params(page)[1]["arrows"] == "1"
    screenshot(page, "mountain")

    panel.get_by_label("Downhill arrows (−gradient)").uncheck()
    panel.get_by_role("button", name="Basin map (many climbers)").click()
    wait_until(page, "document.querySelectorAll('#mtn-basin-legend li').length === 4")
    legend = panel.locator("#mtn-basin-legend").inner_text()
    assert "reaches minimum 1 (3, 2)" in legend
    shares = [int(p) for p in re.findall(r"(\d+)%", legend)]
    assert 97 <= sum(shares) <= 103 and all(s > 15 for s in shares)
    assert hash_params(page)[1]["basins"] == "1"
    assert page.evaluate("() => document.getElementById('mtn-plot').data.filter(t => t.type === 'heatmap').length") == 2
    screenshot(page, "mountain", "mountain-basins")

    panel.get_by_label("3-D view").check()
    webgl = page.evaluate("() => Boolean(document.createElement('canvas').getContext('webgl'))")
    if webgl:  # chromium renders WebGL in software (SwiftShader) even with --disable-gpu
        wait_until(page, "document.getElementById('panel-mountain').dataset.view === '3d'")
        assert page.evaluate("() => document.getElementById('mtn-plot').data[0].type") == "surface"
        assert panel.locator("#mtn-plot canvas").count() >= 1
        page.wait_for_timeout(300)  # WebGL draws on the next frame
        screenshot(page, "mountain", "mountain-3d")
    else:  # without WebGL the page says so and keeps the map
        wait_until(page, "document.getElementById('mtn-view-note').textContent.includes('WebGL')")
    code = export_code(page)
    assert "basins(\"himmelblau\"" in code and "starts = [[0, 0], [-1, -1], [-4, 1], [2, -4]]" in code
    assert "converged" in run_python(code)


def test_the_address_replays_the_same_run(page, browser, server):
    query = ("landscape=six_hump_camel&optimizer=sgd&lr=0.02&steps=300&start=-1,1;1.5,-1&momentum=0.9"
             "&nesterov=1&arrows=1")
    panel = open_panel(page, "mountain", query)
    assert panel.locator("#mtn-landscape").input_value() == "six_hump_camel"
    assert panel.locator("#mtn-optimizer").input_value() == "sgd"
    assert panel.locator("#mtn-lr").input_value() == "0.02"
    assert panel.locator("#mtn-momentum").input_value() == "0.9"
    assert panel.locator("#mtn-nesterov").is_checked()
    assert panel.locator("#mtn-arrows").is_checked()
    panel_id, params = hash_params(page)
    assert panel_id == "mountain"
    assert params == dict(pair.split("=") for pair in query.split("&"))
    shown = final_points(panel)

    # The same address in a fresh browser context gives the same climbers, to the last digit.
    other = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    other.server = server
    other.goto(page.url)
    other.wait_for_selector("body[data-ready='1']")
    wait_idle(other, "mountain")
    again = other.locator("#panel-mountain")
    assert final_points(again) == shown
    other.context.close()

    # Changing a control rewrites the address.
    panel.locator("#mtn-optimizer").select_option("adam")
    wait_idle(page, "mountain")
    params = hash_params(page)[1]
    assert params["optimizer"] == "adam" and params["betas"] == "0.9,0.999"
    assert "momentum" not in params and "nesterov" not in params


def test_errors_show_next_to_their_control(page):
    panel = open_panel(page, "mountain", "landscape=booth&start=0,0&lr=0.01&steps=100")
    formula = panel.locator("#mtn-formula")
    formula.fill("x**2 + y**")
    formula.press("Enter")
    error = panel.locator("[data-error-for='expression']")
    error.wait_for(state="visible")
    assert error.inner_text().strip()
    assert formula.get_attribute("aria-invalid") == "true"
    formula.fill("x**2 + 3*y**2")
    formula.press("Enter")
    error.wait_for(state="hidden")
    wait_idle(page, "mountain")
    assert hash_params(page)[1]["f"] == "x**2 + 3*y**2"
    assert final_points(panel)[0] == pytest.approx([0.0, 0.0], abs=1e-3)
    code = export_code(page)
    assert 'mountain = dh.landscapes.from_expression("x**2 + 3*y**2")' in code
    exported = ast.literal_eval(re.search(r"final point: (\[.*\])", run_python(code)).group(1))
    assert exported == final_points(panel)[0]

    # Nesterov needs momentum: the optimizer's own message, by the optimizer's settings.
    panel.get_by_label("Nesterov").check()
    options_error = panel.locator("[data-error-for='options']")
    options_error.wait_for(state="visible")
    assert "nesterov" in options_error.inner_text().lower()
    panel.get_by_label("Nesterov").uncheck()
    options_error.wait_for(state="hidden")

    lr = panel.locator("#mtn-lr")
    lr.fill("-1")
    lr.press("Enter")
    lr_error = panel.locator("[data-error-for='lr']")
    lr_error.wait_for(state="visible")
    assert "lr" in lr_error.inner_text()


def test_the_ground_readout_goes_with_its_mountain(page):
    # "Feel the ground" describes the spot where the last climber was dropped, on that
    # mountain: after a switch to another mountain it must not stay up with the old numbers.
    panel = open_panel(page, "mountain", "landscape=himmelblau&optimizer=sgd&lr=0.01&steps=200&start=0,0")
    box = page.locator("#mtn-plot .nsewdrag").first.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.4)
    ground = panel.locator("#mtn-ground")
    wait_until(page, "document.getElementById('mtn-ground').textContent.startsWith('Feel the ground')")
    said = ground.inner_text()
    panel.locator("#mtn-landscape").select_option("booth")
    wait_idle(page, "mountain")
    page.wait_for_timeout(300)
    assert ground.inner_text() == "", f"himmelblau's readout stayed up on booth: {said!r}"
