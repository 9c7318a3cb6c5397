"""The chain panel in a real browser: a small network training, its edges, the backward pass link by link."""

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

QUERY = "dataset=moons&hidden=4,4&lr=0.5&steps=400&seed=0"


def edges(page):
    return page.evaluate(
        "() => [...document.querySelectorAll('#chain-svg line.edge')].map(e => ({layer: +e.dataset.layer, "
        "w: +e.dataset.weight, g: +e.dataset.grad, width: +e.getAttribute('stroke-width'), "
        "stroke: e.getAttribute('stroke'), dim: e.classList.contains('dim')}))"
    )


def test_network_boundary_loss_and_export(page):
    panel = open_panel(page, "chain", QUERY)
    # 2-4-4-1: 8 + 16 + 4 weights, one edge each, coloured by sign, as wide as |w|.
    shown = edges(page)
    assert len(shown) == 28
    assert {e["layer"] for e in shown} == {1, 2, 3}
    for e in shown:
        assert e["stroke"] == ("#2b6cb0" if e["w"] >= 0 else "#d6352b")
    widest = max(shown, key=lambda e: e["width"])
    assert abs(widest["w"]) == max(abs(e["w"]) for e in shown)
    assert page.locator("#chain-svg .glows line").count() == 28
    assert panel.locator("#chain-step").inner_text() == "400 of 400"
    final = data(panel, "final-loss")
    assert final < 0.1  # the moons are separated
    assert float(panel.locator("#chain-final-loss").inner_text()) == pytest.approx(final, rel=1e-5)
    # The decision boundary (p = 0.5 line over the probability map) and the data.
    kinds = page.evaluate("() => document.getElementById('chain-boundary').data.map(t => t.type)")
    assert kinds[:2] == ["heatmap", "contour"] and kinds.count("scatter") == 3
    assert page.evaluate("() => document.getElementById('chain-loss-plot').data[0].y.length") == 401
    # The picture: early in training, when the gradients (orange) are still large,
    # following the chain from the loss back to the output layer's weights.
    panel.locator("#chain-snapshot").fill("2")
    panel.get_by_role("button", name="Link ▶").click()
    screenshot(page, "chain")

    code = export_code(page)
    assert 'chain_snapshots("moons", hidden=[4, 4], steps=400, lr=0.5, seed=0, snapshot_every=20)' in code
    printed = run_python(code)
    assert float(re.search(r"final loss: (\S+)", printed).group(1)) == final
    assert printed.count("layer ") == 3


def test_backprop_link_by_link(page):
    panel = open_panel(page, "chain", "dataset=xor&hidden=4&lr=1&steps=200&seed=3")
    links = panel.locator("#chain-links > li")
    assert links.count() == 2  # 2-4-1: the output link, then the hidden layer
    assert "the same" in panel.locator("#chain-product").inner_text()

    panel.get_by_role("button", name="Link ▶").click()
    assert panel.get_attribute("data-revealed") == "1"
    assert links.nth(0).get_attribute("class") == "current"
    assert links.nth(1).get_attribute("class") == "future"
    assert "ŷ − y" in links.nth(0).inner_text()
    # Only the output layer's edges stand out while its link is followed.
    assert {e["layer"] for e in edges(page) if not e["dim"]} == {2}

    panel.get_by_role("button", name="Link ▶").click()
    assert links.nth(1).get_attribute("class") == "current"
    assert {e["layer"] for e in edges(page) if not e["dim"]} == {1}
    table = links.nth(1).locator("table").inner_text()
    assert "upstream" in table and "local slope" in table and "δ" in table
    product = panel.locator("#chain-product").inner_text()
    # δ = upstream × local, numbers and all: check the arithmetic the page shows.
    a, b, c = (float(v) for v in re.search(r"= (\S+) × (\S+) = (\S+) \(", product).groups())
    assert a * b == pytest.approx(c, rel=2e-3, abs=1e-6)
    assert "the same" in product
    assert panel.get_by_role("button", name="Link ▶").is_disabled()
    panel.get_by_role("button", name="All links").click()
    assert not any(e["dim"] for e in edges(page))


def test_snapshots_play_and_retrain(page):
    panel = open_panel(page, "chain", QUERY)
    last = panel.locator("#chain-loss").inner_text()
    panel.get_by_role("button", name="Previous snapshot").click()
    assert panel.locator("#chain-step").inner_text() == "380 of 400"
    assert panel.locator("#chain-loss").inner_text() != last
    panel.locator("#chain-snapshot").fill("0")
    assert panel.locator("#chain-step").inner_text() == "0 of 400"
    # Early on the gradients are large: the orange glow is wider than at the end.
    early = page.evaluate("() => Math.max(...[...document.querySelectorAll('#chain-svg .glows line')].map(l => +l.getAttribute('stroke-width')))")
    panel.locator("#chain-snapshot").fill("17")
    panel.get_by_role("button", name="Play", exact=True).click()
    wait_until(page, "document.getElementById('panel-chain').dataset.snapshot === '20'")
    late = page.evaluate("() => Math.max(...[...document.querySelectorAll('#chain-svg .glows line')].map(l => +l.getAttribute('stroke-width')))")
    assert late < early
    assert panel.locator("#chain-step").inner_text() == "400 of 400"

    # Another dataset and network: retrains, and the address follows.
    panel.locator("#chain-dataset").select_option("circles")
    wait_idle(page, "chain")
    panel.locator("#chain-hidden").select_option("8,8")
    wait_idle(page, "chain")
    wait_until(page, "document.querySelectorAll('#chain-svg line.edge').length === 2 * 8 + 8 * 8 + 8")
    params = hash_params(page)[1]
    assert params["dataset"] == "circles" and params["hidden"] == "8,8"

    steps = panel.locator("#chain-steps")
    steps.fill("999999")
    steps.press("Enter")
    error = panel.locator("[data-error-for='steps']")
    error.wait_for(state="visible")
    assert "steps" in error.inner_text()
