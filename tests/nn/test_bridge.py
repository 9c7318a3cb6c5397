"""to_torch / from_torch: exact weight copies, the same outputs, clear refusals.

These convert to and from PyTorch itself, so every test that needs torch is
marked ``oracle``: it runs under ``pytest -m oracle`` (the ``oracle`` extra),
never in the default run, which must not import torch. The message for a
missing torch is checked in the default run.
"""

from __future__ import annotations

import builtins
import sys
from collections import OrderedDict

import numpy as np
import pytest

import downhill as dh
from downhill import nn
from downhill.nn.bridge import SUPPORTED, from_torch, to_torch

needs_torch = pytest.mark.oracle


@pytest.fixture
def torch():
    import torch  # only in the live oracle run

    return torch


def every_layer(dtype):
    nn.manual_seed(0)
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(6, 8, dtype=dtype),
        nn.ReLU(),
        nn.Linear(8, 8, dtype=dtype),
        nn.LeakyReLU(0.2),
        nn.Dropout(0.3),
        nn.Linear(8, 8, bias=False, dtype=dtype),
        nn.Tanh(),
        nn.Sequential(OrderedDict([("inner", nn.Linear(8, 8, dtype=dtype)), ("act", nn.Sigmoid())])),
        nn.Linear(8, 8, dtype=dtype),
        nn.GELU(),
        nn.Linear(8, 8, dtype=dtype),
        nn.GELU(approximate="tanh"),
        nn.Identity(),
        nn.Linear(8, 4, dtype=dtype),
        nn.Softmax(dim=1),
        nn.Linear(4, 3, dtype=dtype),
        nn.LogSoftmax(dim=-1),
    )


def assert_same_weights(ours, theirs):
    ours_state = ours.state_dict()
    theirs_state = theirs.state_dict()
    assert list(ours_state) == list(theirs_state)
    for key, value in ours_state.items():
        other = theirs_state[key].detach().numpy()
        assert value.data.dtype == other.dtype, key
        assert value.data.shape == other.shape, key
        assert value.data.tobytes() == other.tobytes(), key


@needs_torch
@pytest.mark.parametrize("dtype, tolerance", [("float64", 1e-12), ("float32", 1e-5)])
def test_to_torch_copies_weights_exactly_and_computes_the_same(dtype, tolerance, torch):
    model = every_layer(dtype).eval()
    converted = to_torch(model)
    assert isinstance(converted, torch.nn.Sequential) and not converted.training
    assert_same_weights(model, converted)
    x = np.random.default_rng(1).normal(size=(16, 2, 3)).astype(dtype)
    expected = model(dh.tensor(x)).data
    with torch.no_grad():
        got = converted(torch.from_numpy(x)).numpy()
    assert got.dtype == expected.dtype
    np.testing.assert_allclose(got, expected, rtol=tolerance, atol=tolerance)


@needs_torch
@pytest.mark.parametrize("dtype_name", ["float64", "float32"])
def test_from_torch_copies_weights_exactly_and_computes_the_same(dtype_name, torch):
    dtype = getattr(torch, dtype_name)
    torch.manual_seed(0)
    module = torch.nn.Sequential(
        torch.nn.Linear(5, 7), torch.nn.ReLU(), torch.nn.Dropout(0.2), torch.nn.Linear(7, 7, bias=False),
        torch.nn.LeakyReLU(0.1), torch.nn.Sequential(torch.nn.Linear(7, 7), torch.nn.GELU("tanh")),
        torch.nn.Tanh(), torch.nn.Linear(7, 3), torch.nn.Sigmoid(), torch.nn.Identity(),
        torch.nn.LogSoftmax(dim=1),
    ).to(dtype).eval()
    model = from_torch(module)
    assert isinstance(model, nn.Sequential) and model.training is False
    assert_same_weights(model, module)
    x = torch.randn(9, 5, dtype=dtype)
    with torch.no_grad():
        expected = module(x).numpy()
    got = model(dh.tensor(x.numpy())).data
    np.testing.assert_allclose(got, expected, rtol=1e-12 if dtype == torch.float64 else 1e-5, atol=1e-6)


@needs_torch
def test_round_trip_and_independence(torch):
    model = every_layer("float64")
    back = from_torch(to_torch(model))
    assert repr(back) == repr(model)
    assert_same_weights(back, to_torch(model))
    # Copies, not views: training one does not move the other.
    converted = to_torch(model)
    with torch.no_grad():
        converted[1].weight.add_(1.0)
    assert not np.array_equal(model[1].weight.data, converted[1].weight.detach().numpy())
    back[1].weight.data[...] = 0
    assert model[1].weight.data.any()


@needs_torch
def test_trained_in_torch_then_back(torch):
    # Train a little in PyTorch, bring it back: downhill computes the same function.
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2)).double()
    opt = torch.optim.SGD(module.parameters(), lr=0.1)
    x = torch.randn(32, 2, dtype=torch.float64)
    y = (x[:, 0] > 0).long()
    for _ in range(5):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(module(x), y).backward()
        opt.step()
    model = from_torch(module)
    loss = nn.CrossEntropyLoss()(model(dh.tensor(x.numpy())), dh.tensor(y.numpy()))
    expected = torch.nn.functional.cross_entropy(module(x), y).item()
    assert loss.item() == pytest.approx(expected, rel=1e-12)


@needs_torch
def test_requires_grad_and_training_mode_carry_over():
    model = every_layer("float32")
    model[1].weight.requires_grad_(False)
    converted = to_torch(model)
    assert converted.training
    assert converted[1].weight.requires_grad is False and converted[1].bias.requires_grad is True
    assert from_torch(converted)[1].weight.requires_grad is False


@needs_torch
def test_unsupported_layers_are_named(torch):
    class Custom(nn.Module):
        def forward(self, x):
            return x

    with pytest.raises(TypeError, match="cannot convert a Custom.*Linear, ReLU"):
        to_torch(nn.Sequential(nn.Linear(2, 2), Custom()))
    with pytest.raises(TypeError, match="cannot convert a Conv1d"):
        from_torch(torch.nn.Sequential(torch.nn.Conv1d(1, 1, 3)))
    with pytest.raises(TypeError, match="torch.nn.Module"):
        from_torch(nn.Linear(2, 2))
    assert "Softmax" in SUPPORTED


def test_missing_torch_says_how_to_install(monkeypatch):
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("No module named 'torch'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    monkeypatch.delitem(sys.modules, "torch", raising=False)
    with pytest.raises(ImportError, match=r'pip install "downhill\[torch\]"'):
        to_torch(nn.Linear(2, 2))
