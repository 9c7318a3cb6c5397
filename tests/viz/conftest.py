"""Shared checks for the pictures: saved files are real images of a sensible size."""

from __future__ import annotations

import struct

import pytest
from PIL import Image


def png_size(path):
    """(width, height) from a PNG's header, after checking its signature."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


@pytest.fixture
def check_png():
    def check(path, min_bytes=8_000, min_size=(300, 250), max_size=(2600, 1800)):
        width, height = png_size(path)
        assert path.stat().st_size > min_bytes, f"{path} is suspiciously small ({path.stat().st_size} bytes)"
        assert min_size[0] <= width <= max_size[0] and min_size[1] <= height <= max_size[1], (width, height)
        with Image.open(path) as image:
            image.verify()
        return width, height

    return check


def texts_of(fig):
    """Every piece of text in a figure (titles, labels, legends, annotations)."""
    return [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text") and callable(a.get_text))]


def legend_texts(fig):
    """The labels of every legend of the figure (axes legends and figure legends)."""
    out = []
    for legend in [*fig.legends, *(ax.get_legend() for ax in fig.axes)]:
        if legend is not None:
            out.extend(t.get_text() for t in legend.get_texts())
    return out
