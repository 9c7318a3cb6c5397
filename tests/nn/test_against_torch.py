"""The bar: the same network, trained the same way, in downhill and PyTorch, loss for loss.

A 64-48-32-10 multilayer perceptron (Linear-Tanh-Linear-ReLU-Linear) on the
8x8 handwritten digits, both copies starting from the same weights (PyTorch's
own initialization, copied over through ``load_state_dict``), trained for 20
steps with CrossEntropyLoss in float64. Every step's loss, and the final
weights, agree to rtol 1e-9.

PyTorch's side (its initial weights, losses, final weights, gradients) comes
from the ``oracle`` fixture: recorded in tests/oracle/data/test_against_torch.npz,
or run live under ``pytest -m oracle``.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from sklearn.datasets import load_digits

import downhill as dh
from downhill import nn

STEPS = 20
RTOL = 1e-9


@pytest.fixture(scope="module")
def digits():
    x, y = load_digits(return_X_y=True)
    return x / 16.0, y.astype(np.int64)


def _twin(seed=0, float64=True):
    """PyTorch's copy of the network, initialized by PyTorch from ``seed``."""
    import torch  # only in the live oracle run and the recorder

    torch.manual_seed(seed)
    if not float64:
        return torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
    return torch.nn.Sequential(
        torch.nn.Linear(64, 48), torch.nn.Tanh(), torch.nn.Linear(48, 32), torch.nn.ReLU(),
        torch.nn.Linear(32, 10),
    ).double()


@functools.cache
def _twin_state(seed=0, float64=True):
    return {k: v.detach().numpy().copy() for k, v in _twin(seed, float64).state_dict().items()}


def _initial_state(oracle, seed=0, float64=True):
    """PyTorch's initial weights, in its state_dict order."""
    case = f"init/seed{seed}/{'float64' if float64 else 'float32'}"
    keys = oracle(f"{case}/keys", lambda: list(_twin_state(seed, float64)))
    return {k: oracle(f"{case}/{k}", lambda k=k: _twin_state(seed, float64)[k]) for k in keys}


def _model(oracle, seed=0):
    model = nn.Sequential(nn.Linear(64, 48), nn.Tanh(), nn.Linear(48, 32), nn.ReLU(), nn.Linear(32, 10))
    model.double()
    model.load_state_dict(_initial_state(oracle, seed))
    return model


OPTIMIZERS = {
    "sgd-momentum": (lambda ps: dh.optim.SGD(ps, lr=0.3, momentum=0.9), ("SGD", {"lr": 0.3, "momentum": 0.9})),
    "adamw": (lambda ps: dh.optim.AdamW(ps, lr=1e-2), ("AdamW", {"lr": 1e-2})),
}


def _batches(n, batch_size):
    """Full batch (batch_size None) or fixed shuffled mini-batches, the same for both."""
    if batch_size is None:
        return [np.arange(n)] * STEPS
    order = np.random.default_rng(1).permutation(n)
    chunks = [order[i:i + batch_size] for i in range(0, n - batch_size + 1, batch_size)]
    return [chunks[step % len(chunks)] for step in range(STEPS)]


def _torch_training(name, batch_size, x, y):
    """PyTorch's losses at every step and its final weights."""
    import torch

    twin = _twin()
    cls_name, options = OPTIMIZERS[name][1]
    t_opt = getattr(torch.optim, cls_name)(twin.parameters(), **options)
    t_loss_fn = torch.nn.CrossEntropyLoss()
    t_losses = []
    for index in _batches(len(x), batch_size):
        t_opt.zero_grad()
        t_loss = t_loss_fn(twin(torch.from_numpy(x[index])), torch.from_numpy(y[index]))
        t_loss.backward()
        t_opt.step()
        t_losses.append(t_loss.item())
    state = {k: v.detach().numpy().copy() for k, v in twin.state_dict().items()}
    return {"losses": np.array(t_losses), **state}


@pytest.mark.parametrize("batch_size", [None, 128], ids=["full-batch", "minibatch-128"])
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_mlp_on_digits_matches_pytorch_at_every_step(digits, name, batch_size, oracle):
    x, y = digits
    model = _model(oracle)
    opt = OPTIMIZERS[name][0](model.parameters())
    loss_fn = nn.CrossEntropyLoss()

    losses = []
    for index in _batches(len(x), batch_size):
        opt.zero_grad()
        loss = loss_fn(model(dh.tensor(x[index])), dh.tensor(y[index]))
        loss.backward()
        opt.step()
        losses.append(loss.item())

    case = f"train/{name}/{batch_size}"
    theirs = functools.cache(lambda: _torch_training(name, batch_size, x, y))
    t_losses = oracle(f"{case}/losses", lambda: theirs()["losses"])
    np.testing.assert_allclose(losses, t_losses, rtol=RTOL, atol=0)
    assert losses[-1] < 0.8 * losses[0], "the network should be learning"
    for key, value in model.state_dict().items():
        t_value = oracle(f"{case}/{key}", lambda key=key: theirs()[key])
        np.testing.assert_allclose(value.numpy(), t_value, rtol=RTOL, atol=1e-12, err_msg=key)


def _torch_gradients(x, y):
    """PyTorch's loss and the gradient of every parameter, on 200 digits."""
    import torch

    twin = _twin(seed=3)
    t_loss = torch.nn.CrossEntropyLoss()(twin(torch.from_numpy(x[:200])), torch.from_numpy(y[:200]))
    t_loss.backward()
    return {"loss": t_loss.item(), **{n: p.grad.numpy().copy() for n, p in twin.named_parameters()}}


def test_gradients_of_every_layer_match_pytorch(digits, oracle):
    x, y = digits
    model = _model(oracle, seed=3)
    loss = nn.CrossEntropyLoss()(model(dh.tensor(x[:200])), dh.tensor(y[:200]))
    loss.backward()
    theirs = functools.cache(lambda: _torch_gradients(x, y))
    assert loss.item() == pytest.approx(float(oracle("gradients/loss", lambda: theirs()["loss"])), rel=1e-13)
    for name, p in model.named_parameters():
        t_grad = oracle(f"gradients/{name}", lambda name=name: theirs()[name])
        np.testing.assert_allclose(p.grad.numpy(), t_grad, rtol=1e-10, atol=1e-15, err_msg=name)


def _torch_names():
    twin = _twin()
    return {
        "state_dict": list(twin.state_dict()),
        "parameters": [[n, list(p.shape)] for n, p in twin.named_parameters()],
    }


def test_state_dict_keys_and_order_equal_pytorchs(oracle):
    model = _model(oracle)
    theirs = oracle("names", _torch_names)
    assert list(model.state_dict()) == theirs["state_dict"]
    assert [[n, list(p.shape)] for n, p in model.named_parameters()] == theirs["parameters"]


def test_float32_defaults_agree_with_pytorch_to_float32_rounding(digits, oracle):
    x, y = digits
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    model.load_state_dict(_initial_state(oracle, seed=0, float64=False))
    assert all(p.dtype == np.float32 for p in model.parameters())
    xb = x[:64].astype(np.float32)
    out = model(dh.tensor(xb))
    assert out.dtype == np.float32

    def torch_out():
        import torch

        return _twin(0, float64=False)(torch.from_numpy(xb)).detach().numpy()

    t_out = oracle("float32/out", torch_out)
    assert t_out.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), t_out, rtol=1e-5, atol=1e-6)
