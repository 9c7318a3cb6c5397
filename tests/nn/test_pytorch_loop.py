"""The training loop a PyTorch user writes, run unchanged but for the imports.

``LOOP`` is PyTorch code, line for line: data to tensors, a DataLoader, a
device chosen the usual way, a model, CrossEntropyLoss, SGD with momentum,
gradient clipping, ``.item()``, ``argmax(dim=1)``, ``.float().mean()`` and
``max(dim=1)``. It runs once under ``import torch`` and once under
``import downhill as torch``; downhill's run trains, and when both start from
the same weights (``start_from``, the one line the test supplies) every loss
agrees with PyTorch's. PyTorch's run (its initial weights, its losses, logits,
accuracy and argmax) comes from the ``oracle`` fixture: recorded in
tests/oracle/data/test_pytorch_loop.npz, or run live under ``pytest -m oracle``.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

import downhill as dh

TORCH_IMPORTS = """
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
"""

DOWNHILL_IMPORTS = """
import downhill as torch
from downhill import nn
from downhill.data import DataLoader, TensorDataset
"""

LOOP = """
torch.manual_seed(0)
X = torch.tensor(features, dtype=torch.float32)
y = torch.tensor(labels).long()
loader = DataLoader(TensorDataset(X, y), batch_size=32, shuffle=False)
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
model = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 2)).to(device)
start_from(model)
loss_fn = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
losses = []
for epoch in range(EPOCHS):
    model.train()
    for xb, yb in loader:
        xb, yb = xb.to(device), yb.to(device)
        optimizer.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        optimizer.step()
        losses.append(loss.item())
model.eval()
with torch.no_grad():
    logits = model(X.to(device))
    accuracy = (logits.argmax(dim=1) == y).float().mean().item()
    values, indices = logits.max(dim=1)
    print(f"final loss {losses[-1]:.4f}, accuracy {accuracy:.3f}, logits {tuple(logits.size())}")
"""


def _data():
    X, y = dh.datasets.moons(256, noise=0.1, seed=0)
    return np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.int64)


def _run(imports, start_from, epochs):
    features, labels = _data()
    namespace = {"features": features, "labels": labels, "start_from": start_from, "EPOCHS": epochs}
    exec(compile(imports + LOOP, "<the PyTorch user's loop>", "exec"), namespace)
    return namespace


def test_the_pytorch_loop_trains_in_downhill(capsys):
    run = _run(DOWNHILL_IMPORTS, lambda model: None, epochs=30)
    losses = run["losses"]
    assert len(losses) == 30 * 8
    assert np.mean(losses[-8:]) < 0.25 * np.mean(losses[:8])
    assert run["accuracy"] > 0.95
    assert run["values"].shape == (256,) and run["indices"].dtype == np.int64
    assert np.array_equal(run["indices"].data, run["logits"].data.argmax(axis=1))
    assert "accuracy" in capsys.readouterr().out


WEIGHT_NAMES = ("0.weight", "0.bias", "2.weight", "2.bias")


@functools.cache
def torch_twin():
    """PyTorch's own initial weights (seed 1) and the loop run in PyTorch from them."""
    import torch  # only in the live oracle run and the recorder

    torch.manual_seed(1)
    twin = torch.nn.Sequential(torch.nn.Linear(2, 32), torch.nn.ReLU(), torch.nn.Linear(32, 2))
    weights = {k: v.detach().numpy().copy() for k, v in twin.state_dict().items()}
    run = _run(TORCH_IMPORTS, lambda model: model.load_state_dict(
        {k: torch.from_numpy(v.copy()) for k, v in weights.items()}), epochs=5)
    answer = {f"weights/{k}": v for k, v in weights.items()}
    answer.update(losses=np.array(run["losses"]), logits=run["logits"].numpy(), accuracy=run["accuracy"],
                  indices=run["indices"].numpy())
    return answer


def test_the_pytorch_loop_matches_pytorch_from_the_same_weights(oracle):
    def theirs(key):
        return oracle(key, lambda: torch_twin()[key])

    weights = {k: theirs(f"weights/{k}") for k in WEIGHT_NAMES}
    assert all(v.dtype == np.float32 for v in weights.values())
    ours = _run(DOWNHILL_IMPORTS, lambda model: model.load_state_dict(weights), epochs=5)
    losses, logits = theirs("losses"), theirs("logits")
    assert losses.shape == (5 * 8,) and logits.shape == (256, 2) and logits.dtype == np.float32
    # float32 throughout: rounding differs in the last bits, step by step.
    np.testing.assert_allclose(ours["losses"], losses, rtol=2e-5)
    np.testing.assert_allclose(ours["logits"].data, logits, rtol=1e-4, atol=1e-5)
    assert ours["accuracy"] == pytest.approx(float(theirs("accuracy")))
    np.testing.assert_array_equal(ours["indices"].data, theirs("indices"))
