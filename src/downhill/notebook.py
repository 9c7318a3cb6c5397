"""Results that display themselves in Jupyter: a summary, and a picture where one says more.

A result class marked with :func:`shows_in_notebook` answers Jupyter's
``_repr_mimebundle_``: HTML: the class's own ``_repr_html_`` summary table
when it has one (else a plain table built from ``to_dict()``), with its
picture under it. The
pictures are the ones :mod:`downhill.viz` draws (a sweep's verdicts, a basin
map, a climber's path on its mountain, training curves); matplotlib is only
imported when a notebook asks.

>>> import downhill as dh
>>> bundle = dh.lr_sweep("booth", [0.0, 0.0], [1e-4, 0.05, 0.2], steps=50)._repr_mimebundle_()
>>> sorted(bundle), '<img src="data:image/png;base64,' in bundle["text/html"]
(['text/html', 'text/plain'], True)
"""

from __future__ import annotations

import base64
import html
import math

__all__ = ["shows_in_notebook", "html_summary"]


def _viz():
    from . import viz

    return viz


def _trajectory_picture(t):
    from .landscapes import get, names

    if t.points is None or t.landscape not in names() or len(get(t.landscape).variables) != 2:
        return None  # no recorded path, or no mountain of two variables to draw it on
    return _viz().mountain(t.landscape, paths=[t])


def _landscape_picture(landscape):
    return _viz().mountain(landscape) if len(landscape.variables) == 2 else None


# Which picture each result shows, by class name (the classes live in other modules).
PICTURES = {
    "Trajectory": _trajectory_picture,
    "LRSweep": lambda sweep: _viz().lr_sweep_plot(sweep),
    "BasinMap": lambda result: _viz().basins_plot(result),
    "LRRangeTestResult": lambda result: _viz().lr_range_plot(result),
    "History": lambda history: _viz().training(history),
    "GradientReport": lambda report: _viz().layers(report),
    "Landscape": _landscape_picture,
    "LossLandscape": lambda result: _viz().loss_landscape_plot(result),
}


def html_summary(result) -> str:
    """An HTML table of a result's single-number fields (from ``to_dict()``), or its text.

    Used where a class has no ``_repr_html_`` of its own.

    >>> import downhill as dh
    >>> "<table" in html_summary(dh.descend("booth", [0.0, 0.0], lr=0.05, steps=20))
    True
    """
    name = type(result).__name__
    rows = []
    to_dict = getattr(result, "to_dict", None)
    if callable(to_dict):
        for key, value in to_dict().items():
            if isinstance(value, (str, int, float, bool)) or value is None:
                shown = f"{value:.6g}" if isinstance(value, float) and math.isfinite(value) else value
                rows.append(f"<tr><th style='text-align:left'>{html.escape(str(key))}</th>"
                            f"<td style='text-align:left'>{html.escape(str(shown))}</td></tr>")
    text = f"<pre>{html.escape(str(result))}</pre>"
    if not rows:
        return f"<div><b>{html.escape(name)}</b>{text}</div>"
    return f"<div><b>{html.escape(name)}</b><table>{''.join(rows)}</table>{text}</div>"


def _bundle(self, include=None, exclude=None):
    draw = PICTURES.get(type(self).__name__)
    own_html = getattr(self, "_repr_html_", None)
    summary = own_html() if callable(own_html) else None
    bundle = {"text/plain": repr(self), "text/html": summary or html_summary(self)}
    figure = draw(self) if draw is not None else None
    if figure is not None:
        from .viz.inline import figure_png

        png = figure_png(figure)
        encoded = base64.b64encode(png).decode("ascii")
        # The picture goes inside the HTML (under the table), not beside it as
        # image/png too: Jupyter shows one of the two, and a saved notebook
        # would carry the image twice.
        bundle["text/html"] += (f'<img src="data:image/png;base64,{encoded}" '
                                f'alt="{html.escape(type(self).__name__)} picture" style="max-width:100%"/>')
    return bundle


def shows_in_notebook(cls):
    """Class decorator: instances display in Jupyter as their summary and picture (see the module).

    Composes with a ``_repr_html_`` the class defines (its table comes first,
    the picture under it); gives the class a plain ``_repr_html_`` if it has none.
    """
    cls._repr_mimebundle_ = _bundle
    if not hasattr(cls, "_repr_html_"):
        cls._repr_html_ = html_summary
    return cls
