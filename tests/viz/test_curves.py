"""training curves and decision boundaries."""

from __future__ import annotations

from types import SimpleNamespace

import matplotlib.colors
import numpy as np
import pytest

import downhill as dh
import downhill.viz as viz

from .conftest import legend_texts


def _history(n=20):
    train = list(1 / np.arange(1, n + 1) + 0.05)
    val = list(1 / np.arange(1, n + 1) + 0.1 + 0.006 * np.arange(n))
    return {"train_loss": train, "val_loss": val, "train_accuracy": list(1 - np.array(train) / 2),
            "val_accuracy": list(1 - np.array(val) / 2), "lr": list(0.1 * 0.9 ** np.arange(n))}


def test_training_curves(tmp_path, check_png):
    fig = viz.training(_history(), save=tmp_path / "t.png")
    check_png(tmp_path / "t.png")
    loss, metric, lr = fig.axes
    assert loss.get_yscale() == "log" and loss.get_xlabel() == "epoch"
    assert [line.get_linestyle() for line in loss.get_lines()] == ["-", "--"]
    labels = legend_texts(fig)
    assert "train loss" in labels and "val loss" in labels and "train accuracy" in labels
    best = [t for t in labels if t.startswith("best val loss")]
    assert best and "(epoch" in best[0]
    assert metric.get_title() == "accuracy" and lr.get_title() == "learning rate (the schedule)"


def test_training_colours_mean_the_same_split_in_every_panel():
    # Blue is the training data and vermillion the validation data, in the loss panel and in
    # the accuracy panel (the accuracy curves were both green, the losses blue and vermillion).
    fig = viz.training(_history())
    loss, metric = fig.axes[:2]
    colour = {line.get_label(): matplotlib.colors.to_hex(line.get_color()) for ax in (loss, metric)
              for line in ax.get_lines()}
    assert colour["train loss"] == colour["train accuracy"] != colour["val loss"] == colour["val accuracy"]


def test_training_from_a_history_object_and_an_attribute_object():
    from downhill.nn import training  # part of downhill: a broken import fails, never skips
    history = training.History()
    for epoch, (a, b) in enumerate([(1.0, 1.2), (0.6, 0.8), (0.4, 0.7)]):
        history.append(epoch, {"train_loss": a, "val_loss": b, "lr": 0.1})
    fig = viz.training(history)
    assert len(fig.axes) == 1  # a constant learning rate gets no panel
    plain = SimpleNamespace(train_loss=[1.0, 0.5], val_loss=[], metrics={"val_f1": [0.2, 0.4]})
    fig = viz.training(plain)
    assert [ax.get_title() for ax in fig.axes] == ["loss (lower is better)", "f1"]


def test_training_with_gaps_and_errors():
    fig = viz.training({"train_loss": [1.0, 0.5, 0.25], "val_loss": [None, 0.6, 0.4]})
    assert np.isnan(fig.axes[0].get_lines()[1].get_ydata()[0])
    with pytest.raises(ValueError, match="nothing to draw"):
        viz.training({})


def _blobs():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 2))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
    return X, y


def test_decision_boundary_with_logits_per_class(tmp_path, check_png):
    X, y = _blobs()
    W = dh.tensor([[-1.0, 1.0], [-0.5, 0.5]])
    fig = viz.decision_boundary(lambda p: p @ W, X, y, save=tmp_path / "b.png")
    check_png(tmp_path / "b.png", min_bytes=20_000)
    ax = fig.axes[0]
    assert ax.get_title() == "accuracy on these 120 points: 100%"
    labels = legend_texts(fig)
    assert labels[:2] == ["class 0", "class 1"] and "decision boundary" in labels


def test_decision_boundary_probabilities_and_mistakes():
    X, y = _blobs()
    fig = viz.decision_boundary(lambda p: dh.sigmoid(p[:, 0:1] * 3.0), X, y)  # (n, 1) probabilities
    assert "predicted wrongly" in legend_texts(fig)
    accuracy = float(fig.axes[0].get_title().split(": ")[1].rstrip("%"))
    assert 70 <= accuracy < 100


def test_decision_boundary_errors():
    X, y = _blobs()
    with pytest.raises(ValueError, match=r"X of shape \(n, 2\)"):
        viz.decision_boundary(lambda p: p[:, 0], np.zeros((5, 3)), np.zeros(5))
    with pytest.raises(ValueError, match="120 points but y has 3"):
        viz.decision_boundary(lambda p: p[:, 0], X, y[:3])
    with pytest.raises(ValueError, match="logits"):
        viz.decision_boundary(lambda p: p.sum(), X, y)
    with pytest.raises(ValueError, match="output must be"):
        viz.decision_boundary(lambda p: p[:, 0], X, y, output="odds")
