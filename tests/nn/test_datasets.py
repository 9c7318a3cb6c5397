"""Toy datasets and digits: shapes, dtypes, balance, seeds; train_test_split."""

from __future__ import annotations

import builtins
import sys

import numpy as np
import pytest

from downhill import datasets
from downhill.datasets import blobs, circles, digits, moons, regression_1d, spirals, train_test_split, xor

CLASSIFIERS = {
    "moons": (moons, {}, 2),
    "circles": (circles, {}, 2),
    "spirals": (spirals, {}, 2),
    "spirals3": (spirals, {"n_classes": 3}, 3),
    "xor": (xor, {"noise": 0.05}, 2),
    "blobs": (blobs, {}, 3),
}


@pytest.mark.parametrize("name", CLASSIFIERS)
@pytest.mark.parametrize("n", [2 * 3 * 5, 101])
def test_shapes_dtypes_and_balance(name, n):
    make, kwargs, n_classes = CLASSIFIERS[name]
    X, y = make(n, seed=0, **kwargs)
    assert X.shape == (n, 2) and X.dtype == np.float64
    assert y.shape == (n,) and y.dtype == np.int64
    counts = np.bincount(y, minlength=n_classes)
    assert len(counts) == n_classes
    assert counts.max() - counts.min() <= 1
    assert np.all(np.isfinite(X))
    # Shuffled: the labels are not sorted.
    assert not np.all(np.diff(y) >= 0)


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_seeds_reproduce_and_differ(name):
    make, kwargs, _ = CLASSIFIERS[name]
    X1, y1 = make(60, seed=5, **kwargs)
    X2, y2 = make(60, seed=5, **kwargs)
    X3, _ = make(60, seed=6, **kwargs)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(X1, X3)
    rng = np.random.default_rng(0)
    assert make(10, seed=rng, **kwargs)[0].shape == (10, 2)


def test_noise_free_geometry():
    X, y = circles(40, noise=0.0, factor=0.3, seed=0)
    radius = np.hypot(X[:, 0], X[:, 1])
    np.testing.assert_allclose(radius[y == 0], 1.0)
    np.testing.assert_allclose(radius[y == 1], 0.3)
    X, y = moons(40, noise=0.0, seed=0)
    upper = X[y == 0]
    np.testing.assert_allclose(np.hypot(upper[:, 0], upper[:, 1]), 1.0)
    X, y = xor(200, noise=0.0, seed=1)
    assert np.all((X[:, 0] * X[:, 1] < 0) == (y == 1))
    assert np.all(np.abs(X) >= 0.1)
    X, y = spirals(200, noise=0.0, seed=0)
    assert np.hypot(X[:, 0], X[:, 1]).max() <= 1.0 + 1e-12


def test_blobs_given_centres_and_features():
    centres = np.array([[0.0, 0.0, 0.0], [10.0, 10.0, 10.0]])
    X, y = blobs(200, centers=centres, cluster_std=0.1, seed=0)
    assert X.shape == (200, 3)
    np.testing.assert_allclose(X[y == 1].mean(axis=0), [10, 10, 10], atol=0.05)
    assert blobs(10, centers=4, n_features=5, seed=0)[0].shape == (10, 5)


def test_regression_1d_shapes():
    X, y = regression_1d(30, seed=0)
    assert X.shape == (30, 1) and y.shape == (30, 1)
    assert X.dtype == y.dtype == np.float64
    X, y = regression_1d(30, noise=0.0, function="sin", seed=1)
    np.testing.assert_allclose(y, np.sin(X))
    assert not np.array_equal(regression_1d(30, seed=1)[0], regression_1d(30, seed=2)[0])


@pytest.mark.parametrize("call, message", [
    (lambda: moons(1), "n_samples"),
    (lambda: moons(10, noise=-1), "noise"),
    (lambda: circles(10, factor=1.5), "factor"),
    (lambda: spirals(10, n_classes=1), "n_classes"),
    (lambda: regression_1d(10, function="tan"), "function"),
    (lambda: blobs(10, centers=[1, 2]), "centers"),
])
def test_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_digits():
    X, y = digits()
    assert X.shape == (1797, 64) and X.dtype == np.float64
    assert y.shape == (1797,) and y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0
    assert sorted(np.unique(y).tolist()) == list(range(10))
    X32, _ = digits(dtype=np.float32)
    assert X32.dtype == np.float32
    images, _ = digits(images=True)
    assert images.shape == (1797, 8, 8)
    np.testing.assert_array_equal(images.reshape(1797, 64), X)


def test_digits_without_sklearn_says_how_to_install(monkeypatch):
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "sklearn" or name.startswith("sklearn."):
            raise ImportError("No module named 'sklearn'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    for module in [m for m in sys.modules if m == "sklearn" or m.startswith("sklearn.")]:
        monkeypatch.delitem(sys.modules, module)
    with pytest.raises(ImportError, match=r'pip install "downhill\[datasets\]"'):
        digits()


def test_train_test_split_sizes_and_disjointness():
    X = np.arange(200.0).reshape(100, 2)
    y = np.arange(100) % 3
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_fraction=0.25, seed=1)
    assert X_train.shape == (75, 2) and X_test.shape == (25, 2)
    np.testing.assert_array_equal(X_train[:, 0] // 2 % 3, y_train)  # rows stay paired
    np.testing.assert_array_equal(X_test[:, 0] // 2 % 3, y_test)
    together = np.sort(np.concatenate([X_train[:, 0], X_test[:, 0]]))
    np.testing.assert_array_equal(together, X[:, 0])
    again = train_test_split(X, y, test_fraction=0.25, seed=1)
    np.testing.assert_array_equal(again[1], X_test)
    other = train_test_split(X, y, test_fraction=0.25, seed=2)
    assert not np.array_equal(other[1], X_test)
    assert len(train_test_split(X, test_fraction=0.1)) == 2


def test_train_test_split_stratified_keeps_proportions():
    y = np.array([0] * 70 + [1] * 20 + [2] * 10)
    X = np.arange(100)
    _, X_test, _, y_test = train_test_split(X, y, test_fraction=0.2, seed=0, stratify=True)
    assert np.bincount(y_test).tolist() == [14, 4, 2]
    # odd sizes: the total is still ceil(fraction * n)
    _, _, _, y_test = train_test_split(X[:97], y[:97], test_fraction=0.3, stratify=y[:97])
    assert len(y_test) == 30
    assert abs(np.bincount(y_test)[0] - 0.3 * 70) <= 1


def test_train_test_split_errors():
    with pytest.raises(ValueError, match="same number"):
        train_test_split(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="test_fraction"):
        train_test_split(np.zeros(3), test_fraction=1.0)
    with pytest.raises(ValueError, match="nothing to train"):
        train_test_split(np.zeros(2), test_fraction=0.9)


def test_public_names():
    assert set(datasets.__all__) >= {"moons", "circles", "spirals", "xor", "blobs", "regression_1d",
                                     "digits", "train_test_split"}
