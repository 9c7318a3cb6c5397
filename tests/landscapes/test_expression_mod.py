"""``%`` in formulas: Python's remainder (the sign of the divisor), Python's precedence, differentiable."""

from __future__ import annotations

import math

import numpy as np
import pytest

import downhill as dh
from downhill.landscapes.expression import ExpressionError, parse_expression
from downhill.landscapes.namespaces import DOWNHILL_FUNCTIONS

# Each formula next to the same arithmetic written in Python (its precedence is the reference).
FORMULAS = [
    ("x % 3", lambda x: x % 3),
    ("-x % 3", lambda x: -x % 3),
    ("x % 3 * 2", lambda x: x % 3 * 2),
    ("2 * x % 3", lambda x: 2 * x % 3),
    ("x ** 2 % 3", lambda x: x ** 2 % 3),
    ("x % 3 ** 2", lambda x: x % 3 ** 2),
    ("x % -2.5", lambda x: x % -2.5),
    ("x % 2 % 0.7", lambda x: x % 2 % 0.7),
    ("7.5 % x + 1", lambda x: 7.5 % x + 1),
    ("x / 2 % 1.5 - x", lambda x: x / 2 % 1.5 - x),
    ("x^2 % 4", lambda x: x ** 2 % 4),
]
POINTS = [-4.3, -1.1, 0.35, 2.6, 5.2]


@pytest.mark.parametrize("text, python", FORMULAS)
def test_values_are_pythons_on_numpy_and_on_tensors(text, python):
    expr = parse_expression(text)
    expected = [python(p) for p in POINTS]
    assert expr(np.array(POINTS)).tolist() == expected
    on_tensors = expr.evaluate([dh.tensor(POINTS)], DOWNHILL_FUNCTIONS)
    assert on_tensors.tolist() == expected


@pytest.mark.parametrize("text, python", FORMULAS)
def test_derivatives_match_central_differences(text, python):
    expr = parse_expression(text)
    slope = dh.grad(lambda x: expr.evaluate([x], DOWNHILL_FUNCTIONS))
    for p in POINTS:
        h = 1e-6
        measured = (python(p + h) - python(p - h)) / (2 * h)
        assert slope(p) == pytest.approx(measured, rel=1e-6, abs=1e-6), p


def test_the_divisors_derivative_is_minus_the_floor_of_the_quotient():
    expr = parse_expression("7.5 % x")
    slope = dh.grad(lambda x: expr.evaluate([x], DOWNHILL_FUNCTIONS))
    for p in POINTS:
        assert slope(p) == -math.floor(7.5 / p)


def test_a_constant_zero_divisor_is_refused_and_a_variable_one_is_nan():
    with pytest.raises(ExpressionError, match="not a finite number"):
        parse_expression("x + 5 % 0")
    with np.errstate(invalid="ignore"):
        assert np.isnan(parse_expression("x % 0")(1.0))
    assert dh.descend("x % 0 + y**2", [1.0, 1.0], steps=5).status == "diverged"


def test_other_operators_stay_refused():
    for text, symbol in [("x // 2", "//"), ("x @ y", "@"), ("x | 1", "|")]:
        with pytest.raises(ExpressionError, match=f"operator '{symbol}'"):
            parse_expression(text)
