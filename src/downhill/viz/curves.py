"""Training, pictured: loss and metric curves per epoch, and a classifier's decision boundary."""

from __future__ import annotations

import math

import numpy as np
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.lines import Line2D

from ..errors import InputError, InputTypeError
from ..autodiff import Tensor, no_grad
from .style import COLORS, color, new_figure, picture

__all__ = ["training", "decision_boundary"]


def _series(history) -> dict:
    """name -> float array (None becomes NaN) from a History, an object with lists, or a dict."""
    if hasattr(history, "history") and isinstance(history.history, dict):
        raw = dict(history.history)
    elif isinstance(history, dict):
        raw = dict(history)
    else:
        raw = {}
        for name in ("train_loss", "val_loss", "lr"):
            value = getattr(history, name, None)
            if value is not None and len(value):
                raw[name] = value
        metrics = getattr(history, "metrics", None)
        if isinstance(metrics, dict):
            raw["metrics"] = metrics
    metrics = raw.pop("metrics", None)
    if isinstance(metrics, dict):
        raw.update(metrics)
    series = {}
    for name, values in raw.items():
        if isinstance(values, (list, tuple, np.ndarray)) and len(values):
            try:
                series[str(name)] = np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)
            except (TypeError, ValueError):
                continue
    if not series:
        raise InputError(
            "training: nothing to draw. Give the History from fit, an object with per-epoch lists "
            "(train_loss, val_loss, metrics), or a dict like {'train_loss': [...], 'val_loss': [...]}"
        )
    return series


def _metric_key(name: str) -> tuple[str, str]:
    for prefix in ("train_", "val_"):
        if name.startswith(prefix):
            return name[len(prefix):], prefix[:-1]
    return name, ""


@picture
def training(history, title=None):
    """Loss and metric curves, one point per epoch; the best validation epoch is marked.

    ``history`` is the History that ``fit`` returns, an object with per-epoch
    lists (``train_loss``, ``val_loss``, a ``metrics`` dict), or a dict of lists.
    Training curves are solid and blue, validation curves dashed and
    vermillion, in the loss panel and the metric panel alike (with several
    metrics in one panel, each metric keeps its own colour instead).
    Losses are drawn on a log scale when positive. A changing learning rate
    (key ``"lr"``) gets a panel of its own.

    >>> import downhill as dh
    >>> fig = dh.viz.training({"train_loss": [1.0, 0.5, 0.3], "val_loss": [1.1, 0.7, 0.6],
    ...                        "train_accuracy": [0.5, 0.8, 0.9], "val_accuracy": [0.5, 0.7, 0.8]})
    >>> [ax.get_title() for ax in fig.axes]
    ['loss (lower is better)', 'accuracy']
    """
    series = _series(history)
    length = max(len(v) for v in series.values())
    epochs = np.asarray(getattr(history, "epoch", None) or range(length), dtype=np.float64)[:length]
    losses = {k: v for k, v in series.items() if "loss" in k}
    lr = series.get("lr")
    metrics = {k: v for k, v in series.items() if "loss" not in k and k != "lr"}
    groups: dict[str, dict[str, np.ndarray]] = {}
    for name, values in metrics.items():
        base, split = _metric_key(name)
        groups.setdefault(base, {})[split or name] = values
    show_lr = lr is not None and np.nanmax(lr) > np.nanmin(lr)
    panels = (1 if losses else 0) + (1 if groups else 0) + (1 if show_lr else 0)
    fig = new_figure(6.2 * panels + 0.6, 5.2)
    axes = list(np.atleast_1d(fig.subplots(1, panels)))

    def x_for(values):
        return epochs[: len(values)] if len(epochs) >= len(values) else np.arange(len(values))

    if losses:
        ax = axes.pop(0)
        for k, (name, values) in enumerate(losses.items()):
            base, split = _metric_key(name)
            ax.plot(x_for(values), values, color=COLORS["blue"] if split != "val" else COLORS["vermillion"],
                    linestyle="--" if split == "val" else "-", linewidth=2.2, marker="o", markersize=3.5,
                    label=name.replace("_", " "))
        finite = np.concatenate([v[np.isfinite(v)] for v in losses.values()])
        if finite.size and finite.min() > 0:
            ax.set_yscale("log")
        val = losses.get("val_loss")
        if val is not None and np.isfinite(val).any():
            best = int(np.nanargmin(val))
            ax.scatter([x_for(val)[best]], [val[best]], marker="*", s=220, color=COLORS["yellow"],
                       edgecolor="black", zorder=5, label=f"best val loss {val[best]:.3g} (epoch {x_for(val)[best]:g})")
        ax.set_title("loss (lower is better)")
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss" + (" (log scale)" if ax.get_yscale() == "log" else ""))
        ax.grid(True, which="major")
        ax.legend(loc="best")
    if groups:
        ax = axes.pop(0)
        for k, (base, splits) in enumerate(groups.items()):
            for split, values in splits.items():
                # One metric: the loss panel's colours, so blue is training data everywhere.
                shade = (color(k + 2) if len(groups) > 1
                         else COLORS["vermillion"] if split == "val" else COLORS["blue"])
                ax.plot(x_for(values), values, color=shade, linestyle="--" if split == "val" else "-",
                        linewidth=2.2, marker="o", markersize=3.5,
                        label=f"{split} {base}" if split in ("train", "val") else base.replace("_", " "))
        ax.set_title(", ".join(groups))
        ax.set_xlabel("epoch")
        ax.set_ylabel(", ".join(groups) if len(groups) <= 2 else "metric")
        ax.grid(True)
        ax.legend(loc="best")
    if show_lr:
        ax = axes.pop(0)
        ax.plot(x_for(lr), lr, color=COLORS["pink"], linewidth=2.2, marker="o", markersize=3.5)
        ax.set_yscale("log")
        ax.set_title("learning rate (the schedule)")
        ax.set_xlabel("epoch")
        ax.set_ylabel("learning rate (log scale)")
        ax.grid(True, which="major")
    fig.suptitle(title or "Training: one point per epoch (solid: training data, dashed: validation data)")
    return fig


def _as_array(values):
    data = values.data if isinstance(values, Tensor) else values
    return np.asarray(data)


def _predict(model, points, output):
    """(class per point, number of classes) from the model's outputs on ``points``."""
    with no_grad(), np.errstate(all="ignore"):
        out = model(Tensor(points))
    out = np.asarray(out.data if isinstance(out, Tensor) else out, dtype=np.float64)
    if out.ndim == 2 and out.shape[1] >= 2:
        return np.argmax(out, axis=1), out.shape[1]
    if out.ndim == 2 and out.shape[1] == 1:
        out = out[:, 0]
    if out.ndim != 1 or out.shape[0] != points.shape[0]:
        raise InputError(
            f"decision_boundary: the model gave shape {out.shape} for {points.shape[0]} points; it must return "
            "logits (n, classes) or one probability or logit per point, (n,) or (n, 1)"
        )
    if output == "auto":
        finite = out[np.isfinite(out)]
        output = "probabilities" if finite.size and finite.min() >= 0 and finite.max() <= 1 else "logits"
    threshold = 0.5 if output == "probabilities" else 0.0
    return (out > threshold).astype(np.int64), 2


def _dataset_pair(dataset):
    """(X, y) from an (X, y) pair or a TensorDataset holding the two."""
    tensors = getattr(dataset, "arrays", dataset)
    if not (isinstance(tensors, (tuple, list)) and len(tensors) == 2):
        raise InputTypeError("decision_boundary: give X and y, or a dataset: an (X, y) pair or a TensorDataset of two")
    return tensors


@picture
def decision_boundary(model, X, y=None, resolution=200, output="auto", class_names=None, title=None):
    """Which class a 2-D classifier predicts everywhere, with the data on top.

    The data are ``X, y``, or a dataset in place of ``X``: an ``(X, y)`` pair
    (what ``dh.datasets.moons()`` returns) or a ``TensorDataset`` of the two.

    ``model`` is a callable taking a Tensor of points (n, 2) and returning logits
    (n, classes), or one probability or logit per point, (n,) or (n, 1): with
    ``output="auto"`` values all within [0, 1] are read as probabilities
    (threshold 0.5), others as logits (threshold 0); say ``"logits"`` or
    ``"probabilities"`` to be sure. The background is shaded by the predicted
    class over a grid around the data; the data are dots coloured by their true
    class, and the points the model gets wrong are circled.

    >>> import downhill as dh
    >>> X = np.array([[-1.0, -1.0], [-1.0, 0.5], [1.0, 1.0], [1.5, -0.5]])
    >>> y = np.array([0, 0, 1, 1])
    >>> fig = dh.viz.decision_boundary(lambda p: p[:, 0], X, y)   # a logit: x > 0 is class 1
    >>> fig.axes[0].get_title()
    'accuracy on these 4 points: 100%'
    >>> dh.viz.decision_boundary(lambda p: p[:, 0], (X, y)).axes[0].get_title()
    'accuracy on these 4 points: 100%'
    """
    if y is None:
        X, y = _dataset_pair(X)
    X = _as_array(X).astype(np.float64)
    y = _as_array(y)
    if X.ndim != 2 or X.shape[1] != 2:
        raise InputError(f"decision_boundary draws points of 2 features, X of shape (n, 2); got shape {X.shape}")
    y = y.reshape(-1)
    if y.shape[0] != X.shape[0]:
        raise InputError(f"decision_boundary: X has {X.shape[0]} points but y has {y.shape[0]} labels")
    if output not in ("auto", "logits", "probabilities"):
        raise InputError(f"decision_boundary: output must be 'auto', 'logits' or 'probabilities', got {output!r}")
    if not np.all(np.isfinite(X)):
        raise InputError("decision_boundary: X must hold finite numbers")
    y = y.astype(np.int64)
    low, high = X.min(axis=0), X.max(axis=0)
    margin = 0.12 * np.where(high > low, high - low, 1.0)
    xs = np.linspace(low[0] - margin[0], high[0] + margin[0], int(resolution))
    ys = np.linspace(low[1] - margin[1], high[1] + margin[1], int(resolution))
    GX, GY = np.meshgrid(xs, ys)
    grid_classes, count = _predict(model, np.stack([GX.ravel(), GY.ravel()], axis=1), output)
    count = max(count, int(y.max()) + 1 if y.size else 1)
    predicted, _ = _predict(model, X, output)
    accuracy = float(np.mean(predicted == y)) if y.size else math.nan

    fig = new_figure(7.6, 6.6)
    ax = fig.add_subplot(1, 1, 1)
    colors = [color(k) for k in range(count)]
    cmap = ListedColormap(colors)
    norm = BoundaryNorm(np.arange(count + 1) - 0.5, count)
    ax.contourf(GX, GY, grid_classes.reshape(GX.shape), levels=np.arange(count + 1) - 0.5, cmap=cmap, norm=norm,
                alpha=0.22)
    ax.contour(GX, GY, grid_classes.reshape(GX.shape), levels=np.arange(count) + 0.5, colors="black",
               linewidths=1.4)
    names = class_names or [f"class {k}" for k in range(count)]
    for k in range(count):
        mask = y == k
        if mask.any():
            ax.scatter(X[mask, 0], X[mask, 1], s=30, color=colors[k], edgecolor="black", linewidth=0.6, zorder=3,
                       label=names[k] if k < len(names) else f"class {k}")
    wrong = predicted != y
    if wrong.any():
        ax.scatter(X[wrong, 0], X[wrong, 1], s=130, facecolor="none", edgecolor=COLORS["black"], linewidth=1.6,
                   zorder=4, label="predicted wrongly")
    handles, labels = ax.get_legend_handles_labels()
    handles.append(Line2D([], [], color="black", linewidth=1.4))
    labels.append("decision boundary")
    ax.legend(handles, labels, loc="best", fontsize=8.5)
    ax.set_xlabel("feature 1")
    ax.set_ylabel("feature 2")
    ax.set_xlim(xs[0], xs[-1])
    ax.set_ylim(ys[0], ys[-1])
    ax.set_title(f"accuracy on these {len(y)} points: {accuracy:.0%}", fontsize=10, fontweight="normal")
    fig.suptitle(title or "Decision boundary: the shade is the class the model predicts there")
    return fig
