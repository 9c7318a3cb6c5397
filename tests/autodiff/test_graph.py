"""graph_of: the computational graph as data; the chain rule made visible and checked."""

from __future__ import annotations

import numpy as np
import pytest

import downhill as dh
from downhill.autodiff.graph import Graph, format_value, graph_of


def _scalar(value):
    return dh.tensor(float(value), requires_grad=True)


def test_nodes_edges_values_and_gradients():
    x, y = _scalar(2.0), _scalar(3.0)
    g = graph_of(x * y + dh.sin(x), names={"x": x, "y": y})
    assert isinstance(g, Graph) and g.scalar
    assert [(n.kind, n.label) for n in g.nodes] == [
        ("input", "x"), ("input", "y"), ("op", "multiply"), ("op", "sin"), ("op", "add")]
    assert g.output == 4 and g.nodes[4].value == pytest.approx(6 + np.sin(2))
    assert g.node("x").grad == pytest.approx(3 + np.cos(2)) and g.node("y").grad == pytest.approx(2)
    # Each edge: the local derivative d child / d parent.
    local = {(e.parent, e.child, e.index): e.local for e in g.edges}
    assert local == pytest.approx({(0, 2, 0): 3.0, (1, 2, 1): 2.0, (0, 3, 0): np.cos(2), (2, 4, 0): 1.0,
                                   (3, 4, 1): 1.0})
    assert [n.depth for n in g.nodes] == [0, 0, 1, 1, 2]


def test_gradients_match_backward_and_nothing_is_touched():
    x, y = _scalar(0.7), _scalar(-1.3)
    out = dh.exp(x * y) / (1 + x ** 2) - dh.tanh(y)
    g = graph_of(out, names={"x": x, "y": y})
    assert x.grad is None and y.grad is None  # graph_of does not write .grad
    out.backward()
    assert g.node("x").grad == pytest.approx(float(x.grad))
    assert g.node("y").grad == pytest.approx(float(y.grad))


def test_graph_of_after_backward_with_retain_graph():
    x = _scalar(1.5)
    out = x ** 3
    out.backward(retain_graph=True)
    assert graph_of(out, names={"x": x}).node("x").grad == pytest.approx(float(x.grad)) == pytest.approx(6.75)


EXPRESSIONS = [
    lambda x, y: x * y + dh.sin(x),
    lambda x, y: (x * x) * (x + y),                     # a diamond: x used three times
    lambda x, y: dh.log(1 + dh.exp(x * y)) / (y * y + 1),
    lambda x, y: dh.sigmoid(x - 2 * y) ** 2 + dh.sqrt(x * x + y * y),
    lambda x, y: dh.maximum(x, y) * dh.cos(x * y) - dh.abs(y) * 3,
    lambda x, y: dh.tanh(dh.tanh(dh.tanh(x) * y) + x),  # a deep chain
]


@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_chain_rule_sum_over_paths_of_products_equals_the_gradient(expression):
    rng = np.random.default_rng(3)
    for _ in range(3):
        a, b = rng.uniform(0.3, 1.7, size=2) * rng.choice([-1, 1], size=2)
        x, y = _scalar(a), _scalar(b)
        g = graph_of(expression(x, y), names={"x": x, "y": y})
        expected = dh.grad(lambda u, v: expression(u, v), argnums=(0, 1))(float(a), float(b))
        for name, want in zip(("x", "y"), expected):
            rule = g.chain_rule(name)
            # By hand: every path's product of local derivatives, summed.
            by_hand = sum(np.prod([edge.local for edge in path]) for path in g.paths(name))
            assert rule.total == pytest.approx(want, rel=1e-10, abs=1e-12)
            assert by_hand == pytest.approx(want, rel=1e-10, abs=1e-12)
            assert g.node(name).grad == pytest.approx(want, rel=1e-10, abs=1e-12)


def test_every_interior_node_obeys_the_chain_rule():
    x, y = _scalar(0.4), _scalar(1.1)
    g = graph_of(dh.sin(x * y) * dh.exp(x) + y ** 2)
    for node in g.nodes:
        if node.kind == "constant":
            continue
        assert g.chain_rule(node.id).total == pytest.approx(node.grad)


def test_a_square_has_two_paths():
    x = _scalar(3.0)
    g = graph_of(dh.sin(x * x), names={"x": x})
    rule = g.chain_rule("x")
    assert len(rule.terms) == 2 and rule.total == pytest.approx(6 * np.cos(9))
    assert str(rule).splitlines()[0] == "path 1: x -> multiply -> sin: 3 x -0.91113 = -2.73339"


def test_constants_are_nodes_of_their_own():
    x = _scalar(2.0)
    g = graph_of(x * 5.0 + 1.0, names={"x": x})
    constants = [n for n in g.nodes if n.kind == "constant"]
    assert [n.value for n in constants] == [5.0, 1.0]
    assert [n.label for n in constants] == ["5", "1"]
    assert g.node("x").grad == 5.0
    # A constant sits one column before the op that uses it.
    users = [e.child for e in g.edges if g.nodes[e.parent].kind == "constant"]
    assert [g.nodes[c].depth - n.depth for c, n in zip(users, constants)] == [1, 1]


def test_tensor_graphs_use_jacobians():
    W = dh.tensor(np.arange(6.0).reshape(2, 3) / 5, requires_grad=True)
    v = dh.tensor([1.0, -2.0, 0.5], requires_grad=True)
    b = dh.tensor([0.1, 0.2], requires_grad=True)
    out = dh.tanh(W @ v + b).sum()
    g = graph_of(out, names={"W": W, "v": v, "b": b})
    out.backward()
    for name, tensor in (("W", W), ("v", v), ("b", b)):
        assert np.allclose(g.node(name).grad, tensor.grad.data)
        assert np.allclose(g.chain_rule(name).total, tensor.grad.data)
    matmul_to_v = next(e for e in g.edges if e.parent == g.node("v").id)
    assert matmul_to_v.local.shape == (2, 3) and np.allclose(matmul_to_v.local, W.data)
    tanh_edge = next(e for e in g.edges if g.nodes[e.child].op == "tanh")
    assert tanh_edge.summary.startswith("diag")
    sum_edge = next(e for e in g.edges if g.nodes[e.child].op == "sum")
    assert sum_edge.summary == "all 1 (1x2)"


def test_broadcasting_is_summed_back():
    x = dh.tensor([1.0, 2.0, 3.0], requires_grad=True)
    s = _scalar(2.0)
    out = (x * s).sum()
    g = graph_of(out, names={"x": x, "s": s})
    assert g.node("s").grad == pytest.approx(6.0)
    edge = next(e for e in g.edges if e.parent == g.node("s").id)
    assert edge.local.shape == (3, 1) and np.allclose(edge.local.ravel(), [1, 2, 3])
    assert g.chain_rule("s").total == pytest.approx(6.0)


def test_a_vector_output_is_differentiated_through_its_sum():
    x = dh.tensor([1.0, 2.0], requires_grad=True)
    g = graph_of(x ** 2, names={"x": x})
    assert not g.scalar and np.allclose(g.node("x").grad, [2.0, 4.0])


def test_names_may_label_interior_nodes_and_be_given_either_way():
    x = _scalar(1.0)
    h = x * 2
    g = graph_of(h + 1, names={h: "h", "x": x})
    assert g.node("h").op == "multiply" and g.node("h").label == "h"
    with pytest.raises(KeyError, match="named nodes"):
        g.node("nope")
    with pytest.raises(TypeError, match="name to a Tensor"):
        graph_of(h, names={"x": 1.0})


def test_errors_teach():
    with pytest.raises(ValueError, match="requires_grad=True"):
        graph_of(dh.tensor(1.0) * 2)
    with pytest.raises(TypeError, match="downhill Tensor"):
        graph_of(3.0)
    x = _scalar(1.0)
    y = dh.exp(x)
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        graph_of(y)


def test_a_leaf_alone_and_an_input_that_does_not_matter():
    x = _scalar(4.0)
    g = graph_of(x, names={"x": x})
    assert len(g.nodes) == 1 and g.node("x").grad == 1.0 and g.chain_rule("x").total == 1.0
    y = _scalar(2.0)
    z = dh.where(dh.tensor(True), x * 1.0, y * 1.0)  # y's branch is not taken
    g = graph_of(z, names={"x": x, "y": y})
    assert g.node("y").grad == 0.0 and g.chain_rule("y").total == 0.0


def test_a_long_chain_needs_no_recursion():
    x = _scalar(0.5)
    value = x
    for _ in range(3000):
        value = value * 1.0001
    g = graph_of(value, names={"x": x})
    assert g.node("x").grad == pytest.approx(1.0001 ** 3000)


def test_table_and_format_value():
    x = _scalar(3.0)
    text = graph_of(x * 2, names={"x": x}).table()
    assert text.splitlines()[1].split() == ["0", "input", "x", "3", "2"]
    assert format_value(np.zeros((3, 4))) == "3x4 array"
    assert format_value(float("nan")) == "nan" and format_value(None) == "-"


def test_to_dict_is_json_ready():
    import json

    W = dh.tensor(np.eye(2), requires_grad=True)
    v = dh.tensor([1.0, 2.0])
    data = json.loads(json.dumps(graph_of((W @ v + dh.tensor([np.inf, 0.0])).sum(), names={"W": W}).to_dict()))
    assert data["nodes"][0]["label"] == "W" and data["nodes"][0]["shape"] == [2, 2]
    assert data["nodes"][-1]["value"] is None  # inf becomes null
    assert data["edges"][0]["local"] == [[1.0, 2.0, 0.0, 0.0], [0.0, 0.0, 1.0, 2.0]]
    assert data["scalar"] is True
