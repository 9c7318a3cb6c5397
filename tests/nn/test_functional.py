"""downhill.nn.functional: the same numbers as the layers and as torch.nn.functional.

torch.nn.functional's numbers come from the ``oracle`` fixture: recorded in
tests/oracle/data/test_functional.npz, or computed live under ``pytest -m oracle``.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

import downhill as dh
import downhill.nn.functional as F
from downhill import nn


def _x(shape=(4, 5), seed=0):
    return np.random.default_rng(seed).normal(0, 2, shape)


def _torch():
    import torch  # only in the live oracle run and the recorder

    return torch


def _torch_grad_pair(t_fn, x_np):
    torch = _torch()
    xt = torch.tensor(x_np, requires_grad=True)
    yt = t_fn(torch, xt)
    yt.sum().backward()
    return {"value": yt.detach().numpy(), "grad": xt.grad.numpy()}


def _grad_pair(oracle, fn, t_fn, x_np, case):
    """``t_fn(torch, x)`` is PyTorch's side, run only live."""
    theirs = functools.cache(lambda: _torch_grad_pair(t_fn, x_np))
    x = dh.tensor(x_np, requires_grad=True)
    y = fn(x)
    t_value = oracle(f"{case}/value", lambda: theirs()["value"])
    np.testing.assert_allclose(y.numpy(), t_value, rtol=1e-12, atol=1e-15)
    y.sum().backward()
    t_grad = oracle(f"{case}/grad", lambda: theirs()["grad"])
    np.testing.assert_allclose(x.grad.numpy(), t_grad, rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("name, call, t_call", [
    ("relu", F.relu, lambda t, x: t.nn.functional.relu(x)),
    ("leaky_relu", lambda x: F.leaky_relu(x, 0.3), lambda t, x: t.nn.functional.leaky_relu(x, 0.3)),
    ("gelu", F.gelu, lambda t, x: t.nn.functional.gelu(x)),
    ("gelu-tanh", lambda x: F.gelu(x, approximate="tanh"), lambda t, x: t.nn.functional.gelu(x, approximate="tanh")),
    ("tanh", F.tanh, lambda t, x: t.tanh(x)),
    ("sigmoid", F.sigmoid, lambda t, x: t.sigmoid(x)),
    ("softmax", lambda x: F.softmax(x, dim=0) * dh.arange(4.0)[:, None],
     lambda t, x: t.nn.functional.softmax(x, dim=0) * t.arange(4.0, dtype=t.float64)[:, None]),
    ("log_softmax", lambda x: F.log_softmax(x, dim=1) ** 2, lambda t, x: t.nn.functional.log_softmax(x, dim=1) ** 2),
])  # fmt: skip
def test_activations_match_torch_functional(name, call, t_call, oracle):
    x = _x()
    x[0, :3] = [0.0, -0.0, 1e-300]  # the kinks
    _grad_pair(oracle, call, t_call, x, f"activation/{name}")


def test_relu_and_leaky_relu_slopes_at_zero_are_pytorchs(oracle):
    cases = {
        "relu": (F.relu, lambda t, v: t.nn.functional.relu(v)),
        "leaky_relu": (lambda v: F.leaky_relu(v, 0.1), lambda t, v: t.nn.functional.leaky_relu(v, 0.1)),
    }
    for name, (fn, t_fn) in cases.items():
        x = dh.tensor([0.0], requires_grad=True)
        fn(x).sum().backward()
        t_grad = oracle(f"slope_at_zero/{name}", lambda t_fn=t_fn: _torch_grad_pair(t_fn, np.zeros(1))["grad"])
        assert x.grad.item() == t_grad.item()


def _torch_linear(x, w, b, bias):
    torch = _torch()
    t_args = [torch.tensor(v, requires_grad=True) for v in (x, w, b)]
    t_out = torch.nn.functional.linear(t_args[0], t_args[1], t_args[2] if bias else None)
    (t_out ** 2).sum().backward()
    return {"out": t_out.detach().numpy(), **{f"grad{i}": t.grad.numpy() for i, t in enumerate(t_args[:3 if bias else 2])}}


@pytest.mark.parametrize("bias", [True, False])
def test_linear_matches_torch(bias, oracle):
    rng = np.random.default_rng(1)
    x, w, b = rng.normal(size=(3, 4)), rng.normal(size=(2, 4)), rng.normal(size=2)
    args = [dh.tensor(v, requires_grad=True) for v in (x, w, b)]
    theirs = functools.cache(lambda: _torch_linear(x, w, b, bias))
    out = F.linear(args[0], args[1], args[2] if bias else None)
    t_out = oracle(f"linear/{bias}/out", lambda: theirs()["out"])
    np.testing.assert_allclose(out.numpy(), t_out, rtol=1e-13)
    (out ** 2).sum().backward()
    for i, a in enumerate(args[:3 if bias else 2]):
        t_grad = oracle(f"linear/{bias}/grad{i}", lambda i=i: theirs()[f"grad{i}"])
        np.testing.assert_allclose(a.grad.numpy(), t_grad, rtol=1e-12)


def test_functional_and_module_forms_agree():
    x = dh.tensor(_x())
    pairs = [
        (F.relu(x), nn.ReLU()(x)), (F.leaky_relu(x, 0.2), nn.LeakyReLU(0.2)(x)),
        (F.gelu(x, "tanh"), nn.GELU("tanh")(x)), (F.softmax(x, 1), nn.Softmax(1)(x)),
        (F.log_softmax(x, 0), nn.LogSoftmax(0)(x)), (F.tanh(x), nn.Tanh()(x)), (F.sigmoid(x), nn.Sigmoid()(x)),
        (F.dropout(x, 0.4, generator=3), nn.Dropout(0.4, generator=3)(x)),
    ]
    for a, b in pairs:
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    targets = np.array([0, 1, 2, 3])
    losses = [
        (F.cross_entropy(x, targets, label_smoothing=0.1), nn.CrossEntropyLoss(label_smoothing=0.1)(x, targets)),
        (F.nll_loss(F.log_softmax(x, 1), targets), nn.NLLLoss()(nn.LogSoftmax(1)(x), targets)),
        (F.mse_loss(x, x * 2), nn.MSELoss()(x, x * 2)), (F.l1_loss(x, 0 * x), nn.L1Loss()(x, 0 * x)),
        (F.binary_cross_entropy_with_logits(x, x > 0), nn.BCEWithLogitsLoss()(x, x > 0)),
        (F.binary_cross_entropy(F.sigmoid(x), (x > 0) * 1.0), nn.BCELoss()(nn.Sigmoid()(x), (x > 0) * 1.0)),
    ]
    for a, b in losses:
        assert a.item() == b.item()


def test_gelu_values_and_slopes_at_known_points():
    # GELU(x) = x * Phi(x): Phi(1) = 0.841344746..., and GELU'(0) = 1/2.
    assert F.gelu(dh.tensor(1.0)).item() == pytest.approx(0.8413447460685429, rel=1e-15)
    x = dh.tensor(0.0, requires_grad=True)
    F.gelu(x).backward()
    assert x.grad.item() == 0.5
    x = dh.tensor([-1e4, 1e4], requires_grad=True)
    y = F.gelu(x)
    y.sum().backward()
    assert y.tolist() == [-0.0, 1e4] and x.grad.tolist() == [0.0, 1.0]
    with pytest.raises(ValueError, match="'none' or 'tanh'"):
        F.gelu(x, approximate="fast")


def test_gelu_second_derivative_through_erf():
    assert dh.gradcheck(lambda v: F.gelu(v), np.array([-2.0, -0.3, 0.7, 3.0]), second_order=True)
    assert dh.gradcheck(lambda v: F.gelu(v, "tanh"), np.array([-2.0, 0.7]), second_order=True)


def test_softmax_needs_a_dim_or_warns():
    with pytest.warns(UserWarning, match="Implicit dimension"):
        assert F.softmax(dh.zeros((2, 3))).shape == (2, 3)
    assert F.log_softmax(dh.zeros(3, dtype="float32"), dim=0, dtype="float64").dtype == np.float64


def test_dropout_functional_options():
    x = dh.ones(10)
    assert F.dropout(x, training=False) is x
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.dropout(x, p=-0.1)
    y = F.dropout(dh.ones(1000, dtype="float32"), 0.2, generator=0)
    assert y.dtype == np.float32 and set(np.unique(y.numpy())) == {np.float32(0), np.float32(1.25)}
