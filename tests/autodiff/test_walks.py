"""The engine's two backward loops agree: the fast first-order loop (bookkeeping
on the nodes) and the general loop (bookkeeping in the pass, shared with
graph_of and the tracer through ``topological``), on seeded random graphs."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import downhill as dh
from downhill.autodiff.backward import propagate, topological
from downhill.autodiff.compile import trace
from downhill.autodiff.graph import graph_of

UNARY = [dh.sin, dh.tanh, dh.exp, lambda a: a * a, lambda a: -a, dh.sigmoid, dh.sign, lambda a: dh.sum(a),
         lambda a: dh.relu(a), lambda a: dh.max(a)]
BINARY = [lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a * b, lambda a, b: a / (1.5 + b * b),
          lambda a, b: dh.maximum(a, b)]


def random_graph(seed, size=40):
    """Leaves of shapes () and (3,), then ``size`` random ops, each on values
    already made (so values are reused: diamonds and long chains)."""
    rng = np.random.default_rng(seed)
    leaves = [dh.tensor(rng.normal(size=shape), requires_grad=True) for shape in [(), (3,), (3,), ()]]
    values = list(leaves) + [dh.tensor(rng.normal(size=3))]  # one constant
    with np.errstate(all="ignore"):
        for _ in range(size):
            if rng.random() < 0.4:
                a = values[rng.integers(len(values))]
                values.append(UNARY[rng.integers(len(UNARY))](a))
            else:
                a, b = (values[i] for i in rng.integers(len(values), size=2))
                values.append(BINARY[rng.integers(len(BINARY))](a, b))
        root = dh.sum(values[-1]) + sum(dh.sum(v) for v in values[-6:-1] if v.requires_grad)
    return leaves, root


def _gradients(leaves, root, fast):
    found, _ = propagate(root, np.float64(1.0), retain_graph=True, fast=fast)
    out = []
    for leaf in leaves:
        entry = found.get(id(leaf))
        out.append(None if entry is None else entry[1])
    return out


@pytest.mark.parametrize("seed", range(40))
def test_fast_and_general_loops_give_identical_gradients(seed):
    leaves, root = random_graph(seed)
    with np.errstate(all="ignore"):
        fast = _gradients(leaves, root, True)
        general = _gradients(leaves, root, False)
    for a, b in zip(fast, general):
        if a is None or b is None:
            assert a is None and b is None
        else:
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("seed", range(10))
def test_backward_equals_graph_of_on_random_graphs(seed):
    leaves, root = random_graph(seed, size=25)
    with np.errstate(all="ignore"):
        graph = graph_of(root, names={f"x{i}": leaf for i, leaf in enumerate(leaves)})
        root.backward()
    for i, leaf in enumerate(leaves):
        node = [n for n in graph.nodes if n.name == f"x{i}"]
        if not node:  # the result does not depend on this leaf
            continue
        np.testing.assert_allclose(node[0].grad, leaf.grad.data, rtol=1e-12, atol=1e-300)


def test_topological_puts_parents_first_and_visits_a_diamond_once():
    x = dh.tensor(1.0, requires_grad=True)
    a = dh.sin(x)
    b = a * a + a
    order = topological(b)
    assert [t._op.name for t in order] == ["sin", "multiply", "add"]
    with_leaves = topological(b, leaves=True)
    assert with_leaves[0] is x and len(with_leaves) == 4


def test_a_deep_chain_needs_no_recursion():
    x = dh.tensor(0.5, requires_grad=True)
    y = x
    for _ in range(20000):
        y = y * 1.0
    assert len(topological(y)) == 20000

    y.backward()
    assert x.grad.item() == 1.0


def test_tracer_uses_the_same_walk_and_matches_backward():
    f = lambda x, y: dh.sin(x * y) * x + dh.tanh(y) * (x * y)  # noqa: E731
    program = trace(f, 2)
    value, (gx, gy) = program(0.7, -1.3)
    x = dh.tensor(0.7, requires_grad=True)
    y = dh.tensor(-1.3, requires_grad=True)
    out = f(x, y)
    out.backward()
    assert value == out.item()
    assert (gx, gy) == (x.grad.item(), y.grad.item())


def test_concurrent_backward_on_a_shared_graph_gives_the_serial_gradients():
    leaves, root = random_graph(7, size=60)
    with np.errstate(all="ignore"):
        expected = _gradients(leaves, root, False)
    results = []

    def run():
        with np.errstate(all="ignore"):
            for _ in range(30):
                results.append(_gradients(leaves, root, True))

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 90
    for got in results:
        for a, b in zip(expected, got):
            if a is None:
                assert b is None
            else:
                np.testing.assert_array_equal(a, b)
