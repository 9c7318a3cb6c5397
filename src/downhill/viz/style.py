"""One look for every picture: colours, fonts, figure making and saving.

The palette is Okabe and Ito's, readable with every common form of colour
blindness; maps use ``viridis`` (perceptually even, and readable in grey).
Figures are made with :class:`matplotlib.figure.Figure` on an Agg canvas, never
through ``pyplot``, so no global figure state is created or leaked: a figure
is freed as soon as nobody holds it.
"""

from __future__ import annotations

import functools
import inspect
import os
from pathlib import Path

import matplotlib
from matplotlib import patheffects
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..errors import InputError, shorten
from ..files import write_atomically
from .inline import NotebookFigure

__all__ = ["PALETTE", "COLORS", "MAP_CMAP", "ZONE_COLORS", "style", "new_figure", "save_figure",
           "write_picture", "picture", "outlined", "color"]

# Okabe & Ito (2008), "Color Universal Design".
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")
COLORS = {
    "blue": "#0072B2", "vermillion": "#D55E00", "green": "#009E73", "pink": "#CC79A7",
    "orange": "#E69F00", "sky": "#56B4E9", "yellow": "#F0E442", "black": "#000000",
    "grey": "#7F7F7F", "light": "#DDDDDD",
}
MAP_CMAP = "viridis"
# The learning-rate zones: too small (cool), good (green), too big (hot).
ZONE_COLORS = {"too small": COLORS["sky"], "good": COLORS["green"], "too big": COLORS["vermillion"]}
MINIMUM_STYLE = dict(marker="*", s=260, color=COLORS["yellow"], edgecolor="black", linewidth=1.2, zorder=9)
END_STYLE = dict(marker="o", s=190, facecolor="none", linewidth=2.6, zorder=8)
START_STYLE = dict(marker="o", s=55, facecolor="white", edgecolor="black", linewidth=1.5, zorder=7)
DPI = 110

RC = {
    "font.size": 10.5,
    "axes.titlesize": 12,
    "axes.titleweight": "bold",
    "axes.labelsize": 11,
    "figure.titlesize": 13.5,
    "figure.titleweight": "bold",
    "legend.fontsize": 9,
    "legend.framealpha": 0.9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
    "grid.alpha": 0.35,
    "axes.prop_cycle": matplotlib.cycler(color=PALETTE),
    "savefig.dpi": DPI,
    "figure.dpi": DPI,
    "svg.fonttype": "path",
}


def color(i: int) -> str:
    """The i-th colour of the palette (cycling).

    >>> color(0), color(8)
    ('#0072B2', '#0072B2')
    """
    return PALETTE[i % len(PALETTE)]


def style():
    """A context in which matplotlib draws in downhill's style (restores the settings after).

    >>> with style():
    ...     fig = new_figure(4, 3)
    """
    return matplotlib.rc_context(RC)


def new_figure(width: float, height: float, **kwargs) -> Figure:
    """A new Figure of ``width`` x ``height`` inches on an Agg canvas (no pyplot).

    >>> new_figure(4, 3).get_size_inches().tolist()
    [4.0, 3.0]
    """
    kwargs.setdefault("layout", "constrained")
    # A NotebookFigure is a Figure that Jupyter also draws inline (viz/inline.py).
    fig = NotebookFigure(figsize=(width, height), **kwargs)
    FigureCanvasAgg(fig)
    return fig


SAVE_FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}


def save_figure(fig: Figure, path) -> Path:
    """Write ``fig`` to ``path``: PNG, SVG or PDF, chosen by the extension. Returns the path.

    >>> import os, tempfile
    >>> path = save_figure(new_figure(2, 2), os.path.join(tempfile.mkdtemp(), "empty.png"))
    >>> path.read_bytes()[:4]
    b'\\x89PNG'
    """
    path = Path(os.fspath(path))
    kind = SAVE_FORMATS.get(path.suffix.lower())
    if kind is None:
        raise InputError(
            f"save: cannot tell the picture format from {shorten(str(path))!r}; end the name in "
            f"{', '.join(SAVE_FORMATS)} (e.g. save='mountain.png')"
        )

    def draw(file):
        with style():
            fig.savefig(file, format=kind, dpi=DPI, facecolor="white")

    return write_picture(path, draw)


def write_picture(path, write) -> Path:
    """Write a picture file with ``write(file)``: every picture and animation is saved through here.

    Missing folders are created; the bytes go to a temporary file beside
    ``path`` that is renamed over it once complete
    (:func:`downhill.files.write_atomically`), so a full disk or an
    interruption never leaves half a picture, and a folder, a FIFO or a device
    at ``path`` is refused. Returns the path.

    >>> import os, tempfile
    >>> path = write_picture(os.path.join(tempfile.mkdtemp(), "new", "p.txt"), lambda f: f.write(b"x"))
    >>> path.read_bytes()
    b'x'
    """
    path = Path(os.fspath(path))
    if not path.parent.is_dir() and not path.parent.is_symlink():
        path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, write, what="picture")
    return path


def picture(function):
    """Decorator for picture functions: draw in downhill's style, save if asked, return the figure.

    >>> @picture
    ... def empty():
    ...     return new_figure(2, 2)
    >>> import inspect; "save" in inspect.signature(empty).parameters
    True
    """

    @functools.wraps(function)
    def draw(*args, save=None, **kwargs):
        with style():
            fig = function(*args, **kwargs)
        if save is not None:
            save_figure(fig, save)
        return fig

    # help() and editors show ``save`` with the picture's own arguments.
    signature = inspect.signature(function)
    parameters = list(signature.parameters.values())
    at = next((i for i, p in enumerate(parameters) if p.kind is p.VAR_KEYWORD), len(parameters))
    parameters.insert(at, inspect.Parameter("save", inspect.Parameter.KEYWORD_ONLY, default=None))
    draw.__signature__ = signature.replace(parameters=parameters)
    return draw


def outlined(width: float = 3.5, foreground: str = "white"):
    """Path effects that draw a halo around a line or text, so it reads on any background.

    >>> len(outlined())
    1
    """
    return [patheffects.withStroke(linewidth=width, foreground=foreground)]

