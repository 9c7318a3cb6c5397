"""The functions a learner may type in a formula: each parses, evaluates as NumPy does, and the
traced program that ``descend`` runs gives the same values and gradients as the engine."""

from __future__ import annotations

import math

import numpy as np
import pytest

import downhill as dh
from downhill.autodiff.compile import ELEMENTWISE
from downhill.landscapes.expression import parse_expression
from downhill.landscapes.namespaces import DOWNHILL_FUNCTIONS, FUNCTIONS
from downhill.optim.descend import program_for

_erf = np.vectorize(math.erf)
_erfc = np.vectorize(math.erfc)

# One formula per function, inside its domain at the points below; NumPy's own function
# for the value (an independent reference).
FORMULAS = {
    "arcsin": ("arcsin(x/3) + y", lambda x, y: np.arcsin(x / 3) + y),
    "asin": ("asin(x/3) + y", lambda x, y: np.arcsin(x / 3) + y),
    "arccos": ("arccos(y/3) * x", lambda x, y: np.arccos(y / 3) * x),
    "acos": ("acos(y/3) * x", lambda x, y: np.arccos(y / 3) * x),
    "arctan2": ("arctan2(y, x + 3)", lambda x, y: np.arctan2(y, x + 3)),
    "atan2": ("atan2(y, x + 3)", lambda x, y: np.arctan2(y, x + 3)),
    "arcsinh": ("arcsinh(x*y)", lambda x, y: np.arcsinh(x * y)),
    "asinh": ("asinh(x*y)", lambda x, y: np.arcsinh(x * y)),
    "arccosh": ("arccosh(2 + x^2 + y^2)", lambda x, y: np.arccosh(2 + x ** 2 + y ** 2)),
    "acosh": ("acosh(2 + x^2 + y^2)", lambda x, y: np.arccosh(2 + x ** 2 + y ** 2)),
    "arctanh": ("arctanh(x/3) - y", lambda x, y: np.arctanh(x / 3) - y),
    "atanh": ("atanh(x/3) - y", lambda x, y: np.arctanh(x / 3) - y),
    "log2": ("log2(1 + x^2) + y", lambda x, y: np.log2(1 + x ** 2) + y),
    "log10": ("log10(1 + x^2 + y^2)", lambda x, y: np.log10(1 + x ** 2 + y ** 2)),
    "exp2": ("exp2(x) - y", lambda x, y: np.exp2(x) - y),
    "hypot": ("hypot(x, y)", np.hypot),
    "logaddexp": ("logaddexp(x, y)", np.logaddexp),
    "reciprocal": ("reciprocal(2 + x^2) * y", lambda x, y: 1 / (2 + x ** 2) * y),
    "sinc": ("sinc(x) + sinc(y)", lambda x, y: np.sinc(x) + np.sinc(y)),
    "erf": ("erf(x) * y", lambda x, y: _erf(x) * y),
    "erfc": ("erfc(x) * y", lambda x, y: _erfc(x) * y),
    "deg2rad": ("sin(deg2rad(30*x)) + y", lambda x, y: np.sin(np.deg2rad(30 * x)) + y),
    "radians": ("sin(radians(30*x)) + y", lambda x, y: np.sin(np.deg2rad(30 * x)) + y),
    "rad2deg": ("rad2deg(x) * y", lambda x, y: np.rad2deg(x) * y),
    "degrees": ("degrees(x) * y", lambda x, y: np.rad2deg(x) * y),
    "floor": ("floor(x) + y^2", lambda x, y: np.floor(x) + y ** 2),
    "ceil": ("ceil(x) * y", lambda x, y: np.ceil(x) * y),
    "round": ("round(x) + x*y", lambda x, y: np.round(x) + x * y),
    "trunc": ("trunc(x) - y", lambda x, y: np.trunc(x) - y),
    "mod": ("mod(x, 2) * y", lambda x, y: np.mod(x, 2) * y),
    "fmax": ("fmax(x, y)", np.fmax),
    "fmin": ("fmin(x, y^2)", lambda x, y: np.fmin(x, y ** 2)),
}
# Points clear of the kinks and jumps (floor, round, mod, fmax).
POINTS = np.array([[0.7, -1.3], [-1.2, 0.45], [2.3, 1.1], [-0.35, -0.8]])
NEW = sorted(FORMULAS)


def test_every_new_function_is_typeable_and_has_a_formula_here():
    assert set(NEW) <= set(FUNCTIONS)
    targets = {FUNCTIONS[name][0] for name in NEW}
    # What the tracer meets for each is an elementwise primitive, or a composite of them.
    for target in targets:
        assert target in ELEMENTWISE or target in ("reciprocal", "deg2rad", "rad2deg"), target


@pytest.mark.parametrize("name", NEW)
def test_numpy_evaluation_matches_numpy(name):
    text, reference = FORMULAS[name]
    expression = parse_expression(text)
    got = expression(POINTS[:, 0], POINTS[:, 1])
    np.testing.assert_allclose(got, reference(POINTS[:, 0], POINTS[:, 1]), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("name", NEW)
def test_traced_program_equals_the_engine(name):
    text, _ = FORMULAS[name]
    landscape = dh.landscapes.from_expression(text)
    program = program_for(landscape)
    assert program is not None, f"{text!r} did not trace"
    expression = parse_expression(text)
    for x, y in POINTS:
        value, grads = program(x, y)
        point = dh.tensor([x, y], requires_grad=True)
        eager = expression.evaluate([point[0], point[1]], DOWNHILL_FUNCTIONS)
        eager.backward()
        assert value == pytest.approx(eager.item(), rel=1e-14, abs=1e-15)
        np.testing.assert_allclose(grads, point.grad.numpy(), rtol=1e-13, atol=1e-15)
        # and the NumPy namespace (used to draw the landscape) gives the same value
        assert float(expression(x, y)) == pytest.approx(value, rel=1e-14, abs=1e-15)


@pytest.mark.parametrize("name", ["arcsin", "log10", "arctan2", "hypot", "sinc", "mod"])
def test_descend_on_a_formula_equals_the_eager_gradient_path(name):
    text, _ = FORMULAS[name]
    expression = parse_expression(text)
    landscape = dh.landscapes.from_expression(text)
    start = [0.7, -1.3]
    traced = dh.descend(landscape, start, lr=0.05, steps=40)

    def eager(p):  # a plain callable: descend runs it on the engine, no tracing
        return expression.evaluate([p[0], p[1]], DOWNHILL_FUNCTIONS)

    plain = dh.descend(eager, start, lr=0.05, steps=40)
    np.testing.assert_allclose(traced.points, plain.points, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(traced.values, plain.values, rtol=1e-12, atol=1e-14)
