"""derivative_at and gradient_at: readings checked against exact mathematics and PyTorch.

Exact references are worked by hand (x³ at 2: value 8, slope 12, tangent
y = 12x - 16); the rest are the same formulas written in PyTorch in float64,
whose autograd is independent of the engine under test. PyTorch's numbers come
from the ``oracle`` fixture: recorded in tests/oracle/data/test_explain.npz, or
computed live under ``pytest -m oracle``.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from downhill.explain import DerivativeReading, GradientReading, derivative_at, gradient_at
from downhill.landscapes import ExpressionError, from_expression, get


# ------------------------------------------------------------ the speedometer
@pytest.mark.parametrize("formula, x, value, slope", [
    ("x**3", 2.0, 8.0, 12.0),
    ("x**3 - 3*x", 1.5, 1.5**3 - 4.5, 3.75),
    ("x**3 - 3*x", 1.0, -2.0, 0.0),
    ("x**2", -3.0, 9.0, -6.0),
    ("exp(x)", 0.0, 1.0, 1.0),
    ("sin(x)", math.pi / 3, math.sqrt(3) / 2, 0.5),
    ("log(x)", 4.0, math.log(4.0), 0.25),
    ("sqrt(x)", 9.0, 3.0, 1 / 6),
    ("1/x", 2.0, 0.5, -0.25),
])
def test_derivative_matches_exact_mathematics(formula, x, value, slope):
    reading = derivative_at(formula, x)
    assert isinstance(reading, DerivativeReading)
    assert reading.formula == formula and reading.x == x
    assert reading.value == pytest.approx(value, rel=1e-14, abs=1e-15)
    assert reading.slope == pytest.approx(slope, rel=1e-14, abs=1e-15)
    # the tangent line touches the curve at x
    assert reading.slope * x + reading.intercept == pytest.approx(value, rel=1e-14, abs=1e-14)


def test_derivative_of_x_cubed_at_two_is_exactly_twelve():
    reading = derivative_at("x**3", 2)
    assert (reading.value, reading.slope, reading.intercept) == (8.0, 12.0, -16.0)
    assert reading.sentence == ("At x = 2, f(x) = 8 and f'(x) = 12: the function is rising at 12 per unit "
                                "of x at this instant. The tangent line is y = 12·x - 16.")


def _torch_value_and_gradient(torch_f, point):
    """PyTorch's value and gradient of ``torch_f(torch, *coordinates)`` in float64."""
    import torch  # only in the live oracle run and the recorder

    variables = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in point]
    out = torch_f(torch, *variables)
    grads = torch.autograd.grad(out, variables)
    return [out.item(), *(g.item() for g in grads)]


@pytest.mark.parametrize("formula, torch_f", [
    ("sin(x)*exp(-x**2) + log1p(x**2)", lambda t, x: t.sin(x) * t.exp(-x**2) + t.log1p(x**2)),
    ("tanh(3*x) - sigmoid(x)/(1 + x**2)", lambda t, x: t.tanh(3 * x) - t.sigmoid(x) / (1 + x**2)),
    ("softplus(x)*cos(2*x)", lambda t, x: t.nn.functional.softplus(x) * t.cos(2 * x)),
    ("sqrt(x**2 + 1)**3 - abs(x)", lambda t, x: t.sqrt(x**2 + 1) ** 3 - t.abs(x)),
])  # fmt: skip
@pytest.mark.parametrize("x", [-1.3, 0.4, 2.2])
def test_derivative_matches_torch(formula, torch_f, x, oracle):
    value, slope = oracle(f"derivative/{formula}/{x!r}", lambda: _torch_value_and_gradient(torch_f, [x]))
    reading = derivative_at(formula, x)
    assert reading.value == pytest.approx(float(value), rel=1e-13, abs=1e-15)
    assert reading.slope == pytest.approx(float(slope), rel=1e-12, abs=1e-14)


def test_derivative_sentences_rising_falling_flat():
    assert "falling at 6 per unit" in derivative_at("x**2", -3).sentence
    assert "rising at 3.75 per unit" in derivative_at("x**3 - 3*x", 1.5).sentence
    assert "flat here" in derivative_at("x**3 - 3*x", -1).sentence
    # One colon per sentence: it introduces what the numbers mean.
    assert derivative_at("x**3 - 3*x", -1).sentence.split(". ")[0].count(":") == 1


def test_derivative_accepts_a_landscape_and_is_json_ready():
    reading = derivative_at(from_expression("x**3"), 2.0)
    data = json.loads(json.dumps(reading.to_dict()))
    assert data == {"formula": "x**3", "x": 2.0, "value": 8.0, "slope": 12.0, "intercept": -16.0,
                    "sentence": reading.sentence}


@pytest.mark.parametrize("formula, x, says", [
    ("x*y", 1.0, "one variable"),
    ("booth", 1.0, "one variable"),
    ("x**2", math.nan, "finite"),
    ("x**2", math.inf, "finite"),
    ("log(x)", -1.0, "no finite value or slope"),
    ("1/x", 0.0, "no finite value or slope"),
    ("sqrt(x)", 0.0, "no finite value or slope"),  # value 0 but slope infinite
])
def test_derivative_errors(formula, x, says):
    with pytest.raises(ValueError, match=says):
        derivative_at(formula, x)


@pytest.mark.parametrize("formula", ["__import__('os')", "x +* 2", "x.real", "sin(t)"])
def test_derivative_of_a_refused_formula(formula):
    with pytest.raises(ExpressionError):
        derivative_at(formula, 1.0)


# ------------------------------------------------------------ the foggy mountain
def test_gradient_of_the_issue_example_is_exact():
    reading = gradient_at("x**2 + 3*y**2", [1, 2])
    assert isinstance(reading, GradientReading)
    assert reading.variables == ("x", "y") and reading.point == [1.0, 2.0]
    assert reading.value == 13.0 and reading.gradient == [2.0, 12.0]
    assert reading.steepness == pytest.approx(math.sqrt(148), rel=1e-15)
    np.testing.assert_allclose(reading.downhill, [-2 / math.sqrt(148), -12 / math.sqrt(148)], rtol=1e-15)
    assert "mostly toward -y" in reading.sentence and "12.1655" in reading.sentence


TORCH_LANDSCAPES = {
    "rosenbrock": lambda t, x, y: 100 * (y - x**2) ** 2 + (1 - x) ** 2,
    "himmelblau": lambda t, x, y: (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2,
    "booth": lambda t, x, y: (x + 2 * y - 7) ** 2 + (2 * x + y - 5) ** 2,
    "beale": lambda t, x, y: ((1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2
                              + (2.625 - x + x * y**3) ** 2),
    "six_hump_camel": lambda t, x, y: ((4 - 2.1 * x**2 + x**4 / 3) * x**2 + x * y + (-4 + 4 * y**2) * y**2),
}


@pytest.mark.parametrize("name", sorted(TORCH_LANDSCAPES))
@pytest.mark.parametrize("point", [(0.5, -1.0), (-1.5, 2.0), (1.2, 0.3)])
def test_gradient_of_catalog_landscapes_matches_torch(name, point, oracle):
    value, gx, gy = oracle(f"gradient/{name}/{point}", lambda: _torch_value_and_gradient(TORCH_LANDSCAPES[name], point))
    reading = gradient_at(name, point)
    assert reading.value == pytest.approx(float(value), rel=1e-13)
    np.testing.assert_allclose(reading.gradient, [gx, gy], rtol=1e-12, atol=1e-12)
    g = np.array([gx, gy])
    assert reading.steepness == pytest.approx(np.linalg.norm(g), rel=1e-12)
    np.testing.assert_allclose(reading.downhill, -g / np.linalg.norm(g), rtol=1e-12, atol=1e-14)


def test_gradient_of_a_typed_formula_matches_torch(oracle):
    formula = "sin(x)*y + exp(-x*y) + log1p(x**2) + sqrt(y**2 + 1) + tanh(x - y)"

    def torch_f(t, x, y):
        return t.sin(x) * y + t.exp(-x * y) + t.log1p(x**2) + t.sqrt(y**2 + 1) + t.tanh(x - y)

    value, gx, gy = oracle("typed_formula", lambda: _torch_value_and_gradient(torch_f, (0.7, -1.1)))
    reading = gradient_at(formula, np.array([0.7, -1.1]))
    assert reading.value == pytest.approx(float(value), rel=1e-14)
    np.testing.assert_allclose(reading.gradient, [gx, gy], rtol=1e-13)


def test_gradient_of_one_and_three_variables():
    one = gradient_at("x**2", [3.0])
    assert (one.value, one.gradient, one.steepness, one.downhill) == (9.0, [6.0], 6.0, [-1.0])
    assert gradient_at("x**3 - 3*x", 1.5).gradient == [derivative_at("x**3 - 3*x", 1.5).slope]
    three = gradient_at("x*y*z + z**2", [1.0, 2.0, 3.0])
    assert three.variables == ("x", "y", "z")
    assert three.value == 15.0 and three.gradient == [6.0, 3.0, 8.0]
    assert three.steepness == pytest.approx(math.sqrt(109), rel=1e-15)


def test_gradient_at_a_minimum_is_flat():
    reading = gradient_at("himmelblau", [3.0, 2.0])
    assert reading.value == 0.0 and reading.gradient == [0.0, 0.0]
    assert reading.steepness == 0.0 and reading.downhill == [0.0, 0.0]
    assert "flat" in reading.sentence


def test_gradient_accepts_a_landscape_and_is_json_ready():
    reading = gradient_at(get("booth"), (0.0, 0.0))
    data = json.loads(json.dumps(reading.to_dict()))
    assert data["variables"] == ["x", "y"] and data["gradient"] == [-34.0, -38.0]  # 2(x+2y-7)+4(2x+y-5), ...
    assert data["value"] == 74.0 and data["sentence"] == reading.sentence


@pytest.mark.parametrize("formula, point, says", [
    ("booth", [1.0], "2 variable"),
    ("booth", [1.0, 2.0, 3.0], "3 coordinate"),
    ("x**2", [1.0, 2.0], "1 variable"),
    ("booth", [math.nan, 0.0], "finite"),
    ("booth", [0.0, math.inf], "finite"),
    ("log(x) + y", [-1.0, 0.0], "no finite value or gradient"),
    ("sqrt(x*x + y*y)", [0.0, 0.0], "no finite value or gradient"),  # a kink: value 0, slope undefined
    ("exp(x) + y", [800.0, 0.0], "no finite value or gradient"),  # overflow
])
def test_gradient_errors(formula, point, says):
    with pytest.raises(ValueError, match=says):
        gradient_at(formula, point)


def test_gradient_of_a_refused_formula():
    with pytest.raises(ExpressionError):
        gradient_at("__import__('os').system('true')", [0.0, 0.0])
    with pytest.raises(ExpressionError):
        gradient_at("x +* 2", [0.0])
