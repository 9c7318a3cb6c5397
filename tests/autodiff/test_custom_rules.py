"""custom_vjp and custom_jvp: a function's own derivative rule, as in JAX.

References: JAX (installed here) running the same rules, and exact derivatives."""

from __future__ import annotations

import numpy as np
import pytest

import downhill as dh
from downhill.errors import InputTypeError

jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)
jnp = jax.numpy


def _make_vjp(lib, np_like):
    """f(x, y) = sin(x) * y with a hand-written vjp, in one library's functions."""
    @lib.custom_vjp
    def f(x, y):
        return np_like.sin(x) * y

    def fwd(x, y):
        return f(x, y), (np_like.cos(x), np_like.sin(x), y)

    def bwd(residuals, g):
        cos_x, sin_x, y = residuals
        return (g * cos_x * y, g * sin_x)

    f.defvjp(fwd, bwd)
    return f


def test_custom_vjp_first_and_second_order_match_jax():
    ours = _make_vjp(dh, dh)
    theirs = _make_vjp(jax, jnp)
    x, y = 0.7, -1.3
    # JAX's answers as floats: pytest 9.2's approx refuses a tuple of jax Arrays.
    j1 = jax.grad(theirs, argnums=(0, 1))(x, y)
    assert dh.grad(ours, argnums=(0, 1))(x, y) == pytest.approx(tuple(float(v) for v in j1), rel=1e-15)
    # second order through the rule: residuals remember their inputs
    d2 = dh.grad(dh.grad(ours, argnums=0), argnums=(0, 1))(x, y)
    j2 = jax.grad(jax.grad(theirs, argnums=0), argnums=(0, 1))(x, y)
    assert d2 == pytest.approx(tuple(float(v) for v in j2), rel=1e-14)
    # exact: d/dx = cos x * y; d2/dx2 = -sin x * y; d2/dxdy = cos x
    assert d2 == pytest.approx((-np.sin(x) * y, np.cos(x)), rel=1e-14)


def test_custom_vjp_on_arrays_with_backward_and_vectors():
    f = _make_vjp(dh, dh)
    x = dh.tensor([0.1, 0.5, -2.0], requires_grad=True)
    y = dh.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (f(x, y) * dh.tensor([1.0, -1.0, 0.5])).sum().backward()
    np.testing.assert_allclose(x.grad.data, np.cos(x.data) * y.data * [1, -1, 0.5], rtol=1e-15)
    np.testing.assert_allclose(y.grad.data, np.sin(x.data) * [1, -1, 0.5], rtol=1e-15)


def test_custom_vjp_rule_is_really_used():
    @dh.custom_vjp
    def clip_gradient(x):
        return x

    clip_gradient.defvjp(lambda x: (x, None), lambda res, g: (dh.clip(g, -1.0, 1.0),))
    assert dh.grad(lambda x: 5.0 * clip_gradient(x))(2.0) == 1.0
    assert dh.grad(lambda x: 0.5 * clip_gradient(x))(2.0) == 0.5
    # nothing needs a gradient: the function itself runs, no graph
    assert not clip_gradient(dh.tensor(3.0)).requires_grad


def test_custom_vjp_inside_no_grad_and_with_a_constant_argument():
    f = _make_vjp(dh, dh)
    with dh.no_grad():
        value = f(dh.tensor(0.5, requires_grad=True), 2.0)
    assert not value.requires_grad
    assert dh.grad(lambda x: f(x, 2.0))(0.5) == pytest.approx(2 * np.cos(0.5), rel=1e-15)


def test_custom_jvp_matches_jax_in_forward_and_reverse_and_second_order():
    def make(lib, np_like):
        @lib.custom_jvp
        def f(x):
            return np_like.log1p(np_like.exp(x))

        @f.defjvp
        def f_jvp(primals, tangents):
            (x,), (t,) = primals, tangents
            return f(x), t / (1 + np_like.exp(-x))

        return f

    ours, theirs = make(dh, dh), make(jax, jnp)
    for x in (-3.0, 0.2, 40.0):
        assert dh.grad(ours)(x) == pytest.approx(float(jax.grad(theirs)(x)), rel=1e-14)
        assert dh.grad(dh.grad(ours))(x) == pytest.approx(float(jax.grad(jax.grad(theirs))(x)), rel=1e-12)
        assert dh.jvp(ours, (x,), (2.0,))[1] == pytest.approx(float(jax.jvp(theirs, (x,), (2.0,))[1]), rel=1e-14)


def test_custom_jvp_rule_is_used_where_the_chain_rule_would_give_nan():
    @dh.custom_jvp
    def safe_norm(v):
        return dh.sqrt(dh.sum(v * v))

    @safe_norm.defjvp
    def safe_norm_jvp(primals, tangents):
        (v,), (t,) = primals, tangents
        n = safe_norm(v)
        unit = dh.where(n == 0, 0.0, v / dh.where(n == 0, 1.0, n))
        return n, dh.sum(unit * t)

    np.testing.assert_array_equal(dh.grad(safe_norm)(np.zeros(3)), [0.0, 0.0, 0.0])
    np.testing.assert_allclose(dh.grad(safe_norm)(np.array([3.0, 4.0])), [0.6, 0.8], rtol=1e-15)


def test_custom_jvp_two_arguments_and_jacobian():
    @dh.custom_jvp
    def mul(a, b):
        return a * b

    @mul.defjvp
    def mul_jvp(primals, tangents):
        (a, b), (ta, tb) = primals, tangents
        return mul(a, b), ta * b + a * tb

    a, b = np.array([1.0, 2.0]), np.array([3.0, -1.0])
    ja, jb = dh.jacobian(mul, argnums=(0, 1))(a, b)
    np.testing.assert_array_equal(ja, np.diag(b))
    np.testing.assert_array_equal(jb, np.diag(a))


def test_rules_missing_or_malformed_say_so():
    @dh.custom_vjp
    def f(x):
        return x * 2

    with pytest.raises(InputTypeError, match="defvjp"):
        dh.grad(f)(1.0)
    f.defvjp(lambda x: (x * 2, None), lambda res, g: g * 2)  # not a tuple
    with pytest.raises(InputTypeError, match="tuple with one cotangent per argument"):
        dh.grad(f)(1.0)

    @dh.custom_jvp
    def g(x):
        return x

    with pytest.raises(InputTypeError, match="defjvp"):
        dh.grad(g)(1.0)
