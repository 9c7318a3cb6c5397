"""Figures that show themselves in Jupyter, with no ``plt.show()`` and no pyplot.

downhill draws without pyplot (nothing left open in its global state), so
Jupyter's inline backend never hears of our figures. A :class:`NotebookFigure`
is an ordinary ``matplotlib.figure.Figure`` that also answers Jupyter's
``_repr_png_``: a picture function's figure, left as the last line of a cell,
is drawn under it.

>>> from downhill.viz.style import new_figure
>>> fig = new_figure(2, 2)
>>> fig._repr_png_()[:4]
b'\\x89PNG'
"""

from __future__ import annotations

import io

from matplotlib.figure import Figure

# Dots per inch for notebook pictures: sharp on a laptop, a modest file.
NOTEBOOK_DPI = 80


def figure_png(fig: Figure, dpi: int = NOTEBOOK_DPI) -> bytes:
    """The figure as PNG bytes, on white, cropped to what is drawn."""
    from .style import style

    buffer = io.BytesIO()
    with style():
        fig.savefig(buffer, format="png", dpi=dpi, facecolor="white", bbox_inches="tight")
    return buffer.getvalue()


class NotebookFigure(Figure):
    """A Figure that Jupyter draws inline (``_repr_png_``)."""

    def _repr_png_(self) -> bytes:
        return figure_png(self)
