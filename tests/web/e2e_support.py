"""Shared pieces of the playground's end-to-end tests: the real server, a real browser.

The server is the playground's own ASGI app (``downhill.web.app.create_app``),
run by uvicorn on 127.0.0.1 at a free port in a background thread. The browser
is Debian's ``chromium`` (never a browser downloaded by ``playwright install``),
driven headless by Playwright. Without chromium on the PATH, or without
Playwright, every end-to-end test is skipped and says why.

Each test module imports the fixtures it needs from here::

    from .e2e_support import browser, server, page  # noqa: F401

Screenshots go to a folder under the system's temporary directory
(``downhill-playground``), so a test run leaves the working tree as it was. To refresh
the pictures the README shows, point them at the repository::

    DOWNHILL_SCREENSHOTS=docs/playground python -m pytest tests/web -k e2e
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(os.environ.get("DOWNHILL_SCREENSHOTS") or Path(tempfile.gettempdir()) / "downhill-playground")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1280, "height": 800}
# How long one wait on the page may take (ms): generous for a loaded CI machine.
TIMEOUT_MS = 20_000

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - the test extra installs it
    sync_playwright = None

needs_browser = pytest.mark.skipif(
    CHROMIUM is None or sync_playwright is None,
    reason=(
        "end-to-end tests need Debian's chromium on the PATH (apt-get install chromium) and "
        "Playwright for Python (pip install playwright); never `playwright install`"
    ),
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _make_app():
    from downhill.web.app import create_app

    return create_app()


@pytest.fixture(scope="module")
def server():
    """The playground's server at http://127.0.0.1:<port>, for the tests of one module."""
    import uvicorn

    port = _free_port()
    config = uvicorn.Config(_make_app(), host="127.0.0.1", port=port, log_level="warning", lifespan="auto")
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not instance.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the playground's server did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    instance.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    """Headless chromium, one per test module."""
    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser, server):
    """A fresh page at 1280x800 that fails the test on any JavaScript error."""
    context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1)
    tab = context.new_page()
    tab.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    # Nothing but the local server may be fetched (no CDN, no fonts from elsewhere).
    foreign: list[str] = []
    tab.on("request", lambda request: None if request.url.startswith((server, "data:", "blob:"))
           else foreign.append(request.url))
    # Record Content-Security-Policy violations with where they came from.
    tab.add_init_script(
        "window.__csp = []; document.addEventListener('securitypolicyviolation', e => "
        "window.__csp.push({directive: e.violatedDirective, source: e.sourceFile, line: e.lineNumber}));"
    )
    tab.server = server
    tab.js_errors = errors
    yield tab
    violations = tab.evaluate("window.__csp || []") if not tab.is_closed() else []
    context.close()
    assert not foreign, f"the page fetched from outside the local server: {foreign}"
    # plotly.js itself trips the server's CSP twice, harmlessly: its map module
    # (unused here) writes a <style>, and d3 sets an empty style attribute.
    # The page's own code never may.
    ours = [v for v in violations if "/vendor/plotly-" not in (v["source"] or "")]
    assert not ours, f"the page's own code broke the Content-Security-Policy: {ours}"
    # A 4xx answer the page shows to the learner is logged by chromium as a
    # failed resource load: expected. CSP reports are checked just above.
    expected = ("the server responded with a status of 4", "Applying inline style violates")
    unexpected = [e for e in errors if not any(text in e for text in expected)]
    assert not unexpected, f"JavaScript errors on the page: {unexpected}"


# --------------------------------------------------------------------------
# Helpers for the tests.
# --------------------------------------------------------------------------


def open_panel(page, panel: str, query: str = ""):
    """Load the page at ``#panel?query`` and wait until the panel has drawn."""
    page.goto(f"{page.server}/#{panel}{'?' + query if query else ''}")
    page.wait_for_selector("body[data-ready='1']")
    wait_idle(page, panel)
    return page.locator(f"#panel-{panel}")


def wait_until(page, predicate: str, arg=None):
    """Wait until the JavaScript ``predicate`` (an expression) is true.

    Written as an arrow function, as the server's Content-Security-Policy
    forbids the eval that Playwright would use for a bare expression.
    """
    page.wait_for_function(f"(arg) => ({predicate})", arg=arg)


def wait_idle(page, panel: str):
    """Wait until the panel has no request to the server in flight."""
    page.wait_for_function(
        "id => { const s = document.getElementById('panel-' + id); return s && !s.hidden && (s.dataset.busy || '0') === '0'; }",
        arg=panel,
    )


def hash_params(page) -> tuple[str, dict]:
    """(panel, params) of the page's address."""
    return page.evaluate(
        """() => {
          const h = location.hash.slice(1);
          const cut = h.indexOf('?');
          const panel = decodeURIComponent(cut < 0 ? h : h.slice(0, cut));
          return [panel, Object.fromEntries(new URLSearchParams(cut < 0 ? '' : h.slice(cut + 1)))];
        }"""
    )


def export_code(page) -> str:
    """Open "Export as Python", read the code, close the dialog."""
    page.get_by_role("button", name="Export as Python").click()
    code = page.locator("#export-code").inner_text()
    page.get_by_role("button", name="Close").click()
    return code


def run_python(code: str) -> str:
    """Run exported code in a fresh Python and return what it printed."""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
        env={**os.environ, "MPLBACKEND": "Agg"},
    )
    assert done.returncode == 0, f"the exported code failed:\n{code}\n{done.stderr}"
    return done.stdout


def screenshot(page, panel: str, name: str | None = None):
    """Save SCREENSHOTS/<name or panel>.png: the whole panel, as a learner sees it."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.mouse.move(0, 0)  # no hover labels in the picture
    page.evaluate("() => window.scrollTo(0, 0)")  # the sticky header at the top, where it belongs
    page.wait_for_timeout(150)
    page.screenshot(path=str(SCREENSHOTS / f"{name or panel}.png"), full_page=True)


def data(locator, key: str):
    """A data-* attribute of an element, read as JSON."""
    return json.loads(locator.get_attribute(f"data-{key}"))


# --------------------------------------------------------------------------
# Pixels: what is drawn, not what the page's data structures say.
# --------------------------------------------------------------------------


def plot_area(page, selector: str) -> dict:
    """The on-screen box of a 2-D chart's drawing area (inside its axes)."""
    page.locator(selector).scroll_into_view_if_needed()
    return page.locator(f"{selector} .nsewdrag").first.bounding_box()


def grab(page, box: dict):
    """A screenshot of ``box`` as an RGB array (height x width x 3, integers)."""
    import io

    import numpy as np
    from PIL import Image

    png = page.screenshot(clip={k: box[k] for k in ("x", "y", "width", "height")})
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def ink_share(pixels, background=(255, 255, 255), tolerance: int = 40) -> float:
    """The share of pixels that differ from the background by more than ``tolerance``
    (summed over R, G and B): how much of an area is drawn on."""
    import numpy as np

    difference = np.abs(pixels - np.asarray(background)).sum(axis=2)
    return float((difference > tolerance).mean())


def colour_near(pixels, colour, tolerance: int = 60) -> int:
    """How many pixels lie within ``tolerance`` (summed over R, G, B) of ``colour`` ("#rrggbb")."""
    import numpy as np

    rgb = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)])
    return int((np.abs(pixels - rgb).sum(axis=2) <= tolerance).sum())


def spread(pixels) -> float:
    """How much an area's colours differ from their mean (mean |pixel - mean|, R+G+B):
    a drawn map is high, a faded or blank one low."""
    import numpy as np

    return float(np.abs(pixels - pixels.reshape(-1, 3).mean(axis=0)).sum(axis=2).mean())
