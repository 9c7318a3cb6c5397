"""Every result displays itself in Jupyter: a summary table, and its picture inside the HTML."""

from __future__ import annotations

import base64
import re

import numpy as np
import pytest

import downhill as dh
from downhill import nn
from downhill.data import DataLoader, TensorDataset


def _picture(bundle):
    match = re.search(r'src="data:image/png;base64,([^"]+)"', bundle["text/html"])
    return None if match is None else base64.b64decode(match.group(1))


@pytest.fixture(scope="module")
def results():
    from downhill.optim.basins import basins

    X, y = dh.datasets.moons(64, noise=0.1, seed=0)
    loader = DataLoader(TensorDataset(X, y), batch_size=16, shuffle=True, seed=0)
    dh.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 8, dtype="float64"), nn.Tanh(), nn.Linear(8, 2, dtype="float64"))
    optimizer = dh.optim.Adam(model.parameters(), lr=0.05)
    history = nn.fit(model, nn.CrossEntropyLoss(), optimizer, loader, epochs=3, progress=False)
    model.zero_grad()
    nn.CrossEntropyLoss()(model(dh.tensor(X)), dh.tensor(y)).backward()
    return {
        "Trajectory": dh.descend("himmelblau", [0.0, 0.0], lr=0.01, steps=50),
        "LRSweep": dh.lr_sweep("booth", [0.0, 0.0], [1e-4, 0.05, 0.2], steps=50),
        "BasinMap": basins("himmelblau", lr=0.01, grid=12, steps=60),
        "LRRangeTestResult": nn.lr_range_test(model, nn.CrossEntropyLoss(), optimizer, loader, num_iter=30),
        "History": history,
        "GradientReport": nn.gradient_report(model),
        "Landscape": dh.landscapes.get("booth"),
        "LossLandscape": nn.loss_landscape(model, X, y, resolution=7),
    }


NAMES = ["Trajectory", "LRSweep", "BasinMap", "LRRangeTestResult", "History", "GradientReport", "Landscape",
         "LossLandscape"]


@pytest.mark.parametrize("name", NAMES)
def test_result_shows_a_table_and_its_picture(results, name):
    result = results[name]
    assert type(result).__name__ == name
    bundle = result._repr_mimebundle_()
    assert bundle["text/plain"] == repr(result)
    assert name in bundle["text/html"] and ("<table" in bundle["text/html"] or "<pre>" in bundle["text/html"])
    png = _picture(bundle)
    assert png is not None and png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    assert callable(getattr(result, "_repr_html_", None))


def test_no_picture_where_there_is_nothing_to_draw():
    unrecorded = dh.descend("booth", [0.0, 0.0], lr=0.05, steps=20, record=False)
    assert _picture(unrecorded._repr_mimebundle_()) is None
    one_variable = dh.descend(lambda p: ((p - 1) ** 2).sum(axis=-1), [3.0, 1.0, 2.0], lr=0.1, steps=20)
    bundle = one_variable._repr_mimebundle_()
    assert _picture(bundle) is None and "<table" in bundle["text/html"]


def test_a_class_own_html_table_comes_first_and_the_picture_under_it(results, monkeypatch):
    from downhill.optim.lr_tools import LRSweep

    monkeypatch.setattr(LRSweep, "_repr_html_", lambda self: "<table id='own'><tr><td>own</td></tr></table>")
    html = results["LRSweep"]._repr_mimebundle_()["text/html"]
    assert html.startswith("<table id='own'>") and html.index("<img") > html.index("</table>")


def test_picture_functions_return_figures_that_draw_inline():
    fig = dh.viz.mountain("booth")
    png = fig._repr_png_()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    from matplotlib.figure import Figure

    assert isinstance(fig, Figure)
    assert np.asarray(fig.get_size_inches()).shape == (2,)
