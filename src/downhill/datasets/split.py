"""Holding out a test set: ``train_test_split``, optionally stratified."""

from __future__ import annotations

import math

import numpy as np

from ..errors import InputError
from ..autodiff.tensor import Tensor
from ..random import generator

__all__ = ["train_test_split"]


def train_test_split(*arrays, test_fraction: float = 0.2, seed=0, stratify=None):
    """Split arrays (same first-axis length) into random train and test parts.

    Returns ``[a_train, a_test, b_train, b_test, ...]`` in scikit-learn's order,
    so ``X_train, X_test, y_train, y_test = train_test_split(X, y)``. The test
    part holds ``ceil(test_fraction * n)`` samples, both parts are shuffled, and
    the same ``seed`` gives the same split.

    ``stratify``: ``None`` (a plain random split), ``True`` (keep the class
    proportions of the last array, usually ``y``, in both parts), or an array
    of labels to stratify by. Stratified, each class sends its share of the
    test samples to the test part (rounded by largest remainders so that the
    total is exact).

    >>> import numpy as np
    >>> from downhill.datasets import train_test_split
    >>> X = np.arange(20.0).reshape(10, 2)
    >>> y = np.array([0] * 5 + [1] * 5)
    >>> X_train, X_test, y_train, y_test = train_test_split(X, y, test_fraction=0.4, stratify=True)
    >>> X_train.shape, X_test.shape, np.bincount(y_test).tolist()
    ((6, 2), (4, 2), [2, 2])
    """
    if not arrays:
        raise InputError("train_test_split needs at least one array, e.g. train_test_split(X, y)")
    values = [a.data if isinstance(a, Tensor) else np.asarray(a) for a in arrays]
    lengths = {len(v) for v in values}
    if len(lengths) != 1:
        raise InputError(
            "train_test_split needs arrays with the same number of samples; got lengths "
            + ", ".join(str(len(v)) for v in values)
        )
    n = lengths.pop()
    if not 0 < test_fraction < 1:
        raise InputError(f"test_fraction must be between 0 and 1 (exclusive), got {test_fraction!r}")
    n_test = math.ceil(test_fraction * n)
    if n_test >= n:
        raise InputError(
            f"test_fraction={test_fraction} of {n} samples leaves nothing to train on; use a smaller fraction"
        )
    rng = generator(seed)

    if stratify is None or stratify is False:
        order = rng.permutation(n)
        test, train = order[:n_test], order[n_test:]
    else:
        labels = values[-1] if stratify is True else np.asarray(stratify)
        if len(labels) != n:
            raise InputError(f"stratify has {len(labels)} labels for {n} samples")
        classes, label_index = np.unique(labels, return_inverse=True)
        counts = np.bincount(label_index, minlength=len(classes))
        quotas = counts * n_test / n
        take = np.floor(quotas).astype(np.int64)
        # Largest remainders get the samples still missing (ties: the bigger class first).
        missing = n_test - int(take.sum())
        for k in sorted(range(len(classes)), key=lambda k: (-(quotas[k] - take[k]), -counts[k], k))[:missing]:
            take[k] += 1
        test_parts, train_parts = [], []
        for k in range(len(classes)):
            members = rng.permutation(np.flatnonzero(label_index == k))
            test_parts.append(members[: take[k]])
            train_parts.append(members[take[k]:])
        test = rng.permutation(np.concatenate(test_parts))
        train = rng.permutation(np.concatenate(train_parts))

    result = []
    for v in values:
        result.extend([v[train], v[test]])
    return result
