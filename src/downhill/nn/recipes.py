"""Ready-made lessons with small networks: train a classifier, watch the chain.

:func:`train_classifier` is what ``downhill train DATASET`` runs;
:func:`chain_snapshots` is what the playground's chain panel shows: a small
network training, with its weights and their gradients at chosen steps, the
decision boundary, and one sample's backward pass link by link, so that the
product of local derivatives (the chain rule) can be read off.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..errors import InputError, UnknownNameError
from .. import datasets as _datasets
from ..autodiff import Tensor, no_grad
from ..data import DataLoader, TensorDataset
from ..optim import Adam, SGD
from ..results import Result, jsonable
from ._rng import manual_seed
from .activation import ReLU, Tanh
from .container import Sequential
from .linear import Linear
from .loss import BCEWithLogitsLoss, CrossEntropyLoss
from .training import fit

# name -> how to make (X, y): two-dimensional toys and the 8x8 digits.
DATASETS = {
    "moons": lambda seed: _datasets.moons(400, noise=0.1, seed=seed),
    "circles": lambda seed: _datasets.circles(400, noise=0.05, seed=seed),
    "spirals": lambda seed: _datasets.spirals(400, noise=0.05, seed=seed),
    "xor": lambda seed: _datasets.xor(400, seed=seed),
    "blobs": lambda seed: _datasets.blobs(400, seed=seed),
    "digits": lambda seed: _datasets.digits(),
}
ACTIVATIONS = {"tanh": Tanh, "relu": ReLU}


def _mlp(sizes, activation):
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(Linear(a, b, dtype=np.float64))
        if i < len(sizes) - 2:
            layers.append(ACTIVATIONS[activation]())
    return Sequential(*layers)


def _check(dataset, hidden, activation):
    if dataset not in DATASETS:
        raise UnknownNameError(f"unknown dataset {dataset!r}; accepted: {', '.join(DATASETS)}")
    if activation not in ACTIVATIONS:
        raise UnknownNameError(f"unknown activation {activation!r}; accepted: {', '.join(ACTIVATIONS)}")
    hidden = [int(h) for h in hidden]
    if not hidden or any(h <= 0 for h in hidden):
        raise InputError(f"hidden sizes must be positive whole numbers, got {hidden}")
    return hidden


@dataclass
class TrainResult(Result):
    """A trained classifier with its history and held-out accuracy."""

    dataset: str
    model: Sequential
    history: object
    train_accuracy: float
    test_accuracy: float
    seconds: float
    sizes: list

    def summary(self) -> str:
        """A few plain lines about the run."""
        last = self.history.train_loss[-1]
        return (f"{self.dataset}: network {'-'.join(map(str, self.sizes))}, "
                f"{len(self.history.train_loss)} epochs in {self.seconds:.1f} s\n"
                f"final training loss {last:.4g}\n"
                f"accuracy: {self.train_accuracy:.1%} on training data, "
                f"{self.test_accuracy:.1%} on held-out data")

    def to_dict(self) -> dict:
        """Strict JSON figures (the model's weights are left out)."""
        return jsonable({"dataset": self.dataset, "sizes": self.sizes, "train_accuracy": self.train_accuracy,
                         "test_accuracy": self.test_accuracy, "seconds": self.seconds,
                         "history": self.history.to_dict()})

    def __str__(self) -> str:
        return self.summary()


def _accuracy(model, X, y):
    with no_grad():
        scores = model(Tensor(X)).data
    return float(np.mean(scores.argmax(axis=1) == y))


def train_classifier(dataset="moons", hidden=(32, 32), epochs=100, lr=0.05, seed=0, activation="tanh",
                     batch_size=64, progress=True) -> TrainResult:
    """Train a small MLP classifier with Adam on one of :data:`DATASETS`.

    A fifth of the data is held out (stratified) to measure accuracy.

    >>> from downhill.nn.recipes import train_classifier
    >>> result = train_classifier("moons", hidden=[16], epochs=30, progress=False)
    >>> result.test_accuracy > 0.9
    True
    """
    hidden = _check(dataset, hidden, activation)
    if epochs <= 0:
        raise InputError(f"epochs must be 1 or more, got {epochs}")
    X, y = DATASETS[dataset](seed)
    X_train, X_test, y_train, y_test = _datasets.train_test_split(X, y, test_fraction=0.2, seed=seed, stratify=y)
    classes = int(y.max()) + 1
    manual_seed(seed)
    sizes = [X.shape[1], *hidden, classes]
    model = _mlp(sizes, activation)
    optimizer = Adam(model.parameters(), lr=lr)
    loader = DataLoader(TensorDataset(Tensor(X_train), Tensor(y_train)), batch_size=batch_size, shuffle=True,
                        seed=seed)
    test_loader = DataLoader(TensorDataset(Tensor(X_test), Tensor(y_test)), batch_size=512)
    start = time.perf_counter()
    history = fit(model, CrossEntropyLoss(), optimizer, loader, epochs, val_loader=test_loader,
                  progress=progress)
    seconds = time.perf_counter() - start
    return TrainResult(dataset, model, history, _accuracy(model, X_train, y_train),
                       _accuracy(model, X_test, y_test), seconds, sizes)


def _rows(array):
    return np.asarray(array, dtype=np.float64).round(6).tolist()


def chain_snapshots(dataset="moons", hidden=(4, 4), steps=200, lr=0.5, seed=0, snapshot_every=10,
                    n_samples=200, grid=40, activation="tanh", sample=0) -> dict:
    """Train a tiny network (2-...-1) and record what the chain panel shows.

    Full-batch SGD on a two-class toy with a sigmoid output (BCE with logits).
    Returns a JSON-ready dict:

    * ``sizes``, ``activation``, ``data`` (``X``, ``y``);
    * ``snapshots``: at step 0, every ``snapshot_every`` steps and the last,
      ``step``, ``loss``, and per layer ``weights`` (out x in), ``biases``,
      ``weight_grads``, ``bias_grads`` (the gradients of that step's backward
      pass, before the update);
    * ``loss_curve``: the loss at every step;
    * ``boundary``: the final predicted probability on a ``grid`` x ``grid``
      mesh (``x``, ``y``, ``p`` with rows along y);
    * ``backprop``: one sample's backward pass through the final network, one
      entry per layer from the output back: the pre-activation ``z``, the
      activation's local derivative ``local`` = f'(z), the gradient arriving
      from above ``upstream`` (d loss / d activation), their product
      ``delta`` = upstream * local (d loss / d z, checked against the engine's
      own gradient), and ``weight_grad`` = delta x input.

    >>> from downhill.nn.recipes import chain_snapshots
    >>> run = chain_snapshots("xor", hidden=[4], steps=20, snapshot_every=10, grid=5)
    >>> [s["step"] for s in run["snapshots"]], len(run["loss_curve"]), run["sizes"]
    ([0, 10, 20], 21, [2, 4, 1])
    """
    hidden = _check(dataset, hidden, activation)
    if dataset in ("digits", "blobs"):
        raise InputError("the chain panel trains two-class toys: moons, circles, spirals or xor")
    if steps < 0 or snapshot_every <= 0:
        raise InputError("steps must be >= 0 and snapshot_every >= 1")
    if grid < 2:
        raise InputError(f"grid must be 2 or more points per side, got {grid}")
    maker = {"moons": _datasets.moons, "circles": _datasets.circles, "spirals": _datasets.spirals,
             "xor": _datasets.xor}[dataset]
    X, y = maker(n_samples, seed=seed)
    if not 0 <= sample < len(X):
        raise InputError(f"sample must be the index of one of the {len(X)} points (0 to {len(X) - 1}), "
                         f"got {sample}")
    manual_seed(seed)
    sizes = [2, *hidden, 1]
    model = _mlp(sizes, activation)
    linears = [m for m in model if isinstance(m, Linear)]
    optimizer = SGD(model.parameters(), lr=lr)
    loss_fn = BCEWithLogitsLoss()
    inputs, targets = Tensor(X), Tensor(y.astype(np.float64).reshape(-1, 1))
    snapshots, curve = [], []
    for step in range(steps + 1):
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        curve.append(float(loss.item()))
        if step % snapshot_every == 0 or step == steps:
            snapshots.append({
                "step": step, "loss": float(loss.item()),
                "weights": [_rows(l.weight.data) for l in linears],
                "biases": [_rows(l.bias.data) for l in linears],
                "weight_grads": [_rows(l.weight.grad.data) for l in linears],
                "bias_grads": [_rows(l.bias.grad.data) for l in linears],
            })
        if step < steps:
            optimizer.step()
    return {
        "dataset": dataset, "sizes": sizes, "activation": activation, "lr": lr, "seed": seed,
        "data": {"X": _rows(X), "y": y.astype(int).tolist()},
        "snapshots": snapshots, "loss_curve": curve,
        "boundary": _boundary(model, X, grid),
        "backprop": _backprop(model, linears, X[sample], float(y[sample]), activation),
    }


def chain_loss_landscape(run: dict, resolution: int = 25):
    """The error mountain of a :func:`chain_snapshots` run, with its training path on it.

    The network is rebuilt at its last snapshot (the trained weights, as the
    run reports them: to 6 decimals); the snapshots are the path. The slice runs along the path's two principal
    directions (see :func:`downhill.nn.loss_landscape`), or along random
    filter-normalised ones when the path is too short to span a plane.

    >>> from downhill.nn.recipes import chain_snapshots, chain_loss_landscape
    >>> run = chain_snapshots("moons", hidden=[4], steps=60, snapshot_every=10, grid=5)
    >>> slice_ = chain_loss_landscape(run, resolution=9)
    >>> slice_.directions, abs(slice_.center_loss - run["loss_curve"][-1]) < 1e-5
    ('principal', True)
    """
    from ..errors import InputError
    from .loss_landscape import loss_landscape

    model = _mlp(run["sizes"], run["activation"])
    linears = [m for m in model if isinstance(m, Linear)]
    path = [[np.asarray(a, dtype=np.float64) for pair in zip(s["weights"], s["biases"]) for a in pair]
            for s in run["snapshots"]]
    for layer, weights, biases in zip(linears, run["snapshots"][-1]["weights"], run["snapshots"][-1]["biases"]):
        layer.weight.data[...] = np.asarray(weights, dtype=np.float64)
        layer.bias.data[...] = np.asarray(biases, dtype=np.float64)
    X = np.asarray(run["data"]["X"], dtype=np.float64)
    targets = Tensor(np.asarray(run["data"]["y"], dtype=np.float64).reshape(-1, 1))
    try:
        return loss_landscape(model, X, targets, loss_fn=BCEWithLogitsLoss(), path=path if len(path) >= 3 else None,
                              resolution=resolution)
    except InputError:  # a path along one line spans no plane: random directions instead
        return loss_landscape(model, X, targets, loss_fn=BCEWithLogitsLoss(), resolution=resolution)


def _boundary(model, X, grid):
    low, high = X.min(axis=0) - 0.5, X.max(axis=0) + 0.5
    xs, ys = np.linspace(low[0], high[0], grid), np.linspace(low[1], high[1], grid)
    mesh = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
    with no_grad():
        logits = model(Tensor(mesh)).data.reshape(grid, grid)
    p = 1 / (1 + np.exp(-np.clip(logits, -500, 500)))
    return {"x": _rows(xs), "y": _rows(ys), "p": _rows(p)}


def _backprop(model, linears, x, target, activation):
    """One sample's backward pass, link by link, read from the engine's own gradients."""
    pre = []  # the z of each layer, kept in the graph so their gradients are recorded
    h = Tensor(x.reshape(1, -1))
    activations = [h]
    for k, layer in enumerate(linears):
        z = layer(h)
        z.retain_grad()
        pre.append(z)
        if k < len(linears) - 1:
            h = model[2 * k + 1](z)
            h.retain_grad()
            activations.append(h)
    loss = BCEWithLogitsLoss()(pre[-1], Tensor(np.array([[target]])))
    for layer in linears:
        layer.weight.grad = None
        layer.bias.grad = None
    loss.backward()
    links = []
    for k in range(len(linears) - 1, -1, -1):
        z = pre[k].data[0]
        if k == len(linears) - 1:
            local = np.ones_like(z)  # the output layer has no activation; the loss reads z
            upstream = pre[k].grad.data[0]
        else:
            local = 1 - np.tanh(z) ** 2 if activation == "tanh" else (z > 0).astype(np.float64)
            upstream = activations[k + 1].grad.data[0]
        delta = upstream * local
        links.append({
            "layer": k + 1, "z": _rows(z), "local": _rows(local), "upstream": _rows(upstream),
            "delta": _rows(delta), "delta_engine": _rows(pre[k].grad.data[0]),
            "input": _rows(activations[k].data[0]),
            "weight_grad": _rows(np.outer(delta, activations[k].data[0])),
        })
    for layer in linears:
        layer.weight.grad = None
        layer.bias.grad = None
    return {"x": _rows(x), "target": target, "loss": float(loss.item()), "links": links}


__all__ = ["DATASETS", "TrainResult", "train_classifier", "chain_snapshots", "chain_loss_landscape"]
