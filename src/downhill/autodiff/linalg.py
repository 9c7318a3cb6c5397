"""``dh.linalg``: inverses, determinants, solves and the decompositions, differentiable.

Each decomposition is one primitive whose rule is the textbook matrix
formula, written with downhill's own operations so that it can be
differentiated again. A primitive has one output, so the decompositions
with several (eigh, svd, qr) return their parts packed side by side in one
flat array, which the public function unpacks by indexing; the rule unpacks
the cotangent the same way.

Conventions (PyTorch's and JAX's): ``eigh`` and ``cholesky`` assume a
symmetric input and read its lower triangle, and their gradients are those
of a symmetric matrix; eigenvector and singular-vector signs are arbitrary,
so only functions that do not depend on them have well-defined derivatives;
repeated eigenvalues or singular values make those derivatives infinite.
"""

from __future__ import annotations

import builtins
import math
from typing import NamedTuple

import numpy as np

from ..errors import InputError
from .composites import _as_tensor, max as _max, min as _min
from . import products  # noqa: F401  (gives the rules F.tril)
from .extend import diag_embed, eye_like, mT, provide, value
from .shape_ops import moveaxis
from .ops import DH, _axes, abs as _abs, concatenate, defop, matmul, norm as _norm2, reshape, sum
from .tensor import _apply1, apply, _wrap


def _square(a, name):
    shape = np.shape(value(a))
    if len(shape) < 2 or shape[-1] != shape[-2]:
        raise InputError(f"linalg.{name} needs square matrices (shape (..., n, n)); got shape {shape}")


def _matrix(a, name):
    shape = np.shape(value(a))
    if len(shape) < 2:
        raise InputError(f"linalg.{name} needs matrices (at least 2 dimensions); got shape {shape}")


# ------------------------------------------------------------------ packing several outputs
def _pack(*parts):
    """Matrices/vectors of a stack, flattened and joined along one last axis."""
    batch = parts[0].shape[:-2] if parts[0].ndim >= 2 else parts[0].shape[:-1]
    return np.concatenate([p.reshape(batch + (-1,)) for p in parts], axis=-1)


def _unpack(F, packed, shapes):
    """The inverse of :func:`_pack`: one part per ``shapes`` entry (each without the batch axes)."""
    out, start = [], 0
    for shape in shapes:
        size = math.prod(shape)
        part = packed[..., start:start + size]
        out.append(F.reshape(part, np.shape(value(packed))[:-1] + shape))
        start += size
    return out


def _off_diagonal_inverse(F, differences):
    """1 / differences off the diagonal, 0 on it (the diagonal is where a value meets itself)."""
    n = np.shape(value(differences))[-1]
    on = np.eye(n, dtype=bool)
    return F.where(on, 0.0, 1.0 / F.where(on, 1.0, differences))


# ------------------------------------------------------------------ inv, det, slogdet, solve, pinv
def _inv_vjp(F, g, ans, a):
    # d(A^-1) = -A^-1 dA A^-1, so the cotangent is -A^-T g A^-T.
    t = mT(F, ans)
    return -F.matmul(F.matmul(t, g), t)


def _det_vjp(F, g, ans, a):
    # d det(A) = det(A) tr(A^-1 dA): the cotangent is g det(A) A^-T (A must be invertible).
    scale = F.expand_dims(F.expand_dims(g * ans, -1), -1)
    return scale * mT(F, F.inv(a))


def _logabsdet_vjp(F, g, ans, a):
    return F.expand_dims(F.expand_dims(g, -1), -1) * mT(F, F.inv(a))


def _solve_vjp_a(F, g, ans, a, b):
    # A X = B: dX = A^-1 (dB - dA X), so gB = A^-T g and gA = -gB X^T.
    gb = F.solve(mT(F, a), g)
    return -F.matmul(gb, mT(F, ans))


def _solve_vjp_b(F, g, ans, a, b):
    return F.solve(mT(F, a), g)


def _pinv_vjp(F, g, ans, a):
    # Golub and Pereyra's derivative of the pseudo-inverse (valid while the rank stays the same):
    # dA+ = -A+ dA A+ + A+ A+^T dA^T (I - A A+) + (I - A+ A) dA^T A+^T A+.
    p, pt = ans, mT(F, ans)
    m, n = np.shape(value(a))[-2:]
    left = eye_like(m) - F.matmul(a, p)      # I - A A+, m x m
    right = eye_like(n) - F.matmul(p, a)     # I - A+ A, n x n
    gt = mT(F, g)
    return (-F.matmul(F.matmul(pt, g), pt)
            + F.matmul(F.matmul(left, gt), F.matmul(p, pt))
            + F.matmul(F.matmul(pt, p), F.matmul(gt, right)))


INV = defop("inv", np.linalg.inv, _inv_vjp)
DET = defop("det", np.linalg.det, _det_vjp)
LOGABSDET = defop("logabsdet", lambda a: np.linalg.slogdet(a)[1], _logabsdet_vjp)
SOLVE = defop("solve", np.linalg.solve, _solve_vjp_a, _solve_vjp_b)
PINV = defop("pinv", np.linalg.pinv, _pinv_vjp)


def inv(a):
    """The inverse of a square matrix (or of each in a stack).

    >>> import downhill as dh
    >>> dh.linalg.inv(dh.tensor([[2.0, 0.0], [0.0, 4.0]]))
    tensor([[0.5 , 0.  ],
            [0.  , 0.25]])
    """
    _square(a, "inv")
    return _apply1(INV, a)


def det(a):
    """The determinant; its gradient det(A) A^-T needs an invertible matrix.

    >>> import downhill as dh
    >>> round(dh.linalg.det(dh.tensor([[1.0, 2.0], [3.0, 4.0]])).item(), 12)
    -2.0
    """
    _square(a, "det")
    return _apply1(DET, a)


class SlogdetResult(NamedTuple):
    """The sign of a determinant (a constant) and the log of its absolute value (differentiable)."""

    sign: object
    logabsdet: object


def slogdet(a):
    """(sign, log|det|) of a square matrix: the determinant without overflow.

    The sign is a constant Tensor; ``logabsdet`` has the gradient A^-T.

    >>> import downhill as dh
    >>> sign, logabsdet = dh.linalg.slogdet(dh.tensor([[0.0, 2.0], [3.0, 0.0]]))
    >>> sign.item(), round(logabsdet.item(), 6)
    (-1.0, 1.791759)
    """
    _square(a, "slogdet")
    data = value(_as_tensor(a))
    return SlogdetResult(_wrap(np.asarray(np.linalg.slogdet(data)[0])[()]), _apply1(LOGABSDET, a))


def solve(a, b):
    """The solution x of ``a @ x = b``; ``b`` is a vector if 1-D, else a (stack of) matrices (NumPy 2).

    >>> import downhill as dh
    >>> dh.linalg.solve(dh.tensor([[2.0, 0.0], [0.0, 4.0]]), dh.tensor([2.0, 2.0]))
    tensor([1. , 0.5])
    """
    _square(a, "solve")
    b = _as_tensor(b)
    if b.ndim == 1:
        return apply(SOLVE, (a, reshape(b, (-1, 1))))[..., 0]
    return apply(SOLVE, (a, b))


def pinv(a):
    """The Moore-Penrose pseudo-inverse. Its gradient holds where the rank does not change
    (full-rank matrices, say): at a rank drop the pseudo-inverse jumps.

    >>> import downhill as dh
    >>> dh.linalg.pinv(dh.tensor([[1.0], [1.0]]))
    tensor([[0.5, 0.5]])
    """
    _matrix(a, "pinv")
    return _apply1(PINV, a)


# ------------------------------------------------------------------ cholesky
def _cholesky_vjp(F, g, ans, a):
    # Murray (2016): Phi(L^T gL), Phi = lower triangle with half the diagonal;
    # gA = L^-T Phi L^-1, then made symmetric (the input is taken as symmetric).
    lower = ans
    n = np.shape(value(lower))[-1]
    phi = F.tril(F.matmul(mT(F, lower), g)) * (1 - 0.5 * eye_like(n))
    left = F.solve(mT(F, lower), phi)                 # L^-T Phi
    whole = mT(F, F.solve(mT(F, lower), mT(F, left)))  # (L^-T Phi) L^-1
    return 0.5 * (whole + mT(F, whole))


CHOLESKY = defop("cholesky", np.linalg.cholesky, _cholesky_vjp)


def cholesky(a):
    """The lower-triangular L with ``L @ L.T == a``, for a symmetric positive-definite ``a``.

    >>> import downhill as dh
    >>> dh.linalg.cholesky(dh.tensor([[4.0, 2.0], [2.0, 2.0]]))
    tensor([[2., 0.],
            [1., 1.]])
    """
    _square(a, "cholesky")
    return _apply1(CHOLESKY, a)


# ------------------------------------------------------------------ eigh
def _eigh_forward(a):
    w, v = np.linalg.eigh(a)
    return _pack(w[..., None, :], v)


def _eigh_vjp(F, g, ans, a):
    n = np.shape(value(a))[-1]
    w, v = _unpack(F, ans, [(n,), (n, n)])
    gw, gv = _unpack(F, g, [(n,), (n, n)])
    # gA = V (diag(gw) + F o (V^T gV)) V^T, F_ij = 1 / (w_j - w_i) off the diagonal.
    gaps = F.expand_dims(w, -2) - F.expand_dims(w, -1)
    middle = diag_embed(F, gw) + _off_diagonal_inverse(F, gaps) * F.matmul(mT(F, v), gv)
    return F.matmul(F.matmul(v, middle), mT(F, v))


EIGH = defop("eigh", _eigh_forward, _eigh_vjp)


class EighResult(NamedTuple):
    """Eigenvalues (ascending) and eigenvectors (the columns) of a symmetric matrix."""

    eigenvalues: object
    eigenvectors: object


def eigh(a):
    """Eigenvalues in ascending order and unit eigenvectors (columns) of a symmetric matrix.

    Reads the lower triangle. Derivatives need distinct eigenvalues, and an
    eigenvector's sign is arbitrary: differentiate functions that do not
    depend on it (the eigenvalues, ``v * v``, ``v @ diag(w) @ v.T``).

    >>> import downhill as dh
    >>> w, v = dh.linalg.eigh(dh.tensor([[2.0, 1.0], [1.0, 2.0]]))
    >>> w
    tensor([1., 3.])
    """
    _square(a, "eigh")
    n = np.shape(value(a))[-1]
    w, v = _unpack(DH, _apply1(EIGH, a), [(n,), (n, n)])
    return EighResult(w, v)


def eigvalsh(a):
    """The eigenvalues of a symmetric matrix, ascending (differentiable where distinct).

    >>> import downhill as dh
    >>> dh.linalg.eigvalsh(dh.tensor([[2.0, 0.0], [0.0, 1.0]]))
    tensor([1., 2.])
    """
    return eigh(a)[0]


# ------------------------------------------------------------------ svd
def _svd_forward(a, full_matrices=False):
    u, s, vh = np.linalg.svd(a, full_matrices=full_matrices)
    return _pack(u, s[..., None, :], vh)


def _svd_shapes(shape, full_matrices):
    m, n = shape[-2:]
    k = builtins.min(m, n)
    if full_matrices:
        return [(m, m), (k,), (n, n)]
    return [(m, k), (k,), (k, n)]


def _svd_vjp(F, g, ans, a, full_matrices=False):
    m, n = np.shape(value(a))[-2:]
    k = builtins.min(m, n)
    shapes = _svd_shapes((m, n), full_matrices)
    u, s, vh = _unpack(F, ans, shapes)
    gu, gs, gvh = _unpack(F, g, shapes)
    if full_matrices:
        # The extra columns are any basis of the complement: their cotangents are ignored (PyTorch).
        u, gu, vh, gvh = u[..., :, :k], gu[..., :, :k], vh[..., :k, :], gvh[..., :k, :]
    v, gv = mT(F, vh), mT(F, gvh)
    # Townsend (2016), "Differentiating the singular value decomposition".
    s_row = F.expand_dims(s, -2)   # scales columns
    s_col = F.expand_dims(s, -1)   # scales rows
    squares = s * s
    f = _off_diagonal_inverse(F, F.expand_dims(squares, -2) - F.expand_dims(squares, -1))
    utgu = F.matmul(mT(F, u), gu)
    vtgv = F.matmul(mT(F, v), gv)
    middle = (f * (utgu - mT(F, utgu))) * s_row + diag_embed(F, gs) + s_col * (f * (vtgv - mT(F, vtgv)))
    ga = F.matmul(F.matmul(u, middle), vh)
    if m > k:
        ga = ga + F.matmul((gu - F.matmul(u, utgu)) / s_row, vh)
    if n > k:
        ga = ga + F.matmul(u, mT(F, (gv - F.matmul(v, vtgv)) / s_row))
    return ga


SVD = defop("svd", _svd_forward, _svd_vjp)


class SVDResult(NamedTuple):
    """``U``, the singular values ``S`` (descending) and ``Vh``, with ``a = U @ diag(S) @ Vh``."""

    U: object
    S: object
    Vh: object


def svd(a, full_matrices=True, compute_uv=True):
    """The singular value decomposition ``a = U @ diag(S) @ Vh`` (NumPy's defaults).

    With ``full_matrices=True`` the columns of U (rows of Vh) past min(m, n)
    are any basis of the rest and carry no gradient (PyTorch's rule).
    Derivatives need distinct, non-zero singular values; the signs of
    singular vectors are arbitrary, so differentiate functions that do not
    depend on them.

    >>> import downhill as dh
    >>> dh.linalg.svd(dh.tensor([[3.0, 0.0], [0.0, -2.0]]), compute_uv=False)
    tensor([3., 2.])
    """
    _matrix(a, "svd")
    full = bool(full_matrices) and compute_uv
    shapes = _svd_shapes(np.shape(value(a)), full)
    u, s, vh = _unpack(DH, _apply1(SVD, a, {"full_matrices": full} if full else None), shapes)
    return SVDResult(u, s, vh) if compute_uv else s


def svdvals(a):
    """The singular values, descending.

    >>> import downhill as dh
    >>> dh.linalg.svdvals(dh.tensor([[0.0, 2.0], [1.0, 0.0]]))
    tensor([2., 1.])
    """
    return svd(a, compute_uv=False)


# ------------------------------------------------------------------ qr
def _qr_forward(a):
    q, r = np.linalg.qr(a, mode="reduced")
    return _pack(q, r)


def _qr_square_vjp(F, q, r, gq, gr):
    # For m >= n: M = R gR^T - gQ^T Q; gA = (gQ + Q copyltu(M)) R^-T, copyltu(M) = tril(M) + tril(M, -1)^T.
    m_ = F.matmul(r, mT(F, gr)) - F.matmul(mT(F, gq), q)
    lower = F.tril(m_)
    copied = lower + mT(F, F.tril(m_, -1))
    b = gq + F.matmul(q, copied)
    return mT(F, F.solve(r, mT(F, b)))


def _qr_vjp(F, g, ans, a):
    m, n = np.shape(value(a))[-2:]
    k = builtins.min(m, n)
    q, r = _unpack(F, ans, [(m, k), (k, n)])
    gq, gr = _unpack(F, g, [(m, k), (k, n)])
    if m >= n:
        return _qr_square_vjp(F, q, r, gq, gr)
    # Wide: A = [X | Y] with X = Q U square; R = [U | V], so Y = Q V.
    y = a[..., :, m:]
    u, gu, gv = r[..., :, :m], gr[..., :, :m], gr[..., :, m:]
    gx = _qr_square_vjp(F, q, u, gq + F.matmul(y, mT(F, gv)), gu)
    return F.concatenate([gx, F.matmul(q, gv)], axis=-1)


QR = defop("qr", _qr_forward, _qr_vjp)


class QRResult(NamedTuple):
    """``Q`` with orthonormal columns and upper-triangular ``R``, ``a = Q @ R``."""

    Q: object
    R: object


def qr(a, mode="reduced"):
    """The QR decomposition (``mode`` "reduced", or "r" for R alone); differentiable where R has
    a non-zero diagonal.

    >>> import downhill as dh
    >>> q, r = dh.linalg.qr(dh.tensor([[3.0, 1.0], [4.0, 2.0]]))
    >>> abs(r[0, 0].item())
    5.0
    """
    _matrix(a, "qr")
    if mode not in ("reduced", "r"):
        raise InputError(f"linalg.qr: mode {mode!r} is not supported; accepted: 'reduced', 'r'")
    m, n = np.shape(value(a))[-2:]
    k = builtins.min(m, n)
    q, r = _unpack(DH, _apply1(QR, a), [(m, k), (k, n)])
    return r if mode == "r" else QRResult(q, r)


# ------------------------------------------------------------------ composites
def matrix_power(a, n):
    """``a`` multiplied by itself ``n`` times (the inverse's powers for n < 0; the identity for 0).

    >>> import downhill as dh
    >>> dh.linalg.matrix_power(dh.tensor([[1.0, 1.0], [0.0, 1.0]]), 3)
    tensor([[1., 3.],
            [0., 1.]])
    """
    _square(a, "matrix_power")
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool):
        raise InputError(f"linalg.matrix_power: the exponent must be an int; got {n!r}")
    a = _as_tensor(a)
    if n == 0:
        return _wrap(np.broadcast_to(np.eye(a.shape[-1], dtype=a.dtype), a.shape).copy())
    if n < 0:
        a, n = inv(a), -n
    result, square = None, a
    while n:
        if n & 1:
            result = square if result is None else matmul(result, square)
        n >>= 1
        if n:
            square = matmul(square, square)
    return result


class LstsqResult(NamedTuple):
    """The least-squares solution, the residual sums of squares, the rank and the singular values."""

    solution: object
    residuals: object
    rank: int
    singular_values: object


def lstsq(a, b, rcond=None):
    """The x that minimises ``|a @ x - b|`` (NumPy's ``lstsq``: solution, residuals, rank, singular values).

    The solution is ``pinv(a) @ b``, differentiable in ``a`` and ``b`` while
    the rank stays the same; the residuals (given when the rank is full and
    ``a`` has more rows than columns, else empty) are differentiable too; the
    rank and the singular values are constants.

    >>> import downhill as dh
    >>> x, residuals, rank, s = dh.linalg.lstsq(dh.tensor([[1.0], [1.0]]), dh.tensor([1.0, 3.0]))
    >>> x, residuals
    (tensor([2.]), tensor([2.]))
    """
    a, b = _as_tensor(a), _as_tensor(b)
    if a.ndim != 2 or b.ndim not in (1, 2) or b.shape[0] != a.shape[0]:
        raise InputError(f"linalg.lstsq: needs a matrix (m, n) and b of shape (m,) or (m, k); "
                         f"got {a.shape} and {b.shape}")
    _, _, rank, singular = np.linalg.lstsq(a.data, b.data, rcond=rcond)
    x = matmul(pinv(a), b)
    m, n = a.shape
    if rank == n and m > n:
        residuals = sum((matmul(a, x) - b) ** 2, axis=0)
        if b.ndim == 1:
            residuals = reshape(residuals, (1,))
    else:
        residuals = _wrap(np.empty((0,), dtype=a.dtype))
    return LstsqResult(x, residuals, int(rank), _wrap(singular))


def norm(x, ord=None, axis=None, keepdims=False):
    """Vector and matrix norms as ``numpy.linalg.norm``.

    Vectors (1-D input, or one ``axis``): ``ord`` None or 2 (Euclidean), 1,
    inf, -inf, 0 (the count of non-zeros, no gradient), any other p
    (``sum(|x|**p)**(1/p)``). Matrices (2-D input, or two axes): None or
    "fro", "nuc" (sum of singular values), 1, -1, inf, -inf (column/row sums),
    2 and -2 (largest/smallest singular value). ``ord=None`` with no axis is
    the 2-norm of all elements whatever the shape. Gradients: 0 at the origin
    for the 2-norm; shared among ties at kinks (max, min, abs'(0) = 0).

    >>> import downhill as dh
    >>> dh.linalg.norm(dh.tensor([3.0, -4.0]), ord=1)
    tensor(7.)
    """
    x = _as_tensor(x)
    if axis is None:
        if ord is None:
            return _norm2(x, keepdims=keepdims)
        if x.ndim not in (1, 2):
            raise InputError(f"linalg.norm: ord={ord!r} needs a 1-D or 2-D input, or axis=; got shape {x.shape}")
        axis = tuple(range(x.ndim))
    axes = _axes(axis, x.ndim, "linalg.norm")
    if len(axes) == 1:
        return _vector_norm(x, ord, axes, keepdims)
    if len(axes) == 2:
        # The order matters for matrix norms (rows, then columns): _axes sorts, so take it from axis.
        ordered = tuple(int(a) % x.ndim for a in (axis if isinstance(axis, (tuple, list)) else (axis,)))
        return _matrix_norm(x, ord, ordered, keepdims)
    raise InputError(f"linalg.norm: axis must name 1 or 2 axes; got {axis!r}")


def _vector_norm(x, ord, axes, keepdims):
    if ord is None or ord == 2:
        return _norm2(x, axis=axes, keepdims=keepdims)
    if isinstance(ord, str):
        raise InputError(f"linalg.norm: ord={ord!r} is a matrix norm; vectors take numbers")
    magnitude = _abs(x)
    if ord == math.inf:
        return _max(magnitude, axis=axes, keepdims=keepdims)
    if ord == -math.inf:
        return _min(magnitude, axis=axes, keepdims=keepdims)
    if ord == 0:
        return _wrap(np.asarray(np.sum(x.data != 0, axis=axes, keepdims=keepdims), dtype=x.dtype)[()])
    if ord == 1:
        return sum(magnitude, axis=axes, keepdims=keepdims)
    return sum(magnitude ** ord, axis=axes, keepdims=keepdims) ** (1.0 / ord)


def _matrix_norm(x, ord, axes, keepdims):
    row, col = axes
    if ord in (None, "fro"):
        return _norm2(x, axis=axes, keepdims=keepdims)
    if ord in ("nuc", 2, -2):
        s = svd(moveaxis(x, (row, col), (-2, -1)), compute_uv=False)
        out = sum(s, axis=-1) if ord == "nuc" else (s[..., 0] if ord == 2 else s[..., -1])
        if keepdims:
            shape = list(x.shape)
            shape[row] = shape[col] = 1
            out = reshape(out, tuple(shape))
        return out
    if ord in (1, -1, math.inf, -math.inf):
        # 1: the largest column sum of |x|; inf: the largest row sum.
        summed, other = (row, col) if ord in (1, -1) else (col, row)
        sums = sum(_abs(x), axis=summed, keepdims=True)
        pick = _max if ord in (1, math.inf) else _min
        out = pick(sums, axis=other, keepdims=True)
        return out if keepdims else reshape(out, tuple(s for i, s in enumerate(x.shape) if i not in axes))
    raise InputError(f"linalg.norm: ord={ord!r} is not a matrix norm; accepted: None, 'fro', 'nuc', "
                     "1, -1, 2, -2, inf, -inf")


provide("inv", np.linalg.inv, inv)
provide("solve", np.linalg.solve, lambda a, b: apply(SOLVE, (a, b)))
provide("concatenate", lambda xs, axis=0: np.concatenate(xs, axis=axis), concatenate)

__all__ = [
    "inv", "det", "slogdet", "solve", "pinv", "cholesky", "eigh", "eigvalsh", "svd", "svdvals", "qr",
    "matrix_power", "lstsq", "norm", "SlogdetResult", "EighResult", "SVDResult", "QRResult", "LstsqResult",
]
