"""The page around the panels: tabs by keyboard, links pasted in, the export dialog, labels, layout at 1280x800."""

from .e2e_support import browser, page, server  # noqa: F401 (fixtures)
from .e2e_support import hash_params, needs_browser, open_panel, wait_idle, wait_until

pytestmark = needs_browser

PANELS = ["speedometer", "mountain", "chain", "learning-rate"]


def test_tabs_dialog_and_names_from_the_keyboard(page):
    open_panel(page, "speedometer")
    page.get_by_role("tab", name="Speedometer").focus()
    for expected in PANELS[1:]:
        page.keyboard.press("ArrowRight")
        wait_until(page, f"location.hash.startsWith('#{expected}')")
        wait_idle(page, expected)
        tab = page.locator(f"#tab-{expected}")
        assert tab.get_attribute("aria-selected") == "true"
        assert page.evaluate("() => document.activeElement.id") == f"tab-{expected}"
        visible = [p for p in PANELS if page.locator(f"#panel-{p}").is_visible()]
        assert visible == [expected]
        # Readable at 1280x800: nothing runs off to the side.
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 1280
    page.keyboard.press("Home")
    wait_until(page, "location.hash.startsWith('#speedometer')")

    # Export as Python: a dialog, opened and closed from the keyboard.
    page.locator("#export-button").focus()
    page.keyboard.press("Enter")
    dialog = page.locator("#export-dialog")
    dialog.wait_for(state="visible")
    assert "dh.derivative(f)(x)" in page.locator("#export-code").inner_text()
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")
    # The page's files come with the page; the vendored plotting library carries its licence.
    response = page.request.get(f"{page.server}/vendor/LICENSE")
    assert response.ok and "MIT License" in response.text()

    # Every input, select and button of the page (Plotly's own toolbar aside) has an accessible name.
    nameless = page.evaluate(
        """() => [...document.querySelectorAll('input, select, button')]
             .filter(e => !e.closest('.modebar'))
             .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.textContent.trim())
             .map(e => e.id || e.outerHTML.slice(0, 80))"""
    )
    assert nameless == []


def test_a_pasted_link_opens_its_panel_with_its_settings(page):
    open_panel(page, "speedometer")
    page.evaluate("() => { location.hash = '#chain?dataset=xor&hidden=4&lr=1&steps=100&seed=2'; }")
    wait_until(page, "!document.getElementById('panel-chain').hidden")
    wait_idle(page, "chain")
    wait_until(page, "document.getElementById('chain-step').textContent === '100 of 100'")
    assert page.locator("#chain-dataset").input_value() == "xor"
    assert page.locator("#chain-hidden").input_value() == "4"
    assert hash_params(page) == ["chain", {"dataset": "xor", "hidden": "4", "lr": "1", "steps": "100", "seed": "2"}]
