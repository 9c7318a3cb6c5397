"""Making tensors: from data, filled with a value, ranges, identity matrices.

Python floats become float64 and ints int64, as in NumPy; ``dtype=`` is
respected as given.
"""

from __future__ import annotations

import numpy as np

from .tensor import Tensor


def tensor(data, dtype=None, requires_grad=False):
    """A new tensor holding a copy of ``data`` (numbers, nested lists, arrays, tensors).

    >>> import downhill as dh
    >>> dh.tensor([1.0, 2.0], requires_grad=True)
    tensor([1., 2.], requires_grad=True)
    >>> dh.tensor(3).dtype
    dtype('int64')
    """
    return Tensor(data, dtype=dtype, requires_grad=requires_grad)


def _make(array, requires_grad):
    return Tensor(array, requires_grad=requires_grad)


def _shape(shape):
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    return tuple(int(s) for s in shape)


def zeros(shape, dtype=None, requires_grad=False):
    """A tensor of zeros (float64 unless ``dtype`` says otherwise).

    >>> import downhill as dh
    >>> dh.zeros((2, 2))
    tensor([[0., 0.],
            [0., 0.]])
    """
    return _make(np.zeros(_shape(shape), dtype=dtype or np.float64), requires_grad)


def ones(shape, dtype=None, requires_grad=False):
    """A tensor of ones.

    >>> import downhill as dh
    >>> dh.ones(3)
    tensor([1., 1., 1.])
    """
    return _make(np.ones(_shape(shape), dtype=dtype or np.float64), requires_grad)


def full(shape, fill_value, dtype=None, requires_grad=False):
    """A tensor filled with ``fill_value`` (its dtype follows NumPy's ``full``).

    >>> import downhill as dh
    >>> dh.full((2,), 7.5)
    tensor([7.5, 7.5])
    """
    return _make(np.full(_shape(shape), fill_value, dtype=dtype), requires_grad)


def zeros_like(a, dtype=None, requires_grad=False):
    """Zeros with the shape (and dtype) of ``a``.

    >>> import downhill as dh
    >>> dh.zeros_like(dh.tensor([1.0, 2.0]))
    tensor([0., 0.])
    """
    return _make(np.zeros_like(np.asarray(a), dtype=dtype), requires_grad)


def ones_like(a, dtype=None, requires_grad=False):
    """Ones with the shape (and dtype) of ``a``.

    >>> import downhill as dh
    >>> dh.ones_like(dh.tensor([[1.0, 2.0]]))
    tensor([[1., 1.]])
    """
    return _make(np.ones_like(np.asarray(a), dtype=dtype), requires_grad)


def arange(start, stop=None, step=1, dtype=None, requires_grad=False):
    """Evenly spaced values in [start, stop), as NumPy's ``arange``.

    >>> import downhill as dh
    >>> dh.arange(4.0)
    tensor([0., 1., 2., 3.])
    """
    values = np.arange(start, stop, step, dtype=dtype) if stop is not None else np.arange(start, dtype=dtype)
    return _make(values, requires_grad)


def linspace(start, stop, num=50, endpoint=True, dtype=None, requires_grad=False):
    """``num`` evenly spaced values from start to stop, as NumPy's ``linspace``.

    >>> import downhill as dh
    >>> dh.linspace(0, 1, 5)
    tensor([0.  , 0.25, 0.5 , 0.75, 1.  ])
    """
    return _make(np.linspace(start, stop, num, endpoint=endpoint, dtype=dtype), requires_grad)


def eye(N, M=None, k=0, dtype=None, requires_grad=False):
    """The identity matrix (ones on diagonal ``k``).

    >>> import downhill as dh
    >>> dh.eye(2)
    tensor([[1., 0.],
            [0., 1.]])
    """
    return _make(np.eye(N, M, k, dtype=dtype or np.float64), requires_grad)
