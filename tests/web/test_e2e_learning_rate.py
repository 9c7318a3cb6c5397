"""The learning-rate panel in a real browser: three rates side by side, the 2/L bound, schedules, export."""

import re

import pytest

from .e2e_support import browser, page, server  # noqa: F401 (fixtures)
from .e2e_support import (
    colour_near,
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


def rows(panel):
    table = panel.locator("#lr-table tbody tr")
    return {table.nth(i).get_attribute("data-kind"): table.nth(i) for i in range(table.count())}


def test_three_rates_and_the_stability_bound(page):
    panel = open_panel(page, "learning-rate")
    # Booth's bowl has curvature L = 18 everywhere: 2/L = 0.111...; the advice sets 0.1/L, 1/L, 2.2/L.
    assert "2/L = 0.111111" in panel.locator("#lr-advice").inner_text()
    assert data(panel, "max-stable-lr") == pytest.approx(2 / 18)
    # The three rates come from a sweep of real climbs (optim.three_rates), not from the curvature.
    from downhill.optim.three_rates import three_rates

    chosen = three_rates("booth", [-6.0, -6.0], steps=100)
    params = hash_params(page)[1]
    assert params["lrs"] == ",".join(f"{float(f'{v:.3g}'):g}" for v in chosen.rates)
    by_kind = rows(panel)
    assert by_kind["small"].get_attribute("data-status") == "max_steps"
    assert by_kind["good"].get_attribute("data-final-point") is not None
    assert data(by_kind["good"], "final-point") == pytest.approx([1.0, 3.0], abs=0.05)
    assert by_kind["big"].get_attribute("data-status") == "diverged"
    assert "fell off at step" in by_kind["big"].inner_text()
    # The bound is drawn on the sweep, with the unstable side shaded.
    shapes = page.evaluate("() => document.getElementById('lr-bound').layout.shapes.map(s => [s.type, s.x0])")
    assert ["line", pytest.approx(2 / 18)] in [[t, x] for t, x in shapes]
    assert "2/L = 0.1111" in panel.locator("#lr-bound").inner_text()
    for kind in ("small", "good", "big"):
        assert panel.locator(f"#lr-map-{kind} .scatterlayer .trace").count() >= 2
    assert page.evaluate("() => document.getElementById('lr-loss').data.length") == 3
    screenshot(page, "learning-rate")

    code = export_code(page)
    assert "dh.lr_advice(\"booth\", start)" in code
    printed = run_python(code)
    assert "2/L = 0.111111" in printed
    big = params["lrs"].split(",")[2]
    steps = int(re.search(r"fell off at step (\d+)", by_kind["big"].inner_text()).group(1))
    assert f"lr={big}: diverged at step {steps}" in printed


def test_schedule_changes_the_rates_and_rides_in_the_address(page):
    panel = open_panel(page, "learning-rate", "landscape=booth&start=-6,-6&steps=100&lrs=0.00556,0.0556,0.122")
    panel.locator("#lr-schedule").select_option("cosine")
    wait_idle(page, "learning-rate")
    wait_until(page, "document.getElementById('lr-schedule-T_max') !== null")
    params = hash_params(page)[1]
    assert params["schedule"] == "cosine" and params["s_T_max"] == "100"
    rates = page.evaluate("() => document.getElementById('lr-schedule-plot').data.map(t => [t.y[0], t.y[t.y.length - 1]])")
    for first, last in rates:
        assert last < first / 10  # annealed towards zero
    # Annealed, the big rate no longer falls off.
    assert rows(panel)["big"].get_attribute("data-status") != "diverged"
    panel.locator("#lr-schedule-T_max").fill("50")
    panel.locator("#lr-schedule-T_max").press("Enter")
    wait_idle(page, "learning-rate")
    wait_until(page, "location.hash.includes('s_T_max=50')")
    code = export_code(page)
    assert 'schedule=("cosine", {"T_max": 50, "eta_min": 0})' in code
    assert "lr=0.122:" in run_python(code)

    # A typed rate: a bad one is refused next to the rates.
    small = panel.locator("#lr-small")
    small.fill("-0.1")
    small.press("Enter")
    error = panel.locator("[data-error-for='lr']")
    error.wait_for(state="visible")
    assert "lr" in error.inner_text()


def test_advice_follows_the_start_and_the_mountain(page):
    panel = open_panel(page, "learning-rate", "landscape=rosenbrock&start=-1.5,2&steps=200")
    assert "L = 2092.25" in panel.locator("#lr-advice").inner_text()
    from downhill.optim.three_rates import three_rates

    chosen = three_rates("rosenbrock", [-1.5, 2.0], steps=200).rates  # from climbs, not from L
    assert hash_params(page)[1]["lrs"] == ",".join(f"{float(f'{v:.3g}'):g}" for v in chosen)
    # Click a map: the start moves there, and the advice is for the new start.
    box = page.locator("#lr-map-good .nsewdrag").first.bounding_box()
    (x0, x1), (y0, y1) = page.evaluate("() => { const l = document.getElementById('lr-map-good').layout; return [l.xaxis.range, l.yaxis.range]; }")
    page.mouse.click(box["x"] + box["width"] * (0 - x0) / (x1 - x0), box["y"] + box["height"] * (y1 - 0) / (y1 - y0))
    wait_until(page, "!location.hash.includes('start=-1.5,2')")
    wait_idle(page, "learning-rate")
    x, y = map(float, hash_params(page)[1]["start"].split(","))
    assert abs(x) < 0.05 and abs(y) < 0.05
    assert f"at [{x}, {y}]" in panel.locator("#lr-advice").inner_text()
    panel.locator("#lr-formula").fill("x**2 + 10*y**2")
    panel.locator("#lr-formula").press("Enter")
    wait_idle(page, "learning-rate")
    wait_until(page, "document.getElementById('lr-advice').textContent.includes('L = 20 ')")
    assert hash_params(page)[1]["f"] == "x**2 + 10*y**2"
    assert panel.locator("#lr-landscape").input_value() == ""


@pytest.mark.parametrize("landscape", ["sphere", "rosenbrock", "himmelblau", "ackley"])
def test_each_mountain_from_its_own_start_with_rates_that_do_what_they_say(page, landscape):
    panel = open_panel(page, "learning-rate", "landscape=booth&steps=100")
    panel.locator("#lr-landscape").select_option(landscape)
    wait_idle(page, "learning-rate")
    wait_until(page, f"location.hash.includes('landscape={landscape}')")
    wait_idle(page, "learning-rate")
    import downhill as dh

    start = [float(v) for v in dh.landscapes.get(landscape).start]
    assert [float(panel.locator("#lr-start-x").input_value()), float(panel.locator("#lr-start-y").input_value())] == start
    by_kind = rows(panel)
    status = {k: r.get_attribute("data-status") for k, r in by_kind.items()}
    final = {k: float(r.locator("td").nth(4).inner_text()) if status[k] != "diverged" else float("inf")
             for k, r in by_kind.items()}
    assert status["small"] != "diverged"
    assert final["good"] < final["small"]
    outcome = panel.locator("#lr-outcome").inner_text()
    if status["big"] == "diverged":
        assert "too big" in outcome and "fell off the mountain" in outcome.split("; ")[2]
    else:  # a bounded mountain: too big fails by ending higher, and the words say so
        assert final["big"] > final["good"]
        assert "did not fall off" in outcome.split("; ")[2]


def curve_ends(page, chart, colours):
    """Where each coloured curve of a 2-D chart ends on the screen: {name: (column, row)}
    of its rightmost drawn pixels (the legend's box left out)."""
    import numpy as np

    from .e2e_support import grab, plot_area

    box = plot_area(page, chart)
    pixels = grab(page, box)
    legend = page.locator(f"{chart} .legend").first
    if legend.count():
        lb = legend.bounding_box()
        x0, y0 = int(lb["x"] - box["x"]), int(lb["y"] - box["y"])
        pixels[max(0, y0):max(0, y0 + int(lb["height"]) + 1), max(0, x0):max(0, x0 + int(lb["width"]) + 1)] = 255
    ends = {}
    for name, colour in colours.items():
        rgb = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)])
        rows, cols = np.nonzero(np.abs(pixels - rgb).sum(axis=2) <= 40)
        assert cols.size, f"no {name} curve drawn on {chart}"
        last = cols.max()
        ends[name] = (int(last), float(np.median(rows[cols >= last - 2])))
    return ends


@pytest.mark.parametrize("landscape", ["sphere", "rosenbrock", "himmelblau", "ackley"])
def test_what_each_rate_did_is_seen_on_the_charts(page, landscape):
    # Read off the screen, not the table: the good curve ends lower than the too-small one;
    # too big either leaves its map (it fell off) or, on a bounded mountain, ends higher than good.
    from .e2e_support import grab, ink_share, plot_area

    panel = open_panel(page, "learning-rate", f"landscape={landscape}&steps=100")
    page.mouse.move(0, 0)
    page.wait_for_timeout(200)
    big = panel.locator("#lr-table tbody tr[data-kind='big']").get_attribute("data-status")
    ends = curve_ends(page, "#lr-loss", {"small": "#4e79a7", "good": "#2ca25f"})
    good = panel.locator("#lr-table tbody tr[data-kind='good']").get_attribute("data-status")
    # (A climb that arrives at f = 0 exactly leaves a log axis there: its curve just stops.)
    arrived_at_zero = good == "converged" and ends["good"][0] < ends["small"][0] - 20
    assert arrived_at_zero or ends["good"][1] > ends["small"][1] + 3, f"good does not end below too small on the screen: {ends}"
    pixels = grab(page, plot_area(page, "#lr-map-big"))
    edges = [pixels[:4], pixels[-4:], pixels[:, :4], pixels[:, -4:]]
    red_at_edge = sum(colour_near(edge, "#d6352b", 40) for edge in edges)
    if big == "diverged":
        assert red_at_edge > 0, "too big fell off, but its path does not leave its map"
    else:
        both = curve_ends(page, "#lr-loss", {"good": "#2ca25f", "big": "#d6352b"})
        assert both["big"][1] < both["good"][1] - 3, f"too big does not end above good on the screen: {both}"
    assert ink_share(pixels) > 0.9  # the big map's mountain drawn, the start on it
