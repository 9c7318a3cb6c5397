"""The backward pass: deep graphs, shared subexpressions, accumulation, hooks, higher derivatives."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

import downhill as dh
from downhill.autodiff.backward import unbroadcast
from downhill.autodiff.ops import NP, OPS

DEPTH = 100_000


# ------------------------------------------------------------------ deep graphs
def test_graph_100000_ops_deep_runs_backward_exactly():
    factor = 1.0000001
    x = dh.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(DEPTH):
        y = y * factor + 0.0
    y.backward()
    # The backward pass multiplies the cotangent by `factor` once per node,
    # in the same order as this loop: the same float, bit for bit.
    expected = 1.0
    for _ in range(DEPTH):
        expected *= factor
    assert x.grad.item() == expected
    assert x.grad.item() == pytest.approx(math.exp(DEPTH * math.log1p(1e-7)), rel=1e-9)


def test_deep_chain_through_grad_and_a_kept_graph_can_be_dropped():
    # A sin chain 20,000 deep through dh.grad; the graph is kept (retain_graph)
    # and then dropped, which must not recurse either.
    def chain(x):
        for _ in range(20_000):
            x = dh.sin(x)
        return x

    slope = dh.grad(chain)(0.5)
    expected, v = 1.0, 0.5
    for _ in range(20_000):
        expected *= math.cos(v)
        v = math.sin(v)
    assert slope == pytest.approx(expected, rel=1e-12)

    x = dh.tensor(0.5, requires_grad=True)
    y = chain(x)
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.item() == pytest.approx(2 * expected, rel=1e-12)
    z = x
    for _ in range(DEPTH):
        z = z + 1.0
    del z  # frees a 100,000-link chain of nodes


def _count_rule_calls(monkeypatch, names):
    """Wrap the rules of the named primitives so that each call is counted."""
    calls = {name: 0 for name in names}

    def wrap(name, rule):
        def counted(*args, **kwargs):
            calls[name] += 1
            return rule(*args, **kwargs)
        return counted

    for name in names:
        monkeypatch.setattr(OPS[name], "vjps", tuple(wrap(name, r) for r in OPS[name].vjps))
    return calls


def test_deep_graph_with_sharing_visits_each_node_once(monkeypatch):
    calls = _count_rule_calls(monkeypatch, ["add", "multiply"])
    x = dh.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(2000):
        y = y * 0.5 + y * 0.25  # y is used twice at every level
    y.backward()
    # 2**2000 paths lead from y back to x; visiting each node once takes 2 add
    # rules and 2 multiply rules per level, and computes the same float as:
    expected = 1.0
    for _ in range(2000):
        expected = expected * 0.5 + expected * 0.25
    assert x.grad.item() == expected > 0
    assert calls == {"add": 2 * 2000, "multiply": 2 * 2000}


# ----------------------------------------------------------- shared subexpressions
def test_y_plus_y_sixty_times_is_exact_and_linear(monkeypatch):
    calls = []
    rule = OPS["add"].vjps[0]

    def counted(F, g, ans, x, y):
        calls.append(1)
        return rule(F, g, ans, x, y)

    monkeypatch.setattr(OPS["add"], "vjps", (counted, counted))
    x = dh.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(60):
        y = y + y
    start = time.perf_counter()
    y.backward()
    elapsed = time.perf_counter() - start
    assert x.grad.item() == 2.0 ** 60
    # Each of the 60 nodes hands its gradient to its two inputs once: 120 rule
    # calls, not the 2**60 paths through the graph.
    assert len(calls) == 120
    assert elapsed < 1.0


def test_diamond_and_a_leaf_used_twice():
    a = dh.tensor(3.0, requires_grad=True)
    b = dh.tensor(-2.0, requires_grad=True)
    u = a * b
    z = u * u + a * a + u  # (ab)^2 + a^2 + ab
    z.backward()
    assert a.grad.item() == 2 * a.item() * b.item() ** 2 + 2 * a.item() + b.item()
    assert b.grad.item() == 2 * b.item() * a.item() ** 2 + a.item()


# -------------------------------------------------------------------- unbroadcast
@pytest.mark.parametrize("g_shape, shape, axes", [
    ((2, 3), (1, 3), (0,)), ((2, 3), (3,), (0,)), ((2, 3), (), (0, 1)), ((2, 3), (2, 1), (1,)),
    ((4, 2, 3), (2, 1), (0, 2)), ((2, 3), (2, 3), ()),
])
def test_unbroadcast_sums_back_to_the_input_shape(g_shape, shape, axes):
    g = np.arange(math.prod(g_shape), dtype=float).reshape(g_shape)
    out = unbroadcast(NP, g, shape)
    assert np.shape(out) == shape
    np.testing.assert_array_equal(out, np.sum(g, axis=axes).reshape(shape) if axes else g)


# ----------------------------------------------------------- .grad bookkeeping
def test_grad_accumulates_and_resets():
    x = dh.tensor([1.0, 2.0], requires_grad=True)
    (x ** 3).sum().backward()
    (x ** 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), 2 * 3 * np.array([1.0, 4.0]))
    x.grad = None
    (x * 5).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [5.0, 5.0])


def test_backward_twice_needs_retain_graph_and_then_accumulates():
    x = dh.tensor([1.0, 2.0], requires_grad=True)
    loss = (dh.exp(x) * x).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp([1.0, 2.0]) * (1 + np.array([1.0, 2.0])), rtol=1e-15)
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        loss.backward()


def test_gradients_of_two_leaves_never_share_memory():
    # The gradient a broadcast passes back is a read-only view; .grad must own its memory.
    a = dh.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = dh.tensor(1.0, requires_grad=True)
    c = dh.tensor([[0.0, 0.0, 0.0]], requires_grad=True)
    (a + b + c).sum().backward()
    (a + c).sum().backward()
    assert not np.shares_memory(a.grad.numpy(), c.grad.numpy())
    np.testing.assert_array_equal(a.grad.numpy(), [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(c.grad.numpy(), [[2.0, 2.0, 2.0]])
    assert b.grad.item() == 3.0


def test_backward_with_gradient_inputs_and_from_a_leaf():
    x = dh.tensor([1.0, 2.0], requires_grad=True)
    (x * x).backward(gradient=dh.tensor([1.0, 10.0]))
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 40.0])
    a = dh.tensor(2.0, requires_grad=True)
    b = dh.tensor(5.0, requires_grad=True)
    (a * b).backward(inputs=[a])
    assert a.grad.item() == 5.0 and b.grad is None
    leaf = dh.tensor(3.0, requires_grad=True)
    leaf.backward()
    assert leaf.grad.item() == 1.0


def test_gradient_of_a_part_of_the_graph_that_does_not_require_grad():
    x = dh.tensor([1.0, 2.0], requires_grad=True)
    constant = dh.tensor([3.0, 4.0])
    (x * constant + constant ** 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 4.0])
    assert constant.grad is None


def test_grad_has_the_dtype_of_its_leaf():
    x = dh.tensor([1.0, 2.0], dtype="float32", requires_grad=True)
    (x * np.array([1.0, 2.0]) * 3.0).sum().backward()  # float64 on the way: the graph promotes
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.numpy(), np.array([3.0, 6.0], dtype=np.float32))


# --------------------------------------------------------------- hooks, retain_grad
def test_hooks_change_gradients_and_can_be_removed():
    x = dh.tensor([1.0, 2.0], requires_grad=True)
    handle = x.register_hook(lambda g: g * 10)
    (x * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [20.0, 20.0])
    handle.remove()
    x.grad = None
    (x * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])

    x.grad = None
    seen = []
    z = x * 3
    z.register_hook(lambda g: seen.append(g.numpy().copy()))  # returning None keeps g
    z.register_hook(lambda g: g + 1)
    (z * z).sum().backward()
    np.testing.assert_array_equal(seen[0], 2 * 3 * np.array([1.0, 2.0]))
    np.testing.assert_array_equal(x.grad.numpy(), 3 * (2 * 3 * np.array([1.0, 2.0]) + 1))
    with pytest.raises(RuntimeError, match="does not require grad"):
        dh.tensor(1.0).register_hook(lambda g: g)


def test_retain_grad_keeps_an_intermediate_gradient():
    x = dh.tensor([1.0, 2.0], requires_grad=True)
    z = x * 3
    z.retain_grad()
    (z * z).sum().backward()
    np.testing.assert_array_equal(z.grad.numpy(), [6.0, 12.0])
    np.testing.assert_array_equal(x.grad.numpy(), [18.0, 36.0])


# ------------------------------------------------------------- higher derivatives
def test_create_graph_gives_higher_derivatives_through_grad():
    x = dh.tensor([0.5, 1.5], requires_grad=True)
    y = (x ** 3 + dh.sin(x)).sum()
    y.backward(create_graph=True)
    first = x.grad
    assert first.grad_fn is not None
    np.testing.assert_allclose(first.numpy(), 3 * x.numpy() ** 2 + np.cos(x.numpy()), rtol=1e-15)
    x.grad = None
    first.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 6 * x.numpy() - np.sin(x.numpy()), rtol=1e-15)


def _torch_three_derivatives(values):
    import torch  # only in the live oracle run and the recorder

    t = torch.tensor(values, requires_grad=True)
    (d1,) = torch.autograd.grad((torch.exp(t) * torch.tanh(t)).sum(), t, create_graph=True)
    (d2,) = torch.autograd.grad(d1.sum(), t, create_graph=True)
    (d3,) = torch.autograd.grad(d2.sum(), t)
    return np.stack([d1.detach().numpy(), d2.detach().numpy(), d3.numpy()])


def test_create_graph_third_derivative_matches_pytorch(oracle):
    values = np.array([0.3, -1.2, 2.0])
    x = dh.tensor(values, requires_grad=True)
    (dh.exp(x) * dh.tanh(x)).sum().backward(create_graph=True)
    g1 = x.grad
    x.grad = None
    g1.sum().backward(create_graph=True)
    g2 = x.grad
    x.grad = None
    g2.sum().backward()

    d1, d2, d3 = oracle("exp_tanh/first_second_third", lambda: _torch_three_derivatives(values))
    np.testing.assert_allclose(g1.numpy(), d1, rtol=1e-12)
    np.testing.assert_allclose(g2.numpy(), d2, rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), d3, rtol=1e-9)


def test_create_graph_keeps_the_graph_as_pytorch_does():
    # The recorded gradient refers back to the forward graph (exp's rule uses its output),
    # so backward(create_graph=True) must not free it unless told to.
    x = dh.tensor(2.0, requires_grad=True)
    y = dh.exp(x)
    y.backward(create_graph=True)
    first = x.grad
    first.backward()  # through exp's node again: it is still there
    assert x.grad.item() == 2 * math.exp(2.0)  # e^2 recorded, plus d(e^x)/dx = e^2
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()  # first.backward() has freed exp's node (PyTorch says the same)
    x.grad = None
    y = dh.exp(x)
    y.backward(create_graph=True)
    y.backward()  # the graph is still there
    assert x.grad.item() == 2 * math.exp(2.0)
    z = dh.exp(x)
    z.backward(create_graph=True, retain_graph=False)
    with pytest.raises(RuntimeError, match="second time"):
        z.backward()


def test_leaves_never_share_gradient_memory_even_when_a_rule_passes_its_cotangent_on():
    # add hands the same cotangent to both inputs; .grad must still be separate arrays.
    x = dh.tensor(np.ones((2, 3)), requires_grad=True)
    y = dh.tensor(np.ones((2, 3)), requires_grad=True)
    z = dh.tensor(np.ones((2, 3)), requires_grad=True)
    ((x + y) + z).sum().backward()
    grads = [x.grad.data, y.grad.data, z.grad.data]
    for i, a in enumerate(grads):
        for b in grads[i + 1:]:
            assert not np.shares_memory(a, b)
    x.grad.data[...] = 7.0
    np.testing.assert_array_equal(y.grad.data, np.ones((2, 3)))
    np.testing.assert_array_equal(z.grad.data, np.ones((2, 3)))


def test_a_gradient_given_as_a_view_is_writable_and_owned_by_its_leaf():
    # The weight of x @ W.T gets a transposed view of a fresh product: kept as is.
    x = dh.tensor(np.arange(6.0).reshape(2, 3))
    W = dh.tensor(np.ones((4, 3)), requires_grad=True)
    (x @ W.T).sum().backward()
    np.testing.assert_array_equal(W.grad.data, np.tile(x.data.sum(axis=0), (4, 1)))
    W.grad.data[...] += 1.0  # writable, in place
    np.testing.assert_array_equal(W.grad.data, np.tile(x.data.sum(axis=0) + 1, (4, 1)))


def test_a_user_given_seed_is_copied_not_adopted():
    seed = np.ones(3)
    x = dh.tensor(np.zeros(3), requires_grad=True)
    (x + 0.0).backward(gradient=seed)
    assert not np.shares_memory(x.grad.data, seed)
    x.grad.data[...] = 5.0
    np.testing.assert_array_equal(seed, np.ones(3))
