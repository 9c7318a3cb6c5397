"""Rearranging arrays: moving axes, flipping, rolling, tiling, padding, splitting and joining.

Every function here is a composite of the shape primitives (``reshape``,
``transpose``, ``broadcast_to``, ``getitem``, ``concatenate``), so each is
differentiable to any order with no rule of its own. NumPy's names and
semantics; where NumPy returns several arrays (``split``, ``meshgrid``,
``atleast_2d`` of several inputs) these return a list of Tensors.
"""

from __future__ import annotations

import builtins

import numpy as np

from ..errors import InputError
from .composites import _as_tensor, _shape
from .ops import _axes, _ndim, broadcast_to, concatenate, expand_dims, getitem, reshape, transpose


def _axis(axis, ndim, name):
    (a,) = _axes(axis, builtins.max(ndim, 1), name)
    return a


def _along(axis, index):
    """An index that applies ``index`` on ``axis`` and leaves the other axes whole."""
    return (slice(None),) * axis + (index,)


def moveaxis(a, source, destination):
    """Move axes to new positions; the others keep their order.

    >>> import downhill as dh
    >>> dh.moveaxis(dh.zeros((2, 3, 4)), 0, -1).shape
    (3, 4, 2)
    """
    ndim = _ndim(a)
    source = [source] if isinstance(source, (int, np.integer)) else list(source)
    destination = [destination] if isinstance(destination, (int, np.integer)) else list(destination)
    if len(source) != len(destination):
        raise InputError(f"moveaxis: {len(source)} source axes but {len(destination)} destinations")
    source = [_axis(s, ndim, "moveaxis") for s in source]
    destination = [_axis(d, ndim, "moveaxis") for d in destination]
    if len(set(source)) != len(source) or len(set(destination)) != len(destination):
        raise InputError("moveaxis: repeated axis")
    order = [n for n in range(ndim) if n not in source]
    for dest, src in sorted(zip(destination, source)):
        order.insert(dest, src)
    return transpose(a, tuple(order))


def rollaxis(a, axis, start=0):
    """Roll ``axis`` backwards until it lies before position ``start`` (prefer ``moveaxis``).

    >>> import downhill as dh
    >>> dh.rollaxis(dh.zeros((2, 3, 4)), 2).shape
    (4, 2, 3)
    """
    ndim = _ndim(a)
    axis = _axis(axis, ndim, "rollaxis")
    if not -ndim <= start <= ndim:
        raise InputError(f"rollaxis: start {start} out of range for {ndim} dimension(s) (-{ndim}..{ndim})")
    start = start + ndim if start < 0 else start
    if axis < start:
        start -= 1
    if axis == start:
        return _as_tensor(a)
    order = [n for n in range(ndim) if n != axis]
    order.insert(start, axis)
    return transpose(a, tuple(order))


def flip(m, axis=None):
    """Reverse the order of elements along ``axis`` (all axes by default).

    >>> import downhill as dh
    >>> dh.flip(dh.tensor([1.0, 2.0, 3.0]))
    tensor([3., 2., 1.])
    """
    m = _as_tensor(m)
    axes = _axes(axis, m.ndim, "flip")
    axes = range(m.ndim) if axes is None else axes
    index = tuple(slice(None, None, -1) if i in axes else slice(None) for i in range(m.ndim))
    return getitem(m, index) if m.ndim else m


def fliplr(m):
    """Reverse the columns (axis 1); needs at least 2 dimensions.

    >>> import downhill as dh
    >>> dh.fliplr(dh.tensor([[1.0, 2.0]]))
    tensor([[2., 1.]])
    """
    if _ndim(m) < 2:
        raise InputError(f"fliplr needs at least 2 dimensions; got shape {_shape(m)}")
    return flip(m, 1)


def flipud(m):
    """Reverse the rows (axis 0); needs at least 1 dimension.

    >>> import downhill as dh
    >>> dh.flipud(dh.tensor([1.0, 2.0]))
    tensor([2., 1.])
    """
    if _ndim(m) < 1:
        raise InputError("flipud needs at least 1 dimension; got a 0-d value")
    return flip(m, 0)


def rot90(m, k=1, axes=(0, 1)):
    """Rotate by 90 degrees ``k`` times in the plane of ``axes``, from the first towards the second.

    >>> import downhill as dh
    >>> dh.rot90(dh.tensor([[1.0, 2.0], [3.0, 4.0]]))
    tensor([[2., 4.],
            [1., 3.]])
    """
    m = _as_tensor(m)
    if len(axes) != 2 or m.ndim < 2:
        raise InputError(f"rot90: needs 2 axes of a tensor with at least 2 dimensions; got axes {axes}, "
                         f"shape {m.shape}")
    a0, a1 = (_axis(ax, m.ndim, "rot90") for ax in axes)
    if a0 == a1:
        raise InputError(f"rot90: the two axes must differ; got {axes}")
    k = int(k) % 4
    if k == 0:
        return m
    if k == 2:
        return flip(flip(m, a0), a1)
    order = list(range(m.ndim))
    order[a0], order[a1] = order[a1], order[a0]
    if k == 1:
        return transpose(flip(m, a1), tuple(order))
    return flip(transpose(m, tuple(order)), a1)


def roll(a, shift, axis=None):
    """Shift elements along ``axis`` cyclically (over the flattened array by default).

    >>> import downhill as dh
    >>> dh.roll(dh.tensor([1.0, 2.0, 3.0]), 1)
    tensor([3., 1., 2.])
    """
    a = _as_tensor(a)
    if axis is None:
        return reshape(roll(reshape(a, (-1,)), shift, 0), a.shape)
    shifts = np.broadcast_to(np.asarray(shift), np.broadcast_shapes(np.shape(shift), np.shape(axis)))
    axes = np.broadcast_to(np.asarray(axis), shifts.shape)
    total = {}
    for s, ax in zip(shifts.reshape(-1), axes.reshape(-1)):
        ax = _axis(int(ax), a.ndim, "roll")
        total[ax] = total.get(ax, 0) + int(s)
    for ax, s in total.items():
        n = a.shape[ax]
        s = s % n if n else 0
        if s:
            a = concatenate([getitem(a, _along(ax, slice(n - s, None))),
                             getitem(a, _along(ax, slice(0, n - s)))], axis=ax)
    return a


def tile(A, reps):
    """Repeat the whole array ``reps`` times along each axis (NumPy's rules for unequal lengths).

    >>> import downhill as dh
    >>> dh.tile(dh.tensor([1.0, 2.0]), 2)
    tensor([1., 2., 1., 2.])
    """
    A = _as_tensor(A)
    reps = (int(reps),) if isinstance(reps, (int, np.integer)) else tuple(int(r) for r in reps)
    if any(r < 0 for r in reps):
        raise InputError(f"tile: repetitions must be >= 0; got {reps}")
    nd = builtins.max(len(reps), A.ndim)
    shape = (1,) * (nd - A.ndim) + A.shape
    reps = (1,) * (nd - len(reps)) + reps
    spread = reshape(A, tuple(v for s in shape for v in (1, s)))
    wide = broadcast_to(spread, tuple(v for r, s in zip(reps, shape) for v in (r, s)))
    return reshape(wide, tuple(r * s for r, s in zip(reps, shape)))


def repeat(a, repeats, axis=None):
    """Repeat each element ``repeats`` times along ``axis`` (over the flattened array by default).

    >>> import downhill as dh
    >>> dh.repeat(dh.tensor([1.0, 2.0]), [1, 3])
    tensor([1., 2., 2., 2.])
    """
    a = _as_tensor(a)
    if axis is None:
        a, axis = reshape(a, (-1,)), 0
    axis = _axis(axis, a.ndim, "repeat")
    if a.ndim == 0:
        a = reshape(a, (1,))
    n = a.shape[axis]
    counts = np.asarray(repeats._data if hasattr(repeats, "_data") else repeats)
    if counts.dtype.kind not in "iu" or np.any(counts < 0):
        raise InputError(f"repeat: repeats must be whole numbers >= 0; got {repeats!r}")
    if counts.ndim == 0:
        r = int(counts)
        wide = broadcast_to(expand_dims(a, axis + 1), a.shape[:axis + 1] + (r,) + a.shape[axis + 1:])
        return reshape(wide, a.shape[:axis] + (n * r,) + a.shape[axis + 1:])
    return getitem(a, _along(axis, np.repeat(np.arange(n), counts)))


_PAD_MODES = ("constant", "edge", "reflect", "symmetric", "wrap")


def pad(array, pad_width, mode="constant", constant_values=0):
    """Add values around the edges: ``constant`` (default), ``edge``, ``reflect``, ``symmetric``, ``wrap``.

    ``pad_width`` as NumPy's: an int, a ``(before, after)`` pair, or one pair per axis.

    >>> import downhill as dh
    >>> dh.pad(dh.tensor([1.0, 2.0]), 1, mode="edge")
    tensor([1., 1., 2., 2.])
    """
    a = _as_tensor(array)
    if mode not in _PAD_MODES:
        raise InputError(f"pad: mode {mode!r} is not supported; accepted: {', '.join(_PAD_MODES)}")
    widths = np.asarray(pad_width)
    if widths.dtype.kind not in "iu" or np.any(widths < 0):
        raise InputError(f"pad: pad_width must be whole numbers >= 0; got {pad_width!r}")
    try:
        widths = np.broadcast_to(widths, (a.ndim, 2))
        constants = np.broadcast_to(np.asarray(constant_values, dtype=a.dtype), (a.ndim, 2))
    except ValueError:
        raise InputError(f"pad: pad_width {pad_width!r} does not fit a tensor of shape {a.shape}: "
                         "give an int, a (before, after) pair, or one pair per axis") from None
    for axis, (before, after) in enumerate(widths):
        before, after = int(before), int(after)
        if not before and not after:
            continue
        n = a.shape[axis]
        if mode == "constant":
            parts = []
            for width, c in ((before, constants[axis, 0]), (after, constants[axis, 1])):
                block = a.shape[:axis] + (width,) + a.shape[axis + 1:]
                parts.append(np.full(block, c, dtype=a.dtype))
            a = concatenate([parts[0], a, parts[1]], axis=axis)
        else:
            if n == 0:
                raise InputError(f"pad: mode {mode!r} cannot extend an empty axis")
            index = np.pad(np.arange(n), (before, after), mode=mode)
            a = getitem(a, _along(axis, index))
    return a


def _split_bounds(n, indices_or_sections, equal, name):
    if isinstance(indices_or_sections, (int, np.integer)):
        sections = int(indices_or_sections)
        if sections <= 0:
            raise InputError(f"{name}: the number of sections must be >= 1; got {sections}")
        if equal and n % sections:
            raise InputError(f"{name}: an axis of length {n} does not split into {sections} equal parts; "
                             "use array_split for unequal parts")
        each, extra = divmod(n, sections)
        sizes = [each + 1] * extra + [each] * (sections - extra)
        return np.concatenate([[0], np.cumsum(sizes)]).tolist()
    return [0] + [int(i) for i in indices_or_sections] + [n]


def _split(ary, indices_or_sections, axis, equal, name):
    a = _as_tensor(ary)
    axis = _axis(axis, a.ndim, name)
    if a.ndim == 0:
        raise InputError(f"{name}: a 0-d value cannot be split")
    bounds = _split_bounds(a.shape[axis], indices_or_sections, equal, name)
    return [getitem(a, _along(axis, slice(start, stop))) for start, stop in zip(bounds[:-1], bounds[1:])]


def split(ary, indices_or_sections, axis=0):
    """Split into equal parts (an int) or at the given indices; a list of Tensors.

    >>> import downhill as dh
    >>> [p.tolist() for p in dh.split(dh.arange(4.0), 2)]
    [[0.0, 1.0], [2.0, 3.0]]
    """
    return _split(ary, indices_or_sections, axis, True, "split")


def array_split(ary, indices_or_sections, axis=0):
    """Like ``split``, but the parts may differ in length by one (the first ones longer).

    >>> import downhill as dh
    >>> [p.tolist() for p in dh.array_split(dh.arange(3.0), 2)]
    [[0.0, 1.0], [2.0]]
    """
    return _split(ary, indices_or_sections, axis, False, "array_split")


def hsplit(ary, indices_or_sections):
    """Split along axis 1 (axis 0 for 1-D).

    >>> import downhill as dh
    >>> [p.shape for p in dh.hsplit(dh.zeros((2, 4)), 2)]
    [(2, 2), (2, 2)]
    """
    return split(ary, indices_or_sections, 1 if _ndim(ary) > 1 else 0)


def vsplit(ary, indices_or_sections):
    """Split along axis 0 (needs at least 2 dimensions).

    >>> import downhill as dh
    >>> [p.shape for p in dh.vsplit(dh.zeros((4, 2)), 2)]
    [(2, 2), (2, 2)]
    """
    if _ndim(ary) < 2:
        raise InputError("vsplit needs at least 2 dimensions")
    return split(ary, indices_or_sections, 0)


def dsplit(ary, indices_or_sections):
    """Split along axis 2 (needs at least 3 dimensions).

    >>> import downhill as dh
    >>> [p.shape for p in dh.dsplit(dh.zeros((1, 1, 4)), 2)]
    [(1, 1, 2), (1, 1, 2)]
    """
    if _ndim(ary) < 3:
        raise InputError("dsplit needs at least 3 dimensions")
    return split(ary, indices_or_sections, 2)


def _atleast(arys, ndim):
    out = []
    for x in arys:
        x = _as_tensor(x)
        shape = x.shape
        if x.ndim < ndim:
            if ndim == 1 or x.ndim == 0:
                shape = (1,) * (ndim - x.ndim) + shape
            elif ndim == 2:
                shape = (1,) + shape
            else:  # 3-d from 1-d: (1, N, 1); from 2-d: (M, N, 1)
                shape = ((1,) + shape + (1,)) if x.ndim == 1 else shape + (1,)
            x = reshape(x, shape)
        out.append(x)
    return out[0] if len(out) == 1 else out


def atleast_1d(*arys):
    """Inputs with at least 1 dimension (a 0-d value becomes shape (1,)).

    >>> import downhill as dh
    >>> dh.atleast_1d(dh.tensor(2.0)).shape
    (1,)
    """
    return _atleast(arys, 1)


def atleast_2d(*arys):
    """Inputs with at least 2 dimensions ((N,) becomes (1, N)).

    >>> import downhill as dh
    >>> dh.atleast_2d(dh.zeros(3)).shape
    (1, 3)
    """
    return _atleast(arys, 2)


def atleast_3d(*arys):
    """Inputs with at least 3 dimensions ((N,) becomes (1, N, 1), (M, N) becomes (M, N, 1)).

    >>> import downhill as dh
    >>> dh.atleast_3d(dh.zeros((2, 3))).shape
    (2, 3, 1)
    """
    return _atleast(arys, 3)


def _list(tup, name):
    arrays = list(tup)
    if not arrays:
        raise InputError(f"{name} needs at least one array")
    return arrays


def vstack(tup):
    """Stack row-wise: 1-D inputs become rows, then join along axis 0.

    >>> import downhill as dh
    >>> dh.vstack([dh.ones(2), dh.zeros(2)]).shape
    (2, 2)
    """
    arrays = [atleast_2d(x) for x in _list(tup, "vstack")]
    return concatenate(arrays, axis=0)


def hstack(tup):
    """Stack column-wise: join along axis 1 (axis 0 for 1-D inputs).

    >>> import downhill as dh
    >>> dh.hstack([dh.ones(2), dh.zeros(1)]).shape
    (3,)
    """
    arrays = [atleast_1d(x) for x in _list(tup, "hstack")]
    return concatenate(arrays, axis=0 if arrays[0].ndim == 1 else 1)


def dstack(tup):
    """Stack depth-wise: join along axis 2 after ``atleast_3d``.

    >>> import downhill as dh
    >>> dh.dstack([dh.ones(2), dh.zeros(2)]).shape
    (1, 2, 2)
    """
    return concatenate([atleast_3d(x) for x in _list(tup, "dstack")], axis=2)


def column_stack(tup):
    """1-D inputs as columns of a matrix; 2-D inputs joined along axis 1.

    >>> import downhill as dh
    >>> dh.column_stack([dh.ones(3), dh.zeros(3)]).shape
    (3, 2)
    """
    arrays = []
    for x in _list(tup, "column_stack"):
        x = _as_tensor(x)
        arrays.append(reshape(x, (-1, 1)) if x.ndim < 2 else x)
    return concatenate(arrays, axis=1)


def append(arr, values, axis=None):
    """``values`` joined after ``arr``: flattened both by default, along ``axis`` otherwise.

    >>> import downhill as dh
    >>> dh.append(dh.tensor([1.0]), [[2.0, 3.0]])
    tensor([1., 2., 3.])
    """
    if axis is None:
        return concatenate([ravel(arr), ravel(values)], axis=0)
    return concatenate([arr, values], axis=axis)


def ravel(a):
    """All elements in one axis, in row-major order (the same as ``flatten``).

    >>> import downhill as dh
    >>> dh.ravel(dh.zeros((2, 3))).shape
    (6,)
    """
    return reshape(a, (-1,))


def meshgrid(*xi, indexing="xy", sparse=False):
    """Coordinate grids from 1-D coordinate vectors (``indexing="xy"`` swaps the first two axes).

    >>> import downhill as dh
    >>> X, Y = dh.meshgrid(dh.arange(3.0), dh.arange(2.0))
    >>> X.shape, Y.shape
    ((2, 3), (2, 3))
    """
    if indexing not in ("xy", "ij"):
        raise InputError(f"meshgrid: indexing must be 'xy' or 'ij'; got {indexing!r}")
    n = len(xi)
    vectors = [ravel(x) for x in xi]
    shapes = []
    for i, v in enumerate(vectors):
        shape = [1] * n
        shape[i] = v.shape[0]
        shapes.append(shape)
    if indexing == "xy" and n > 1:
        for shape in shapes:
            shape[0], shape[1] = shape[1], shape[0]
    grids = [reshape(v, tuple(s)) for v, s in zip(vectors, shapes)]
    if sparse:
        return grids
    full = tuple(np.broadcast_shapes(*[tuple(s) for s in shapes])) if shapes else ()
    return [broadcast_to(g, full) for g in grids]


def permute_dims(x, axes=None):
    """The Array API's name for ``transpose(x, axes)`` (all axes reversed by default, as NumPy 2's).

    >>> import downhill as dh
    >>> dh.permute_dims(dh.zeros((2, 3, 4)), (1, 0, 2)).shape
    (3, 2, 4)
    >>> dh.permute_dims(dh.zeros((2, 3, 4))).shape
    (4, 3, 2)
    """
    return transpose(x, None if axes is None else tuple(axes))


def concat(arrays, axis=0):
    """The Array API's name for ``concatenate`` (``axis=None`` flattens first).

    >>> import downhill as dh
    >>> dh.concat([dh.ones(1), dh.zeros(1)])
    tensor([1., 0.])
    """
    if axis is None:
        return concatenate([ravel(a) for a in arrays], axis=0)
    return concatenate(arrays, axis=axis)


def matrix_transpose(x):
    """Swap the last two axes (the Array API's ``matrix_transpose``; ``.mT`` in PyTorch).

    >>> import downhill as dh
    >>> dh.matrix_transpose(dh.zeros((5, 2, 3))).shape
    (5, 3, 2)
    """
    if _ndim(x) < 2:
        raise InputError(f"matrix_transpose needs at least 2 dimensions; got shape {_shape(x)}")
    order = list(range(_ndim(x)))
    order[-1], order[-2] = order[-2], order[-1]
    return transpose(x, tuple(order))


__all__ = [
    "moveaxis", "rollaxis", "flip", "fliplr", "flipud", "rot90", "roll", "tile", "repeat", "pad",
    "split", "array_split", "hsplit", "vsplit", "dsplit", "atleast_1d", "atleast_2d", "atleast_3d",
    "vstack", "hstack", "dstack", "column_stack", "append", "ravel", "meshgrid", "permute_dims",
    "concat", "matrix_transpose",
]
