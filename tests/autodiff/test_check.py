"""The checker checked: central differences are accurate, and gradcheck catches wrong rules.

A gradient checker that never fails proves nothing, so rules are planted
wrong here (in the first derivative, and in the second derivative only) and
gradcheck must say where and by how much.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import downhill as dh
from downhill.autodiff.ops import OPS


def rosenbrock(p):
    return (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2


def rosenbrock_gradient(p):
    x, y = p
    return np.array([-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)])


# ---------------------------------------------------------- central differences
@pytest.mark.parametrize("f, slope", [
    (np.sin, np.cos), (np.exp, np.exp), (lambda x: x ** 3, lambda x: 3 * x ** 2),
    (np.arctan, lambda x: 1 / (1 + x * x)), (np.log, lambda x: 1 / x),
])
def test_numerical_derivative_is_accurate_to_1e_9(f, slope):
    for x in (0.3, 1.7, 12.5):
        measured = dh.numerical_derivative(f, x)
        assert isinstance(measured, float)
        assert measured == pytest.approx(slope(x), rel=1e-9, abs=1e-12)


def test_numerical_derivative_works_elementwise_on_arrays_and_tensors():
    x = np.array([-2.0, 0.0, 0.5, 3.0])
    measured = dh.numerical_derivative(np.sin, x)
    assert isinstance(measured, np.ndarray) and measured.shape == (4,)
    np.testing.assert_allclose(measured, np.cos(x), rtol=1e-9, atol=1e-12)
    on_tensor = dh.numerical_derivative(lambda t: dh.sin(t), dh.tensor(x))
    np.testing.assert_allclose(on_tensor, np.cos(x), rtol=1e-9, atol=1e-12)


def test_numerical_derivative_with_an_explicit_step():
    # A step of 1e-3 leaves the O(h^2) truncation error: x^3 gives exactly 3x^2 + h^2.
    assert dh.numerical_derivative(lambda x: x ** 3, 2.0, eps=1e-3) == pytest.approx(12 + 1e-6, rel=1e-9)


def test_numerical_grad_is_accurate_on_rosenbrock():
    # The truncation error is h^2 f'''/6 with h about 6e-6 and f''' = 2400 x here: a few
    # 1e-9 in absolute terms, whatever the size of the gradient.
    for p in (np.array([-1.2, 1.0]), np.array([0.5, 0.25]), np.array([2.0, -1.0])):
        np.testing.assert_allclose(dh.numerical_grad(rosenbrock, p), rosenbrock_gradient(p), rtol=1e-9, atol=3e-8)


def test_numerical_grad_matrix_input_and_kinds():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(2, 3))
    measured = dh.numerical_grad(lambda m: (m ** 2).sum(), a)
    assert measured.shape == (2, 3)
    np.testing.assert_allclose(measured, 2 * a, rtol=1e-9, atol=1e-12)
    assert isinstance(dh.numerical_grad(lambda x: x ** 3, 2.0), float)
    np.testing.assert_allclose(dh.numerical_grad(lambda t: dh.sum(t ** 3), dh.tensor([1.0, 2.0])), [3.0, 12.0],
                               rtol=1e-9)


def test_numerical_grad_refuses_a_non_scalar_function():
    with pytest.raises(TypeError, match="one number"):
        dh.numerical_grad(lambda x: x * 2, np.array([1.0, 2.0]))


# -------------------------------------------------------------------- gradcheck
def test_gradcheck_passes_correct_functions_of_several_inputs():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(2, 3)), rng.normal(size=(3, 4))
    assert dh.gradcheck(lambda x, y: dh.tanh(x @ y) * dh.sum(x), a, b) is True
    assert dh.gradcheck(rosenbrock, np.array([-1.2, 1.0])) is True


def test_planted_wrong_first_derivative_is_caught(monkeypatch):
    # sin' written as sin instead of cos.
    monkeypatch.setattr(OPS["sin"], "vjps", (lambda F, g, ans, x: g * F.sin(x),))
    x = np.array([0.3, 1.1, -0.7])
    with pytest.raises(dh.GradcheckError) as caught:
        dh.gradcheck(dh.sin, x)
    message = str(caught.value)
    number = r"(?:np\.float64\()?([-+0-9.eE]+)\)?"
    match = re.search(rf"gradient of input 0 disagrees at index \((\d+),\): engine {number}, "
                      rf"central differences {number}, difference {number}", message)
    assert match, message
    i = int(match.group(1))
    engine, measured, difference = (float(match.group(k)) for k in (2, 3, 4))
    # The cotangent gradcheck draws (seed 0) is the first normal vector of that seed.
    cotangent = np.random.default_rng(0).normal(size=3)
    assert engine == pytest.approx(cotangent[i] * np.sin(x[i]), rel=1e-12)
    assert measured == pytest.approx(cotangent[i] * np.cos(x[i]), rel=1e-8)
    assert difference == pytest.approx(abs(engine - measured), rel=1e-2)
    assert "3 of 3 element(s) disagree" in message


def test_planted_wrong_rule_in_a_binary_op_names_the_input(monkeypatch):
    # multiply's rule for its second input returns g * y instead of g * x.
    rules = OPS["multiply"].vjps
    monkeypatch.setattr(OPS["multiply"], "vjps", (rules[0], lambda F, g, ans, x, y: g * y))
    with pytest.raises(dh.GradcheckError, match=r"gradient of input 1 disagrees at index \(\d+, \d+\)"):
        dh.gradcheck(dh.multiply, np.array([[1.0, 2.0, 3.0]]), np.array([[4.0, -5.0, 6.0], [0.5, 1.5, -2.0]]))


def test_small_planted_error_is_caught_at_default_tolerance_only(monkeypatch):
    monkeypatch.setattr(OPS["exp"], "vjps", (lambda F, g, ans, x: g * ans * (1 + 1e-4),))
    x = np.array([0.1, 0.9])
    with pytest.raises(dh.GradcheckError, match="difference"):
        dh.gradcheck(dh.exp, x, second_order=False)
    assert dh.gradcheck(dh.exp, x, second_order=False, rtol=1e-3)


def test_rule_right_in_value_but_blind_to_create_graph_fails_second_order_only(monkeypatch):
    # cos(x) computed with raw NumPy: correct numbers, but under create_graph
    # the rule's dependence on x is not recorded, so the second derivative of
    # sin comes out 0 instead of -sin(x).
    def cos_outside_the_graph(F, g, ans, x):
        return g * np.cos(np.asarray(x))

    monkeypatch.setattr(OPS["sin"], "vjps", (cos_outside_the_graph,))
    x = np.array([0.4, 1.3, -2.0])
    assert dh.gradcheck(dh.sin, x, second_order=False) is True
    with pytest.raises(dh.GradcheckError, match=r"second derivative of input 0 disagrees at index"):
        dh.gradcheck(dh.sin, x)


def test_planted_wrong_second_derivative_rule_is_caught(monkeypatch):
    # tanh' = 1 - tanh^2 is right in value; written as 1 - tanh(x)*tanh(x0)
    # with the second factor frozen, its own derivative is half what it should be.
    def half_recorded(F, g, ans, x):
        frozen = ans.detach() if isinstance(ans, dh.Tensor) else ans
        return g * (1 - ans * frozen)

    monkeypatch.setattr(OPS["tanh"], "vjps", (half_recorded,))
    x = np.array([0.5, -0.8])
    assert dh.gradcheck(dh.tanh, x, second_order=False)
    with pytest.raises(dh.GradcheckError, match="second derivative"):
        dh.gradcheck(dh.tanh, x)


def test_gradcheck_is_seeded_and_needs_inputs():
    assert dh.gradcheck(dh.sin, np.array([0.1, 0.2]), seed=123)
    with pytest.raises(ValueError, match="at least one input"):
        dh.gradcheck(dh.sin)
