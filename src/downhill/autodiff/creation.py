"""Making tensors: from data, filled with a value, ranges, identity matrices.

Python floats become float64 and ints int64, as in NumPy; ``dtype=`` is
respected as given.
"""

from __future__ import annotations

import functools

import numpy as np

from ..errors import DownhillError, InputError, InputTypeError, shorten
from .tensor import Tensor, _holds_tensor, _stack_nested


def _numpy_refusals(make):
    """NumPy's refusals of a maker's arguments (a negative size, text for a number,
    a dtype it does not know) raised as the family, naming the maker and the arguments."""

    @functools.wraps(make)
    def checked(*args, **kwargs):
        try:
            return make(*args, **kwargs)
        except DownhillError:
            raise
        except (ValueError, TypeError) as error:
            kind = InputTypeError if isinstance(error, TypeError) else InputError
            given = ", ".join([shorten(repr(a), 40) for a in args]
                              + [f"{k}={shorten(repr(v), 40)}" for k, v in kwargs.items()])
            raise kind(f"{make.__name__}({shorten(given)}): {str(error).splitlines()[0].rstrip('.')}; "
                       f"see help(dh.{make.__name__}) for what it accepts") from None

    return checked


def tensor(data, dtype=None, requires_grad=False):
    """A new tensor holding a copy of ``data`` (numbers, nested lists, arrays, tensors).

    >>> import downhill as dh
    >>> dh.tensor([1.0, 2.0], requires_grad=True)
    tensor([1., 2.], requires_grad=True)
    >>> dh.tensor(3).dtype
    dtype('int64')

    A (nested) list holding Tensors is stacked with the graph kept, as
    ``jnp.array`` does, so gradients flow through every element (PyTorch's
    ``torch.tensor`` would copy the values and drop the graph):

    >>> dh.grad(lambda v: dh.tensor([v, 2 * v]).sum())(1.0)
    3.0

    A Tensor given alone is copied outside the graph, as ``torch.tensor`` does
    (use ``.clone()`` to stay in it).
    """
    if type(data) in (list, tuple) and _holds_tensor(data):
        stacked = _stack_nested(data)
        if dtype is not None and stacked.dtype != np.dtype(dtype):
            stacked = stacked.astype(dtype)
        if requires_grad and not stacked.requires_grad:
            stacked.requires_grad = True
        return stacked
    return Tensor(data, dtype=dtype, requires_grad=requires_grad)


def _make(array, requires_grad):
    return Tensor(array, requires_grad=requires_grad)


def _shape(shape):
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    return tuple(int(s) for s in shape)


@_numpy_refusals
def zeros(shape, dtype=None, requires_grad=False):
    """A tensor of zeros (float64 unless ``dtype`` says otherwise).

    >>> import downhill as dh
    >>> dh.zeros((2, 2))
    tensor([[0., 0.],
            [0., 0.]])
    """
    return _make(np.zeros(_shape(shape), dtype=dtype or np.float64), requires_grad)


@_numpy_refusals
def ones(shape, dtype=None, requires_grad=False):
    """A tensor of ones.

    >>> import downhill as dh
    >>> dh.ones(3)
    tensor([1., 1., 1.])
    """
    return _make(np.ones(_shape(shape), dtype=dtype or np.float64), requires_grad)


@_numpy_refusals
def full(shape, fill_value, dtype=None, requires_grad=False):
    """A tensor filled with ``fill_value`` (its dtype follows NumPy's ``full``).

    >>> import downhill as dh
    >>> dh.full((2,), 7.5)
    tensor([7.5, 7.5])

    A ``fill_value`` that is a Tensor in a graph stays in it: every element
    passes its gradient back to it.

    >>> dh.grad(lambda v: dh.full((3,), v).sum())(1.0)
    3.0
    """
    if _in_graph(fill_value):
        if np.ndim(fill_value.data) != 0:
            raise InputError(f"full: fill_value must be a single number; got shape {fill_value.shape}")
        value = fill_value if dtype is None else fill_value.astype(dtype)
        return value * np.ones(_shape(shape), dtype=value.dtype)
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.data
    return _make(np.full(_shape(shape), fill_value, dtype=dtype), requires_grad)


def _in_graph(value):
    return isinstance(value, Tensor) and value.requires_grad


@_numpy_refusals
def zeros_like(a, dtype=None, requires_grad=False):
    """Zeros with the shape (and dtype) of ``a``.

    >>> import downhill as dh
    >>> dh.zeros_like(dh.tensor([1.0, 2.0]))
    tensor([0., 0.])
    """
    return _make(np.zeros_like(np.asarray(a), dtype=dtype), requires_grad)


@_numpy_refusals
def ones_like(a, dtype=None, requires_grad=False):
    """Ones with the shape (and dtype) of ``a``.

    >>> import downhill as dh
    >>> dh.ones_like(dh.tensor([[1.0, 2.0]]))
    tensor([[1., 1.]])
    """
    return _make(np.ones_like(np.asarray(a), dtype=dtype), requires_grad)


@_numpy_refusals
def arange(start, stop=None, step=1, dtype=None, requires_grad=False):
    """Evenly spaced values in [start, stop), as NumPy's ``arange``.

    >>> import downhill as dh
    >>> dh.arange(4.0)
    tensor([0., 1., 2., 3.])
    """
    values = np.arange(start, stop, step, dtype=dtype) if stop is not None else np.arange(start, dtype=dtype)
    return _make(values, requires_grad)


@_numpy_refusals
def linspace(start, stop, num=50, endpoint=True, dtype=None, requires_grad=False):
    """``num`` evenly spaced values from start to stop, as NumPy's ``linspace``.

    >>> import downhill as dh
    >>> dh.linspace(0, 1, 5)
    tensor([0.  , 0.25, 0.5 , 0.75, 1.  ])

    ``start`` and ``stop`` may be Tensors in a graph; the values then carry
    their gradients (the k-th of n values is start + (stop - start) k / (n - 1)):

    >>> dh.grad(lambda v: dh.linspace(v, 3.0, 5).sum())(1.0)
    2.5
    """
    if _in_graph(start) or _in_graph(stop):
        return _linspace_graph(start, stop, num, endpoint, dtype)
    start = start.data if isinstance(start, Tensor) else start
    stop = stop.data if isinstance(stop, Tensor) else stop
    return _make(np.linspace(start, stop, num, endpoint=endpoint, dtype=dtype), requires_grad)


def _linspace_graph(start, stop, num, endpoint, dtype):
    """linspace written with Tensor arithmetic, in NumPy's order of operations
    (arange(num) * step + start, the last value set to stop), so the values
    equal ``np.linspace``'s."""
    from .ops import concatenate

    num = int(num)
    if num < 0:
        raise InputError(f"linspace: num must be at least 0; got {num}")
    for name, value in (("start", start), ("stop", stop)):
        if np.ndim(value.data if isinstance(value, Tensor) else value) != 0:
            raise InputError(f"linspace: {name} must be a single number when it is a Tensor in a graph")
    divisions = (num - 1 if endpoint else num) or 1
    step = (stop - start) / divisions
    values = np.arange(num, dtype=np.float64) * step + start
    if endpoint and num > 1:
        values = concatenate([values[:-1], stop * np.ones(1)])
    return values if dtype is None else values.astype(dtype)


@_numpy_refusals
def eye(N, M=None, k=0, dtype=None, requires_grad=False):
    """The identity matrix (ones on diagonal ``k``).

    >>> import downhill as dh
    >>> dh.eye(2)
    tensor([[1., 0.],
            [0., 1.]])
    """
    return _make(np.eye(N, M, k, dtype=dtype or np.float64), requires_grad)
