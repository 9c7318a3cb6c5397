"""What the learner sees, read from the screen's pixels (not from the charts' data).

Each test takes screenshots of a chart's drawing area and measures them: the
share of pixels drawn on (the terrain's colours against the white of an empty
chart), and colours at places. The charts' data structures can say the right
thing while nothing is drawn; these tests catch that.
"""

import pytest

from .e2e_support import browser, page, server  # noqa: F401 (fixtures)
from .e2e_support import colour_near, grab, ink_share, needs_browser, open_panel, plot_area, wait_idle, wait_until

pytestmark = needs_browser

MAP = "#mtn-plot"


def terrain_share(page):
    return ink_share(grab(page, plot_area(page, MAP)))


def wait_still(page):
    wait_idle(page, "mountain")
    wait_until(page, "document.getElementById('panel-mountain').dataset.playing === '0'")


def test_the_mountain_stays_drawn_while_climbers_move(page):
    panel = open_panel(page, "mountain", "landscape=himmelblau&optimizer=sgd&lr=0.01&steps=200&start=0,0")
    page.mouse.move(0, 0)
    first = terrain_share(page)
    # Himmelblau's map is coloured everywhere: nearly every pixel is terrain.
    assert first > 0.9

    def still_drawn(when):
        share = terrain_share(page)
        assert share > 0.9 * first, f"{when}: only {share:.0%} of the map is drawn (first frame: {first:.0%})"

    # A click drops a climber and plays its walk: look mid-walk, and at the end.
    box = plot_area(page, MAP)
    page.mouse.click(box["x"] + box["width"] * 0.8, box["y"] + box["height"] * 0.3)
    wait_until(page, "+document.getElementById('panel-mountain').dataset.frame > 0")
    page.mouse.move(0, 0)
    still_drawn("while a dropped climber walks")
    wait_still(page)
    still_drawn("after the walk")
    for button in ("Reset", "Step", "Step"):
        panel.get_by_role("button", name=button, exact=True).click()
        page.wait_for_timeout(100)
        still_drawn(f"after {button}")
    panel.get_by_role("button", name="Play", exact=True).click()
    wait_until(page, "document.getElementById('panel-mountain').dataset.playing === '1'")
    page.wait_for_timeout(200)
    still_drawn("while playing")
    wait_still(page)
    still_drawn("after playing")
    panel.get_by_label("x", exact=True).fill("-3")
    panel.get_by_label("y", exact=True).fill("3")
    panel.get_by_role("button", name="Add climber").click()
    wait_until(page, "document.querySelectorAll('#mtn-table tbody tr').length === 3")
    wait_still(page)
    still_drawn("after Add climber")


def pixel_of(page, selector, x, y):
    """Where the data point (x, y) of a 2-D chart is on the screen."""
    box = plot_area(page, selector)
    (x0, x1), (y0, y1) = page.evaluate(
        "s => { const l = document.querySelector(s)._fullLayout; return [l.xaxis.range, l.yaxis.range]; }", selector)
    return box["x"] + box["width"] * (x - x0) / (x1 - x0), box["y"] + box["height"] * (y1 - y) / (y1 - y0)


def patch(page, centre, radius=9):
    cx, cy = centre
    return grab(page, {"x": cx - radius, "y": cy - radius, "width": 2 * radius, "height": 2 * radius})


def test_a_climber_is_drawn_where_it_stands(page):
    # The climber sits on the map's own coordinates: its marker at (3, 2), the minimum it reached.
    open_panel(page, "mountain", "landscape=himmelblau&optimizer=sgd&lr=0.01&steps=200&start=0,0")
    page.mouse.move(0, 0)
    at = patch(page, pixel_of(page, MAP, 3.0, 2.0), radius=5)
    assert colour_near(at, "#ff5a4f") > 10  # climber 1's colour, under its marker
    away = patch(page, pixel_of(page, MAP, -3.0, -3.0), radius=5)
    assert colour_near(away, "#ff5a4f") == 0


def test_falling_off_is_shown_on_the_map(page):
    panel = open_panel(page, "mountain", "landscape=himmelblau&optimizer=sgd&lr=10&steps=200&start=0,0")
    wait_until(page, "document.getElementById('panel-mountain').dataset.playing !== '1'")
    page.mouse.move(0, 0)
    # The first step goes from (0, 0) towards (140, 220): it leaves the map through its top edge,
    # at x = 5 * 140 / 220. A red cross is drawn there, and a sentence beside the map says why.
    exit_x = 5 * 140 / 220
    cross = patch(page, pixel_of(page, MAP, exit_x, 5.0), radius=10)
    assert colour_near(cross, "#d6352b") > 15, "no red cross where the climber left the map"
    elsewhere = patch(page, pixel_of(page, MAP, -exit_x, 5.0), radius=10)
    assert colour_near(elsewhere, "#d6352b") < 3
    sentence = panel.locator("#mtn-falls")
    assert sentence.is_visible()
    assert "Climber 1 fell off the mountain at step" in sentence.inner_text()
    assert "smaller learning rate" in sentence.inner_text()
    # Beside the map, not below the fold: its top within the first screen at 1280x800.
    assert sentence.bounding_box()["y"] < 800 + page.evaluate("() => window.scrollY")


def test_first_visit_is_small_and_says_it_is_loading(page):
    # Hold the charting bundle back for a moment: what does the learner see meanwhile?
    held = []

    def slow_bundle(route):
        held.append(route.request.url)
        page.wait_for_timeout(1500)
        route.continue_()

    page.route("**/vendor/plotly-*.js", slow_bundle)
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    received = []
    cdp.on("Network.loadingFinished", lambda event: received.append(event["encodedDataLength"]))
    page.goto(f"{page.server}/#speedometer", wait_until="commit")
    loading = page.locator("#loading")
    loading.wait_for(state="visible")
    assert "Loading" in loading.inner_text()
    box = loading.bounding_box()
    assert ink_share(grab(page, box), background=(246, 247, 244)) > 0.02  # its words and spinner are drawn
    page.wait_for_selector("body[data-ready='1']")
    assert loading.is_hidden()
    page.wait_for_load_state("networkidle")
    # Only the 2-D bundle: the 3-D view's waits until asked for.
    assert [url.rsplit("/", 1)[1] for url in held] == ["plotly-cartesian.min.js"]
    assert sum(received) <= 2_000_000, f"{sum(received)} bytes on the wire for the first panel"


def test_the_bundle_is_served_compressed(page):
    page.goto(f"{page.server}/")
    response = page.request.get(f"{page.server}/vendor/plotly-cartesian.min.js", headers={"accept-encoding": "gzip"})
    assert response.ok
    assert response.headers.get("content-encoding") == "gzip"
