"""The playground's first visit: how long until a panel is drawn, and how many bytes travel.

Starts ``downhill serve`` (uvicorn, 127.0.0.1, a free port) in a subprocess,
then opens the page in Debian's chromium (headless, through Playwright) as a
first-time visitor: a new browser context for every load, the cache disabled.
For each panel it loads ``/#<panel>`` ``--repeats`` times and reports

* time to first panel drawn: from the start of navigation (``performance.now()``
  counts from it) until the page says its panel is drawn (``body[data-ready]``,
  set once the panel's charts have been drawn);
* bytes on the wire: the sum of every response's encoded length (headers and
  compressed bodies, as chromium's network layer counts them).

Then, on a warm page, the mountain panel's animation: three climbers on
himmelblau played for about 3 s; frames drawn per second (the page counts the
frames it draws in ``data-frames-drawn``; aim: about 30), beside the browser's
own frame rate (requestAnimationFrame callbacks counted in the page) and the
median gap between two drawn frames (their timestamps, by a MutationObserver).

The bar (issue 15): the first panel drawn in at most 2 s on a 2-core machine,
and at most 2 MB on the wire. Exits 1 if the default panel misses either.
Medians with min-max. Timings on a shared machine are noisy: compare runs
taken together.

Run by hand: PYTHONPATH=src python benchmarks/cold_load.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from load_web import start_server, stop_server  # noqa: E402  (same folder)

from playwright.sync_api import sync_playwright  # noqa: E402

PANELS = ["speedometer", "mountain", "chain", "learning-rate"]
LIMIT_S = 2.0
LIMIT_BYTES = 2_000_000


def cold_load(browser, url: str) -> tuple[float, int, int]:
    """(seconds to the first panel drawn, bytes on the wire, number of responses) for one first visit."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    received = []
    cdp.on("Network.loadingFinished", lambda event: received.append(event["encodedDataLength"]))
    page.goto(url)
    ready_ms = page.wait_for_function(
        "() => document.body.dataset.ready === '1' && performance.now()", timeout=60_000).json_value()
    page.wait_for_load_state("networkidle")
    context.close()
    return ready_ms / 1000, int(sum(received)), len(received)


def animation_fps(browser, base: str) -> tuple[float, float, float]:
    """While three climbers walk on himmelblau (about 3 s of play): (frames the mountain panel
    drew per second, the browser's own frames per second by requestAnimationFrame, the
    median gap between two drawn frames in ms, from their timestamps)."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(f"{base}/#mountain?landscape=himmelblau&lr=0.01&steps=200&start=0,0;-1,-1;-4,1")
    page.wait_for_selector("body[data-ready='1']")
    page.wait_for_timeout(500)
    # The browser's frames (one requestAnimationFrame callback each), and the moment each
    # drawn frame reached the page (data-frames-drawn changes once per frame drawn).
    page.evaluate(
        """() => {
          const panel = document.getElementById('panel-mountain');
          window.__browserFrames = 0; window.__drawnAt = [];
          const count = () => { window.__browserFrames += 1; requestAnimationFrame(count); };
          requestAnimationFrame(count);
          new MutationObserver(() => window.__drawnAt.push(performance.now()))
            .observe(panel, { attributes: true, attributeFilter: ['data-frames-drawn'] });
        }"""
    )
    before = int(page.get_attribute("#panel-mountain", "data-frames-drawn") or 0)
    browser_before = page.evaluate("() => window.__browserFrames")
    began = page.evaluate("() => performance.now()")
    page.get_by_role("button", name="Play", exact=True).click()
    page.wait_for_function("() => document.getElementById('panel-mountain').dataset.playing === '1'")
    page.wait_for_function("() => document.getElementById('panel-mountain').dataset.playing === '0'", timeout=60_000)
    ended = page.evaluate("() => performance.now()")
    frames = int(page.get_attribute("#panel-mountain", "data-frames-drawn")) - before
    browser_frames = page.evaluate("() => window.__browserFrames") - browser_before
    stamps = page.evaluate("() => window.__drawnAt")
    context.close()
    seconds = (ended - began) / 1000
    gaps = [b - a for a, b in zip(stamps, stamps[1:])]
    return frames / seconds, browser_frames / seconds, statistics.median(gaps) if gaps else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("needs Debian's chromium on the PATH")
    process, base = start_server(workers=2)
    failed = False
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, headless=True,
                                        args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
            cold_load(browser, f"{base}/#speedometer")  # warm the server (imports), not the browser
            print(f"cold first load, {args.repeats} new contexts each, cache disabled, 1280x800, cpu count {os.cpu_count()}")
            print(f"{'panel':<15}{'first panel drawn (s), median [min-max]':<42}{'bytes on the wire':>18}{'responses':>11}")
            for panel in PANELS:
                runs = [cold_load(browser, f"{base}/#{panel}") for _ in range(args.repeats)]
                times = [r[0] for r in runs]
                size = statistics.median(r[1] for r in runs)
                print(f"{panel:<15}{statistics.median(times):>8.3f} [{min(times):.3f}-{max(times):.3f}]"
                      f"{'':<24}{size / 1e6:>15.3f} MB{int(statistics.median(r[2] for r in runs)):>9}")
                if panel == PANELS[0]:
                    failed = statistics.median(times) > LIMIT_S or size > LIMIT_BYTES
            plays = [animation_fps(browser, base) for _ in range(args.repeats)]
            drawn, offered, gaps = ([p[i] for p in plays] for i in range(3))
            print(f"mountain animation: {statistics.median(drawn):.1f} frames drawn/s median "
                  f"[{min(drawn):.1f}-{max(drawn):.1f}] (browser: {statistics.median(offered):.1f} "
                  f"requestAnimationFrame callbacks/s; median gap between drawn frames "
                  f"{statistics.median(gaps):.1f} ms) over {args.repeats} plays of about 3 s")
            browser.close()
    finally:
        stop_server(process)
    print(f"bar for the default panel: <= {LIMIT_S} s, <= {LIMIT_BYTES / 1e6} MB: {'MISSED' if failed else 'met'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
