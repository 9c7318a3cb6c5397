"""More reductions and the scans: cumsum, cumprod, median, average, ptp, weighted logsumexp.

``cumsum`` is a primitive (its vjp is a reversed cumsum); the rest are
composites of primitives.
"""

from __future__ import annotations

import builtins

import numpy as np

from ..errors import InputError
from .composites import _as_tensor, _count, _shape, max, mean, min
from .extend import provide
from .indexing import sort
from .ops import _axes, _ndim, concatenate, defop, exp, log, reshape, sum
from .shape_ops import _along, _axis, moveaxis, ravel
from .tensor import _apply1, _wrap


def _cumsum_forward(x, axis=None):
    return np.cumsum(x, axis=axis)


def _reverse_cumsum(F, g, axis):
    backwards = _along(axis, slice(None, None, -1))
    return F.cumsum(g[backwards], axis=axis)[backwards]


def _cumsum_vjp(F, g, ans, x, axis=None):
    # Input i feeds every output j >= i: its cotangent is the sum of g from i to the end.
    if axis is None:
        return F.reshape(_reverse_cumsum(F, g, 0), np.shape(x))
    return _reverse_cumsum(F, g, axis)


CUMSUM = defop("cumsum", _cumsum_forward, _cumsum_vjp)


def cumsum(a, axis=None):
    """Running sums along ``axis`` (over the flattened array by default).

    >>> import downhill as dh
    >>> dh.cumsum(dh.tensor([1.0, 2.0, 3.0]))
    tensor([1., 3., 6.])
    """
    ndim = _ndim(a)
    if axis is not None:
        if ndim == 0:
            raise InputError("cumsum: a 0-d value has no axis; use axis=None")
        axis = _axis(axis, ndim, "cumsum")
    return _apply1(CUMSUM, a, {"axis": axis})


provide("cumsum", _cumsum_forward, cumsum)


def cumprod(a, axis=None):
    """Running products along ``axis`` (over the flattened array by default).

    Built as a scan of about log2(n) elementwise products (each element times
    the one 1, 2, 4, ... places before it), so the gradient is exact even
    where some elements are zero: no division by the input.

    >>> import downhill as dh
    >>> dh.cumprod(dh.tensor([1.0, 2.0, 3.0, 4.0]))
    tensor([ 1.,  2.,  6., 24.])
    """
    a = _as_tensor(a)
    if axis is None:
        a, axis = ravel(a), 0
    elif a.ndim == 0:
        raise InputError("cumprod: a 0-d value has no axis; use axis=None")
    axis = _axis(axis, a.ndim, "cumprod")
    x = moveaxis(a, axis, -1)
    n = x.shape[-1]
    step = 1
    while step < n:
        ones = np.ones(x.shape[:-1] + (step,), dtype=x.dtype)
        x = x * concatenate([ones, x[..., :n - step]], axis=-1)
        step *= 2
    return moveaxis(x, -1, axis)


def ptp(a, axis=None, keepdims=False):
    """Peak to peak: ``max - min`` over ``axis`` (gradients shared among ties, as max and min).

    >>> import downhill as dh
    >>> dh.ptp(dh.tensor([3.0, -1.0, 2.0]))
    tensor(4.)
    """
    a = _as_tensor(a)
    return max(a, axis=axis, keepdims=keepdims) - min(a, axis=axis, keepdims=keepdims)


def median(a, axis=None, keepdims=False):
    """The middle value over ``axis``; the mean of the two middle values for an even count.

    NumPy's definition (PyTorch's ``median`` returns the lower of the two).
    The gradient goes to the middle element(s), halved for an even count.

    >>> import downhill as dh
    >>> dh.median(dh.tensor([4.0, 1.0, 3.0, 2.0]))
    tensor(2.5)
    """
    a = _as_tensor(a)
    axes = _axes(axis, a.ndim, "median")
    if axes is None:
        x = ravel(a)
    else:
        kept = tuple(i for i in range(a.ndim) if i not in axes)
        moved = moveaxis(a, axes, tuple(range(a.ndim - len(axes), a.ndim)))
        x = reshape(moved, tuple(a.shape[i] for i in kept) + (-1,))
    n = x.shape[-1]
    if n == 0:
        raise InputError("median of an empty tensor has no value")
    ordered = sort(x, axis=-1)
    half = n // 2
    out = ordered[..., half] if n % 2 else (ordered[..., half - 1] + ordered[..., half]) / 2
    if keepdims:
        out = reshape(out, tuple(1 if axes is None or i in axes else s for i, s in enumerate(a.shape)))
    return out


def average(a, axis=None, weights=None, returned=False, keepdims=False):
    """Weighted mean ``sum(a * w) / sum(w)`` over ``axis``; the plain mean without weights.

    ``weights`` has ``a``'s shape, or (with one ``axis``) one weight per
    position along it; it is differentiable too. ``returned=True`` also gives
    the sum of the weights.

    >>> import downhill as dh
    >>> dh.average(dh.tensor([1.0, 2.0, 4.0]), weights=[1.0, 1.0, 2.0])
    tensor(2.75)
    """
    a = _as_tensor(a)
    axes = _axes(axis, a.ndim, "average")
    if weights is None:
        out = mean(a, axis=axes, keepdims=keepdims)
        if not returned:
            return out
        return out, _wrap(np.full(out.shape, float(_count(a.shape, axes)), dtype=out.dtype)[()])
    w = _as_tensor(weights)
    if w.shape != a.shape:
        if axes is None or len(axes) != 1 or w.ndim != 1 or w.shape[0] != a.shape[axes[0]]:
            raise InputError(f"average: weights of shape {w.shape} do not fit values of shape {a.shape} "
                             f"with axis={axis}: give a's shape, or one weight per position along one axis")
        shape = [1] * a.ndim
        shape[axes[0]] = w.shape[0]
        w = reshape(w, tuple(shape))
    total = sum(w * np.ones(a.shape), axis=axes, keepdims=keepdims)
    out = sum(a * w, axis=axes, keepdims=keepdims) / total
    return (out, total) if returned else out


def weighted_logsumexp(a, b, axis=None, keepdims=False, return_sign=False):
    """log(|sum(b * exp(a))|) over ``axis``, without overflow (SciPy's ``logsumexp`` with ``b=``).

    With ``return_sign=True`` also the sign of the sum; without it a negative
    sum gives NaN, as in SciPy. Differentiable in ``a`` and ``b``.

    >>> import downhill as dh
    >>> round(dh.logsumexp(dh.tensor([0.0, 0.0]), b=[1.0, 3.0]).item(), 6)
    1.386294
    """
    a = _as_tensor(a)
    b = _as_tensor(b)
    axes = _axes(axis, builtins.max(a.ndim, b.ndim), "logsumexp")
    shape = np.broadcast_shapes(a.shape, _shape(b))
    data = np.broadcast_to(a.data, shape)
    # The shift is a constant (the result does not depend on it): the largest a where b != 0.
    live = np.where(np.broadcast_to(b.data, shape) != 0, data, -np.inf)
    shift = np.max(live, axis=axes, keepdims=True) if live.size else np.zeros((1,) * len(shape))
    shift = np.where(np.isfinite(shift), shift, 0)
    total = sum(b * exp(a - shift), axis=axes, keepdims=True)
    sign = np.sign(total.data)
    magnitude = total * np.where(sign < 0, -1.0, 1.0)
    with np.errstate(divide="ignore"):
        out = log(magnitude) + shift
    if not return_sign:
        out = out + np.where(sign < 0, np.nan, 0.0)
    if not keepdims:
        out = reshape(out, np.squeeze(np.empty(out.shape, bool), axis=axes).shape)
        sign = np.squeeze(sign, axis=axes)
    return (out, _wrap(sign[()])) if return_sign else out


# NumPy's other names for max and min.
amax = max
amin = min

__all__ = ["amax", "amin", "cumsum", "cumprod", "ptp", "median", "average", "weighted_logsumexp"]
