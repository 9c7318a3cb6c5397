"""Derivatives at kinks and in the tails: exact values, and PyTorch's where it makes the same choice.

At a kink there is no derivative, only a convention. downhill picks PyTorch's:
relu'(0) = 0, abs'(0) = 0, sign' = 0, clip passes the gradient at its bounds,
a tie in maximum/minimum splits it 0.5/0.5, equal maxima of a reduction
share it evenly, and the norm's gradient at the origin is 0. Central
differences cannot see these, so they are checked exactly.

PyTorch's gradients come from the ``oracle`` fixture: recorded in
tests/oracle/data/test_conventions.npz, or computed live under ``pytest -m oracle``
(the table names torch's functions through ``oracle.lazy``, which imports torch
only when one is called).
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

import downhill as dh
from oracle.lazy import real_torch, torch


def torch_grads(fn, *arrays):
    """Gradients of ``fn(*tensors).sum()`` in PyTorch, float64."""
    torch = real_torch()  # only in the live oracle run and the recorder
    xs = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    grads = torch.autograd.grad(fn(*xs).sum(), xs, materialize_grads=True)
    return [g.numpy() for g in grads]


def downhill_grads(fn, *arrays):
    grads = dh.grad(lambda *xs: dh.sum(fn(*xs)), argnums=tuple(range(len(arrays))))(*arrays)
    return [np.asarray(g) for g in grads]


KINKS = [
    # name, downhill, torch, inputs, expected gradients
    ("relu at 0", dh.relu, torch.relu, [np.array([-1.0, 0.0, 2.0])], [[0.0, 0.0, 1.0]]),
    ("abs at 0", dh.abs, torch.abs, [np.array([-1.0, 0.0, 2.0])], [[-1.0, 0.0, 1.0]]),
    ("sign everywhere", dh.sign, torch.sign, [np.array([-1.0, 0.0, 2.0])], [[0.0, 0.0, 0.0]]),
    ("clip at its bounds", lambda x: dh.clip(x, -0.5, 0.5), lambda x: torch.clamp(x, -0.5, 0.5),
     [np.array([-1.0, -0.5, 0.0, 0.5, 1.0])], [[0.0, 1.0, 1.0, 1.0, 0.0]]),
    ("clip with one bound", lambda x: dh.clip(x, a_max=0.5), lambda x: torch.clamp(x, max=0.5),
     [np.array([-1.0, 0.5, 1.0])], [[1.0, 1.0, 0.0]]),
    ("maximum tie", dh.maximum, torch.maximum,
     [np.array([1.0, 2.0, 3.0]), np.array([1.0, 5.0, 0.0])], [[0.5, 0.0, 1.0], [0.5, 1.0, 0.0]]),
    ("minimum tie", dh.minimum, torch.minimum,
     [np.array([1.0, 2.0, 3.0]), np.array([1.0, 5.0, 0.0])], [[0.5, 1.0, 0.0], [0.5, 0.0, 1.0]]),
    ("maximum tie broadcast", dh.maximum, torch.maximum,
     [np.array([[1.0, 2.0], [1.0, 0.0]]), np.array([1.0, 2.0])], [[[0.5, 0.5], [0.5, 0.0]], [1.0, 1.5]]),
    ("max ties share evenly", dh.max, torch.amax, [np.array([1.0, 3.0, 3.0])], [[0.0, 0.5, 0.5]]),
    ("max ties along an axis", lambda x: dh.max(x, axis=1), lambda x: torch.amax(x, dim=1),
     [np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])], [[[0.0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]]]),
    ("max ties keepdims", lambda x: dh.max(x, axis=0, keepdims=True), lambda x: torch.amax(x, dim=0, keepdim=True),
     [np.array([[1.0, 3.0], [1.0, 2.0]])], [[[0.5, 1.0], [0.5, 0.0]]]),
    ("min ties", lambda x: dh.min(x, axis=0), lambda x: torch.amin(x, dim=0),
     [np.array([[1.0, 3.0, 3.0], [1.0, 2.0, 3.0]])], [[[0.5, 0.0, 0.5], [0.5, 1.0, 0.5]]]),
    ("norm at the origin", dh.norm, torch.linalg.vector_norm, [np.zeros(3)], [[0.0, 0.0, 0.0]]),
    ("norm of a zero row", lambda x: dh.norm(x, axis=1), lambda x: torch.linalg.vector_norm(x, dim=1),
     [np.array([[0.0, 0.0], [3.0, 4.0]])], [[[0.0, 0.0], [0.6, 0.8]]]),
    ("prod with one zero", dh.prod, torch.prod, [np.array([2.0, 0.0, 3.0])], [[0.0, 6.0, 0.0]]),
    ("prod with two zeros", dh.prod, torch.prod, [np.array([2.0, 0.0, 0.0])], [[0.0, 0.0, 0.0]]),
    ("x ** 0 at 0", lambda x: x ** 0, lambda x: x ** 0, [np.array([0.0, 2.0])], [[0.0, 0.0]]),
    ("x ** 2 at 0", lambda x: x ** 2, lambda x: x ** 2, [np.array([0.0, -1.0])], [[0.0, -2.0]]),
    ("0 ** y in the exponent", dh.power, torch.pow,
     [np.array([0.0, 0.0, 0.0]), np.array([0.0, 1.0, 2.0])], [[0.0, 1.0, 0.0], [0.0, 0.0, 0.0]]),
    ("where picks per element", lambda x, y: dh.where(np.array([True, False]), x, y),
     lambda x, y: torch.where(torch.tensor([True, False]), x, y),
     [np.array([1.0, 2.0]), np.array([3.0, 4.0])], [[1.0, 0.0], [0.0, 1.0]]),
]


@pytest.mark.parametrize("name, fn, torch_fn, inputs, expected", KINKS, ids=[k[0] for k in KINKS])
def test_kink_conventions_exact_and_as_pytorch(name, fn, torch_fn, inputs, expected, oracle):
    grads = downhill_grads(fn, *inputs)
    theirs = functools.cache(lambda: torch_grads(torch_fn, *inputs))
    t_grads = [oracle(f"{name}/grad{i}", lambda i=i: theirs()[i]) for i in range(len(inputs))]
    for g, e, t in zip(grads, expected, t_grads, strict=True):
        np.testing.assert_array_equal(g, np.array(e, dtype=float))
        np.testing.assert_allclose(g, t, rtol=1e-15, atol=0)


def test_second_derivatives_at_kinks_are_zero():
    x = np.array([-1.0, 0.0, 2.0])
    for fn in (dh.relu, dh.abs, dh.sign):
        np.testing.assert_array_equal(dh.hessian(lambda v, fn=fn: dh.sum(fn(v)))(x), np.zeros((3, 3)))
    np.testing.assert_array_equal(dh.hessian(dh.norm)(np.zeros(2)), np.zeros((2, 2)))


def test_prod_hessian_is_exact_with_a_zero():
    # d2/dxi dxj of x0*x1*x2 is the product of the remaining element: no division by x.
    np.testing.assert_array_equal(
        dh.hessian(dh.prod)(np.array([2.0, 0.0, 3.0])),
        [[0.0, 3.0, 0.0], [3.0, 0.0, 2.0], [0.0, 2.0, 0.0]],
    )


def test_softplus_has_no_threshold(oracle):
    # downhill's softplus is log(1 + e^x) to rounding everywhere; PyTorch's returns x above 20.
    x = np.array([-800.0, -50.0, -20.0, 0.0, 15.0, 20.0, 25.0, 40.0, 800.0])
    reference = np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))
    np.testing.assert_allclose(dh.softplus(dh.tensor(x)).numpy(), reference, rtol=1e-15, atol=0)
    assert dh.softplus(dh.tensor(25.0)).item() > 25.0  # e^-25 survives, where PyTorch's would give 25
    slope = dh.grad(lambda v: dh.softplus(v).sum())(x)
    sigmoid = np.where(x >= 0, 1 / (1 + np.exp(-np.abs(x))), np.exp(-np.abs(x)) / (1 + np.exp(-np.abs(x))))
    np.testing.assert_allclose(slope, sigmoid, rtol=1e-15, atol=0)
    # Where PyTorch has no threshold effect, it agrees.
    inside = np.linspace(-14.0, 14.0, 15)
    np.testing.assert_allclose(
        dh.softplus(dh.tensor(inside)).numpy(),
        oracle("softplus/inside", lambda: torch.nn.functional.softplus(torch.tensor(inside))), rtol=1e-12,
    )


def test_sigmoid_and_logsumexp_stay_finite_in_the_tails(oracle):
    x = np.array([-800.0, -40.0, 0.0, 40.0, 800.0])
    np.testing.assert_allclose(dh.sigmoid(dh.tensor(x)).numpy(),
                               oracle("sigmoid/tails", lambda: torch.sigmoid(torch.tensor(x))), rtol=1e-15, atol=0)
    slope = dh.grad(lambda v: dh.sigmoid(v).sum())(x)
    assert np.all(np.isfinite(slope)) and slope[2] == 0.25
    assert dh.logsumexp(dh.tensor([1000.0, 1000.0])).item() == pytest.approx(1000 + np.log(2), rel=1e-15)
    np.testing.assert_array_equal(dh.grad(dh.logsumexp)(np.array([1000.0, 1000.0])), [0.5, 0.5])
    assert dh.logsumexp(dh.tensor([-np.inf, 0.0])).item() == 0.0
    np.testing.assert_array_equal(dh.softmax(dh.tensor([1000.0, 0.0])).numpy(), [1.0, 0.0])
