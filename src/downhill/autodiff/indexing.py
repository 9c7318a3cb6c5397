"""Picking elements: take, sort, partition, select, differences, interpolation.

The positions are decided on the values (argsort, searchsorted) and carry no
derivative; the chosen values flow through ``getitem``, so the gradient of
``sort(x)`` goes back to where each element came from. Functions that return
positions or counts (argsort, argmax, argmin, count_nonzero) return integer
Tensors outside the graph, as in PyTorch.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from .composites import _as_tensor, _shape
from .ops import _axes, _ndim, concatenate, getitem, where
from .shape_ops import _along, _axis, ravel
from .tensor import Tensor, _wrap


def _data(a):
    return a.data if isinstance(a, Tensor) else np.asarray(a)


def _ints(result):
    return _wrap(np.asarray(result)[()])


def take(a, indices, axis=None):
    """Elements at ``indices`` along ``axis`` (of the flattened array by default).

    >>> import downhill as dh
    >>> dh.take(dh.tensor([[1.0, 2.0], [3.0, 4.0]]), [3, 0])
    tensor([4., 1.])
    """
    index = _data(indices)
    if index.dtype.kind not in "iu":
        raise InputError(f"take: indices must be integers; got dtype {index.dtype}")
    if axis is None:
        return getitem(ravel(a), index)
    return getitem(a, _along(_axis(axis, _ndim(a), "take"), index))


def take_along_axis(arr, indices, axis):
    """Elements at ``indices`` along ``axis``, matched with the other axes (NumPy's rule).

    >>> import downhill as dh
    >>> x = dh.tensor([[3.0, 1.0], [2.0, 4.0]])
    >>> dh.take_along_axis(x, dh.argsort(x, axis=1), axis=1)
    tensor([[1., 3.],
            [2., 4.]])
    """
    index = _data(indices)
    if index.dtype.kind not in "iu":
        raise InputError(f"take_along_axis: indices must be integers; got dtype {index.dtype}")
    if axis is None:
        arr, axis = ravel(arr), 0
    shape = _shape(arr)
    if index.ndim != len(shape):
        raise InputError(f"take_along_axis: indices have {index.ndim} dimension(s), the array {len(shape)}; "
                         "they must match")
    axis = _axis(axis, len(shape), "take_along_axis")
    parts = []
    for d, n in enumerate(shape):
        if d == axis:
            parts.append(index)
        else:
            grid = [1] * len(shape)
            grid[d] = n
            parts.append(np.arange(n).reshape(grid))
    return getitem(arr, tuple(parts))


def argsort(a, axis=-1, kind=None):
    """Positions that would sort ``a`` along ``axis``; an integer Tensor, no gradient.

    >>> import downhill as dh
    >>> dh.argsort(dh.tensor([3.0, 1.0, 2.0]))
    tensor([1, 2, 0])
    """
    data = _data(a)
    if axis is None:
        data, axis = data.reshape(-1), 0
    return _ints(np.argsort(data, axis=axis, kind=kind))


def sort(a, axis=-1, kind=None):
    """Values sorted along ``axis`` (the flattened array for ``axis=None``).

    The gradient goes back to each value's original position; among equal
    values, to the one the sort placed there.

    >>> import downhill as dh
    >>> dh.sort(dh.tensor([3.0, 1.0, 2.0]))
    tensor([1., 2., 3.])
    """
    a = _as_tensor(a)
    if axis is None:
        a, axis = ravel(a), 0
    if a.ndim == 0:
        return a
    return take_along_axis(a, np.argsort(a.data, axis=axis, kind=kind), axis)


def partition(a, kth, axis=-1):
    """Rearranged so that element ``kth`` is where sorting would put it, smaller ones before it
    and larger ones after (in no set order).

    >>> import downhill as dh
    >>> dh.partition(dh.tensor([3.0, 4.0, 1.0, 2.0]), 1)[1]
    tensor(2.)
    """
    a = _as_tensor(a)
    if axis is None:
        a, axis = ravel(a), 0
    return take_along_axis(a, np.argpartition(a.data, kth, axis=axis), axis)


def argmax(a, axis=None, keepdims=False):
    """Position of the largest value (of the flattened array by default); the first on ties. No gradient.

    >>> import downhill as dh
    >>> dh.argmax(dh.tensor([1.0, 5.0, 5.0]))
    tensor(1)
    """
    return _ints(np.argmax(_data(a), axis=axis, keepdims=keepdims))


def argmin(a, axis=None, keepdims=False):
    """Position of the smallest value (of the flattened array by default); the first on ties. No gradient.

    >>> import downhill as dh
    >>> dh.argmin(dh.tensor([[4.0, 1.0], [0.0, 2.0]]), axis=1)
    tensor([1, 0])
    """
    return _ints(np.argmin(_data(a), axis=axis, keepdims=keepdims))


def count_nonzero(a, axis=None, keepdims=False):
    """How many elements are not zero, over ``axis``; an integer Tensor, no gradient.

    >>> import downhill as dh
    >>> dh.count_nonzero(dh.tensor([0.0, 2.0, -1.0]))
    tensor(2)
    """
    data = _data(a)
    axes = _axes(axis, data.ndim, "count_nonzero")
    return _ints(np.count_nonzero(data, axis=axes, keepdims=keepdims))


def select(condlist, choicelist, default=0):
    """Per element, the value from the first choice whose condition holds, else ``default``.

    Differentiable in the choices and the default; the conditions are constants.

    >>> import downhill as dh
    >>> x = dh.tensor([-2.0, 0.5, 3.0])
    >>> dh.select([x < 0, x > 1], [-x, x * 10], default=x)
    tensor([ 2. ,  0.5, 30. ])
    """
    condlist, choicelist = list(condlist), list(choicelist)
    if len(condlist) != len(choicelist):
        raise InputError(f"select: {len(condlist)} conditions but {len(choicelist)} choices; give one each")
    if not condlist:
        raise InputError("select needs at least one condition")
    result = default
    for cond, choice in reversed(list(zip(condlist, choicelist))):
        # A boolean Tensor goes to where() as it is: while vmap traces, a mask
        # computed from the example is recorded there and follows each example.
        if not isinstance(cond, Tensor):
            cond = np.asarray(cond)
        if cond.dtype != bool:
            raise InputError(f"select: conditions must be boolean; got dtype {cond.dtype}")
        result = where(cond, choice, result)
    return _as_tensor(result)


def diff(a, n=1, axis=-1, prepend=None, append=None):
    """The ``n``-th difference along ``axis``: ``a[1:] - a[:-1]``, ``n`` times.

    >>> import downhill as dh
    >>> dh.diff(dh.tensor([1.0, 4.0, 9.0, 16.0]))
    tensor([3., 5., 7.])
    """
    a = _as_tensor(a)
    if a.ndim == 0:
        raise InputError("diff needs at least 1 dimension; got a 0-d value")
    if n < 0:
        raise InputError(f"diff: order n must be >= 0; got {n}")
    axis = _axis(axis, a.ndim, "diff")
    parts = []
    for extra in (prepend, append):
        if extra is None:
            parts.append(None)
            continue
        extra = _as_tensor(extra)
        if extra.ndim == 0:
            shape = a.shape[:axis] + (1,) + a.shape[axis + 1:]
            extra = extra * np.ones(shape, dtype=a.dtype)
        parts.append(extra)
    if parts[0] is not None or parts[1] is not None:
        a = concatenate([p for p in (parts[0], a, parts[1]) if p is not None], axis=axis)
    for _ in range(n):
        a = getitem(a, _along(axis, slice(1, None))) - getitem(a, _along(axis, slice(None, -1)))
    return a


def _coefficients(values, axis, ndim):
    """Constants laid along ``axis`` so that they broadcast against the samples."""
    shape = [1] * ndim
    shape[axis] = -1
    return np.asarray(values, dtype=np.float64).reshape(shape)


def gradient(f, *varargs, axis=None, edge_order=1):
    """Slopes of sampled values by central differences inside and one-sided ones at the ends.

    NumPy's ``gradient``: ``varargs`` gives, per axis, the spacing (a number;
    1 by default) or the sample coordinates (a 1-D array as long as the
    axis, uneven spacing allowed); ``edge_order`` 1 or 2. One axis gives a
    Tensor, several a list. Differentiable in the values; spacings and
    coordinates are constants.

    >>> import downhill as dh
    >>> dh.gradient(dh.tensor([1.0, 4.0, 9.0, 16.0]))
    tensor([3., 4., 6., 7.])
    >>> dh.gradient(dh.tensor([0.0, 1.0, 4.0]), [0.0, 1.0, 2.0])
    tensor([1., 2., 3.])
    """
    f = _as_tensor(f)
    axes = _axes(axis, f.ndim, "gradient")
    axes = tuple(range(f.ndim)) if axes is None else axes
    if len(varargs) == 0:
        spacings = [1.0] * len(axes)
    elif len(varargs) == 1:
        spacings = list(varargs) * len(axes)
    elif len(varargs) == len(axes):
        spacings = list(varargs)
    else:
        raise InputError(f"gradient: give one spacing, or one per axis ({len(axes)}); got {len(varargs)}")
    if edge_order not in (1, 2):
        raise InputError(f"gradient: edge_order must be 1 or 2; got {edge_order}")
    out = []
    for ax, spacing in zip(axes, spacings):
        n = f.shape[ax]
        if n < edge_order + 1:
            raise InputError(f"gradient: axis {ax} has {n} sample(s); at least {edge_order + 1} are needed")

        def part(start, stop=None, ax=ax):
            return getitem(f, _along(ax, slice(start, stop)))

        spacing = np.asarray(_data(spacing), dtype=np.float64)
        if spacing.ndim == 0:
            h = float(spacing)
            inner = (part(2) - part(None, -2)) / (2 * h)
            if edge_order == 1:
                first = (part(1, 2) - part(0, 1)) / h
                last = (part(n - 1, n) - part(n - 2, n - 1)) / h
            else:
                first = (-1.5 * part(0, 1) + 2 * part(1, 2) - 0.5 * part(2, 3)) / h
                last = (0.5 * part(n - 3, n - 2) - 2 * part(n - 2, n - 1) + 1.5 * part(n - 1, n)) / h
        elif spacing.ndim == 1 and spacing.size == n:
            steps = np.diff(spacing)
            if np.any(steps == 0):
                raise InputError("gradient: the coordinates must be distinct")
            # Second-order accurate weights for uneven steps (NumPy's formulas).
            d1, d2 = steps[:-1], steps[1:]
            weights = (-d2 / (d1 * (d1 + d2)), (d2 - d1) / (d1 * d2), d1 / (d2 * (d1 + d2)))
            a, b, c = (_coefficients(w, ax, f.ndim) for w in weights)
            inner = a * part(None, -2) + b * part(1, -1) + c * part(2)
            if edge_order == 1:
                first = (part(1, 2) - part(0, 1)) / steps[0]
                last = (part(n - 1, n) - part(n - 2, n - 1)) / steps[-1]
            else:
                d1, d2 = steps[0], steps[1]
                first = (-(2 * d1 + d2) / (d1 * (d1 + d2)) * part(0, 1) + (d1 + d2) / (d1 * d2) * part(1, 2)
                         - d1 / (d2 * (d1 + d2)) * part(2, 3))
                d1, d2 = steps[-2], steps[-1]
                last = (d2 / (d1 * (d1 + d2)) * part(n - 3, n - 2) - (d2 + d1) / (d1 * d2) * part(n - 2, n - 1)
                        + (2 * d2 + d1) / (d2 * (d1 + d2)) * part(n - 1, n))
        else:
            raise InputError(f"gradient: a spacing must be a number or a 1-D array of the {n} coordinates "
                             f"along axis {ax}; got shape {spacing.shape}")
        out.append(concatenate([first, inner, last], axis=ax))
    return out[0] if len(out) == 1 else out


def interp(x, xp, fp, left=None, right=None):
    """Piecewise-linear interpolation of the points (xp, fp) at ``x`` (NumPy's ``interp``).

    ``xp`` must increase and is a constant; the result is differentiable in
    ``x`` (the slope of the piece ``x`` lies in; at a knot, the piece to its
    right) and in ``fp``. Outside [xp[0], xp[-1]] the value is ``left`` /
    ``right`` (fp's end values by default) and its slope in x is 0.

    >>> import downhill as dh
    >>> dh.interp(dh.tensor([0.5, 2.5]), [0.0, 1.0, 2.0], dh.tensor([0.0, 10.0, 20.0]))
    tensor([ 5., 20.])
    """
    x = _as_tensor(x)
    knots = np.asarray(_data(xp), dtype=np.float64)
    fp = _as_tensor(fp)
    if knots.ndim != 1 or fp.shape != knots.shape or knots.size < 1:
        raise InputError(f"interp: xp and fp must be 1-D and of equal length; got shapes {knots.shape} "
                         f"and {fp.shape}")
    if knots.size == 1:
        return where(np.ones(x.shape, bool), fp[0], x * 0)
    if np.any(np.diff(knots) <= 0):
        raise InputError("interp: xp must be strictly increasing")
    xd = x.data
    i = np.clip(np.searchsorted(knots, xd, side="right") - 1, 0, knots.size - 2)
    x0, x1 = knots[i], knots[i + 1]
    f0, f1 = getitem(fp, i), getitem(fp, i + 1)
    out = (f1 - f0) / (x1 - x0) * (x - x0) + f0
    out = where(xd < knots[0], fp[0] if left is None else left, out)
    out = where(xd > knots[-1], fp[-1] if right is None else right, out)
    return where(xd == knots[-1], fp[-1], out)


__all__ = [
    "take", "take_along_axis", "argsort", "sort", "partition", "argmax", "argmin", "count_nonzero",
    "select", "diff", "gradient", "interp",
]
