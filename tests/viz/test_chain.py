"""graph (the chain rule drawn) and layers (gradient size per layer); the layered layout."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.patches import FancyArrowPatch

import downhill as dh
import downhill.viz as viz
from downhill.viz.layout import layered_layout

from .conftest import legend_texts, texts_of


def test_graph_draws_nodes_edges_and_the_chain(tmp_path, check_png):
    x = dh.tensor(2.0, requires_grad=True)
    y = dh.tensor(3.0, requires_grad=True)
    fig = viz.graph(x * y + dh.sin(x), names={"x": x, "y": y}, save=tmp_path / "g.png")
    check_png(tmp_path / "g.png")
    ax = fig.axes[0]
    arrows = [p for p in ax.patches if isinstance(p, FancyArrowPatch)]
    assert len(arrows) == 5
    texts = texts_of(fig)
    assert "x\nvalue 2\ngrad 2.584" in texts
    assert "output: +\nvalue 6.909\ngrad 1" in texts
    # Local derivatives on the arrows: d(x*y)/dx = y = 3, d(x*y)/dy = x = 2, d sin(x)/dx = cos 2.
    for label in ("3", "2", "-0.4161", "1"):
        assert label in texts
    assert "d output / d x = 3 × 1 + -0.416 × 1 = 2.584" in texts
    assert "on each arrow: local derivative d child / d parent" in legend_texts(fig)
    assert fig._suptitle.get_text() == "The chain rule, link by link"


def test_graph_of_a_square_bends_the_two_links_apart():
    x = dh.tensor(3.0, requires_grad=True)
    fig = viz.graph(x * x, names={"x": x})
    arrows = [p for p in fig.axes[0].patches if isinstance(p, FancyArrowPatch)]
    styles = {a.get_connectionstyle().rad for a in arrows}
    assert len(arrows) == 2 and len(styles) == 2
    assert "d output / d x = 3 + 3 = 6" in texts_of(fig)


def test_graph_with_constants_and_tensors():
    W = dh.tensor(np.arange(6.0).reshape(2, 3) / 5, requires_grad=True)
    v = dh.tensor([1.0, 2.0, 3.0])
    fig = viz.graph(dh.tanh(W @ v).sum() * 2.0, names={"W": W})
    texts = texts_of(fig)
    assert "constant\n2" in texts and "constant\n[1, 2, 3]" in texts
    assert any(t.startswith("J 2x6") for t in texts)
    assert "constant" in legend_texts(fig)


def test_graph_errors():
    with pytest.raises(ValueError, match="requires_grad=True"):
        viz.graph(dh.tensor(2.0) * 3)
    x = dh.tensor(2.0, requires_grad=True)
    y = x * x
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        viz.graph(y)
    x = dh.tensor(np.ones(70), requires_grad=True)
    value = x
    for _ in range(40):
        value = dh.sin(value) * 1.0
    with pytest.raises(ValueError, match="at most 60"):
        viz.graph(value.sum())


def test_layered_layout_orders_to_avoid_crossings():
    # a -> d, b -> c: the second column should follow the first's order.
    pos = layered_layout({"a": 0, "b": 0, "c": 1, "d": 1}, [("a", "d"), ("b", "c")])
    assert (pos["a"][1] > pos["b"][1]) == (pos["d"][1] > pos["c"][1])
    assert pos["c"][0] == pos["d"][0] == 1.0


class _Parameter:
    def __init__(self, grad):
        self.grad = None if grad is None else dh.tensor(grad)


class _Model:
    def __init__(self, grads):
        self._grads = grads

    def named_parameters(self):
        return [(name, _Parameter(g)) for name, g in self._grads.items()]


def test_layers_from_a_model(tmp_path, check_png):
    model = _Model({"0.weight": np.full((4, 3), 1e-6), "0.bias": np.full(4, 2e-6),
                    "2.weight": np.full((1, 4), 0.5), "2.bias": None})
    fig = viz.layers(model, save=tmp_path / "layers.png")
    check_png(tmp_path / "layers.png", min_size=(300, 200))
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    widths = [p.get_width() for p in ax.patches]
    assert widths[0] == pytest.approx(np.sqrt(12) * 1e-6) and widths[2] == pytest.approx(1.0)
    texts = texts_of(fig)
    assert "no gradient" in texts
    assert "over 100x away from the median: vanishing or exploding" in legend_texts(fig)


def test_layers_from_a_report_or_pairs():
    class Row:
        def __init__(self, name, grad_norm):
            self.name, self.grad_norm = name, grad_norm

    class Report:
        rows = [Row("a", 0.1), Row("b", 0.2)]

    assert len(viz.layers(Report()).axes[0].patches) == 2
    assert len(viz.layers([{"name": "a", "grad_norm": 0.0}]).axes[0].patches) == 1
    assert len(viz.layers({"a": 1.0, "b": 2.0}).axes[0].patches) == 2


def test_layers_bad_input():
    with pytest.raises(TypeError, match="gradient report"):
        viz.layers([object()])
    with pytest.raises(ValueError, match="nothing to draw"):
        viz.layers([])
