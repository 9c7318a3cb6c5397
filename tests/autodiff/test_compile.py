"""compile.trace: straight-line value-and-gradient programs, checked against
hand-written gradients, the engine (dh.value_and_grad) and central differences."""

from __future__ import annotations

import ast
import math
import re

import numpy as np
import pytest

import downhill as dh
from downhill.autodiff.compile import NotCompilable, Program, trace
from downhill.optim.descend import program_for

# Formulas written with downhill's functions, each with its gradient by hand (NumPy).
FORMULAS = {
    "rosenbrock": (
        lambda x, y: 100 * (y - x**2) ** 2 + (1 - x) ** 2,
        lambda x, y: (-400 * x * (y - x**2) - 2 * (1 - x), 200 * (y - x**2)),
    ),
    "himmelblau": (
        lambda x, y: (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2,
        lambda x, y: (4 * x * (x**2 + y - 11) + 2 * (x + y**2 - 7), 2 * (x**2 + y - 11) + 4 * y * (x + y**2 - 7)),
    ),
    "booth": (
        lambda x, y: (x + 2 * y - 7) ** 2 + (2 * x + y - 5) ** 2,
        lambda x, y: (10 * x + 8 * y - 34, 8 * x + 10 * y - 38),
    ),
    "mccormick": (
        lambda x, y: dh.sin(x + y) + (x - y) ** 2 - 1.5 * x + 2.5 * y + 1,
        lambda x, y: (np.cos(x + y) + 2 * (x - y) - 1.5, np.cos(x + y) - 2 * (x - y) + 2.5),
    ),
    "easom": (
        lambda x, y: -dh.cos(x) * dh.cos(y) * dh.exp(-((x - math.pi) ** 2 + (y - math.pi) ** 2)),
        lambda x, y: (
            np.exp(-((x - math.pi) ** 2 + (y - math.pi) ** 2)) * np.cos(y)
            * (np.sin(x) + 2 * (x - math.pi) * np.cos(x)),
            np.exp(-((x - math.pi) ** 2 + (y - math.pi) ** 2)) * np.cos(x)
            * (np.sin(y) + 2 * (y - math.pi) * np.cos(y)),
        ),
    ),
    "smooth-mix": (  # division, sqrt, log, tanh, a constant array-free formula
        lambda x, y: dh.sqrt(x * x + 1) / (2 + dh.tanh(y)) + dh.log(1 + y * y),
        lambda x, y: (
            x / np.sqrt(x * x + 1) / (2 + np.tanh(y)),
            -np.sqrt(x * x + 1) * (1 - np.tanh(y) ** 2) / (2 + np.tanh(y)) ** 2 + 2 * y / (1 + y * y),
        ),
    ),
}


@pytest.mark.parametrize("name", list(FORMULAS))
def test_scalar_inputs_match_hand_gradients_and_the_engine(name):
    f, hand = FORMULAS[name]
    program = trace(f, 2, names=["x", "y"])
    engine = dh.value_and_grad(f, argnums=(0, 1))
    rng = np.random.default_rng(0)
    for x, y in rng.uniform(-3, 3, size=(6, 2)):
        value, (gx, gy) = program(float(x), float(y))
        assert isinstance(value, float) and isinstance(gx, float) and isinstance(gy, float)
        engine_value, (ex, ey) = engine(float(x), float(y))
        # Same forward functions and vjp rules; only the order in which a
        # node's incoming gradients are summed may differ from the engine's.
        assert value == float(engine_value)
        np.testing.assert_allclose([gx, gy], [float(ex), float(ey)], rtol=1e-14, atol=1e-15)
        np.testing.assert_allclose([gx, gy], hand(x, y), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("name", list(FORMULAS))
def test_array_inputs_give_per_element_values_and_gradients(name):
    f, hand = FORMULAS[name]
    program = trace(f, 2)
    rng = np.random.default_rng(1)
    xs, ys = rng.uniform(-3, 3, size=(2, 7))
    values, (gx, gy) = program(xs, ys)
    assert values.shape == gx.shape == gy.shape == (7,)
    hx, hy = hand(xs, ys)
    np.testing.assert_allclose(gx, hx, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(gy, hy, rtol=1e-10, atol=1e-10)
    for i in range(7):  # each element is the scalar program at that point
        value, (sx, sy) = program(float(xs[i]), float(ys[i]))
        assert (values[i], gx[i], gy[i]) == (value, sx, sy)


@pytest.mark.parametrize("name", list(FORMULAS))
def test_gradients_agree_with_central_differences(name):
    f, _ = FORMULAS[name]
    program = trace(f, 2)
    rng = np.random.default_rng(2)
    xs, ys = rng.uniform(-2, 2, size=(2, 5))
    h = 1e-6
    _, (gx, gy) = program(xs, ys)
    fx = (program(xs + h, ys)[0] - program(xs - h, ys)[0]) / (2 * h)
    fy = (program(xs, ys + h)[0] - program(xs, ys - h)[0]) / (2 * h)
    np.testing.assert_allclose(gx, fx, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(gy, fy, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", dh.landscapes.names())
def test_every_landscape_program_equals_the_engine(name):
    landscape = dh.landscapes.get(name)
    program = program_for(landscape)
    assert isinstance(program, Program)
    low = np.array([d[0] for d in landscape.domain])
    high = np.array([d[1] for d in landscape.domain])
    points = np.random.default_rng(4).uniform(low, high, size=(5, 2))
    values, (gx, gy) = program(points[:, 0], points[:, 1])
    np.testing.assert_allclose(values, landscape(points), rtol=1e-12, atol=1e-12)
    for i, point in enumerate(points):
        value, slope = dh.value_and_grad(landscape)(point)
        np.testing.assert_allclose(values[i], float(value), rtol=1e-13, atol=1e-13)
        np.testing.assert_allclose([gx[i], gy[i]], slope, rtol=1e-12, atol=1e-12)


def test_source_is_readable_python_with_one_line_per_op():
    program = trace(lambda x, y: x * y + dh.sin(x), 2, names=["x", "y"])
    source = program.source
    ast.parse(source)  # plain Python
    lines = source.splitlines()
    assert lines[0] == "def value_and_grad(x, y):"
    forward = [line.strip() for line in lines if re.match(r"\s+v\d+ = ", line)]
    # Three operations (multiply, sin, add): three links of the chain, in an order that works;
    # arithmetic written as arithmetic, other ops as calls.
    assert forward == ["v0 = x * y", "v1 = sin(x)", "v2 = v0 + v1"]
    assert "g3 = vjp_sin_0(NP, g2, v1, x)" in source and "g5 = g1 * x" in source
    assert "# forward" in source and "# backward" in source
    assert lines[-1].strip().startswith("return v2, (")
    assert source in repr(program)


def test_default_names_and_name_checks():
    assert trace(lambda a, b, c: a * b * c, 3).source.startswith("def value_and_grad(x0, x1, x2):")
    with pytest.raises(ValueError):
        trace(lambda x: x * x, 1, names=["x", "y"])
    with pytest.raises(ValueError):
        trace(lambda x: x * x, 1, names=["not a name"])


def test_an_unused_input_gets_a_zero_gradient_of_its_shape():
    program = trace(lambda x, y: x * x, 2)
    value, (gx, gy) = program(3.0, 5.0)
    assert (value, gx, gy) == (9.0, 6.0, 0.0)
    values, (gx, gy) = program(np.array([1.0, 2.0]), np.array([7.0, 8.0]))
    np.testing.assert_array_equal(gx, [2.0, 4.0])
    np.testing.assert_array_equal(gy, [0.0, 0.0])


def test_a_linear_function_has_gradients_of_the_input_shape():
    program = trace(lambda x, y: 3 * x - y, 2)
    values, (gx, gy) = program(np.arange(4.0), np.ones(4))
    np.testing.assert_array_equal(values, 3 * np.arange(4.0) - 1)
    np.testing.assert_array_equal(gx, np.full(4, 3.0))
    np.testing.assert_array_equal(gy, np.full(4, -1.0))


def test_constants_of_every_kind_travel_with_the_program():
    program = trace(lambda x: x * np.float64(2.5) + dh.tensor(0.5) * x ** 3, 1)
    value, (g,) = program(2.0)
    assert value == 2.5 * 2 + 0.5 * 8 and g == 2.5 + 1.5 * 4


@pytest.mark.parametrize(
    ("f", "n", "words"),
    [
        (lambda x: dh.sum(x * x), 1, "elementwise"),
        (lambda x, y: dh.matmul(dh.stack([x, y]), dh.stack([x, y])), 2, "elementwise"),
        (lambda x: dh.matmul(x, x), 1, "matmul"),
        (lambda x: dh.mean(x * x), 1, "elementwise"),
        (lambda x: x, 1, "unchanged"),
        (lambda x, y: y, 2, "unchanged"),
        (lambda x: 3.0, 1, "single number"),
        (lambda x: dh.tensor([1.0, 2.0]) * x, 1, "single number"),
        (lambda x: dh.where(x > 0, x, -x), 1, "condition"),
        (lambda x, y: dh.where(y < x, x, y) * y, 2, "condition"),
    ],
)
def test_what_cannot_be_traced_raises_not_compilable(f, n, words):
    with pytest.raises(NotCompilable, match=words):
        trace(f, n)
    assert issubclass(NotCompilable, ValueError)


def test_the_value_of_a_where_would_otherwise_be_wrong():
    # Why where() with x > 0 is refused: traced at x = 0.3, the branch would
    # stay "x > 0" for x = -1 as well. The engine gives the right answer.
    def ramp(x):
        return dh.where(x > 0, x, 0.0)

    value, slope = dh.value_and_grad(ramp)(-1.0)
    assert (float(value), float(slope)) == (0.0, 0.0)
    with pytest.raises(NotCompilable):
        trace(ramp, 1)


def test_relu_traces_and_masks_at_run_time_not_at_trace_time():
    # relu is a primitive whose rule reads its own output, so the mask is
    # computed from the run-time input, unlike a traced where(x > 0, ...).
    program = trace(lambda x, y: dh.relu(x) + y * y, 2)
    for x, y in [(-1.0, 2.0), (3.0, -1.0), (0.0, 0.5)]:
        value, (gx, gy) = program(x, y)
        assert value == max(x, 0.0) + y * y
        assert gx == (1.0 if x > 0 else 0.0)
        assert gy == 2 * y
    values, (gxs, _) = program(np.array([-2.0, 0.0, 2.0]), np.array([1.0, 1.0, 1.0]))
    np.testing.assert_array_equal(values, [1.0, 1.0, 3.0])
    np.testing.assert_array_equal(gxs, [0.0, 0.0, 1.0])


# Every INLINE entry in use: + - * and unary minus with constants on either side, squares by an
# int and a float 2, beside ops that stay calls (x ** 3, a square of a variable exponent).
INLINED = lambda x, y: (-(x * y) + 2.0 * x - y * 3 + (x - 1.5) ** 2 - (0.5 - y) ** 2.0  # noqa: E731
                        + x ** 3 + dh.sin(y) * x + 4 - x + y ** (x * 0 + 2))


def test_inlined_links_compute_what_the_calls_they_replace_compute(monkeypatch):
    # The program with every link a call to the op table is the reference: the same
    # order of operations, so any difference is an inlined expression that is wrong.
    import downhill.autodiff.compile as compile_module

    program = trace(INLINED, 2)
    forward = program.source.split("# backward")[0]
    assert forward.count("power(") == 2 and "power(x0, 3)" in forward  # x ** 3 and y ** (...) stay calls
    monkeypatch.setattr(compile_module, "INLINE", {})
    calls = trace(INLINED, 2)
    assert "add(" in calls.source and "vjp_multiply_0(" in calls.source
    rng = np.random.default_rng(11)
    with np.errstate(all="ignore"):
        for x, y in [*rng.normal(size=(50, 2)) * 10.0 ** rng.integers(-5, 5, size=(50, 1)),
                     (0.0, -0.0), (np.inf, 1.0), (np.nan, 2.0), (-3e200, 1e-300)]:
            for args in ((np.float64(x), np.float64(y)), (np.full(3, x), np.array([y, -y, 0.5]))):
                value, grads = program.function(*args)
                expected_value, expected_grads = calls.function(*args)
                np.testing.assert_array_equal(value, expected_value)
                for got, expected in zip(grads, expected_grads):
                    assert type(got) is type(expected)
                    np.testing.assert_array_equal(got, expected)


def test_inlined_program_matches_the_engine():
    program = trace(INLINED, 2)
    for x, y in np.random.default_rng(12).uniform(0.5, 2.0, size=(20, 2)):  # y > 0: y ** (...) has a log in its rule
        value, grads = program(x, y)
        expected_value, expected_grads = dh.value_and_grad(INLINED, argnums=(0, 1))(x, y)
        np.testing.assert_allclose(value, float(expected_value), rtol=1e-13)
        np.testing.assert_allclose(grads, [float(g) for g in expected_grads], rtol=1e-12, atol=1e-12)
