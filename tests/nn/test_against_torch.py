"""The bar: the same network, trained the same way, in downhill and PyTorch, loss for loss.

A 64-48-32-10 multilayer perceptron (Linear-Tanh-Linear-ReLU-Linear) on the
8x8 handwritten digits, both copies starting from the same weights (PyTorch's
own initialization, copied over through ``load_state_dict``), trained for 20
steps with CrossEntropyLoss in float64. Every step's loss, and the final
weights, agree to rtol 1e-9.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

import downhill as dh
from downhill import nn

STEPS = 20
RTOL = 1e-9


@pytest.fixture(scope="module")
def digits():
    x, y = load_digits(return_X_y=True)
    return x / 16.0, y.astype(np.int64)


def _models(seed=0):
    torch.manual_seed(seed)
    twin = torch.nn.Sequential(
        torch.nn.Linear(64, 48), torch.nn.Tanh(), torch.nn.Linear(48, 32), torch.nn.ReLU(),
        torch.nn.Linear(32, 10),
    ).double()
    model = nn.Sequential(nn.Linear(64, 48), nn.Tanh(), nn.Linear(48, 32), nn.ReLU(), nn.Linear(32, 10))
    model.double()
    model.load_state_dict({k: v.detach().numpy() for k, v in twin.state_dict().items()})
    return model, twin


OPTIMIZERS = {
    "sgd-momentum": (lambda ps: dh.optim.SGD(ps, lr=0.3, momentum=0.9),
                     lambda ps: torch.optim.SGD(ps, lr=0.3, momentum=0.9)),
    "adamw": (lambda ps: dh.optim.AdamW(ps, lr=1e-2), lambda ps: torch.optim.AdamW(ps, lr=1e-2)),
}


def _batches(n, batch_size):
    """Full batch (batch_size None) or fixed shuffled mini-batches, the same for both."""
    if batch_size is None:
        return [np.arange(n)] * STEPS
    order = np.random.default_rng(1).permutation(n)
    chunks = [order[i:i + batch_size] for i in range(0, n - batch_size + 1, batch_size)]
    return [chunks[step % len(chunks)] for step in range(STEPS)]


@pytest.mark.parametrize("batch_size", [None, 128], ids=["full-batch", "minibatch-128"])
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_mlp_on_digits_matches_pytorch_at_every_step(digits, name, batch_size):
    x, y = digits
    model, twin = _models()
    make_dh, make_torch = OPTIMIZERS[name]
    opt, t_opt = make_dh(model.parameters()), make_torch(twin.parameters())
    loss_fn, t_loss_fn = nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss()

    losses, t_losses = [], []
    for index in _batches(len(x), batch_size):
        opt.zero_grad()
        loss = loss_fn(model(dh.tensor(x[index])), dh.tensor(y[index]))
        loss.backward()
        opt.step()
        losses.append(loss.item())

        t_opt.zero_grad()
        t_loss = t_loss_fn(twin(torch.from_numpy(x[index])), torch.from_numpy(y[index]))
        t_loss.backward()
        t_opt.step()
        t_losses.append(t_loss.item())

    np.testing.assert_allclose(losses, t_losses, rtol=RTOL, atol=0)
    assert losses[-1] < 0.8 * losses[0], "the network should be learning"
    for (key, value), (t_key, t_value) in zip(model.state_dict().items(), twin.state_dict().items(),
                                              strict=True):
        assert key == t_key
        np.testing.assert_allclose(value.numpy(), t_value.numpy(), rtol=RTOL, atol=1e-12, err_msg=key)


def test_gradients_of_every_layer_match_pytorch(digits):
    x, y = digits
    model, twin = _models(seed=3)
    loss = nn.CrossEntropyLoss()(model(dh.tensor(x[:200])), dh.tensor(y[:200]))
    loss.backward()
    t_loss = torch.nn.CrossEntropyLoss()(twin(torch.from_numpy(x[:200])), torch.from_numpy(y[:200]))
    t_loss.backward()
    assert loss.item() == pytest.approx(t_loss.item(), rel=1e-13)
    t_params = dict(twin.named_parameters())
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), t_params[name].grad.numpy(), rtol=1e-10,
                                   atol=1e-15, err_msg=name)


def test_state_dict_keys_and_order_equal_pytorchs():
    model, twin = _models()
    assert list(model.state_dict()) == list(twin.state_dict())
    assert [n for n, _ in model.named_parameters()] == [n for n, _ in twin.named_parameters()]
    assert [(n, p.shape) for n, p in model.named_parameters()] == [
        (n, tuple(p.shape)) for n, p in twin.named_parameters()]


def test_float32_defaults_agree_with_pytorch_to_float32_rounding(digits):
    x, y = digits
    torch.manual_seed(0)
    twin = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    model.load_state_dict({k: v.numpy() for k, v in twin.state_dict().items()})
    assert all(p.dtype == np.float32 for p in model.parameters())
    xb = x[:64].astype(np.float32)
    out = model(dh.tensor(xb))
    assert out.dtype == np.float32
    t_out = twin(torch.from_numpy(xb))
    np.testing.assert_allclose(out.numpy(), t_out.detach().numpy(), rtol=1e-5, atol=1e-6)
