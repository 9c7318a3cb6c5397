"""In a real browser: a request estimated past the limit is refused at once, and the page says what to lower."""

from urllib.parse import quote

from .e2e_support import browser, page, server  # noqa: F401 (fixtures)
from .e2e_support import needs_browser, open_panel, wait_idle
from .test_pool import LONG

pytestmark = needs_browser


def test_a_basin_map_too_costly_to_compute_is_explained_in_words(page):
    # The case, from the page: a long formula, 10,000 steps, the basin map (60 x 60).
    panel = open_panel(page, "mountain", f"f={quote(LONG)}&steps=10000&start=")
    page.click("#mtn-basins")
    wait_idle(page, "mountain")
    slot = panel.locator("[data-error-for='basins']")
    slot.wait_for(state="visible")
    text = slot.inner_text()
    assert text.startswith("This would take about ") and "the playground computes at most 5 s for one request" in text
    assert "To fit, use at most " in text and " steps" in text and "a shorter formula (at most " in text
    assert "map of" not in text  # the page's basin grid is not the learner's to change
    # The refused request is logged by the browser; nothing else went wrong.
    assert not [e for e in page.js_errors if "status of 422" not in e and "Content Security Policy" not in e]
