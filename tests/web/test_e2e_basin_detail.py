"""The basin map at the playground's finest detail (500 x 500 climbers), on a laptop and on a phone, by its pixels.

A map of n x n starts drawn over L screen pixels is blurred by the browser
over L/n pixels at each border between two basins: at 60 x 60 a border is a
band of several pixels, at 500 x 500 (finer than the screen) about one or two.
The test reads that band's width off a screenshot of the plot area, between
Himmelblau's two left basins (purple above, green below).
"""

import json

import numpy as np
import pytest

from .e2e_support import browser, page, server  # noqa: F401 (fixtures)
from .e2e_support import export_code, grab, hash_params, needs_browser, open_panel, plot_area, wait_idle, wait_until

pytestmark = needs_browser

SIZES = {"laptop": (1280, 800), "phone": (390, 844)}
QUERY = "landscape=himmelblau&lr=0.01&steps=200&start=&basins=1"


def border_width(pixels) -> float:
    """The median width (pixels) of the band between the purple and the green basin, column by column."""
    height, width, _ = pixels.shape
    green_minus_red = pixels[..., 1] - pixels[..., 0]  # < 0 on purple, > 0 on green
    widths = []
    for x in range(int(0.05 * width), int(0.35 * width)):
        column = green_minus_red[int(0.3 * height):int(0.7 * height), x]
        purple, green = np.median(column[:10]), np.median(column[-10:])
        assert purple < 0 < green, "the two basins are not where Himmelblau's map has them"
        low, high = purple + 0.15 * (green - purple), purple + 0.85 * (green - purple)
        widths.append(int(((column > low) & (column < high)).sum()))
    return float(np.median(widths))


def show_basins(browser, server, size, detail=None):  # noqa: F811 (the fixtures' names)
    """Open the mountain panel with the basin map at ``size``; (pixels of the plot area, the request, the summary)."""
    width, height = size
    context = browser.new_context(viewport={"width": width, "height": height}, device_scale_factor=1)
    page = context.new_page()
    page.set_default_timeout(60_000)
    errors, bodies = [], []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("request", lambda r: bodies.append(json.loads(r.post_data)) if r.url.endswith("/api/basins") else None)
    try:
        page.goto(f"{server}/#mountain?{QUERY}" + (f"&detail={detail}" if detail else ""))
        page.wait_for_selector("body[data-ready='1']")
        wait_idle(page, "mountain")
        wait_until(page, "document.querySelectorAll('#mtn-basin-legend li').length === 4")
        page.mouse.move(0, 0)  # no hover label over the map
        page.wait_for_timeout(300)  # the heatmap's image is drawn on the next frame
        pixels = grab(page, plot_area(page, "#mtn-plot"))
        summary = page.locator("#mtn-basin-summary").inner_text()
        chosen = page.locator("#mtn-basin-grid").input_value()
    finally:
        context.close()
    assert not errors, errors
    return pixels, bodies[-1], summary, chosen


@pytest.mark.parametrize("size", list(SIZES))
def test_the_playground_draws_a_500_by_500_basin_map_as_sharp_as_the_screen(browser, server, size):  # noqa: F811
    pixels, body, summary, chosen = show_basins(browser, server, SIZES[size])
    # By default the page asks for the sharpest map the server allows at 200 steps: 500 x 500,
    # without each start's final point (the map alone: a small answer, also for a phone).
    assert chosen == "0" and body["grid"] == 500 and body["per_start"] is False
    assert "250,000 climbers (500 × 500)" in summary
    sharp = border_width(pixels)
    assert sharp <= 2.5, f"the border between two basins is {sharp} px wide at {size}"
    # The quick choice, 60 x 60, for contrast: the same measure sees its coarse cells.
    coarse_pixels, coarse_body, coarse_summary, chosen = show_basins(browser, server, SIZES[size], detail=60)
    assert chosen == "60" and coarse_body["grid"] == 60 and "(60 × 60)" in coarse_summary
    coarse = border_width(coarse_pixels)
    assert coarse >= sharp + 1.5, (sharp, coarse)


def test_the_detail_control_redraws_the_map_and_goes_in_the_address(page):  # noqa: F811
    panel = open_panel(page, "mountain", QUERY + "&detail=60")
    wait_until(page, "document.getElementById('mtn-basin-summary').textContent.includes('(60 × 60)')")
    panel.get_by_label("Basin map detail").select_option("125")
    wait_until(page, "document.getElementById('mtn-basin-summary').textContent.includes('(125 × 125)')")
    assert hash_params(page)[1]["detail"] == "125"
    assert page.evaluate("() => document.getElementById('mtn-plot').data.find(t => t.type === 'heatmap' && "
                         "t.opacity).z.length") == 125
    assert "grid=125" in export_code(page)
    # Back to the sharpest that fits: 10,000 steps allow 70 x 70 starts (50 million climber-steps), so 60.
    panel.get_by_label("Basin map detail").select_option("0")
    panel.get_by_label("Steps").fill("10000")
    panel.get_by_label("Steps").press("Enter")
    wait_until(page, "document.getElementById('mtn-basin-summary').textContent.includes('(60 × 60)')")
    assert "detail" not in hash_params(page)[1]
