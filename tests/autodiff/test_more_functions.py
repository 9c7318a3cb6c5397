"""Conventions and errors of the functions added for issue 10 (the op table checks their values
and derivatives over shapes; these tests pin the corners: kinks, ties, zeros, NaN, bad input).

PyTorch's (and, for the forward mode and the signed logsumexp, JAX's) answers come
from the ``oracle`` fixture: recorded in tests/oracle/data/test_more_functions.npz,
or computed live under ``pytest -m oracle``.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest

import downhill as dh
from downhill.errors import InputError


def _torch_grad(fn, x):
    """The gradient of ``fn(t).sum()`` at ``x`` in PyTorch; ``fn`` gets torch as its second argument."""
    import torch  # only in the live oracle run and the recorder

    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    fn(t, torch).sum().backward()
    return t.grad.numpy()


def _jax():
    """JAX with 64-bit floats (the oracle for what PyTorch lacks), imported now."""
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    return jax


# ------------------------------------------------------------------ zero and no gradients
@pytest.mark.parametrize("name", ["floor", "ceil", "trunc", "round"])
def test_step_functions_give_zero_gradients_not_none(name, oracle):
    x = dh.tensor([-1.7, 0.2, 2.5], requires_grad=True)
    (getattr(dh, name)(x) * 3).sum().backward()
    assert x.grad is not None
    theirs = oracle(f"{name}/grad", lambda: _torch_grad(lambda t, torch: getattr(torch, name)(t) * 3,
                                                        [-1.7, 0.2, 2.5]))
    np.testing.assert_array_equal(x.grad.numpy(), theirs)


def test_positions_carry_no_gradient_but_picking_with_them_does():
    x = dh.tensor([[1.0, 7.0, 3.0], [9.0, 2.0, 4.0]], requires_grad=True)
    for position in (dh.argmax(x, axis=1), dh.argmin(x), dh.argsort(x), dh.count_nonzero(x)):
        assert position.dtype.kind == "i" and not position.requires_grad
    rows = np.arange(2)
    dh.sum(x[rows, dh.argmax(x, axis=1)]).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 1, 0], [1, 0, 0]])


# ------------------------------------------------------------------ kinks, ties, NaN
def _torch_fmax_grads(a, b):
    import torch  # only in the live oracle run and the recorder

    ta = torch.tensor(a, requires_grad=True, dtype=torch.float64)
    tb = torch.tensor(b, requires_grad=True, dtype=torch.float64)
    torch.fmax(ta, tb).sum().backward()
    return np.stack([ta.grad.numpy(), tb.grad.numpy()])


def test_fmax_gives_a_tie_to_the_first_input_and_ignores_nan_as_pytorch(oracle):
    a = [1.0, 2.0, float("nan"), 0.5]
    b = [1.0, float("nan"), 3.0, 0.7]
    ga, gb = dh.grad(lambda u, v: dh.sum(dh.fmax(u, v)), argnums=(0, 1))(np.array(a), np.array(b))
    t_ga, t_gb = oracle("fmax/grads", lambda: _torch_fmax_grads(a, b))
    np.testing.assert_array_equal(ga, t_ga)
    np.testing.assert_array_equal(gb, t_gb)
    np.testing.assert_array_equal(dh.fmin(dh.tensor(a), dh.tensor(b)).numpy(), np.fmin(a, b))


def test_hypot_gradient_at_the_origin_is_zero_and_sinc_slope_at_zero_is_zero():
    gx, gy = dh.grad(lambda u, v: dh.hypot(u, v), argnums=(0, 1))(0.0, 0.0)
    assert (gx, gy) == (0.0, 0.0)
    assert dh.grad(dh.sinc)(0.0) == 0.0
    assert dh.grad(dh.sinc)(0.5) == pytest.approx(-4 / math.pi, rel=1e-14)  # (cos(pi/2) - 2/pi) / 0.5


def test_mod_follows_python_signs_and_the_percent_operator():
    pairs = [(5.0, 3.0), (-5.0, 3.0), (5.0, -3.0), (-5.0, -3.0), (7.5, 2.0)]
    for a, b in pairs:
        assert (dh.tensor(a) % b).item() == a % b
        assert (a % dh.tensor(b)).item() == a % b
        ga, gb = dh.grad(lambda u, v: u % v, argnums=(0, 1))(a, b)
        assert (ga, gb) == (1.0, -math.floor(a / b))


def test_cumprod_gradient_is_exact_through_zeros(oracle):
    x = [2.0, 0.0, 3.0, 0.0, 1.5, -1.0]
    got = dh.grad(lambda v: dh.sum(dh.cumprod(v) * np.arange(1.0, 7.0)))(np.array(x))
    expected = oracle("cumprod/grad", lambda: _torch_grad(
        lambda t, torch: torch.cumprod(t, 0) * torch.arange(1.0, 7.0, dtype=torch.float64), x))
    np.testing.assert_allclose(got, expected, rtol=1e-15, atol=0)


def test_median_of_an_even_count_shares_the_gradient_between_the_middle_two():
    g = dh.grad(dh.median)(np.array([4.0, 1.0, 3.0, 2.0]))
    np.testing.assert_array_equal(g, [0.0, 0.0, 0.5, 0.5])


def test_nan_to_num_passes_the_gradient_only_where_finite():
    x = np.array([1.0, np.nan, np.inf, -2.0])
    g = dh.grad(lambda v: dh.sum(dh.nan_to_num(v) * 0.5))(x)
    np.testing.assert_array_equal(g, [0.5, 0.0, 0.0, 0.5])


# ------------------------------------------------------------------ NumPy's results
def test_decompositions_return_numpys_values_and_shapes():
    a = np.random.default_rng(3).normal(size=(4, 3))
    u, s, vh = dh.linalg.svd(a)
    nu, ns, nvh = np.linalg.svd(a)
    np.testing.assert_array_equal(u.numpy(), nu)
    np.testing.assert_array_equal(s.numpy(), ns)
    np.testing.assert_array_equal(vh.numpy(), nvh)
    q, r = dh.linalg.qr(a)
    nq, nr = np.linalg.qr(a)
    np.testing.assert_array_equal(q.numpy(), nq)
    np.testing.assert_array_equal(r.numpy(), nr)
    x, residuals, rank, singular = dh.linalg.lstsq(a, np.arange(4.0))
    nx, nres, nrank, nsing = np.linalg.lstsq(a, np.arange(4.0))
    np.testing.assert_allclose(x.numpy(), nx, rtol=1e-12)
    np.testing.assert_allclose(residuals.numpy(), nres, rtol=1e-10)
    assert rank == nrank
    np.testing.assert_array_equal(singular.numpy(), nsing)
    sign, logabsdet = dh.linalg.slogdet(-np.eye(3))
    assert (sign.item(), logabsdet.item()) == (-1.0, 0.0)


def test_dot_beyond_two_dimensions_is_numpys():
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(2, 3, 4)), rng.normal(size=(5, 4, 2))
    np.testing.assert_allclose(dh.dot(a, b).numpy(), np.dot(a, b), rtol=1e-13)


def test_a_tensor_method_ravel_and_the_linalg_submodule():
    assert dh.tensor([[1.0, 2.0]]).ravel().shape == (2,)
    import downhill.linalg

    assert downhill.linalg.inv is dh.linalg.inv


# ------------------------------------------------------------------ forward mode and higher order (JAX)
def _jax_forward_and_hessian(x, v):
    jax = _jax()
    jnp = jax.numpy

    def f_jax(x):
        m = x[:4].reshape(2, 2) + 2 * jnp.eye(2)
        return jnp.linalg.det(m) * jnp.logaddexp(x[4], x[5]) + jnp.sum(jnp.arcsin(x / 4) * jnp.cumsum(x))

    _, tangent = jax.jvp(f_jax, (jnp.asarray(x),), (jnp.asarray(v),))
    return {"tangent": np.asarray(tangent), "hessian": np.asarray(jax.hessian(f_jax)(jnp.asarray(x)))}


def test_forward_mode_and_hessians_of_new_functions_match_jax(oracle):
    def f_dh(x):
        m = dh.reshape(x[:4], (2, 2)) + 2 * np.eye(2)
        return dh.linalg.det(m) * dh.logaddexp(x[4], x[5]) + dh.sum(dh.arcsin(x / 4) * dh.cumsum(x))

    x = np.array([0.3, -0.2, 0.5, 0.1, 0.7, -1.1])
    v = np.array([1.0, 0.5, -0.3, 0.2, -0.7, 0.4])
    theirs = functools.cache(lambda: _jax_forward_and_hessian(x, v))
    _, tangent = dh.jvp(f_dh, (x,), (v,))
    expected = oracle("jax/jvp_tangent", lambda: theirs()["tangent"])
    assert float(tangent) == pytest.approx(float(expected), rel=1e-12)
    np.testing.assert_allclose(dh.hessian(f_dh)(x), oracle("jax/hessian", lambda: theirs()["hessian"]),
                               rtol=1e-10, atol=1e-12)


# ------------------------------------------------------------------ bad input: clear errors
@pytest.mark.parametrize("call, words", [
    (lambda: dh.pad(dh.ones(3), 1, mode="linear_ramp"), "accepted: constant, edge"),
    (lambda: dh.split(dh.ones(5), 2), "array_split"),
    (lambda: dh.einsum("ij,jk->ik", dh.ones((2, 2))), "1 given"),
    (lambda: dh.einsum("i1", dh.ones(2)), "letters"),
    (lambda: dh.linalg.inv(dh.ones((2, 3))), "square"),
    (lambda: dh.linalg.qr(dh.ones((2, 2)), mode="complete"), "accepted: 'reduced', 'r'"),
    (lambda: dh.linalg.matrix_power(dh.eye(2), 1.5), "must be an int"),
    (lambda: dh.linalg.norm(dh.ones((2, 2)), ord="bad"), "not a matrix norm"),
    (lambda: dh.select([dh.ones(2) > 0], []), "one each"),
    (lambda: dh.interp(dh.ones(2), [1.0, 0.0], [0.0, 1.0]), "increasing"),
    (lambda: dh.take(dh.ones(3), [0.5]), "integers"),
    (lambda: dh.repeat(dh.ones(3), -1), ">= 0"),
    (lambda: dh.tensordot(dh.ones((2, 3)), dh.ones((2, 3)), axes=1), "differ"),
    (lambda: dh.cross(dh.ones(4), dh.ones(3)), "2 or 3 components"),
    (lambda: dh.gradient(dh.ones(3), np.array([0.0, 1.0])), "1-D array of the 3 coordinates"),
    (lambda: dh.cumsum(dh.tensor(1.0), axis=0), "axis=None"),
    (lambda: dh.moveaxis(dh.ones((2, 3)), (0, 1), 0), "destinations"),
])
def test_bad_input_raises_an_input_error_that_says_what_is_accepted(call, words):
    with pytest.raises(InputError) as caught:
        call()
    assert words in str(caught.value)


def test_step_functions_pass_zero_even_where_the_incoming_gradient_is_infinite():
    x = dh.tensor([0.5, 1.5], requires_grad=True)
    out = dh.floor(x)
    out.backward(dh.tensor([np.inf, 1.0]))
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0])  # PyTorch: zeros_like(grad)


def _jax_signed_logsumexp_grads(a, b):
    jax = _jax()
    lse = jax.scipy.special.logsumexp
    want = jax.grad(lambda u, w: lse(u, axis=1, b=w, return_sign=True)[0].sum(), argnums=(0, 1))(a, b)
    return [np.asarray(w) for w in want]


def test_logsumexp_with_negative_weights_matches_scipy_and_jax(oracle):
    special = pytest.importorskip("scipy.special")
    a = np.array([[0.5, 1.0, -2.0], [3.0, 0.1, 0.2]])
    b = np.array([1.0, -3.0, 0.5])
    out, sign = dh.logsumexp(a, axis=1, b=b, return_sign=True)
    expected, expected_sign = special.logsumexp(a, axis=1, b=b, return_sign=True)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-14)
    np.testing.assert_array_equal(sign.numpy(), expected_sign)
    assert np.isnan(dh.logsumexp(a, axis=1, b=b).numpy()[0])  # a negative sum without return_sign: NaN
    got = dh.grad(lambda u, w: dh.sum(dh.logsumexp(u, axis=1, b=w, return_sign=True)[0]), argnums=(0, 1))(a, b)
    theirs = functools.cache(lambda: _jax_signed_logsumexp_grads(a, b))
    want = [oracle(f"jax/signed_logsumexp_grad{i}", lambda i=i: theirs()[i]) for i in range(2)]
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-12)
