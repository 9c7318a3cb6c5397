"""mod, fmod and floor_divide against exact arithmetic (Python's %, math.fmod, //)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import downhill as dh

PAIRS = [(5.5, 3.0), (-5.5, 3.0), (5.5, -3.0), (-5.5, -3.0), (7.25, 0.5), (-0.3, 2.0), (1e10 + 0.5, 7.0)]


@pytest.mark.parametrize("x, y", PAIRS)
def test_values_are_pythons(x, y):
    assert dh.mod(x, y).item() == x % y
    assert dh.fmod(x, y).item() == math.fmod(x, y)
    assert dh.floor_divide(x, y).item() == x // y
    assert (dh.tensor(x) // y).item() == x // y and (x // dh.tensor(y)).item() == x // y
    assert (dh.tensor(x) % y).item() == x % y and (x % dh.tensor(y)).item() == x % y


@pytest.mark.parametrize("x, y", PAIRS)
def test_derivatives_are_exact(x, y):
    # x = q*y + r with q whole: dr/dx = 1, dr/dy = -q; q is floor(x/y) for mod, trunc(x/y) for fmod.
    assert dh.grad(dh.mod, argnums=(0, 1))(x, y) == (1.0, -float(x // y))
    assert dh.grad(dh.fmod, argnums=(0, 1))(x, y) == (1.0, -float(math.trunc(x / y)))
    assert dh.grad(dh.floor_divide, argnums=(0, 1))(x, y) == (0.0, 0.0)
    # the second derivatives are 0: each derivative is piecewise constant
    for f in (dh.mod, dh.fmod):
        assert dh.grad(dh.grad(f, argnums=1), argnums=1)(x, y) == 0.0


def test_the_y_derivative_uses_exact_floor_division():
    # 1 / 0.1 rounds to 10.0, but 1 // 0.1 is 9 (0.1 is a little above one tenth): the
    # derivative of the remainder follows the remainder, 1 % 0.1 = 0.09999..., so -9.
    assert dh.grad(dh.mod, argnums=1)(1.0, 0.1) == -9.0 == -(1.0 // 0.1)


def test_per_example_gradients_of_mod_follow_each_example():
    # The rule's floor division was a constant of the traced example: vmap had to refuse (or,
    # with the first and last example alike, it would have reused theirs for the middle one).
    X = np.array([[5.5, 3.0], [-5.5, 3.0], [2.5, 3.0]])
    g = dh.grad(lambda v: dh.mod(v[0], v[1]))
    batched = dh.vmap(g, fallback="raise")(X)
    np.testing.assert_array_equal(batched, np.stack([g(x) for x in X]))
    np.testing.assert_array_equal(batched[:, 1], [-1.0, 2.0, -0.0])
