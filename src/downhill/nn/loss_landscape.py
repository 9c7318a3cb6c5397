"""The network's own error mountain: the loss on a 2-D slice through its weights.

A network with a thousand weights stands on a mountain of a thousand
dimensions. To see it, cut a plane through the trained weights and draw the
loss on that plane, as Li et al. do ("Visualizing the Loss Landscape of
Neural Nets", NeurIPS 2018):

- **random directions**, each rescaled filter by filter (a row of a weight
  matrix is one neuron's filter) to the size of that filter in the trained
  weights, so that the picture does not depend on how each layer happens to
  be scaled; biases stay put (their direction is zero), as in the paper's plots;
- or, given the **training path** (snapshots of the weights), its two
  principal directions: random directions are almost at right angles to any
  path in many dimensions, so a path is drawn on the plane it moved in most.

The centre of the slice is the trained weights themselves; the path's last
snapshot (the trained weights) sits there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..notebook import shows_in_notebook
from ..autodiff import Tensor, no_grad
from ..errors import InputError, LimitError
from ..results import Result, jsonable

__all__ = ["loss_landscape", "LossLandscape", "PathRecorder", "MAX_RESOLUTION"]

MAX_RESOLUTION = 101  # grid points per side: 10,201 forward passes at most


@shows_in_notebook
@dataclass
class LossLandscape(Result):
    """A slice of a network's loss: the result of :func:`loss_landscape`.

    ``alphas``, ``betas``: the grid's coordinates along the two directions;
    ``losses`` ``(len(betas), len(alphas))``: row ``i`` is ``beta = betas[i]``;
    ``center_loss``: the loss at the trained weights (the point (0, 0));
    ``directions``: ``"random (filter-normalised)"`` or ``"principal"``;
    ``path``: the training path's coordinates on the plane ``(k, 2)`` (or
    None), ``path_losses`` its true losses; ``explained``: the share of the
    path's movement that the plane holds (principal directions only).
    """

    alphas: np.ndarray
    betas: np.ndarray
    losses: np.ndarray
    center_loss: float
    directions: str
    path: np.ndarray | None = None
    path_losses: np.ndarray | None = None
    explained: float | None = None
    parameters: int = 0
    options: dict = field(default_factory=dict)
    direction_vectors: tuple = field(default=(), repr=False)

    def __str__(self) -> str:
        finite = self.losses[np.isfinite(self.losses)]
        lines = [f"A {len(self.alphas)} x {len(self.betas)} slice through {self.parameters} weights "
                 f"along {self.directions} directions.",
                 f"Loss at the trained weights (the centre): {self.center_loss:.6g}; "
                 f"on the slice from {finite.min():.6g} to {finite.max():.6g}."]
        if self.path is not None:
            lines.append(f"The training path ({len(self.path)} snapshots) goes from loss "
                         f"{self.path_losses[0]:.6g} to {self.path_losses[-1]:.6g}"
                         + (f"; the plane holds {100 * self.explained:.0f}% of its movement."
                            if self.explained is not None else "."))
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """Strict JSON lists (a non-finite loss becomes None, noted in ``non_finite``)."""
        return jsonable({
            "alphas": self.alphas, "betas": self.betas, "losses": np.asarray(self.losses, dtype=float),
            "center_loss": self.center_loss, "directions": self.directions, "path": self.path,
            "path_losses": None if self.path_losses is None else np.asarray(self.path_losses, dtype=float),
            "explained": self.explained, "parameters": self.parameters, "options": dict(self.options),
        })


class PathRecorder:
    """A callback for :func:`downhill.nn.fit` that keeps a copy of the weights at the start and after each epoch.

    >>> import downhill as dh
    >>> from downhill import nn
    >>> model = nn.Linear(2, 1)
    >>> recorder = PathRecorder()
    >>> recorder.on_train_begin(model, None); recorder.on_epoch_end(0, {})
    >>> len(recorder.path), [a.shape for a in recorder.path[0]]
    (2, [(1, 2), (1,)])
    """

    def __init__(self) -> None:
        self.path: list[list[np.ndarray]] = []
        self._model = None

    def on_train_begin(self, model, optimizer) -> None:
        self._model = model
        self.path = [_snapshot(model)]

    def on_epoch_end(self, epoch, logs):
        self.path.append(_snapshot(self._model))
        return None

    def on_train_end(self, history) -> None:
        pass


def _snapshot(model) -> list[np.ndarray]:
    return [np.array(p.data, copy=True) for p in model.parameters()]


def _default_loss(model, inputs, targets):
    from .loss import BCEWithLogitsLoss, CrossEntropyLoss

    with no_grad():
        width = np.shape(model(inputs[:1]).data)[-1]
    if width == 1:
        return BCEWithLogitsLoss(), Tensor(np.asarray(targets.data, dtype=np.float64).reshape(-1, 1))
    return CrossEntropyLoss(), targets


def _flat(snapshot, shapes, names) -> np.ndarray:
    """One snapshot (a list of arrays, a state_dict, or a flat vector) as one flat vector."""
    if isinstance(snapshot, dict):
        missing = [n for n in names if n not in snapshot]
        if missing:
            raise InputError(f"loss_landscape: a path snapshot has no entry for {missing[:3]}")
        snapshot = [snapshot[n] for n in names]
    if isinstance(snapshot, (list, tuple)):
        arrays = [np.asarray(getattr(a, "data", a), dtype=np.float64) for a in snapshot]
        if [a.shape for a in arrays] != shapes:
            raise InputError(f"loss_landscape: a path snapshot has shapes {[a.shape for a in arrays]}, "
                             f"the model's parameters have {shapes}")
        return np.concatenate([a.ravel() for a in arrays])
    vector = np.asarray(snapshot, dtype=np.float64).ravel()
    if vector.size != sum(int(np.prod(s)) for s in shapes):
        raise InputError(f"loss_landscape: a flat path snapshot has {vector.size} numbers, the model "
                         f"has {sum(int(np.prod(s)) for s in shapes)} weights")
    return vector


def _filter_normalised(rng, weights: list[np.ndarray]) -> list[np.ndarray]:
    directions = []
    for w in weights:
        if w.ndim <= 1:
            directions.append(np.zeros_like(w))  # biases stay put (Li et al.)
            continue
        d = rng.standard_normal(w.shape)
        # One filter = one output unit: a row of (out, in); its direction gets the filter's own size.
        rows_w = w.reshape(w.shape[0], -1)
        rows_d = d.reshape(w.shape[0], -1)
        scale = np.linalg.norm(rows_w, axis=1) / np.maximum(np.linalg.norm(rows_d, axis=1), 1e-300)
        directions.append((rows_d * scale[:, None]).reshape(w.shape))
    return directions


def loss_landscape(model, X, y, loss_fn=None, path=None, resolution=25, span=1.0, seed=0) -> LossLandscape:
    """The loss of ``model`` on ``(X, y)`` over a plane through its current (trained) weights.

    Without ``path``: two random directions, filter-normalised as Li et al.
    (2018) do: each filter of a weight matrix (a row of ``(out, in)``, one
    output unit's incoming weights; for a higher-rank weight, everything
    behind its first axis) is rescaled to the norm of the same filter in the
    trained weights. Biases (and any other 1-D parameter) get a zero direction:
    they stay at their trained values across the slice, as in the paper's
    published plots (its code's ``--xignore biasbn``; without that option it
    would move each bias along itself). The grid covers ``[-span, span]`` of
    each direction (1 = one filter's own size). With
    ``path`` (snapshots of the weights during training, oldest first, the last
    being the current weights: lists of arrays in ``model.parameters()``
    order, ``state_dict`` copies, or flat vectors; :class:`PathRecorder`
    collects them): the path's two principal directions, and a grid that
    covers the path with a margin. ``loss_fn(output, target)`` defaults to
    cross-entropy for several outputs and BCE-with-logits for one.
    The model's weights are restored afterwards, whatever happens.

    >>> import downhill as dh
    >>> from downhill import nn
    >>> _ = nn.manual_seed(0)
    >>> model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 2))
    >>> X, y = dh.datasets.moons(100, noise=0.1, seed=0)
    >>> slice_ = loss_landscape(model, X, y, resolution=5)
    >>> slice_.losses.shape, bool(slice_.losses[2, 2] == slice_.center_loss)
    ((5, 5), True)
    """
    if not isinstance(resolution, (int, np.integer)) or isinstance(resolution, bool) or not (
            3 <= resolution <= MAX_RESOLUTION):
        raise LimitError(f"loss_landscape: resolution must be a whole number from 3 to {MAX_RESOLUTION}, "
                         f"got {resolution!r}")
    if not (isinstance(span, (int, float)) and math.isfinite(span) and span > 0):
        raise InputError(f"loss_landscape: span must be a number > 0, got {span!r}")
    named = list(model.named_parameters())
    if not named:
        raise InputError("loss_landscape: the model has no parameters")
    names = [n for n, _ in named]
    params = [p for _, p in named]
    weights = [np.array(p.data, dtype=np.float64) for p in params]
    shapes = [w.shape for w in weights]
    center = np.concatenate([w.ravel() for w in weights])
    inputs = X if isinstance(X, Tensor) else Tensor(np.asarray(X))
    targets = y if isinstance(y, Tensor) else Tensor(np.asarray(y))
    if loss_fn is None:
        loss_fn, targets = _default_loss(model, inputs, targets)

    explained = coords = None
    if path is not None:
        vectors = np.stack([_flat(s, shapes, names) for s in path])
        if len(vectors) < 2:
            raise InputError("loss_landscape: a path needs at least two snapshots")
        moves = vectors - center
        _, singular, components = np.linalg.svd(moves, full_matrices=False)
        if len(singular) < 2 or singular[1] <= 1e-12 * max(singular[0], 1e-300):
            raise InputError("loss_landscape: the path moves along one line only; give more snapshots "
                             "or leave path out for random directions")
        d1, d2 = components[0], components[1]
        coords = moves @ np.stack([d1, d2], axis=1)
        explained = float((singular[:2] ** 2).sum() / (singular ** 2).sum())
        directions = "principal"
        low, high = coords.min(axis=0), coords.max(axis=0)
        margin = 0.25 * np.maximum(high - low, 1e-12)
        low, high = np.minimum(low - margin, 0), np.maximum(high + margin, 0)
        alphas = np.linspace(low[0], high[0], resolution)
        betas = np.linspace(low[1], high[1], resolution)
    else:
        rng = np.random.default_rng(seed)
        d1 = np.concatenate([d.ravel() for d in _filter_normalised(rng, weights)])
        d2 = np.concatenate([d.ravel() for d in _filter_normalised(rng, weights)])
        directions = "random (filter-normalised)"
        alphas = betas = np.linspace(-span, span, resolution)
    # An odd grid has (0, 0) on it exactly; an even one gets it added.
    alphas, betas = _with_zero(alphas), _with_zero(betas)

    def loss_at(vector):
        start = 0
        for p, shape in zip(params, shapes):
            size = int(np.prod(shape))
            p.data[...] = vector[start:start + size].reshape(shape)
            start += size
        value = float(loss_fn(model(inputs), targets).item())
        return value

    losses = np.empty((len(betas), len(alphas)))
    try:
        with no_grad(), np.errstate(all="ignore"):
            for i, b in enumerate(betas):
                for j, a in enumerate(alphas):
                    losses[i, j] = loss_at(center + a * d1 + b * d2)
            center_loss = loss_at(center)
            path_losses = None if path is None else np.array([loss_at(v) for v in vectors])
    finally:
        for p, w in zip(params, weights):
            p.data[...] = w
    options = {"resolution": resolution, "span": span, "seed": seed}
    return LossLandscape(alphas, betas, losses, center_loss, directions, coords, path_losses, explained,
                         int(center.size), options, (d1, d2))


def _with_zero(values: np.ndarray) -> np.ndarray:
    if np.any(values == 0):
        return values
    return np.sort(np.append(values, 0.0))
