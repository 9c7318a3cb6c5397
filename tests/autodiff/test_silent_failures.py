"""Regression tests for the silent failures of issue 10: each one gave a wrong
number (or a crash) without a word. References: PyTorch 2.13 in float64,
JAX's documented answers written as mathematics, central differences.

PyTorch's answers come from the ``oracle`` fixture: recorded in
tests/oracle/data/test_silent_failures.npz, or computed live under ``pytest -m
oracle``; torch is imported only inside the functions that compute them.
"""

from __future__ import annotations

import numpy as np
import pytest

import downhill as dh


def central(f, x, h=1e-6):
    """Central difference of a scalar function of one float."""
    return (f(x + h) - f(x - h)) / (2 * h)


def torch_grad(name, x, **kwargs):
    """Gradient of ``torch.<name>(x, **kwargs).sum()`` at the float64 array ``x``."""
    import torch  # only in the live oracle run and the recorder

    t = torch.tensor(x, requires_grad=True)
    getattr(torch, name)(t, **kwargs).sum().backward()
    return t.grad.numpy()


# ------------------------------------------------------------------ std at zero variance
def test_std_gradient_is_zero_where_the_variance_is_zero(oracle):
    assert dh.grad(dh.std)(3.5) == 0.0
    x = np.array([[3.0], [-1.0]])
    ours = dh.grad(lambda v: dh.std(v, axis=1).sum())(x)
    theirs = oracle("std/one per row", lambda: torch_grad("std", x, dim=1, correction=0))
    np.testing.assert_array_equal(ours, theirs)
    # Equal values along a longer axis: PyTorch gives zeros there as well.
    y = np.array([[2.0, 2.0, 2.0], [1.0, 2.0, 4.0]])
    ours = dh.grad(lambda v: dh.std(v, axis=1).sum())(y)
    theirs = oracle("std/equal row", lambda: torch_grad("std", y, dim=1, correction=0))
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(theirs[0], [0.0, 0.0, 0.0])


def test_std_second_derivative_still_exact_away_from_zero():
    f = lambda v: dh.std(dh.stack([v, 2 * v + 1, v * v]))  # noqa: E731
    x = 0.7
    first = dh.grad(f)
    assert first(x) == pytest.approx(central(lambda z: float(f(z)), x), rel=1e-7)
    assert dh.grad(first)(x) == pytest.approx(central(first, x, 1e-5), rel=1e-6)


# ------------------------------------------------------------------ creation with a Tensor value
def test_full_with_a_tensor_value_passes_the_gradient():
    assert dh.grad(lambda v: dh.full((3,), v).sum())(1.0) == 3.0
    assert dh.grad(lambda v: (dh.full((2, 2), v) * dh.arange(4.0).reshape(2, 2)).sum())(0.5) == 6.0


def test_linspace_with_tensor_ends_matches_numpy_and_central_differences():
    assert dh.grad(lambda v: dh.linspace(v, 3.0, 5).sum())(1.0) == 2.5
    assert dh.grad(lambda v: dh.linspace(0.0, v, 4).sum())(1.0) == pytest.approx(2.0)
    v = dh.tensor(0.3, requires_grad=True)
    np.testing.assert_array_equal(dh.linspace(v, 2.0, 7).data, np.linspace(0.3, 2.0, 7))
    np.testing.assert_array_equal(dh.linspace(v, 2.0, 7, endpoint=False).data,
                                  np.linspace(0.3, 2.0, 7, endpoint=False))
    f = lambda a: float(dh.linspace(a, 2.0, 6, endpoint=False).data @ np.arange(6.0))  # noqa: E731
    g = dh.grad(lambda a: dh.linspace(a, 2.0, 6, endpoint=False) @ dh.arange(6.0))(0.3)
    assert g == pytest.approx(central(f, 0.3), rel=1e-8)


# ------------------------------------------------------------------ lists of Tensors
def test_lists_of_tensors_keep_the_graph():
    assert dh.grad(lambda v: dh.mean([v, v + 2]))(0.0) == 1.0
    # norm of [v, v + 2] at v = 1: (1 + 3) / sqrt(10)
    assert dh.grad(lambda v: dh.norm([v, v + 2]))(1.0) == pytest.approx(4 / np.sqrt(10), rel=1e-14)
    assert dh.grad(lambda v: dh.tensor([v, 2 * v]).sum())(1.0) == 3.0
    assert dh.grad(lambda v: (v * [v, v]).sum())(1.5) == 6.0
    assert dh.grad(lambda v: ([v, 1.0] * v).sum())(1.5) == 4.0
    nested = dh.grad(lambda v: dh.sum(dh.tensor([[v, 1.0], [2.0, v * v]])))(3.0)
    assert nested == 7.0


def test_the_tensor_constructor_refuses_a_list_of_tensors_instead_of_detaching():
    from downhill.errors import InputTypeError

    v = dh.tensor(1.0, requires_grad=True)
    with pytest.raises(InputTypeError, match="dh.stack"):
        dh.Tensor([v, v])


def test_list_of_tensors_against_torch_stack(oracle):
    x = np.array([0.3, -1.2])
    ours = dh.grad(lambda v: dh.sum(dh.exp([v[0], v[1] * v[0]])))(x)

    def theirs():
        import torch  # only in the live oracle run and the recorder

        t = torch.tensor(x, requires_grad=True)
        torch.exp(torch.stack([t[0], t[1] * t[0]])).sum().backward()
        return t.grad.numpy()

    np.testing.assert_allclose(ours, oracle("exp of a stack/grad", theirs), rtol=1e-14)


# ------------------------------------------------------------------ vjp's pullback
def test_top_level_pullback_is_differentiable_in_its_cotangent():
    _, pullback = dh.vjp(dh.sin, 1.0)
    # JAX: grad(lambda v: vjp(sin, 1.0)[1](v)[0])(1.0) == cos(1)
    assert dh.grad(lambda v: pullback(v)[0])(1.0) == pytest.approx(np.cos(1.0), rel=1e-15)
    assert pullback(2.0) == pytest.approx((2 * np.cos(1.0),))
    _, pullback = dh.vjp(lambda x: x ** 3, np.array([1.0, 2.0]))
    np.testing.assert_allclose(dh.jacobian(lambda v: pullback(v)[0])(np.ones(2)), np.diag([3.0, 12.0]))


# ------------------------------------------------------------------ softmax family at large inputs
def torch_value(name, x, *args):
    """``torch.<name>(tensor(x), *args)`` as an array (x's dtype kept)."""
    import torch  # only in the live oracle run and the recorder

    return getattr(torch, name)(torch.tensor(x), *args).numpy()


def test_softmax_at_the_top_of_float64(oracle):
    np.testing.assert_array_equal(dh.softmax(dh.tensor([1e308, 1e308])).data, [0.5, 0.5])
    x = np.array([1e308, 1e308, -1e308], dtype=np.float64)
    with np.errstate(over="ignore"):  # -1e308 - 1e308 is -inf in both libraries
        ours = dh.log_softmax(dh.tensor(x)).data
    theirs = oracle("log_softmax at 1e308", lambda: torch_value("log_softmax", x, 0))
    assert theirs.dtype == np.float64
    np.testing.assert_array_equal(ours, theirs)


def test_softmax_float32_large_equal_inputs_sum_to_one(oracle):
    x = np.full(3, 3e7, dtype=np.float32)
    out = dh.softmax(dh.tensor(x)).data
    assert out.dtype == np.float32
    theirs = oracle("softmax float32 at 3e7", lambda: torch_value("softmax", x, 0))
    assert theirs.dtype == np.float32
    np.testing.assert_allclose(out, theirs, rtol=1e-6)
    assert out.sum() == pytest.approx(1.0, rel=1e-6)


def test_cross_entropy_float32_logits_near_2e5_match_torch(oracle):
    rng = np.random.default_rng(0)
    z = (2e5 + rng.normal(0, 3, (4, 5))).astype(np.float32)
    y = np.array([0, 1, 2, 4])
    ours = dh.nn.CrossEntropyLoss()(dh.tensor(z), dh.tensor(y)).item()

    def theirs():
        import torch  # only in the live oracle run and the recorder

        return torch.nn.CrossEntropyLoss()(torch.tensor(z), torch.tensor(y)).item()

    assert ours == pytest.approx(float(oracle("cross entropy near 2e5", theirs)), rel=1e-5)


# ------------------------------------------------------------------ sign, max/min with NaN, relu(nan)
def test_grad_through_sign_is_zeros_not_none(oracle):
    x = dh.tensor([1.0, -2.0, 0.0], requires_grad=True)
    dh.sign(x).sum().backward()
    theirs = oracle("sign/grad", lambda: torch_grad("sign", np.array([1.0, -2.0, 0.0])))
    assert x.grad is not None
    np.testing.assert_array_equal(x.grad.data, theirs)
    # and grad of such a function is zeros too, in every mode
    np.testing.assert_array_equal(dh.grad(lambda v: dh.sign(v).sum())(np.ones(2)), [0.0, 0.0])


def test_descend_on_a_function_of_sign_does_not_crash():
    result = dh.descend(lambda p: dh.sign(p).sum(), np.array([1.0, 2.0]), steps=5)
    assert result.status == "converged"  # a zero gradient: nowhere to go


@pytest.mark.parametrize("reduce", ["max", "min"])
def test_max_min_with_nan_give_nan_gradients_like_torch_amax(reduce, oracle):
    x = np.array([[1.0, np.nan, 2.0], [2.0, 3.0, 3.0]])
    ours = dh.grad(lambda v: getattr(dh, reduce)(v, axis=1).sum())(x)
    theirs = oracle(f"a{reduce} with nan/grad", lambda: torch_grad("a" + reduce, x, dim=1))
    np.testing.assert_array_equal(ours, theirs)  # NaN == NaN for assert_array_equal
    assert np.isnan(dh.grad(lambda v: getattr(dh, reduce)(v))(np.array([1.0, np.nan]))).all()


@pytest.mark.parametrize("name", ["maximum", "minimum"])
def test_elementwise_maximum_with_nan_follows_torch(name, oracle):
    pairs = [(np.nan, 1.0), (1.0, np.nan), (np.nan, np.nan), (2.0, 2.0), (1.0, 3.0)]
    for a, b in pairs:
        ours = dh.grad(lambda x, y: getattr(dh, name)(x, y), argnums=(0, 1))(a, b)

        def theirs(a=a, b=b):
            import torch  # only in the live oracle run and the recorder

            ta = torch.tensor(a, dtype=torch.float64, requires_grad=True)
            tb = torch.tensor(b, dtype=torch.float64, requires_grad=True)
            getattr(torch, name)(ta, tb).backward()
            return [ta.grad.item(), tb.grad.item()]

        expected = oracle(f"{name}({a}, {b})/grads", theirs)
        assert ours == tuple(float(g) for g in expected), (a, b)


def test_relu_of_nan_is_nan_on_every_path_with_torchs_gradient(oracle):
    from downhill.landscapes.namespaces import DOWNHILL_FUNCTIONS, NUMPY_FUNCTIONS

    x = np.array([np.nan, -1.0, 0.0, 2.0])
    expected = oracle("relu with nan/value", lambda: torch_value("relu", x))
    assert np.isnan(expected[0])
    np.testing.assert_array_equal(NUMPY_FUNCTIONS["relu"](x), expected)
    assert np.isnan(NUMPY_FUNCTIONS["relu"](np.nan))
    np.testing.assert_array_equal(DOWNHILL_FUNCTIONS["relu"](dh.tensor(x)).data, expected)
    np.testing.assert_array_equal(dh.relu(x).data, expected)
    theirs = oracle("relu with nan/grad", lambda: torch_grad("relu", x))
    np.testing.assert_array_equal(dh.grad(lambda v: dh.relu(v).sum())(x), theirs)
    # a typed formula, on NumPy values (the picture's path)
    expression = dh.landscapes.resolve("relu(x) + y").expression
    assert np.isnan(expression.evaluate([np.array([np.nan]), 1.0])).all()


# ------------------------------------------------------------------ zero divisors in formulas
@pytest.mark.parametrize("formula, start", [("x/0 + y**2", (1.0, 1.0)), ("-y/minimum(pi, 0)", (1.0,)),
                                            ("x/(y - y)", (1.0, 2.0))])
def test_a_zero_divisor_makes_the_climber_diverge_not_crash(formula, start):
    landscape = dh.landscapes.resolve(formula)
    one = dh.descend(landscape, start, steps=5)
    assert (one.status, one.diverged_at) == ("diverged", 0)
    many = dh.descend(landscape, np.array([start, start]), steps=5)
    assert list(many.status) == ["diverged", "diverged"]
    assert list(many.diverged_at) == [0, 0]
    # the ordinary engine (a callable, not a traced formula) agrees
    from downhill.landscapes.namespaces import DOWNHILL_FUNCTIONS

    expression = landscape.expression
    engine = dh.descend(lambda p: expression.evaluate([p[i] for i in range(len(start))], DOWNHILL_FUNCTIONS),
                        np.array(start), steps=5)
    assert (engine.status, engine.diverged_at) == ("diverged", 0)


def test_a_zero_divisor_in_the_command_and_the_web_api_is_a_result(capsys):
    import json
    import warnings

    from downhill.cli import main
    from downhill.web import create_app

    try:
        main(["descend", "x/0 + y**2", "--start", "1,1", "--json"])
    except SystemExit as done:
        assert done.code in (0, None)
    out, err = capsys.readouterr()
    data = json.loads(out)
    assert (data["status"], data["diverged_at"]) == ("diverged", 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient
    with TestClient(create_app(), raise_server_exceptions=False) as client:
        response = client.post("/api/descend", json={"expression": "-y/minimum(pi, 0)", "start": [1.0], "steps": 5})
    assert response.status_code == 200, response.text
    assert (response.json()["status"], response.json()["diverged_at"]) == ("diverged", 0)
