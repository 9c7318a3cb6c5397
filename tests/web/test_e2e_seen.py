"""What the learner sees, read from the screen's pixels (not from the charts' data).

Each test takes screenshots of a chart's drawing area and measures them: the
share of pixels drawn on (the terrain's colours against the white of an empty
chart), and colours at places. The charts' data structures can say the right
thing while nothing is drawn; these tests catch that.
"""

import pytest

from .e2e_support import browser, page, server  # noqa: F401 (fixtures)
from .e2e_support import (
    colour_near, grab, hash_params, ink_share, needs_browser, open_panel, plot_area, spread, wait_idle, wait_until,
)

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


def test_first_visit_says_it_is_loading(page):
    # Hold the charting bundle back for a moment: what does the learner see meanwhile?
    held = []

    def slow_bundle(route):
        held.append(route.request.url)
        page.wait_for_timeout(1500)
        route.continue_()

    page.route("**/vendor/plotly*.js", slow_bundle)
    page.goto(f"{page.server}/#speedometer", wait_until="commit")
    loading = page.locator("#loading")
    loading.wait_for(state="visible")
    assert "Loading" in loading.inner_text()
    box = loading.bounding_box()
    assert ink_share(grab(page, box), background=(246, 247, 244)) > 0.02  # its words and spinner are drawn
    page.wait_for_selector("body[data-ready='1']")
    assert loading.is_hidden()
    assert held


def test_first_visit_is_small(page):
    # A first-time visitor: no cache. Every response's size as it travelled (headers and
    # compressed body, as chromium's network layer counts them), until the page is quiet.
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    received, urls = [], []
    cdp.on("Network.loadingFinished", lambda event: received.append(event["encodedDataLength"]))
    page.on("request", lambda request: urls.append(request.url))
    page.goto(f"{page.server}/#speedometer")
    page.wait_for_selector("body[data-ready='1']")
    page.wait_for_load_state("networkidle")
    assert sum(received) <= 2_000_000, f"{sum(received)} bytes on the wire for the first panel"
    # Only the 2-D bundle: the 3-D view's waits until asked for.
    bundles = [url.rsplit("/", 1)[1] for url in urls if "/vendor/plotly" in url and url.endswith(".js")]
    assert bundles == ["plotly-cartesian.min.js"], bundles


def test_the_bundle_is_served_compressed(page):
    page.goto(f"{page.server}/")
    response = page.request.get(f"{page.server}/vendor/plotly-cartesian.min.js", headers={"accept-encoding": "gzip"})
    assert response.ok
    assert response.headers.get("content-encoding") == "gzip"


def test_a_refused_input_fades_the_old_picture(page):
    panel = open_panel(page, "mountain", "landscape=booth&start=0,0&lr=0.01&steps=100")
    page.mouse.move(0, 0)
    before = grab(page, plot_area(page, MAP))
    formula = panel.locator("#mtn-formula")
    formula.fill("x**2 + y**")
    formula.press("Enter")
    panel.locator("[data-error-for='expression']").wait_for(state="visible")
    wait_idle(page, "mountain")
    # The address holds the refused formula, so the old map must not pass for its picture.
    assert page.evaluate("() => decodeURIComponent(location.hash)").count("y**") == 1
    page.mouse.move(0, 0)
    after = grab(page, plot_area(page, MAP))
    assert spread(after) < 0.4 * spread(before), "the old map is drawn as if it were the refused mountain's"
    assert "Not redrawn" in page.evaluate(
        "() => getComputedStyle(document.querySelector('#panel-mountain .figures'), '::before').content")
    formula.fill("x**2 + 3*y**2")
    formula.press("Enter")
    panel.locator("[data-error-for='expression']").wait_for(state="hidden")
    wait_idle(page, "mountain")
    page.wait_for_timeout(100)
    assert ink_share(grab(page, plot_area(page, MAP))) > 0.9


@pytest.mark.parametrize(("panel", "query", "control", "refused", "fixed", "chart"), [
    ("speedometer", "f=x**3 - 3*x&x=1.5", "#speed-expression", "x**", "x**2 - 1", "#speed-plot"),
    ("learning-rate", "landscape=booth&start=-6,-6&steps=100", "#lr-formula", "x**2 + y**", "x**2 + 3*y**2", "#lr-map-good"),
    ("chain", "dataset=moons&hidden=4,4&lr=0.5&steps=200&seed=0", "#chain-steps", "100000000", "200", "#chain-boundary"),
])
def test_every_panel_fades_its_picture_when_an_input_is_refused(page, panel, query, control, refused, fixed, chart):
    # The same rule in every panel: the address holds the refused input, so the old
    # picture must not pass for its picture; the next accepted input brings it back.
    section = open_panel(page, panel, query)
    page.mouse.move(0, 0)
    before = grab(page, plot_area(page, chart))
    box = section.locator(control)
    box.fill(refused)
    box.press("Enter")
    section.locator(f"[data-control='{control[1:]}']").wait_for(state="visible")
    wait_idle(page, panel)
    assert refused in hash_params(page)[1].values()
    page.mouse.move(0, 0)
    after = grab(page, plot_area(page, chart))
    assert spread(after) < 0.4 * spread(before), f"{panel}: the old picture is drawn as if it were the refused input's"
    box.fill(fixed)
    box.press("Enter")
    section.locator(f"[data-control='{control[1:]}']").wait_for(state="hidden")
    wait_idle(page, panel)
    page.wait_for_timeout(300)
    page.mouse.move(0, 0)
    assert spread(grab(page, plot_area(page, chart))) > 0.6 * spread(before)


CHAIN = "#chain-boundary"


def test_the_boundary_moves_while_the_network_learns(page):
    panel = open_panel(page, "chain", "dataset=moons&hidden=4,4&lr=0.5&steps=400&seed=0")
    panel.locator("#chain-snapshot").fill("0")
    wait_until(page, "document.getElementById('panel-chain').dataset.snapshot === '0'")
    page.mouse.move(0, 0)
    page.wait_for_timeout(200)
    area = plot_area(page, CHAIN)
    start = grab(page, area)
    panel.get_by_role("button", name="Play", exact=True).click()
    wait_until(page, "+document.getElementById('panel-chain').dataset.snapshot >= 10")
    page.mouse.move(0, 0)
    middle = grab(page, area)
    wait_until(page, "document.getElementById('panel-chain').dataset.playing === '0'")
    page.wait_for_timeout(200)
    end = grab(page, area)
    changed = lambda a, b: float((abs(a - b).sum(axis=2) > 60).mean())  # noqa: E731
    assert changed(start, middle) > 0.05, "the boundary did not move while the network learned"
    assert changed(middle, end) > 0.01
    assert "at step 400" in panel.locator(CHAIN).inner_text()
    assert panel.locator("#chain-diverged").is_hidden()


def test_training_that_diverges_is_said(page):
    panel = open_panel(page, "chain", "dataset=moons&hidden=4,4&lr=20&steps=200&seed=0")
    said = panel.locator("#chain-diverged")
    assert said.is_visible()
    assert said.inner_text().startswith("Training diverged at step ")
    assert "smaller" in said.inner_text()


def test_a_new_mountain_fills_its_map(page):
    # Booth's map has equal scales on [-10, 10]; after a switch the new mountain's own range
    # must fill the map again (Plotly.react kept the old stretched x axis: a white band each side).
    panel = open_panel(page, "mountain", "landscape=booth&start=0,0&lr=0.01&steps=100")
    panel.locator("#mtn-landscape").select_option("six_hump_camel")
    wait_idle(page, "mountain")
    page.wait_for_timeout(200)
    page.mouse.move(0, 0)
    pixels = grab(page, plot_area(page, MAP))
    # Both edges drawn on: no white band where the old mountain's wider range stayed.
    edge = max(3, pixels.shape[1] // 20)
    for side, columns in (("left", pixels[:, :edge]), ("right", pixels[:, -edge:])):
        assert ink_share(columns) > 0.9, f"the map's {side} edge is blank: stale axes from the old mountain"
    assert ink_share(pixels) > 0.9
    ranges = page.evaluate("() => { const l = document.getElementById('mtn-plot')._fullLayout; return [l.xaxis.range, l.yaxis.range]; }")
    assert ranges == [[-3, 3], [-2, 2]]


def test_the_learning_rate_start_follows_the_landscape(page):
    panel = open_panel(page, "learning-rate", "landscape=booth&start=-6,-6&steps=100")
    panel.locator("#lr-landscape").select_option("rosenbrock")
    wait_idle(page, "learning-rate")
    wait_until(page, "document.getElementById('lr-map-good').layout.xaxis.range[1] === 2.048")
    page.mouse.move(0, 0)
    x, y = (float(v) for v in (panel.locator("#lr-start-x").input_value(), panel.locator("#lr-start-y").input_value()))
    assert abs(x) <= 2.048 and abs(y) <= 2.048, "the start stayed off rosenbrock's map"
    # The start (an orange dot) and a path are drawn on each of the three maps.
    for kind in ("small", "good", "big"):
        pixels = grab(page, plot_area(page, f"#lr-map-{kind}"))
        assert colour_near(pixels, "#ffb000", 40) > 20, f"no start drawn on the {kind} map"


def contrast_failures(page, section):
    return page.evaluate(
        """s => {
          const rgb = c => (c.match(/[\\d.]+/g) || []).map(Number);
          const lum = ([r, g, b]) => [r, g, b].map(v => v / 255)
            .map(v => v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4)
            .reduce((t, v, i) => t + v * [0.2126, 0.7152, 0.0722][i], 0);
          const background = e => {
            for (; e; e = e.parentElement) {
              const c = rgb(getComputedStyle(e).backgroundColor);
              if (c.length === 3 || (c.length === 4 && c[3] > 0.5)) return c.slice(0, 3);
            }
            return [255, 255, 255];
          };
          const out = [];
          for (const e of document.querySelectorAll(s + ' *, header *')) {
            if (e instanceof SVGElement || !e.getClientRects().length || e.closest('select, .modebar, [disabled]')) continue;
            const own = [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
            if (!own) continue;
            const fg = lum(rgb(getComputedStyle(e).color)), bg = lum(background(e));
            const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
            if (ratio < 4.5) out.push(`${e.tagName}.${e.className}: ${ratio.toFixed(2)} "${e.textContent.trim().slice(0, 30)}"`);
          }
          return out;
        }""",
        section,
    )


PANELS = [
    ("mountain", "landscape=himmelblau&lr=0.01&steps=200&start=0,0"),
    ("learning-rate", "landscape=booth&start=-6,-6&steps=100"),
    ("chain", "dataset=xor&hidden=4&lr=1&steps=100&seed=2"),
    ("speedometer", "f=x**3 - 3*x&x=1.5"),
]


@pytest.mark.parametrize(("panel", "query"), PANELS)
def test_text_contrast(page, panel, query):
    open_panel(page, panel, query)
    if panel == "chain":
        page.get_by_role("button", name="Link ▶").click()  # the links still to come are dimmed
    assert contrast_failures(page, f"#panel-{panel}") == []


@pytest.mark.parametrize(("panel", "query"), PANELS)
def test_no_chart_offers_the_cloud(page, panel, query):
    open_panel(page, panel, query)
    # Each chart's tool bar, as the learner sees it when the pointer is over the chart.
    charts = page.locator(f"#panel-{panel} .js-plotly-plot")
    assert charts.count() >= 1
    titles = []
    for i in range(charts.count()):
        charts.nth(i).scroll_into_view_if_needed()
        box = charts.nth(i).bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        titles += page.evaluate(
            "e => [...e.querySelectorAll('.modebar-btn')].map(b => b.getAttribute('data-title') || '')",
            charts.nth(i).element_handle())
    # Nothing on a chart may send the learner's data to Plotly's cloud, or link there.
    cloudy = [t for t in titles if any(w in t.lower() for w in ("share", "cloud", "chart studio", "edit in", "plotly"))]
    assert cloudy == []
    assert page.locator(f"#panel-{panel} a[href*='plotly'], #panel-{panel} a[href*='chart-studio']").count() == 0


def test_back_from_3d_the_map_and_its_climbers_are_drawn(page):
    panel = open_panel(page, "mountain", "landscape=himmelblau&optimizer=sgd&lr=0.01&steps=200&start=0,0&view=3d")
    if not page.evaluate("() => Boolean(document.createElement('canvas').getContext('webgl'))"):
        pytest.skip("this chromium offers no WebGL: the 3-D view is not drawn at all")
    wait_until(page, "document.getElementById('panel-mountain').dataset.view === '3d'")
    # The 3-D bundle came only now, when asked for.
    assert page.evaluate("() => [...document.scripts].some(s => s.src.endsWith('/vendor/plotly-gl3d.min.js'))")
    panel.get_by_label("3-D view").uncheck()
    wait_until(page, "document.getElementById('panel-mountain').dataset.view === 'map'")
    page.wait_for_timeout(200)
    page.mouse.move(0, 0)
    assert terrain_share(page) > 0.9
    assert colour_near(patch(page, pixel_of(page, MAP, 3.0, 2.0), radius=5), "#ff5a4f") > 10


def test_the_climbers_follow_the_map_when_the_window_changes(page):
    open_panel(page, "mountain", "landscape=himmelblau&optimizer=sgd&lr=0.01&steps=200&start=0,0")
    for width, height in ((768, 1024), (390, 844), (1280, 800)):
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(600)  # the charts follow the window on the next frames
        page.mouse.move(0, 0)
        at = patch(page, pixel_of(page, MAP, 3.0, 2.0), radius=4)
        assert colour_near(at, "#ff5a4f") > 8, f"the climber is not on its minimum at {width}x{height}"


@pytest.mark.parametrize(("query", "big_falls"), [
    ("landscape=booth&start=-6,-6&steps=100", True),
    ("landscape=ackley&start=-2.5,2.5&steps=100&lrs=0.0005,0.005,0.5", False),
])
def test_the_words_follow_what_each_rate_did(page, query, big_falls):
    panel = open_panel(page, "learning-rate", query)
    table = panel.locator("#lr-table tbody tr")
    statuses = {table.nth(i).get_attribute("data-kind"): table.nth(i).get_attribute("data-status") for i in range(3)}
    outcome = panel.locator("#lr-outcome").inner_text()
    parts = dict(zip(("small", "good", "big"), outcome.rstrip(".").split("; ")))
    for kind, status in statuses.items():
        assert ("fell off the mountain" in parts[kind]) == (status == "diverged"), (kind, status, parts[kind])
    assert (statuses["big"] == "diverged") == big_falls
    if not big_falls:
        assert "did not fall off" in parts["big"] or "did not fail" in parts["big"]


def test_the_chain_walks_down_its_own_error_mountain(page):
    panel = open_panel(page, "chain", "dataset=moons&hidden=4,4&lr=0.5&steps=400&seed=0")
    wait_until(page, "document.getElementById('chain-landscape').data !== undefined")
    slice_ = "#chain-landscape"
    page.mouse.move(0, 0)
    assert ink_share(grab(page, plot_area(page, slice_))) > 0.9  # the mountain fills the slice
    # The trained network is the star at the centre; the loss there is the run's final loss.
    assert colour_near(patch(page, pixel_of(page, slice_, 0.0, 0.0), radius=6), "#ffd400") > 8
    centre = float(page.evaluate("() => document.getElementById('chain-landscape-note').textContent.match(/loss ([\\d.e-]+)/)[1]"))
    assert centre == pytest.approx(float(panel.get_attribute("data-final-loss")), rel=1e-3)
    # The orange dot follows the snapshot: at step 0 it sits at the path's first point.
    panel.locator("#chain-snapshot").fill("0")
    page.wait_for_timeout(300)
    first = page.evaluate("() => document.getElementById('chain-landscape').data[1].x[0]"), \
        page.evaluate("() => document.getElementById('chain-landscape').data[1].y[0]")
    page.mouse.move(0, 0)
    assert colour_near(patch(page, pixel_of(page, slice_, *first), radius=6), "#ffb000") > 8


def test_a_typed_formulas_basin_map_is_coloured_by_its_minima(page):
    # A typed formula has no list of minima: they are found from where the climbers end.
    # (x-3)**2 + 10*sin(y)**2 has its minima at (3, k*pi): on the map's [-5, 5], three
    # whole bands of starts (around y = -pi, 0, pi) and two thin ones at the edges.
    panel = open_panel(page, "mountain", "f=(x-3)**2 %2B 10*sin(y)**2&lr=0.01&steps=200&start=&basins=1&detail=60")
    wait_until(page, "document.querySelectorAll('#mtn-basin-legend li').length >= 1")
    page.mouse.move(0, 0)
    page.wait_for_timeout(300)
    # f has period pi in y, so the terrain under (-3, -pi), (-3, 0) and (-3, pi) is one colour:
    # what tells them apart on the screen is the basin each start belongs to.
    colours = [patch(page, pixel_of(page, MAP, -3.0, y), radius=6).reshape(-1, 3).mean(axis=0)
               for y in (-3.14159, 0.0, 3.14159)]
    for i in range(3):
        for j in range(i):
            assert abs(colours[i] - colours[j]).sum() > 40, (
                f"starts around y = {(-3.14, 0, 3.14)[j]} and {(-3.14, 0, 3.14)[i]} are painted alike: "
                f"{colours[j].round()} and {colours[i].round()} (one grey basin of 'away'?)")
    # A star on each minimum found.
    for y in (-3.14159, 0.0, 3.14159):
        assert colour_near(patch(page, pixel_of(page, MAP, 3.0, y), radius=6), "#ffd400") > 8, f"no star at (3, {y:.2f})"
    legend = panel.locator("#mtn-basin-legend").inner_text()
    assert "(3, 0)" in legend and "(3, 3.14)" in legend and "(3, -3.14)" in legend
    assert "known minimum" not in legend  # found where the climbers gathered, not known
    assert "away from every minimum found" not in legend or float(
        legend.split("away from every minimum found: ")[1].split("%")[0]) <= 1
    hover = page.evaluate("() => document.getElementById('mtn-plot').data.find(t => t.marker && t.marker.symbol === 'star').name")
    assert hover == "minimum found"


@pytest.mark.parametrize("query", [
    "landscape=booth&start=-6,-6&steps=100",
    "landscape=booth&start=-6,-6&steps=100&lrs=0.001,0.1,1",
])
def test_no_rate_that_fell_off_is_painted_good(page, query):
    # The sweep chart: every rate the sweep climbed at, coloured by what it did. Nothing
    # green (good) may be drawn at or past the first rate that falls off the mountain
    # (a band halfway between sampled rates called 0.12 to 0.147 good on booth).
    open_panel(page, "learning-rate", query)
    chart = "#lr-bound"
    rows = page.evaluate("() => document.getElementById('lr-bound').data[0].x")
    statuses = page.evaluate(
        "() => document.getElementById('lr-bound').data[1].text.map(t => t.split(': ')[1])")
    # On booth, a quadratic bowl, every rate past 2/L = 1/9 falls off, sampled or not.
    bound = float(page.locator("#panel-learning-rate").get_attribute("data-max-stable-lr"))
    assert bound == pytest.approx(1 / 9)
    first_fall = min([bound] + [lr for lr, status in zip(rows, statuses) if status == "diverged"])
    page.mouse.move(0, 0)
    box = plot_area(page, chart)
    pixels = grab(page, box)
    import numpy as np

    # A shaded band: columns whose usual colour leans green against blue: a 12% green wash
    # is about (229, 244, 236) over white and (228, 228, 220) over the unstable side's red
    # wash, while white is (255, 255, 255) and the red wash alone (252, 239, 238).
    median = np.median(pixels, axis=0)
    green_lean = median[:, 1] - median[:, 2]
    px = lambda lr, value: page.evaluate(  # noqa: E731
        "([s, x, y]) => { const l = document.querySelector(s)._fullLayout; return [l.xaxis.c2p(x), l.yaxis.c2p(y)]; }",
        [chart, lr, value])
    column = int(round(px(first_fall, 1.0)[0]))
    assert 0 < column < pixels.shape[1]
    washed = np.flatnonzero(green_lean[column + 3:] > 4)  # past the dashed 2/L line
    # The band of rates the sweep saw arrive is shaded (between two tried rates).
    band = page.evaluate("() => document.getElementById('lr-bound').layout.shapes.filter(s => s.fillcolor === '#2ca25f').map(s => [s.x0, s.x1])")
    assert len(band) == 1
    inside = green_lean[int(px(band[0][0], 1.0)[0]) + 2:int(px(band[0][1], 1.0)[0]) - 2]
    assert inside.size and (inside > 4).mean() > 0.8, "the good band is not drawn"
    assert washed.size == 0, f"shaded good at or past lr = {first_fall:g} ({washed.size} columns), which falls off"
    # Each rate that fell off is drawn as a cross that is not green.
    ys = page.evaluate("() => document.getElementById('lr-bound').data[1].y")
    crosses = [(lr, y) for lr, y, status in zip(rows, ys, statuses) if status == "diverged"]
    assert crosses
    for lr, y in crosses:
        cx, cy = px(lr, y)
        around = pixels[max(0, int(cy) - 3):int(cy) + 4, max(0, int(cx) - 3):int(cx) + 4]
        assert colour_near(around, "#2ca25f", 60) == 0, f"lr = {lr:g} fell off and is drawn green"
        assert colour_near(around, "#d6352b", 60) > 0, f"lr = {lr:g} fell off and is not drawn as too big"
