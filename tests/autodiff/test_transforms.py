"""grad, value_and_grad, derivative, jvp, vjp, jacobian, hessian: exact, as PyTorch, and of the kind given.

PyTorch's answers come from the ``oracle`` fixture: recorded in
tests/oracle/data/test_transforms.npz, or computed live under ``pytest -m oracle``
(torch is imported only inside the functions that compute them).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import downhill as dh


def rosenbrock(p):
    """The n-dimensional Rosenbrock function; works on downhill and torch tensors alike."""
    return (100 * (p[1:] - p[:-1] ** 2) ** 2 + (1 - p[:-1]) ** 2).sum()


def curl(x):
    """A nonlinear map R^3 -> R^2 for Jacobians (downhill version)."""
    return dh.stack([dh.sin(x[0]) * x[1], dh.exp(x[2]) + x[0] * x[1] * x[2]])


def torch_curl(x):
    import torch  # only in the live oracle run and the recorder

    return torch.stack([torch.sin(x[0]) * x[1], torch.exp(x[2]) + x[0] * x[1] * x[2]])


def _torch():
    """torch and torch.autograd.functional, imported now (inside an oracle's compute only)."""
    import torch
    from torch.autograd import functional

    return torch, functional


POINT = np.array([0.4, -1.3, 0.7])

# torch.func warns about its own use of torch.jit; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")


# --------------------------------------------------------- results have the input's kind
def _tangent_like(x):
    return 1.0 if isinstance(x, float) else (dh.ones_like(x) if isinstance(x, dh.Tensor) else np.ones_like(x))


# Each turns f(x) = x**3 into something that is 12 at x = 2 (6x for the Hessian, 3x^2 for the rest).
TRANSFORMS = {
    "grad": lambda f: dh.grad(f),
    "value_and_grad": lambda f: (lambda x: dh.value_and_grad(f)(x)[1]),
    "derivative": lambda f: dh.derivative(f),
    "jvp": lambda f: (lambda x: dh.jvp(f, (x,), (_tangent_like(x),))[1]),
    "vjp": lambda f: (lambda x: dh.vjp(f, x)[1](1.0)[0]),
    "jacobian": lambda f: dh.jacobian(f),
    "hessian": lambda f: dh.hessian(f),
}


@pytest.mark.parametrize("name", TRANSFORMS)
def test_transforms_return_what_they_were_given(name):
    slope = TRANSFORMS[name](lambda x: x ** 3)
    from_float = slope(2.0)
    from_array = slope(np.array(2.0))
    from_tensor = slope(dh.tensor(2.0))
    assert type(from_float) is float and from_float == 12.0
    assert type(from_array) is np.ndarray and from_array.shape == () and from_array.item() == 12.0
    assert type(from_tensor) is dh.Tensor and not from_tensor.requires_grad and from_tensor.item() == 12.0


@pytest.mark.parametrize("name", ["grad", "value_and_grad", "hessian"])
def test_transforms_of_vectors_return_arrays_and_tensors(name):
    slope = TRANSFORMS[name](lambda x: (x ** 3).sum())
    x = np.array([1.0, 2.0])
    expected = np.diag(6 * x) if name == "hessian" else 3 * x ** 2
    from_array = slope(x)
    from_tensor = slope(dh.tensor(x))
    assert type(from_array) is np.ndarray and type(from_tensor) is dh.Tensor
    np.testing.assert_array_equal(from_array, expected)
    np.testing.assert_array_equal(from_tensor.numpy(), expected)


def test_results_keep_the_shape_and_dtype_of_the_input():
    g = dh.grad(lambda m: (m ** 2).sum())(np.ones((2, 3), np.float32))
    assert g.shape == (2, 3) and g.dtype == np.float32
    assert dh.grad(lambda x: x * 3.0)(2) == 3.0  # ints are differentiated as floats
    assert dh.grad(lambda x: 5.0)(2.0) == 0.0  # a constant function
    t = dh.tensor([1.0, 2.0])
    dh.grad(lambda x: (x * x).sum())(t)
    assert t.grad is None and not t.requires_grad  # the argument is left alone


def test_value_and_grad_and_aux():
    value, slope = dh.value_and_grad(lambda x: dh.sin(x) * x)(1.2)
    assert value == math.sin(1.2) * 1.2 and slope == pytest.approx(math.cos(1.2) * 1.2 + math.sin(1.2), rel=1e-15)
    (value, aux), slope = dh.value_and_grad(lambda x: (x ** 2, {"note": x * 2}), has_aux=True)(3.0)
    assert value == 9.0 and slope == 6.0 and aux["note"].item() == 6.0
    slope, aux = dh.grad(lambda x: (x ** 2, "aux"), has_aux=True)(3.0)
    assert slope == 6.0 and aux == "aux"


def test_argnums_int_tuple_and_negative():
    f = lambda x, y, z: x * y ** 2 + dh.sin(z)  # noqa: E731
    assert dh.grad(f)(2.0, 3.0, 0.0) == 9.0
    assert dh.grad(f, argnums=1)(2.0, 3.0, 0.0) == 12.0
    assert dh.grad(f, argnums=-1)(2.0, 3.0, 0.0) == 1.0
    assert dh.grad(f, argnums=(0, 2))(2.0, 3.0, 0.0) == (9.0, 1.0)
    gx, gy = dh.grad(lambda x, y: (x * y).sum(), argnums=(0, 1))(np.array([1.0, 2.0]), 3.0)
    np.testing.assert_array_equal(gx, [3.0, 3.0])
    assert type(gy) is float and gy == 3.0


# -------------------------------------------------------------- higher orders
@pytest.mark.parametrize("f, second, x", [
    (dh.sin, lambda x: -math.sin(x), 0.7),
    (lambda x: x ** 3, lambda x: 6 * x, 1.5),
    (dh.exp, math.exp, -0.3),
    (dh.tanh, lambda x: -2 * math.tanh(x) * (1 - math.tanh(x) ** 2), 0.4),
])
def test_grad_of_grad_is_the_exact_second_derivative(f, second, x):
    assert dh.grad(dh.grad(f))(x) == pytest.approx(second(x), rel=1e-15, abs=1e-15)
    assert dh.derivative(dh.derivative(f))(x) == pytest.approx(second(x), rel=1e-15, abs=1e-15)


def test_third_and_fourth_derivatives():
    assert dh.grad(dh.grad(dh.grad(lambda x: x ** 3)))(2.0) == 6.0
    assert dh.grad(dh.grad(dh.grad(dh.grad(dh.sin))))(0.9) == pytest.approx(math.sin(0.9), rel=1e-15)
    assert dh.grad(dh.grad(dh.grad(dh.exp)))(1.0) == math.exp(1.0)


def test_derivative_is_elementwise_on_arrays(oracle):
    x = np.linspace(-2.0, 2.0, 9)
    np.testing.assert_allclose(dh.derivative(dh.sin)(x), np.cos(x), rtol=1e-15)
    np.testing.assert_allclose(dh.derivative(lambda v: v ** 3 - 2 * v)(x), 3 * x ** 2 - 2, rtol=1e-15)

    def theirs():
        torch, _ = _torch()
        return torch.func.vmap(torch.func.grad(torch.func.grad(torch.sigmoid)))(torch.tensor(x))

    np.testing.assert_allclose(dh.derivative(dh.derivative(dh.sigmoid))(x),
                               oracle("derivative/sigmoid_second", theirs), rtol=1e-12)
    assert dh.derivative(lambda v: 2.0)(1.5) == 0.0


# ------------------------------------------------------------------ jacobian, hessian
def test_jacobian_matches_pytorch_and_has_shape_out_plus_in(oracle):
    def theirs_curl():
        torch, TF = _torch()
        return TF.jacobian(torch_curl, torch.tensor(POINT))

    jacobian = dh.jacobian(curl)(POINT)
    assert jacobian.shape == (2, 3)
    np.testing.assert_allclose(jacobian, oracle("jacobian/curl", theirs_curl), rtol=1e-12)
    m = np.random.default_rng(0).normal(size=(2, 3))

    def theirs_batched():
        torch, TF = _torch()
        return TF.jacobian(lambda a: torch.tanh(a) @ a.T, torch.tensor(m))

    batched = dh.jacobian(lambda a: dh.tanh(a) @ a.T)(m)
    assert batched.shape == (2, 2, 2, 3)
    np.testing.assert_allclose(batched, oracle("jacobian/tanh_a_at", theirs_batched), rtol=1e-12, atol=1e-15)


def test_jacobian_of_several_inputs_and_outputs(oracle):
    a, b = np.array([1.0, 2.0]), np.array([3.0, -1.0, 0.5])
    ja, jb = dh.jacobian(lambda x, y: dh.outer(x, y), argnums=(0, 1))(a, b)

    def theirs(i):
        torch, TF = _torch()
        return TF.jacobian(lambda x, y: torch.outer(x, y), (torch.tensor(a), torch.tensor(b)))[i]

    np.testing.assert_array_equal(ja, oracle("jacobian/outer_a", lambda: theirs(0)))
    np.testing.assert_array_equal(jb, oracle("jacobian/outer_b", lambda: theirs(1)))
    squares, total = dh.jacobian(lambda x: (x ** 2, x.sum()))(a)
    np.testing.assert_array_equal(squares, np.diag(2 * a))
    np.testing.assert_array_equal(total, [1.0, 1.0])
    assert dh.jacobian(lambda x: x ** 2)(3.0) == 6.0


@pytest.mark.parametrize("point", [np.array([-1.2, 1.0, 0.5, 2.0]), np.array([1.0, 1.0, 1.0, 1.0])])
def test_hessian_of_rosenbrock_matches_pytorch_and_the_formula(point, oracle):
    def theirs():
        torch, TF = _torch()
        return TF.hessian(rosenbrock, torch.tensor(point))

    hessian = dh.hessian(rosenbrock)(point)
    np.testing.assert_allclose(hessian, oracle(oracle.case, theirs), rtol=1e-12)
    x, y = point[0], point[1]
    assert hessian[0, 0] == pytest.approx(1200 * x * x - 400 * y + 2, rel=1e-14)
    assert hessian[0, 1] == hessian[1, 0] == pytest.approx(-400 * x, rel=1e-14)
    assert hessian[0, 2] == 0.0


def test_hessian_of_a_random_quadratic_is_its_symmetric_matrix(oracle):
    rng = np.random.default_rng(42)
    a = rng.normal(size=(4, 4))
    b = rng.normal(size=4)
    x = rng.normal(size=4)
    hessian = dh.hessian(lambda v: 0.5 * v @ (a @ v) + b @ v)(x)
    np.testing.assert_allclose(hessian, (a + a.T) / 2, rtol=1e-14, atol=1e-15)

    def theirs():
        torch, TF = _torch()
        return TF.hessian(lambda v: 0.5 * v @ (torch.tensor(a) @ v) + torch.tensor(b) @ v, torch.tensor(x))

    np.testing.assert_allclose(hessian, oracle("hessian/quadratic", theirs), rtol=1e-14, atol=1e-15)
    assert dh.hessian(lambda v: v ** 3)(2.0) == 12.0


def test_hessian_of_a_matrix_argument_and_argnums(oracle):
    m = np.array([[0.5, -1.0], [2.0, 0.3]])

    def theirs():
        torch, TF = _torch()
        return TF.hessian(lambda a: (torch.sin(a) * a.sum()).sum(), torch.tensor(m))

    hessian = dh.hessian(lambda a: (dh.sin(a) * a.sum()).sum())(m)
    assert hessian.shape == (2, 2, 2, 2)
    np.testing.assert_allclose(hessian, oracle("hessian/sin_a_times_sum", theirs), rtol=1e-12)
    scale = dh.hessian(lambda x, y: (x ** 2 * y).sum(), argnums=0)(np.array([1.0, 2.0]), 3.0)
    np.testing.assert_array_equal(scale, 6.0 * np.eye(2))


# ----------------------------------------------------------------------- jvp, vjp
def test_jvp_matches_torch_func_jvp_and_jacobian_times_tangent(oracle):
    tangent = np.array([1.0, -2.0, 0.5])
    value, jvp = dh.jvp(curl, (POINT,), (tangent,))

    def theirs(i):
        torch, _ = _torch()
        return torch.func.jvp(torch_curl, (torch.tensor(POINT),), (torch.tensor(tangent),))[i]

    np.testing.assert_allclose(value, oracle("jvp/value", lambda: theirs(0)), rtol=1e-15)
    np.testing.assert_allclose(jvp, oracle("jvp/tangent", lambda: theirs(1)), rtol=1e-12)
    np.testing.assert_allclose(jvp, dh.jacobian(curl)(POINT) @ tangent, rtol=1e-12)


def test_jvp_of_several_primals_and_corner_cases():
    value, tangent = dh.jvp(lambda x, y: x * y + dh.sin(x), (2.0, 3.0), (1.0, 0.5))
    assert value == 6.0 + math.sin(2.0)
    assert tangent == pytest.approx((3.0 + math.cos(2.0)) * 1.0 + 2.0 * 0.5, rel=1e-15)
    assert dh.jvp(lambda x: 3 * x, (2.0,), (1.0,)) == (6.0, 3.0)  # linear: its tangent is constant
    assert dh.jvp(lambda x: 3.0, (2.0,), (1.0,)) == (3.0, 0.0)
    out, tan = dh.jvp(lambda x: x ** 2, (dh.tensor([1.0, 2.0]),), (dh.tensor([1.0, 1.0]),))
    assert type(out) is dh.Tensor and tan.tolist() == [2.0, 4.0]


def test_vjp_matches_pytorch_and_its_pullback_can_be_reused(oracle):
    def theirs_value():
        torch, _ = _torch()
        return torch_curl(torch.tensor(POINT))

    def theirs_pulled(cotangent):
        torch, TF = _torch()
        return TF.vjp(torch_curl, torch.tensor(POINT), torch.tensor(cotangent))[1]

    out, pullback = dh.vjp(curl, POINT)
    np.testing.assert_allclose(out, oracle("vjp/value", theirs_value), rtol=1e-15)
    for i, cotangent in enumerate((np.array([1.0, 0.0]), np.array([0.3, -2.0]))):
        (pulled,) = pullback(cotangent)
        t_pulled = oracle(f"vjp/pulled{i}", lambda cotangent=cotangent: theirs_pulled(cotangent))
        np.testing.assert_allclose(pulled, t_pulled, rtol=1e-12)
    out, pullback = dh.vjp(lambda x, y: x * y, 2.0, 5.0)
    assert out == 10.0 and pullback(1.0) == (5.0, 2.0)


# ------------------------------------------------------------- composition
def test_transforms_compose(oracle):
    f = lambda v: dh.sum(dh.sin(v) * v ** 2)  # noqa: E731
    x = np.array([0.3, 1.7])
    np.testing.assert_allclose(dh.jacobian(dh.grad(f))(x), dh.hessian(f)(x), rtol=1e-15)
    # forward-over-reverse: a Hessian-vector product as a jvp of the gradient
    v = np.array([1.0, -1.0])
    _, hvp = dh.jvp(dh.grad(f), (x,), (v,))
    np.testing.assert_allclose(hvp, dh.hessian(f)(x) @ v, rtol=1e-14)
    # A gradient taken inside a function that is itself differentiated, at the
    # outer variable: the inner b is a new variable even though its value is a
    # ("perturbation confusion" would give d/da (3a^2 * a) = 9a^2 instead).
    outer_slope = dh.grad(lambda a: dh.grad(lambda b: a * b ** 2)(a) * a)(1.5)
    assert outer_slope == 6 * 1.5 ** 2  # d/da (2ab|b=a * a) = d/da 2a^3

    def theirs():
        torch, _ = _torch()
        return torch.func.grad(lambda a: torch.func.grad(lambda b: a * b ** 2)(a) * a)(torch.tensor(1.5))

    t_slope = oracle("grad/nested_slope", theirs)
    assert outer_slope == pytest.approx(t_slope.item(), rel=1e-15)


def test_transforms_work_inside_no_grad():
    with dh.no_grad():
        assert dh.grad(lambda x: x ** 2)(3.0) == 6.0
        np.testing.assert_array_equal(dh.hessian(lambda x: (x ** 2).sum())(np.ones(2)), 2 * np.eye(2))
    assert dh.is_grad_enabled()
