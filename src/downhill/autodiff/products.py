"""Products and matrix parts: einsum, tensordot, inner, vdot, kron, cross, trace, diag, tril, triu.

``einsum`` is a primitive: the cotangent of each operand is itself an einsum
(of the output's cotangent with the other operands), so second derivatives
come for free. The rest are composites of matmul, reshape, indexing and
``where``.
"""

from __future__ import annotations

import builtins
import string

import numpy as np

from ..errors import InputError
from .composites import _as_tensor, _shape, stack
from .extend import provide, value
from .ops import _PerInput, _axes, _ndim, defop, getitem, matmul, reshape, scatter, sum, transpose, where
from .shape_ops import _axis, moveaxis, ravel
from .tensor import apply


# ------------------------------------------------------------------ einsum
def _einsum_spec(subscripts, shapes):
    """Subscripts in explicit form, with '...' spelled out in letters: (inputs, output)."""
    if not isinstance(subscripts, str):
        raise InputError("einsum: give the subscripts as a string, such as 'ij,jk->ik'")
    text = subscripts.replace(" ", "")
    if "->" in text:
        left, output = text.split("->")
    else:
        left, output = text, None
    inputs = left.split(",")
    if len(inputs) != len(shapes):
        raise InputError(f"einsum: the subscripts {subscripts!r} name {len(inputs)} operand(s); "
                         f"{len(shapes)} given")
    letters = set(text) - set(".,->")
    bad = [c for c in letters if c not in string.ascii_letters]
    if bad:
        raise InputError(f"einsum: subscripts must be letters; got {bad[0]!r} in {subscripts!r}")
    spare = [c for c in string.ascii_letters if c not in letters]
    ellipsis_ndim = 0
    for sub, shape in zip(inputs, shapes):
        if "..." in sub:
            ellipsis_ndim = builtins.max(ellipsis_ndim, len(shape) - (len(sub) - 3))
    batch = "".join(spare[:ellipsis_ndim])
    expanded = []
    for sub, shape in zip(inputs, shapes):
        if "..." in sub:
            k = len(shape) - (len(sub) - 3)
            sub = sub.replace("...", batch[ellipsis_ndim - k:] if k else "")
        if len(sub) != len(shape):
            raise InputError(f"einsum: subscripts {sub!r} have {len(sub)} letter(s) for an operand of shape "
                             f"{tuple(shape)}")
        expanded.append(sub)
    if output is None:
        counts = {}
        for sub in expanded:
            for c in sub:
                counts[c] = counts.get(c, 0) + 1
        output = batch + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in batch))
    else:
        output = output.replace("...", batch)
    return tuple(expanded), output


def _einsum_forward(*operands, subscripts, spec):
    return np.einsum(subscripts, *operands)


def _einsum_vjp(i, F, g, ans, *operands, subscripts, spec):
    inputs, output = spec
    target = inputs[i]
    unique = "".join(dict.fromkeys(target))
    others = [j for j in range(len(inputs)) if j != i]
    available = set(output).union(*[inputs[j] for j in others]) if others else set(output)
    keep = "".join(c for c in unique if c in available)
    expression = ",".join([output] + [inputs[j] for j in others]) + "->" + keep
    part = F.einsum(expression, g, *[operands[j] for j in others])
    sizes = dict(zip(target, np.shape(value(operands[i]))))
    if len(keep) < len(unique):
        # Letters summed away inside this operand alone: every position got the same cotangent.
        part = F.reshape(part, tuple(sizes[c] if c in keep else 1 for c in unique))
        part = F.broadcast_to(part, tuple(sizes[c] for c in unique))
    if len(unique) < len(target):
        # A repeated letter (a diagonal, 'ii->i'): the cotangent sits on that diagonal, 0 elsewhere.
        grid = np.indices(tuple(sizes[c] for c in target), sparse=True)
        first = {c: grid[target.index(c)] for c in unique}
        part = part[tuple(first[c] for c in unique)]
        on_diagonal = np.ones(tuple(sizes[c] for c in target), dtype=bool)
        for position, c in enumerate(target):
            on_diagonal = on_diagonal & (grid[position] == first[c])
        part = F.where(on_diagonal, part, 0.0)
    return part


EINSUM = defop("einsum", _einsum_forward)
EINSUM.vjps = _PerInput(_einsum_vjp)


def einsum(subscripts, *operands):
    """Einstein summation (NumPy's ``einsum``): products of operands summed over the repeated letters.

    Explicit (``'ij,jk->ik'``) and implicit (``'ij,jk'``) forms, ``...`` for
    leading axes, repeated letters in one operand for diagonals. Differentiable
    in every operand, to any order.

    >>> import downhill as dh
    >>> dh.einsum("ij,j->i", dh.tensor([[1.0, 2.0], [3.0, 4.0]]), dh.tensor([1.0, 1.0]))
    tensor([3., 7.])
    """
    if not operands:
        raise InputError("einsum needs at least one operand after the subscripts")
    spec = _einsum_spec(subscripts, [_shape(x) for x in operands])
    return apply(EINSUM, operands, {"subscripts": subscripts, "spec": spec})


def _einsum_numpy(subscripts, *operands):
    return np.einsum(subscripts, *operands)


provide("einsum", _einsum_numpy, einsum)


# ------------------------------------------------------------------ contractions
def tensordot(a, b, axes=2):
    """Sum of products over the last ``axes`` axes of ``a`` and the first of ``b`` (or the pairs given).

    >>> import downhill as dh
    >>> dh.tensordot(dh.ones((2, 3)), dh.ones((3, 4)), axes=1).shape
    (2, 4)
    """
    a, b = _as_tensor(a), _as_tensor(b)
    if isinstance(axes, (int, np.integer)):
        n = int(axes)
        if n < 0 or n > builtins.min(a.ndim, b.ndim):
            raise InputError(f"tensordot: axes={n} does not fit shapes {a.shape} and {b.shape}")
        axes_a, axes_b = list(range(a.ndim - n, a.ndim)), list(range(n))
    else:
        axes_a, axes_b = axes
        axes_a = [axes_a] if isinstance(axes_a, (int, np.integer)) else list(axes_a)
        axes_b = [axes_b] if isinstance(axes_b, (int, np.integer)) else list(axes_b)
        if len(axes_a) != len(axes_b):
            raise InputError(f"tensordot: {len(axes_a)} axes of a but {len(axes_b)} of b")
        axes_a = [_axis(x, a.ndim, "tensordot") for x in axes_a]
        axes_b = [_axis(x, b.ndim, "tensordot") for x in axes_b]
    for x, y in zip(axes_a, axes_b):
        if a.shape[x] != b.shape[y]:
            raise InputError(f"tensordot: axis {x} of a (length {a.shape[x]}) and axis {y} of b "
                             f"(length {b.shape[y]}) differ; shapes {a.shape} and {b.shape}")
    free_a = [i for i in range(a.ndim) if i not in axes_a]
    free_b = [i for i in range(b.ndim) if i not in axes_b]
    inner = int(np.prod([a.shape[i] for i in axes_a]))
    left = reshape(transpose(a, tuple(free_a + axes_a)) if a.ndim else a, (-1, inner))
    right = reshape(transpose(b, tuple(axes_b + free_b)) if b.ndim else b, (inner, -1))
    return reshape(matmul(left, right), tuple(a.shape[i] for i in free_a) + tuple(b.shape[i] for i in free_b))


def inner(a, b):
    """Inner product over the last axes (a product for 0-d inputs), as NumPy's ``inner``.

    >>> import downhill as dh
    >>> dh.inner(dh.tensor([1.0, 2.0]), dh.tensor([3.0, 4.0]))
    tensor(11.)
    """
    if _ndim(a) == 0 or _ndim(b) == 0:
        return _as_tensor(a) * b
    return tensordot(a, b, axes=([-1], [-1]))


def vdot(a, b):
    """Dot product of the two inputs flattened.

    >>> import downhill as dh
    >>> dh.vdot(dh.tensor([[1.0, 2.0]]), dh.tensor([3.0, 4.0]))
    tensor(11.)
    """
    a, b = ravel(a), ravel(b)
    if a.shape != b.shape:
        raise InputError(f"vdot: the inputs have {a.shape[0]} and {b.shape[0]} elements; they must match")
    return sum(a * b)


def vecdot(x1, x2, axis=-1):
    """Dot products of vectors along ``axis``, with broadcasting (the Array API's ``vecdot``).

    >>> import downhill as dh
    >>> dh.vecdot(dh.ones((2, 3)), dh.tensor([1.0, 2.0, 3.0]))
    tensor([6., 6.])
    """
    x1, x2 = _as_tensor(x1), _as_tensor(x2)
    if x1.ndim == 0 or x2.ndim == 0:
        raise InputError(f"vecdot needs vectors (at least 1 dimension); got shapes {x1.shape} and {x2.shape}")
    # As NumPy's: ``axis`` names an axis of each input (counted in its own shape); the
    # other axes broadcast.
    (a1,), (a2,) = _axes(axis, x1.ndim, "vecdot"), _axes(axis, x2.ndim, "vecdot")
    if x1.shape[a1] != x2.shape[a2]:
        raise InputError(f"vecdot: the vectors along axis {axis} have {x1.shape[a1]} and {x2.shape[a2]} "
                         "components; they must match")
    return sum(moveaxis(x1, a1, -1) * moveaxis(x2, a2, -1), axis=-1)


def kron(a, b):
    """The Kronecker product: each element of ``a`` times the whole of ``b``, in blocks.

    >>> import downhill as dh
    >>> dh.kron(dh.tensor([1.0, 10.0]), dh.tensor([1.0, 2.0]))
    tensor([ 1.,  2., 10., 20.])
    """
    a, b = _as_tensor(a), _as_tensor(b)
    nd = builtins.max(a.ndim, b.ndim)
    sa = (1,) * (nd - a.ndim) + a.shape
    sb = (1,) * (nd - b.ndim) + b.shape
    left = reshape(a, tuple(v for s in sa for v in (s, 1)))
    right = reshape(b, tuple(v for s in sb for v in (1, s)))
    return reshape(left * right, tuple(x * y for x, y in zip(sa, sb)))


def cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """Cross product of 3-vectors (2-vectors count as having z = 0; two 2-vectors give the z part).

    >>> import downhill as dh
    >>> dh.cross(dh.tensor([1.0, 0.0, 0.0]), dh.tensor([0.0, 1.0, 0.0]))
    tensor([0., 0., 1.])
    """
    if axis is not None:
        axisa = axisb = axisc = axis
    if _ndim(a) == 0 or _ndim(b) == 0:
        raise InputError(f"cross needs vectors (at least 1 dimension); got shapes {_shape(a)} and {_shape(b)}")
    a = moveaxis(a, axisa, -1)
    b = moveaxis(b, axisb, -1)
    na, nb = a.shape[-1], b.shape[-1]
    if na not in (2, 3) or nb not in (2, 3):
        raise InputError(f"cross: vectors must have 2 or 3 components; got {na} and {nb}")
    a0, a1 = a[..., 0], a[..., 1]
    b0, b1 = b[..., 0], b[..., 1]
    z = a0 * b1 - a1 * b0
    if na == 2 and nb == 2:
        return z
    a2 = a[..., 2] if na == 3 else None
    b2 = b[..., 2] if nb == 3 else None
    x = (a1 * b2 if b2 is not None else 0) - (a2 * b1 if a2 is not None else 0)
    y = (a2 * b0 if a2 is not None else 0) - (a0 * b2 if b2 is not None else 0)
    shape = np.broadcast_shapes(a0.shape, b0.shape)
    out = stack([_as_tensor(x) * np.ones(shape), _as_tensor(y) * np.ones(shape), z], axis=-1)
    return moveaxis(out, -1, axisc)


# ------------------------------------------------------------------ matrix parts
def diagonal(a, offset=0, axis1=0, axis2=1):
    """The diagonal over two axes, as a last axis (``offset`` > 0 above the main diagonal).

    >>> import downhill as dh
    >>> dh.diagonal(dh.tensor([[1.0, 2.0], [3.0, 4.0]]))
    tensor([1., 4.])
    """
    a = _as_tensor(a)
    if a.ndim < 2:
        raise InputError(f"diagonal needs at least 2 dimensions; got shape {a.shape}")
    i, j = _axis(axis1, a.ndim, "diagonal"), _axis(axis2, a.ndim, "diagonal")
    if i == j:
        raise InputError("diagonal: axis1 and axis2 must differ")
    m = moveaxis(a, (i, j), (-2, -1))
    rows, cols = m.shape[-2], m.shape[-1]
    n = builtins.max(0, builtins.min(rows + builtins.min(offset, 0), cols - builtins.max(offset, 0)))
    k = np.arange(n)
    return getitem(m, (Ellipsis, k + builtins.max(-offset, 0), k + builtins.max(offset, 0)))


def trace(a, offset=0, axis1=0, axis2=1):
    """Sum along a diagonal.

    >>> import downhill as dh
    >>> dh.trace(dh.tensor([[1.0, 2.0], [3.0, 4.0]]))
    tensor(5.)
    """
    return sum(diagonal(a, offset, axis1, axis2), axis=-1)


def diag(v, k=0):
    """A 1-D input: the square matrix with it on diagonal ``k``. A 2-D input: its diagonal ``k``.

    >>> import downhill as dh
    >>> dh.diag(dh.tensor([1.0, 2.0]))
    tensor([[1., 0.],
            [0., 2.]])
    """
    v = _as_tensor(v)
    if v.ndim == 2:
        return diagonal(v, k)
    if v.ndim != 1:
        raise InputError(f"diag needs a 1-D or 2-D input; got shape {v.shape}")
    n = v.shape[0] + builtins.abs(k)
    index = np.arange(v.shape[0])
    return scatter(v, (index + builtins.max(-k, 0), index + builtins.max(k, 0)), (n, n))


def _triangle(m, keep_lower, k, name):
    m = _as_tensor(m)
    if m.ndim < 2:
        raise InputError(f"{name} needs at least 2 dimensions; got shape {m.shape}")
    rows, cols = m.shape[-2:]
    lower = np.tri(rows, cols, k if keep_lower else k - 1, dtype=bool)
    return where(lower if keep_lower else ~lower, m, 0.0)


def tril(m, k=0):
    """The lower triangle (on and below diagonal ``k``) of the last two axes; zeros above.

    >>> import downhill as dh
    >>> dh.tril(dh.ones((2, 2)))
    tensor([[1., 0.],
            [1., 1.]])
    """
    return _triangle(m, True, k, "tril")


def triu(m, k=0):
    """The upper triangle (on and above diagonal ``k``) of the last two axes; zeros below.

    >>> import downhill as dh
    >>> dh.triu(dh.ones((2, 2)))
    tensor([[1., 1.],
            [0., 1.]])
    """
    return _triangle(m, False, k, "triu")


provide("tril", lambda m, k=0: np.tril(m, k), tril)

__all__ = [
    "einsum", "tensordot", "inner", "vdot", "vecdot", "kron", "cross", "diagonal", "trace", "diag",
    "tril", "triu",
]
