"""The tour: every picture it lists is written and is a real image, and the page shows them all.

The tour runs once for the module (it draws fourteen pictures and trains a
small network); each test reads what it wrote.
"""

from __future__ import annotations

import html
import re
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image

from downhill.explain import derivative_at, gradient_at
from downhill.tour import STOPS, run_tour

SECTION_TITLES = [
    "1. The derivative: a speedometer",
    "2. The gradient: which way is downhill",
    "3. Gradient descent: feel the ground, take a step, repeat",
    "4. The chain rule: a bicycle chain",
    "5. The learning rate: the size of each step",
]


class Page(HTMLParser):
    """The page's section titles, pictures and table rows."""

    def __init__(self):
        super().__init__()
        self.titles, self.images, self.sections, self.anchors = [], [], [], []
        self._in_h2 = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "h2":
            self._in_h2 = True
            self.titles.append("")
        elif tag == "img":
            self.images.append(attrs)
        elif tag == "section":
            self.sections.append(attrs.get("id"))
        elif tag == "a":
            self.anchors.append(attrs.get("href"))

    def handle_endtag(self, tag):
        if tag == "h2":
            self._in_h2 = False

    def handle_data(self, data):
        if self._in_h2:
            self.titles[-1] += data


@pytest.fixture(scope="module")
def tour(tmp_path_factory):
    out = tmp_path_factory.mktemp("tour")
    said = []
    start = time.perf_counter()
    page = run_tour(out, echo=said.append)
    seconds = time.perf_counter() - start
    text = page.read_text(encoding="utf-8")
    parsed = Page()
    parsed.feed(text)
    return {"out": out, "page": page, "text": text, "parsed": parsed, "said": said, "seconds": seconds}


def test_the_tour_takes_at_most_a_minute(tour):
    assert tour["seconds"] < 60, f"the tour took {tour['seconds']:.1f} s"


def test_the_page_is_index_html_in_the_folder(tour):
    assert tour["page"] == tour["out"] / "index.html"
    assert tour["text"].startswith("<!doctype html>") and tour["text"].rstrip().endswith("</html>")


def test_the_five_sections_in_order(tour):
    assert tour["parsed"].titles == SECTION_TITLES
    assert tour["parsed"].sections == ["speedometer", "gradient", "descent", "chain", "learning-rate"]
    table_of_contents = [a for a in tour["parsed"].anchors if a.startswith("#")]
    assert table_of_contents == [f"#{key}" for key in tour["parsed"].sections]
    assert len(STOPS) == 5


def test_every_picture_said_is_linked_written_and_valid(tour):
    assert [line.rsplit(": ", 1)[0] for line in tour["said"]] == SECTION_TITLES
    said = [path for line in tour["said"] for path in line.rsplit(": ", 1)[1].split(", ")]
    linked = [image["src"] for image in tour["parsed"].images]
    assert len(linked) == len(set(linked)) == 14
    # Wide pictures stand above their stop's text, so the page's order may differ from the run's.
    assert sorted(f"{tour['out'] / name}" for name in linked) == sorted(said)
    for name in linked:
        path = tour["out"] / name
        assert path.is_file(), name
        data = path.read_bytes()
        assert data.startswith(b"GIF89a" if name.endswith(".gif") else b"\x89PNG\r\n\x1a\n"), name
        assert len(data) > 10_000, (name, len(data))
        with Image.open(path) as image:
            assert image.format == ("GIF" if name.endswith(".gif") else "PNG")
            width, height = image.size
            frames = getattr(image, "n_frames", 1)
            image.verify()
        assert 300 <= width <= 3000 and 250 <= height <= 2000, (name, width, height)
        if name.endswith(".gif"):
            assert frames > 10, frames
    written = sorted(p.name for p in tour["out"].iterdir())
    assert written == sorted([*linked, "index.html"]), "nothing written that the page does not show"


def test_each_stop_opens_on_its_own_first_picture(tour):
    # A learner reads the stop's main picture first (the speedometer, the foggy mountain's
    # map, the learning-rate sweep), not a wide side picture put above it.
    bodies = re.findall(r'<section id="[^"]+">(.*?)</section>', tour["text"], re.S)
    assert len(bodies) == len(tour["said"]) == 5
    for body, said in zip(bodies, tour["said"]):
        first = Path(said.rsplit(": ", 1)[1].split(", ")[0]).name
        assert re.findall(r'<img src="([^"]+)"', body)[0] == first, said


def test_every_picture_has_a_description(tour):
    for image in tour["parsed"].images:
        assert image["alt"] and image["src"] in image["alt"]


def test_the_numbers_come_from_the_library(tour):
    text = html.unescape(tour["text"])
    speed = derivative_at("x**3 - 3*x", 1.5)
    assert speed.slope == 3.75  # 3x² - 3 at 1.5
    assert "<th>f'(x) by the chain rule</th><td>3.75</td>" in text
    assert speed.sentence in text and "rising at 3.75 per unit of x" in text
    measured = float(re.search(r"<th>f'\(x\) measured by central differences</th><td>([^<]+)</td>", text)[1])
    assert measured == pytest.approx(3.75, rel=1e-6)
    fog = gradient_at("himmelblau", [0.5, -1.0])
    assert fog.sentence in text
    assert f"<th>steepness</th><td>{fog.steepness:.6g}</td>" in text
    assert "d error / d w" in text
    # the learning-rate stop: Booth's steepest curvature is 18, so 2/L = 1/9
    assert "<th>curvature L</th><td>18</td>" in text
    assert "<th>largest stable step 2/L</th><td>0.111111</td>" in text


def test_the_chain_stop_reports_a_good_classifier(tour):
    text = html.unescape(tour["text"])
    accuracy = float(re.search(r"<th>held-out accuracy</th><td>([0-9.]+)%</td>", text)[1])
    assert accuracy >= 97


def test_the_derivative_of_the_chain_example_is_exact(tour):
    # error = (sigmoid(w·x + b) - 1)², w = 0.5, x = 2, b = -1: w·x + b = 0, sigmoid = 1/2,
    # d error / d w = 2(s - 1)·s(1 - s)·x = 2(-1/2)(1/4)(2) = -0.5
    assert "<th>d error / d w</th><td>-0.5</td>" in html.unescape(tour["text"])
    assert "d error / d w = -0.5," in html.unescape(tour["text"])


def test_the_tour_into_a_file_is_an_error(tmp_path):
    occupied = tmp_path / "a-file"
    occupied.write_text("not a folder")
    with pytest.raises(OSError):
        run_tour(occupied, echo=lambda *a: None)


# ------------------------------------------------------------------ the page as seen in a browser
from tests.web.e2e_support import CHROMIUM, CHROMIUM_ARGS, needs_browser  # noqa: E402


@needs_browser
@pytest.mark.parametrize("size", [(1280, 800), (768, 1024), (390, 844)])
def test_the_page_in_a_browser_fits_and_shows_the_chain_readably(tour, size):
    from playwright.sync_api import sync_playwright

    width, height = size
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.goto(tour["page"].as_uri())
            page.wait_for_function("[...document.images].every(i => i.complete && i.naturalWidth > 0)")
            # No sideways scrolling on any screen.
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            chain = page.locator('img[src="4-chain.png"]')
            shown = chain.bounding_box()["width"]
            natural = chain.evaluate("i => i.naturalWidth")
            content = page.evaluate("document.querySelector('section').getBoundingClientRect().width")
            # The chain picture takes the page's whole width (it was shrunk to ~37%
            # beside the text), so on a laptop its labels are at >= 60% of their size.
            assert shown >= 0.95 * content
            if width >= 1280:
                assert shown >= 0.6 * natural
            # No picture is blown up past its own size (the gradient-per-layer chart was
            # stretched from 990 to 1200 pixels, blurring its words).
            sizes = page.eval_on_selector_all("img", "is => is.map(i => [i.getAttribute('src'), "
                                              "i.getBoundingClientRect().width, i.naturalWidth])")
            blown_up = [(src, shown_px, natural_px) for src, shown_px, natural_px in sizes
                        if shown_px > natural_px + 2.5]  # + its 1-pixel border on each side
            assert not blown_up, blown_up
            # On a phone each picture says it opens at full size.
            captions = page.locator("figcaption").filter(has_text="open at full size")
            assert captions.count() >= 14
            assert captions.first.is_visible() == (width <= 700)
            # Every picture opens at full size when clicked.
            links = page.eval_on_selector_all("figure > a", "as => as.map(a => a.getAttribute('href'))")
            images = page.eval_on_selector_all("figure img", "is => is.map(i => i.getAttribute('src'))")
            assert links == images and len(images) >= 14
        finally:
            browser.close()
