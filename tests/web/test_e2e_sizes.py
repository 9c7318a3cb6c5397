"""Every panel on a projector, a tablet and a phone: one column on small screens, no
horizontal scrolling, every chart at least 300 px wide and drawn, every control
reachable with the Tab key and in sight when it has the focus."""

import pytest

from .e2e_support import browser, server  # noqa: F401 (fixtures)
from .e2e_support import SCREENSHOTS, grab, ink_share, needs_browser, wait_idle

pytestmark = needs_browser

SIZES = {"laptop": (1280, 800), "tablet": (768, 1024), "phone": (390, 844)}
PANELS = {
    "speedometer": "f=x**3 - 3*x&x=1.5",
    "mountain": "landscape=himmelblau&lr=0.01&steps=200&start=0,0",
    "chain": "dataset=moons&hidden=4,4&lr=0.5&steps=200&seed=0",
    "learning-rate": "landscape=booth&start=-6,-6&steps=100",
}


@pytest.fixture
def sized(browser, server, request):
    width, height = SIZES[request.param]
    context = browser.new_context(viewport={"width": width, "height": height}, device_scale_factor=1)
    tab = context.new_page()
    tab.set_default_timeout(30_000)
    errors = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.server = server
    tab.size = (width, height)
    yield tab
    context.close()
    assert not errors, errors


@pytest.mark.parametrize("panel", list(PANELS))
@pytest.mark.parametrize("sized", list(SIZES), indirect=True)
def test_every_panel_fits_the_screen(sized, panel, request):
    page = sized
    width, _ = page.size
    page.goto(f"{page.server}/#{panel}?{PANELS[panel]}")
    page.wait_for_selector("body[data-ready='1']")
    wait_idle(page, panel)
    page.wait_for_timeout(300)  # charts follow the window's size on the next frame
    section = f"#panel-{panel}"

    # No horizontal scrolling: nothing is wider than the screen.
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    wide = page.evaluate(
        """([s, w]) => [...document.querySelectorAll(s + ' *, header *')]
             .filter(e => !(e instanceof SVGElement))  // a chart's own drawing is clipped to its box
             .filter(e => e.getClientRects().length && e.getBoundingClientRect().right > w + 0.5)
             .filter(e => !e.closest('table.results, .link-table'))  // these scroll in their own box
             .map(e => e.id || e.className.baseVal || e.className || e.tagName).slice(0, 5)""",
        [section, width],
    )
    assert wide == []

    # Every chart at least 300 px wide, and drawn on (pixels, not data).
    plots = page.locator(f"{section} .plot")
    assert plots.count() >= 1
    for i in range(plots.count()):
        plot = plots.nth(i)
        plot.scroll_into_view_if_needed()
        box = plot.bounding_box()
        name = plot.get_attribute("id")
        assert box["width"] >= 300, f"{name} is {box['width']:.0f} px wide at {page.size}"
        assert ink_share(grab(page, box)) > 0.03, f"{name} looks empty at {page.size}"
        # ... and its axes use the chart: no legend or colour bar squeezing them into a strip.
        area = plot.locator(".nsewdrag").first
        if area.count():
            inner = area.bounding_box()
            share = inner["width"] * inner["height"] / (box["width"] * box["height"])
            assert share >= 0.3, f"{name}'s axes fill {share:.0%} of it at {page.size}"
            # On a phone the drawing itself, inside the axes, has most of the screen's width
            # (a colour bar beside a square map left it 225 px of 370).
            if width < 500:
                assert inner["width"] >= 250, f"{name} draws in {inner['width']:.0f} px of {box['width']:.0f} at {page.size}"
        # Each axis title clear of its tick labels (a log axis's 10^-12 is wide).
        clashes = plot.evaluate(
            """e => {
              const out = [];
              const meets = (a, b) => a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1;
              for (const [title, ticks] of [['.g-ytitle', '.ytick text'], ['.g-xtitle', '.xtick text']]) {
                for (const t of e.querySelectorAll(title + ' text')) {
                  const box = t.getBoundingClientRect();
                  for (const label of e.querySelectorAll(ticks))
                    if (label.textContent && meets(box, label.getBoundingClientRect())) out.push(`${t.textContent} / ${label.textContent}`);
                }
              }
              return out;
            }"""
        )
        assert clashes == [], f"{name}: axis titles over tick labels at {page.size}: {clashes[:3]}"
        # Its title whole, inside the chart's box (a long one ran off both sides on a phone).
        cut = plot.evaluate(
            """e => { const b = e.getBoundingClientRect();
                      return [...e.querySelectorAll('.g-gtitle text')].map(t => [t.textContent, t.getBoundingClientRect()])
                        .filter(([, r]) => r.left < b.left - 0.5 || r.right > b.right + 0.5).map(([t]) => t); }"""
        )
        assert cut == [], f"{name}: title cut at {page.size}: {cut}"

    # Small screens: one column (the controls above the charts, the charts above one another).
    if width < 1100:
        controls = page.locator(f"{section} .controls").first.bounding_box()
        figures = page.locator(f"{section} .figures").first.bounding_box()
        assert figures["y"] >= controls["y"] + controls["height"] - 1
    if width < 800:
        lefts = {round(plots.nth(i).bounding_box()["x"]) for i in range(plots.count())}
        assert len(lefts) == 1, f"charts side by side on a phone: left edges {sorted(lefts)}"

    # The picture of the panel at this size: SCREENSHOTS/<panel>-<size>.png (the whole page).
    page.mouse.move(0, 0)
    page.evaluate("() => window.scrollTo(0, 0)")
    page.wait_for_timeout(150)
    size = request.node.callspec.params["sized"]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{panel}-{size}.png"), full_page=True)

    # The keyboard reaches every control of the panel and the header.
    page.evaluate("() => { window.scrollTo(0, 0); document.activeElement && document.activeElement.blur(); }")
    wanted = set(page.evaluate(
        """s => [...document.querySelectorAll(s + ' input, ' + s + ' select, ' + s + ' button, header button')]
             .filter(e => e.getClientRects().length && !e.disabled && !e.closest('.modebar'))
             .filter(e => e.getAttribute('role') !== 'tab' || e.getAttribute('aria-selected') === 'true')  // arrows move between tabs
             .map(e => e.id).filter(Boolean)""",
        section,
    ))
    reached, hidden = set(), {}
    for _ in range(len(wanted) * 3 + 20):
        page.keyboard.press("Tab")
        # Where the focus lands, and whether the learner can see it there: inside the
        # window and not under anything (the sticky header, a chart's overlay).
        focused, seen = page.evaluate(
            """() => {
              const e = document.activeElement;
              if (!e || !e.id) return [null, ''];
              const r = e.getBoundingClientRect();
              if (r.width < 1 || r.height < 1) return [e.id, 'no size'];
              if (r.left < -0.5 || r.top < -0.5 || r.right > innerWidth + 0.5 || r.bottom > innerHeight + 0.5)
                return [e.id, `outside the window at (${Math.round(r.left)}, ${Math.round(r.top)})`];
              const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
              const ok = hit && (hit === e || e.contains(hit) || hit.control === e);
              return [e.id, ok ? '' : `under ${hit ? (hit.id || hit.tagName) : 'nothing'}`];
            }"""
        )
        if focused in wanted:
            reached.add(focused)
            if seen:
                hidden[focused] = seen
        if wanted <= reached:
            break
    assert wanted - reached == set()
    assert hidden == {}, f"focused but not visible at {page.size}: {hidden}"
    # The other tabs: by the arrow keys from the selected one (the WAI-ARIA tabs pattern).
    page.locator("[role=tab][aria-selected=true]").focus()
    page.keyboard.press("ArrowRight")
    assert page.evaluate("() => document.activeElement.getAttribute('role')") == "tab"
