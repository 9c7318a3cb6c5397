"""Functions built from the primitives: they need no derivative rule of their own.

The chain rule through the primitives gives their derivatives, to every
order. Where a derived rule would be numerically poor, the function is a
primitive instead (sigmoid, softplus, norm in ``ops.py``).
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import InputError, shorten
from .ops import (
    MAXIMUM,
    _apply2,
    _axes,
    _ndim,
    concatenate,
    exp,
    expand_dims,
    log,
    max,
    reshape,
    sqrt,
    sum,
    transpose,
    where,
)
from .mode import THREAD, TRACING
from .tensor import Op, Tensor, _operand, _raw, _wrap, apply


def _shape(a):
    return a.shape if isinstance(a, Tensor) else np.shape(_raw(a))


def _count(shape, axes):
    """How many elements a reduction over ``axes`` combines."""
    if axes is None:
        return math.prod(shape)
    return math.prod(shape[i] for i in axes)


def square(x):
    """Elementwise x * x.

    >>> import downhill as dh
    >>> dh.square(dh.tensor([2.0, -3.0]))
    tensor([4., 9.])
    """
    x = _as_tensor(x)
    return x * x


def minimum(x1, x2):
    """Elementwise smaller of two values; a tie splits the gradient evenly.

    >>> import downhill as dh
    >>> dh.minimum(dh.tensor([1.0, 5.0]), 3.0)
    tensor([1., 3.])
    """
    return -_apply2(MAXIMUM, -_as_tensor(x1), -_as_tensor(x2))


def min(a, axis=None, keepdims=False):
    """Smallest element over ``axis``. Equal minima share the gradient evenly.

    >>> import downhill as dh
    >>> dh.min(dh.tensor([3.0, 1.0, 2.0]))
    tensor(1.)
    """
    return -max(-_as_tensor(a), axis=axis, keepdims=keepdims)


def mean(a, axis=None, keepdims=False):
    """Arithmetic mean over ``axis`` (all elements by default).

    >>> import downhill as dh
    >>> dh.mean(dh.tensor([1.0, 2.0, 6.0]))
    tensor(3.)
    """
    axes = _axes(axis, _ndim(a), "mean")
    return sum(a, axis=axes, keepdims=keepdims) / _count(_shape(a), axes)


def var(a, axis=None, ddof=0, keepdims=False):
    """Variance over ``axis``; ``ddof=0`` as in NumPy (PyTorch's default is ``ddof=1``).

    >>> import downhill as dh
    >>> dh.var(dh.tensor([1.0, 2.0, 3.0, 4.0]))
    tensor(1.25)
    """
    axes = _axes(axis, _ndim(a), "var")
    n = _count(_shape(a), axes)
    if n - ddof <= 0:
        raise InputError(f"var: {n} element(s) with ddof={ddof} leaves no degrees of freedom; "
                         "give more elements or a smaller ddof (accepted: ddof < the number of elements)")
    deviation = a - mean(a, axis=axes, keepdims=True)
    return sum(deviation * deviation, axis=axes, keepdims=keepdims) / (n - ddof)


def std(a, axis=None, ddof=0, keepdims=False):
    """Standard deviation over ``axis``; ``ddof=0`` as in NumPy.

    >>> import downhill as dh
    >>> dh.std(dh.tensor([1.0, 3.0]))
    tensor(1.)

    Where the variance is 0 the gradient is 0 (PyTorch's choice), not the
    0 * inf = nan of the plain chain rule through sqrt:

    >>> dh.grad(dh.std)(3.5)
    0.0
    """
    variance = var(a, axis=axis, ddof=ddof, keepdims=keepdims)
    flat = variance == 0
    # While vmap traces, the test below would look at one example only: take
    # the general form, which gives the same numbers where the variance is not 0.
    if not (THREAD.masks_in_graph or np.any(flat._data)):
        return sqrt(variance)
    # sqrt only where it has a slope; the flat places are 0 through where(),
    # whose rule passes nothing to the branch it did not take.
    return where(flat, 0.0, sqrt(where(flat, 1.0, variance)))


def prod(a, axis=None, keepdims=False):
    """Product of elements over ``axis``.

    Built as a balanced tree of multiplications, so the gradient is exact even
    where some elements are zero (no division by the input).

    >>> import downhill as dh
    >>> dh.prod(dh.tensor([2.0, 3.0, 4.0]))
    tensor(24.)
    """
    a = _as_tensor(a)
    shape = a.shape
    axes = _axes(axis, a.ndim, "prod")
    reduced = tuple(range(a.ndim)) if axes is None else axes
    kept = tuple(i for i in range(a.ndim) if i not in reduced)
    n = _count(shape, reduced)
    # Reduced axes go last and become one axis of length n.
    x = reshape(transpose(a, kept + reduced), tuple(shape[i] for i in kept) + (n,))
    if n == 0:
        x = concatenate([x, _ones_like_last(x)], axis=-1)
        n = 1
    while n > 1:
        if n % 2:
            x = concatenate([x, _ones_like_last(x)], axis=-1)
            n += 1
        x = x[..., 0::2] * x[..., 1::2]
        n //= 2
    out = x[..., 0]
    if keepdims:
        out = reshape(out, tuple(1 if i in reduced else shape[i] for i in range(len(shape))))
    return out


def _ones_like_last(x):
    return _wrap(np.ones(x.shape[:-1] + (1,), dtype=x.dtype))


def logsumexp(a, axis=None, keepdims=False, *, b=None, return_sign=False):
    """log(sum(exp(a))) over ``axis``, without overflow.

    With weights ``b``: log(|sum(b * exp(a))|), SciPy's ``b=`` and
    ``return_sign=`` (see ``reductions.weighted_logsumexp``).

    >>> import downhill as dh
    >>> round(dh.logsumexp(dh.tensor([1000.0, 1000.0])).item(), 6)
    1000.693147
    """
    if b is not None or return_sign:
        from .reductions import weighted_logsumexp

        return weighted_logsumexp(a, 1.0 if b is None else b, axis=axis, keepdims=keepdims,
                                  return_sign=return_sign)
    a = _as_tensor(a)
    axes = _axes(axis, a.ndim, "logsumexp")
    # Shifting by the (constant) maximum keeps exp in range; the result does
    # not depend on the shift, so it carries no gradient.
    shift = _max_shift(a, axes)
    out = log(sum(exp(a - shift), axis=axes, keepdims=True)) + shift
    if not keepdims:
        out = reshape(out, np.squeeze(np.empty(out.shape, bool), axis=axes).shape)
    return out


def softmax(x, axis=-1):
    """exp(x) normalised to sum to 1 along ``axis`` (the last by default, as in jax.nn).

    >>> import downhill as dh
    >>> dh.softmax(dh.tensor([0.0, 0.0]))
    tensor([0.5, 0.5])
    """
    return exp(log_softmax(x, axis=axis))


def log_softmax(x, axis=-1):
    """log(softmax(x)) along ``axis``, computed stably as x - logsumexp(x).

    >>> import downhill as dh
    >>> dh.log_softmax(dh.tensor([0.0, 0.0]))
    tensor([-0.69314718, -0.69314718])

    The inputs are shifted by their maximum first, in their own dtype, and the
    shift is never added back (as PyTorch does): at 1e308, or at 3e7 in
    float32, adding it back would round the log-sum away.

    >>> dh.softmax(dh.tensor([1e308, 1e308]))
    tensor([0.5, 0.5])
    """
    x = _as_tensor(x)
    axes = _axes(axis, x.ndim, "log_softmax")
    shifted = x - _max_shift(x, axes)
    return shifted - log(sum(exp(shifted), axis=axes, keepdims=True))


# The identity, with no derivative: recorded only while vmap traces, so that a
# shift computed from the data follows each example (see _max_shift).
STOP_GRADIENT = Op("stop_gradient", lambda x: x, (None,))


def _max_shift(a, axes):
    """The maximum over ``axes`` (kept), a constant: 0 where it is not finite."""
    if not a.size:
        return np.zeros((1,) * a.ndim, dtype=a.dtype)
    if TRACING and THREAD.masks_in_graph and a._rg:
        # vmap is tracing: the same constant, computed in the graph (without a derivative).
        shift = apply(STOP_GRADIENT, (max(a, axis=axes, keepdims=True),))
        return where((shift > -np.inf) & (shift < np.inf), shift, np.zeros((), dtype=a.dtype))
    shift = np.max(a.data, axis=axes, keepdims=True)
    return np.where(np.isfinite(shift), shift, 0).astype(a.dtype, copy=False)


def dot(a, b):
    """Dot product: inner product of vectors, matrix product of matrices, scaling by a 0-d.

    Beyond 2-D, NumPy's rule: a sum over the last axis of ``a`` and the
    second-to-last of ``b`` (not matmul's batching).

    >>> import downhill as dh
    >>> dh.dot(dh.tensor([1.0, 2.0]), dh.tensor([3.0, 4.0]))
    tensor(11.)
    """
    from .ops import matmul

    na, nb = _ndim(a), _ndim(b)
    if na == 0 or nb == 0:
        return _as_tensor(a) * b
    if na > 2 or nb > 2:
        # NumPy's N-d rule: the last axis of a with the second-to-last of b (the last, if b is 1-D).
        from .products import tensordot

        return tensordot(a, b, axes=([-1], [-2 if nb > 1 else -1]))
    return matmul(a, b)


def outer(a, b):
    """Outer product of two vectors (inputs are flattened first, as in NumPy).

    >>> import downhill as dh
    >>> dh.outer(dh.tensor([1.0, 2.0]), dh.tensor([1.0, 10.0]))
    tensor([[ 1., 10.],
            [ 2., 20.]])
    """
    return reshape(a, (-1, 1)) * reshape(b, (1, -1))


def flatten(a):
    """All elements in one axis.

    >>> import downhill as dh
    >>> dh.flatten(dh.zeros((2, 3))).shape
    (6,)
    """
    return reshape(a, (-1,))


def squeeze(a, axis=None):
    """Remove axes of length 1 (all of them, or those named by ``axis``).

    >>> import downhill as dh
    >>> dh.squeeze(dh.zeros((1, 3, 1))).shape
    (3,)
    """
    shape = _shape(a)
    axes = _axes(axis, len(shape), "squeeze")
    if axes is None:
        axes = tuple(i for i, s in enumerate(shape) if s == 1)
    for i in axes:
        if shape[i] != 1:
            raise InputError(f"squeeze: axis {i} has length {shape[i]}, not 1 (shape {shape}); name only axes of length 1")
    return reshape(a, tuple(s for i, s in enumerate(shape) if i not in axes))


def stack(arrays, axis=0):
    """Join tensors of equal shape along a new axis.

    >>> import downhill as dh
    >>> dh.stack([dh.ones(2), dh.zeros(2)]).shape
    (2, 2)
    """
    arrays = list(arrays)
    if not arrays:
        raise InputError("stack needs at least one tensor; got an empty sequence")
    shapes = {tuple(_shape(x)) for x in arrays}
    if len(shapes) > 1:
        raise InputError(f"stack: all tensors must have the same shape, got {shorten(sorted(shapes))}")
    (axis,) = _axes(axis, _ndim(arrays[0]) + 1, "stack")
    return concatenate([expand_dims(x, axis) for x in arrays], axis=axis)


def _as_tensor(x):
    if isinstance(x, Tensor):
        return x
    raw = _operand(x)  # a list holding Tensors is stacked, keeping the graph
    if isinstance(raw, Tensor):
        return raw
    return _wrap(raw if isinstance(raw, (np.ndarray, np.generic)) else np.asarray(raw)[()])


__all__ = [
    "square", "minimum", "min", "mean", "var", "std", "prod", "logsumexp",
    "softmax", "log_softmax", "dot", "outer", "flatten", "squeeze", "stack",
]
