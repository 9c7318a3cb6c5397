"""The training step's fast paths compute what the plain formulas compute.

A Linear layer's weight gradient arrives laid out like the weight (so the
optimizer reads it in order), parameters are updated in their own buffers,
and a step's numbers match PyTorch's (recorded in
tests/oracle/data/test_training_step.npz by the ``oracle`` fixture; live under
``pytest -m oracle``).
"""

from __future__ import annotations

import functools

import numpy as np

import downhill as dh
from downhill import nn


def _mlp(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((16, 12)).astype(np.float32)
    y = rng.integers(0, 5, size=16)
    nn.manual_seed(seed)  # the same weights in every run, so the recorded run starts from them
    model = nn.Sequential(nn.Linear(12, 8), nn.ReLU(), nn.Linear(8, 5))
    return model, x, y


def test_linear_weight_gradient_is_laid_out_like_the_weight():
    model, x, y = _mlp()
    loss = nn.CrossEntropyLoss()(model(dh.tensor(x)), dh.tensor(y))
    loss.backward()
    for layer in (model[0], model[2]):
        grad = layer.weight.grad.data
        assert grad.shape == layer.weight.shape and grad.flags.c_contiguous
    # The same numbers as the plain product x.T @ g, written out in NumPy.
    h = np.maximum(x @ model[0].weight.data.T + model[0].bias.data, 0)
    z = h @ model[2].weight.data.T + model[2].bias.data
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(16), y] -= 1
    np.testing.assert_allclose(model[2].weight.grad.data, (h.T @ (p / 16)).T, rtol=1e-5, atol=1e-7)


def torch_sgd_run(initial, x, y, steps):
    """PyTorch's parameters after ``steps`` SGD steps from the same weights and batch."""
    import torch  # only in the live oracle run and the recorder

    tmodel = torch.nn.Sequential(torch.nn.Linear(12, 8), torch.nn.ReLU(), torch.nn.Linear(8, 5))
    with torch.no_grad():
        for value, theirs in zip(initial, tmodel.parameters()):
            theirs.copy_(torch.from_numpy(value))
    topt = torch.optim.SGD(tmodel.parameters(), lr=0.1, momentum=0.9)
    for _ in range(steps):
        topt.zero_grad()
        torch.nn.CrossEntropyLoss()(tmodel(torch.from_numpy(x)), torch.from_numpy(y)).backward()
        topt.step()
    return [p.detach().numpy().copy() for p in tmodel.parameters()]


def test_sgd_updates_each_parameter_in_its_own_buffer_and_matches_torch(oracle):
    model, x, y = _mlp(1)
    initial = [p.data.copy() for p in model.parameters()]
    buffers = [p.data for p in model.parameters()]
    opt = dh.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for _ in range(5):
        opt.zero_grad()
        nn.CrossEntropyLoss()(model(dh.tensor(x)), dh.tensor(y)).backward()
        opt.step()
    assert all(p.data is b for p, b in zip(model.parameters(), buffers))
    scratch = [opt._scratch[id(p)] for p in model.parameters()]
    opt.zero_grad()
    nn.CrossEntropyLoss()(model(dh.tensor(x)), dh.tensor(y)).backward()
    opt.step()
    assert [opt._scratch[id(p)] for p in model.parameters()] == scratch  # kept, not remade
    run = functools.cache(lambda: torch_sgd_run(initial, x, y, steps=6))
    for i, ours in enumerate(model.parameters()):
        theirs = oracle(f"sgd_6_steps/{i}", lambda i=i: run()[i])
        assert theirs.dtype == ours.data.dtype == np.float32 and theirs.shape == ours.shape
        np.testing.assert_allclose(ours.data, theirs, rtol=1e-5, atol=1e-6)
