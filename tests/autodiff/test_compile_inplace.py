"""compile_inplace: the traced program with kept buffers computes the plain program's numbers, bit for bit."""

from __future__ import annotations

import math

import numpy as np
import pytest

import downhill as dh
from downhill.autodiff.compile import trace
from downhill.optim.descend import program_for

# Formulas that reach every fast form (sums, differences, products, quotients,
# negation, whole powers, the seed times a constant) and the ones that call
# the op's own functions (sqrt, exp, log, tanh, sin, a fractional power, relu).
FORMULAS = {
    "quotient": lambda x, y: (x - 2.0) / (y * y + 1) - x / 3,
    "negations": lambda x, y: -(x * y) - (-y) ** 3,
    "whole powers": lambda x, y: x ** 5 - 2 * x ** 3 * y + y ** 2 + x ** 1 * 0.5,
    "zeroth power": lambda x, y: x ** 0 + y ** 2.0 * x,
    "generic": lambda x, y: dh.sqrt(x * x + 1) / (2 + dh.tanh(y)) + dh.log(1 + y * y) + dh.exp(-x) * dh.sin(y),
    "fractional": lambda x, y: (x * x + 1) ** 1.5 + dh.relu(y) * x,
    "shared": lambda x, y: (x + y) * (x + y) + (x + y),
    "unused y": lambda x, y: x * x,
    "linear": lambda x, y: 3 * x - y,
    "constant gradient": lambda x, y: x + y * y,
    # mod's rule hands the cotangent back as it came: a result that must never be written into.
    "remainders": lambda x, y: (x - 1) ** 2 + dh.mod(y * y, 5) - dh.mod(x * y, 3),
    "remainder of an input": lambda x, y: dh.mod(x, 2.5) + dh.mod(y, x * x + 1),
}

EDGES = np.array([0.0, -0.0, 1.0, -1.0, 1e-310, 1e200, -1e200, np.inf, -np.inf, np.nan])


def _points(rng, width):
    x, y = rng.uniform(-3, 3, size=(2, width))
    x[:len(EDGES)], y[-len(EDGES):] = EDGES, EDGES  # zeros, subnormals, overflow, inf and NaN
    return x, y


def _check(program, x, y):
    width = x.size
    G = np.full((2, width), 7.0)
    slope = program.inplace().build(width, G)
    given = x.copy(), y.copy()
    with np.errstate(all="ignore"):
        value, (gx, gy) = program.function(x, y)
        for _ in range(2):  # the second call reuses every buffer
            got = slope(x, y).copy()
    for before, after in zip(given, (x, y)):  # the coordinates are read, never written
        np.testing.assert_array_equal(before, after)
    for name, a, b in (("value", got, value), ("d/dx", G[0], gx), ("d/dy", G[1], gy)):
        a, b = np.asarray(a), np.broadcast_to(np.asarray(b, dtype=np.float64), a.shape)
        same = (a.view(np.int64) == b.view(np.int64)) | (np.isnan(a) & np.isnan(b))
        assert same.all(), (name, a[~same][:5], b[~same][:5])


@pytest.mark.parametrize("name", list(FORMULAS))
def test_formulas_match_the_plain_program_to_the_bit(name):
    program = trace(FORMULAS[name], 2, names=["x", "y"])
    x, y = _points(np.random.default_rng(0), 64)
    _check(program, x, y)


@pytest.mark.parametrize("name", dh.landscapes.names())
def test_every_landscape_matches_the_plain_program_to_the_bit(name):
    program = program_for(dh.landscapes.get(name))
    x, y = _points(np.random.default_rng(len(name)), 300)
    _check(program, x, y)


def test_gradients_agree_with_exact_mathematics():
    # f = x^3 y - y / x: df/dx = 3 x^2 y + y / x^2, df/dy = x^3 - 1 / x.
    program = trace(lambda x, y: x ** 3 * y - y / x, 2)
    x, y = np.array([1.0, 2.0, -0.5]), np.array([2.0, -1.0, 4.0])
    G = np.empty((2, 3))
    value = program.inplace().build(3, G)(x, y)
    np.testing.assert_allclose(value, x ** 3 * y - y / x, rtol=1e-15)
    np.testing.assert_allclose(G[0], 3 * x ** 2 * y + y / x ** 2, rtol=1e-15)
    np.testing.assert_allclose(G[1], x ** 3 - 1 / x, rtol=1e-15)


def test_buffers_are_reused_and_the_seed_is_folded_away():
    program = program_for(dh.landscapes.get("rosenbrock")).inplace()
    # 7 links forward and 9 backward in the plain program; here no product by
    # the seed, and a handful of buffers (not one per link).
    assert program.source.count("empty()") <= 5
    assert "ONE" not in program.source and "G0" in program.source and "G1" in program.source
    calls = [line for line in program.source.splitlines() if line.startswith("        ") and "(" in line]
    assert len(calls) < 16


def test_constant_and_missing_gradients_fill_their_rows_once():
    program = trace(lambda x, y: 2.5 * x, 2)
    G = np.full((2, 4), np.nan)
    slope = program.inplace().build(4, G)
    np.testing.assert_array_equal(slope(np.arange(4.0), np.zeros(4)), 2.5 * np.arange(4.0))
    np.testing.assert_array_equal(G, [[2.5] * 4, [0.0] * 4])


def test_a_wrong_shape_for_the_gradients_is_refused():
    program = trace(lambda x, y: x * y, 2).inplace()
    with pytest.raises(ValueError, match="G must be float64 of shape"):
        program.build(3, np.empty((2, 4)))
    with pytest.raises(ValueError, match="float64"):
        program.build(3, np.empty((2, 3), dtype=np.float32))


def test_one_input():
    program = trace(lambda x: x ** 4 - math.pi * x, 1)
    G = np.empty((1, 3))
    x = np.array([1.0, 0.5, -2.0])
    value = program.inplace().build(3, G)(x)
    np.testing.assert_array_equal(value, program.function(x)[0])
    np.testing.assert_array_equal(G[0], program.function(x)[1][0])
