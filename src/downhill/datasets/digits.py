"""The 8x8 handwritten digits, from scikit-learn's bundled copy (nothing is downloaded)."""

from __future__ import annotations

import numpy as np

__all__ = ["digits"]

_INSTALL_HINT = (
    "downhill.datasets.digits() reads the digits bundled with scikit-learn, which is not "
    'installed; install it with: pip install "downhill[datasets]"'
)


def digits(dtype=np.float64, images: bool = False):
    """The UCI optical handwritten digits: 1,797 images of 8x8 pixels, labels 0 to 9.

    Returns ``(X, y)``: ``X`` of shape ``(1797, 64)`` (or ``(1797, 8, 8)`` with
    ``images=True``), pixel intensities scaled from 0..16 to ``[0, 1]``, of type
    ``dtype`` (float64 by default; ``np.float32`` for a float32 model); ``y``
    int64 ``(1797,)``. The data ship inside scikit-learn (an optional extra:
    ``pip install "downhill[datasets]"``); nothing is fetched from the network.

    >>> from downhill.datasets import digits
    >>> X, y = digits()
    >>> X.shape, y.shape, float(X.min()), float(X.max()), sorted(set(y.tolist())) == list(range(10))
    ((1797, 64), (1797,), 0.0, 1.0, True)
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError as error:
        raise ImportError(_INSTALL_HINT) from error
    bunch = load_digits()
    X = np.asarray(bunch.images if images else bunch.data, dtype=np.float64) / 16.0
    return X.astype(dtype, copy=False), np.asarray(bunch.target, dtype=np.int64)
