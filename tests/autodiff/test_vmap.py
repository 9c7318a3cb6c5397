"""vmap: one evaluation on a batch equals a Python loop over the examples."""

from __future__ import annotations

import numpy as np
import pytest

import downhill as dh
from downhill.autodiff.vmap import NotBatchable


def logistic_loss(w, x, y):
    """Binary cross-entropy of a linear model, written stably: softplus(z) - y z."""
    z = x @ w
    return dh.softplus(z) - y * z


def test_vmap_of_grad_equals_a_loop_of_grad_on_1000_examples():
    rng = np.random.default_rng(0)
    w = rng.normal(size=10)
    X = rng.normal(size=(1000, 10))
    Y = (rng.random(1000) < 0.5).astype(float)
    batched = dh.vmap(dh.grad(logistic_loss), in_axes=(None, 0, 0), fallback="raise")(w, X, Y)
    looped = np.stack([dh.grad(logistic_loss)(w, x, y) for x, y in zip(X, Y)])
    assert batched.shape == (1000, 10)
    np.testing.assert_allclose(batched, looped, rtol=1e-13, atol=1e-15)
    # and the mathematics: (sigmoid(x.w) - y) x
    exact = (1 / (1 + np.exp(-X @ w)) - Y)[:, None] * X
    np.testing.assert_allclose(batched, exact, rtol=1e-12, atol=1e-14)


def test_vmap_of_value_and_per_example_hessian():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(7, 3))
    f = lambda x: dh.sum(dh.sin(x) * x ** 2)  # noqa: E731
    np.testing.assert_allclose(dh.vmap(f, fallback="raise")(X), [f(x).item() for x in X], rtol=1e-14)
    hessians = dh.vmap(dh.hessian(f), fallback="raise")(X)
    np.testing.assert_allclose(hessians, np.stack([dh.hessian(f)(x) for x in X]), rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("case", ["reduce_axis", "reshape_transpose", "index", "matrix", "concat", "clip"])
def test_vmap_matches_a_loop_for_each_kind_of_op(case):
    rng = np.random.default_rng(2)
    X = rng.normal(size=(5, 2, 3))
    M = rng.normal(size=(3, 4))
    functions = {
        "reduce_axis": lambda x: dh.max(x, axis=1) + dh.sum(x * x, axis=0).sum() + dh.norm(x, axis=1),
        "reshape_transpose": lambda x: dh.reshape(x, (3, 2)) * 2.0 + dh.transpose(x)[:, :1],
        "index": lambda x: x[1, ::2] * x[0, 1] + x[:, [0, 2]].sum(),
        "matrix": lambda x: dh.tanh(x @ M) @ M.T + x[0] @ M @ M.T + M[:, 0] @ x[1],
        "concat": lambda x: dh.concatenate([x, 3.0 * x, dh.ones((1, 3))], axis=0).sum(axis=1),
        "clip": lambda x: dh.clip(x, -0.5, 0.5) + dh.maximum(x, 0.1) + dh.where(M[:2, :3] > 0, x, -x),
    }
    f = functions[case]
    np.testing.assert_allclose(dh.vmap(f, fallback="raise")(X), np.stack([f(dh.tensor(x)).data for x in X]),
                               rtol=1e-14, atol=1e-15)
    g = dh.grad(lambda x: dh.sum(f(x) ** 2))
    np.testing.assert_allclose(dh.vmap(g, fallback="raise")(X), np.stack([g(x) for x in X]), rtol=1e-13, atol=1e-14)


def test_in_axes_and_out_axes():
    rng = np.random.default_rng(3)
    A = rng.normal(size=(3, 6))  # examples along axis 1
    b = rng.normal(size=3)
    f = lambda a, c: a * c + 1.0  # noqa: E731
    out = dh.vmap(f, in_axes=(1, None), out_axes=1, fallback="raise")(A, b)
    assert out.shape == (3, 6)
    np.testing.assert_allclose(out, A * b[:, None] + 1.0, rtol=1e-15)


def test_tuple_outputs_and_argnums():
    rng = np.random.default_rng(4)
    X, Y = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    f = lambda x, y: dh.sum(x * dh.exp(y))  # noqa: E731
    gx, gy = dh.vmap(dh.grad(f, argnums=(0, 1)), fallback="raise")(X, Y)
    np.testing.assert_allclose(gx, np.exp(Y), rtol=1e-15)
    np.testing.assert_allclose(gy, X * np.exp(Y), rtol=1e-15)


def test_tensor_inputs_give_a_tensor_that_an_outer_grad_can_differentiate():
    X = dh.tensor(np.array([[1.0, 2.0], [3.0, -1.0]]), requires_grad=True)
    per_example = dh.vmap(lambda x: dh.sum(x ** 3), fallback="raise")(X)
    assert isinstance(per_example, dh.Tensor)
    per_example.sum().backward()
    np.testing.assert_allclose(X.grad.data, 3 * X.data ** 2)


def test_value_dependent_code_is_refused_with_the_reason_when_asked():
    X = np.array([[1.0, -2.0], [-3.0, 4.0], [0.5, 0.5]])
    reads = "reads the values of a mapped tensor into Python"
    with pytest.raises(NotBatchable, match=reads):
        dh.vmap(lambda x: dh.sort(x), fallback="raise")(X)  # an index computed from the values
    with pytest.raises(NotBatchable, match=reads):
        dh.vmap(lambda x: dh.tensor(x.data * (2.0 if x.data[0] > 0 else 3.0)), fallback="raise")(X)
    # a branch on the value: refused even when the first and the last example take the same way
    with pytest.raises(NotBatchable, match=reads):
        dh.vmap(lambda x: x * 2.0 if x[0].item() > 0 else dh.sin(x), fallback="raise")(X[[0, 1, 2]])
    # a constant computed from a mapped value without reading it through the Tensor is still caught
    with pytest.raises(NotBatchable, match="depends on the example"):
        dh.vmap(lambda x: x * np.asarray(x._data).sum(), fallback="raise")(X)
    with pytest.raises(dh.errors.InputError, match="fallback must be 'loop' or 'raise'"):
        dh.vmap(lambda x: x, fallback="jit")


def test_value_dependent_code_falls_back_to_a_loop_with_the_loops_numbers():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(6, 4))
    functions = [
        lambda x: dh.sort(x) * dh.arange(4.0),
        lambda x: dh.median(x) + dh.max(x),
        lambda x: x * 2.0 if x[0].item() > 0 else dh.sin(x),  # a Python branch on the value
        lambda x: dh.tensor(x.data * 2.0) + x,  # a value computed outside the graph
    ]
    for f in functions:
        np.testing.assert_array_equal(dh.vmap(f)(X), np.stack([f(dh.tensor(x)).data for x in X]))
        g = dh.grad(lambda x: dh.sum(f(x) ** 2))
        np.testing.assert_array_equal(dh.vmap(g)(X), np.stack([g(x) for x in X]))
    # tuples of results, and an outer gradient through the loop
    both = dh.vmap(lambda x: (dh.sort(x), dh.sum(x)))(X)
    np.testing.assert_array_equal(both[0], np.sort(X, axis=1))
    np.testing.assert_allclose(both[1], X.sum(axis=1), rtol=1e-15)
    T = dh.tensor(X, requires_grad=True)
    dh.sum(dh.vmap(lambda x: dh.sort(x) ** 2)(T)).backward()
    np.testing.assert_allclose(T.grad.data, 2 * X, rtol=1e-15)


def test_bad_inputs_say_what_is_accepted():
    with pytest.raises(NotBatchable, match="floating-point"):
        dh.vmap(lambda x: x * 2.0)(np.arange(6).reshape(3, 2))
    with pytest.raises(dh.errors.InputError, match="different lengths"):
        dh.vmap(lambda a, b: a + b)(np.ones((3, 2)), np.ones((4, 2)))
    with pytest.raises(dh.errors.InputError, match="out_axes"):
        dh.vmap(lambda a: a, out_axes=None)
    with pytest.raises(dh.errors.InputError, match="maps no argument"):
        dh.vmap(lambda a: a, in_axes=None)(np.ones(3))


def test_a_function_with_its_own_derivative_rule_runs_as_a_loop():
    @dh.custom_vjp
    def twice_sin(x):
        return dh.sin(x) * 2

    twice_sin.defvjp(lambda x: (twice_sin(x), x), lambda x, g: (g * 2 * dh.cos(x),))
    X = np.random.default_rng(6).normal(size=(4, 3))
    np.testing.assert_allclose(dh.vmap(twice_sin)(X), 2 * np.sin(X), rtol=1e-15)
    np.testing.assert_allclose(dh.vmap(dh.grad(lambda x: dh.sum(twice_sin(x))))(X), 2 * np.cos(X), rtol=1e-15)
    with pytest.raises(NotBatchable, match="'custom_vjp:twice_sin' is a rule made for each call"):
        dh.vmap(twice_sin, fallback="raise")(X)
