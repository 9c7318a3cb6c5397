"""Seeded random tensors.

Every function takes ``seed``: an int (the same int gives the same numbers),
a ``numpy.random.Generator`` (numbers continue from its state), or None
(fresh entropy, not reproducible).
"""

from __future__ import annotations

import numpy as np

from .errors import InputError, InputTypeError
from .autodiff.tensor import Tensor


def generator(seed=None) -> np.random.Generator:
    """A NumPy Generator from an int seed, an existing Generator, or None.

    >>> import downhill as dh
    >>> bool(dh.random.generator(0).integers(10) == dh.random.generator(0).integers(10))
    True
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return np.random.default_rng(seed)
    raise InputTypeError(
        f"seed must be an int, a numpy.random.Generator or None, not {type(seed).__name__}"
    )


def _shape(shape):
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    return tuple(shape)


def normal(shape=(), mean=0.0, std=1.0, *, seed=None, dtype=None, requires_grad=False):
    """Normally distributed values.

    >>> import downhill as dh
    >>> a = dh.random.normal((2, 3), seed=0)
    >>> b = dh.random.normal((2, 3), seed=0)
    >>> bool((a == b).data.all()), a.shape
    (True, (2, 3))
    """
    if std < 0:
        raise InputError(f"normal: std must be >= 0, got {std}")
    values = generator(seed).normal(mean, std, size=_shape(shape))
    return Tensor(values, dtype=dtype, requires_grad=requires_grad)


def uniform(shape=(), low=0.0, high=1.0, *, seed=None, dtype=None, requires_grad=False):
    """Values drawn uniformly from [low, high).

    >>> import downhill as dh
    >>> x = dh.random.uniform(1000, -1, 1, seed=1)
    >>> bool((x >= -1).data.all() and (x < 1).data.all())
    True
    """
    if not high >= low:
        raise InputError(f"uniform: need low <= high, got low={low}, high={high}")
    values = generator(seed).uniform(low, high, size=_shape(shape))
    return Tensor(values, dtype=dtype, requires_grad=requires_grad)
