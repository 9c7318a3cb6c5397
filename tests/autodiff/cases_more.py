"""Rows of the op table for the array functions added after the first engine (issue 10).

Imported by ``cases.py``, which expands these rows with its own into
``CASES``. The oracle is PyTorch in float64; ``jax_fn`` rows (functions
PyTorch lacks) use JAX with 64-bit floats. Functions that return positions
or counts (``integer=True``) are compared by value only and must stay
outside the graph.
"""

from __future__ import annotations

import math

import numpy as np

import downhill as dh
from oracle.lazy import torch  # torch.exp & co. import torch when called

from .cases import (
    BINARY,
    MARGIN,
    REDUCTION_SHAPES,
    UNARY,
    Spec,
    _axes_for,
    distinct,
    nonzero,
    positive,
    real,
    reductions,
    t_reduce,
    wide,
)


# ------------------------------------------------------------------ domains
def unit_open(rng, shape):
    return rng.uniform(-0.9, 0.9, shape)


def above_one(rng, shape):
    return rng.uniform(1.2, 3.0, shape)


def with_nan(rng, shape):
    # Real values with about a third replaced by NaN (fmax/fmin/nan_to_num ignore them).
    values = rng.uniform(-2.0, 2.0, shape)
    return np.where(rng.uniform(size=shape) < 0.35, np.nan, values)


def with_non_finite(rng, shape):
    values = rng.uniform(-2.0, 2.0, shape)
    pick = rng.integers(0, 5, shape)
    return np.select([pick == 0, pick == 1, pick == 2], [np.nan, np.inf, -np.inf], values)


def off_steps(scale=1.0):
    """Inputs at least MARGIN (in units of 1/scale) away from the jumps of floor, round, ..."""
    def valid(xs, params):
        x = xs[0] * scale
        return bool(np.all(np.abs(x - np.round(x)) > MARGIN) and np.all(np.abs(x - np.round(x) - 0.5) > MARGIN)
                    and np.all(np.abs(x - np.round(x) + 0.5) > MARGIN))
    return valid


def round_valid(xs, params):
    return off_steps(10.0 ** params.get("decimals", 0))(xs, params)


def mod_valid(xs, params):
    q = xs[0] / xs[1]
    return bool(np.all(np.abs(q - np.round(q)) > MARGIN))


def apart_pairs(xs, params):
    # Apart where both are numbers; at most one NaN in each pair (two give NaN, measured by nothing).
    x, y = np.broadcast_arrays(xs[0], xs[1])
    both = np.isnan(x) & np.isnan(y)
    return bool(np.all((np.abs(x - y) > MARGIN) | np.isnan(x) | np.isnan(y)) and not both.any())


def matrix_plus(scale):
    """Gaussian matrices with ``scale`` times the identity added: well conditioned."""
    def draw(rng, shape):
        return rng.normal(size=shape) + scale * np.eye(shape[-1])
    return draw


def gaussian(rng, shape):
    return rng.normal(size=shape)


def separated_eigenvalues(xs, params):
    a = xs[0]
    w = np.linalg.eigvalsh((a + np.swapaxes(a, -1, -2)) / 2)
    return bool(np.all(np.diff(w, axis=-1) > 0.3))


def separated_singular_values(xs, params):
    s = np.linalg.svd(xs[0], compute_uv=False)
    return bool(np.all(-np.diff(s, axis=-1) > 0.3) and np.all(s > 0.3))


# ------------------------------------------------------------------ helpers on both sides
def t_axis_none(fn):
    """A torch scan with NumPy's axis=None: over the flattened input."""
    return lambda x, axis: fn(x.reshape(-1), 0) if axis is None else fn(x, axis)


def sym(x):
    return (x + x.swapaxes(-1, -2)) / 2 if isinstance(x, dh.Tensor) else (x + x.transpose(-1, -2)) / 2


def spd(x):
    n = x.shape[-1]
    if isinstance(x, dh.Tensor):
        return dh.matmul(x, dh.swapaxes(x, -1, -2)) + n * np.eye(n)
    return x @ x.transpose(-1, -2) + n * torch.eye(n, dtype=x.dtype)


def dh_eigh_invariant(x):
    w, v = dh.linalg.eigh(sym(x))
    return dh.concatenate([dh.reshape(w, (-1,)), dh.reshape(v * v, (-1,)), dh.reshape(v[..., 0:1] * v, (-1,)) ** 2])


def t_eigh_invariant(x):
    w, v = torch.linalg.eigh(sym(x))
    return torch.cat([w.reshape(-1), (v * v).reshape(-1), ((v[..., 0:1] * v).reshape(-1)) ** 2])


def _svd_parts(u, s, vh, k):
    return [s.reshape(-1), (u[..., :, :k] * u[..., :, :k]).reshape(-1), (vh[..., :k, :] * vh[..., :k, :]).reshape(-1),
            (u[..., :, :k] * s[..., None, :]).reshape(-1) ** 2]


def dh_svd_invariant(x, full_matrices):
    u, s, vh = dh.linalg.svd(x, full_matrices=full_matrices)
    return dh.concatenate(_svd_parts(u, s, vh, min(x.shape[-2:])))


def t_svd_invariant(x, full_matrices):
    u, s, vh = torch.linalg.svd(x, full_matrices=full_matrices)
    return torch.cat(_svd_parts(u, s, vh, min(x.shape[-2:])))


def dh_qr_invariant(x):
    q, r = dh.linalg.qr(x)
    return dh.concatenate([dh.reshape(q * q, (-1,)), dh.reshape(r * r, (-1,)), dh.reshape(dh.matmul(q, r), (-1,))])


def t_qr_invariant(x):
    q, r = torch.linalg.qr(x)
    return torch.cat([(q * q).reshape(-1), (r * r).reshape(-1), (q @ r).reshape(-1)])


def t_median(x, axis=None, keepdims=False):
    if axis is None or not x.ndim:
        out = torch.quantile(x.reshape(-1), 0.5)
        return out.reshape((1,) * x.ndim) if keepdims else out
    axes = [a % x.ndim for a in (axis if isinstance(axis, tuple) else (axis,))]
    kept = [i for i in range(x.ndim) if i not in axes]
    moved = x.permute(kept + axes).reshape([x.shape[i] for i in kept] + [-1])
    out = torch.quantile(moved, 0.5, dim=-1)
    if keepdims:
        out = out.reshape([1 if i in axes else x.shape[i] for i in range(x.ndim)])
    return out


def t_ptp(x, axis=None, keepdims=False):
    return t_reduce(torch.amax, x, axis, keepdims) - t_reduce(torch.amin, x, axis, keepdims)


def t_weighted_lse(x, w, axis=None, keepdims=False):
    return t_reduce(lambda v, d, keepdim=False: torch.log(torch.sum(v, d, keepdim=keepdim)),
                    w * torch.exp(x), axis, keepdims)


def t_average(x, w, axis):
    if axis is None:
        return (x * w).sum() / w.sum()
    shape = [1] * x.ndim
    shape[axis] = -1
    w = w.reshape(shape)
    return (x * w).sum(axis) / (w * torch.ones_like(x)).sum(axis)


def t_norm(x, ord=None, axis=None, keepdims=False):
    if axis is None and ord is None:
        out = torch.linalg.vector_norm(x)
        return out.reshape((1,) * x.ndim) if keepdims else out
    return torch.linalg.norm(x, ord=ord, dim=axis, keepdim=keepdims)


def t_split_scaled(fn):
    def run(x, sections, axis):
        parts = fn(x, sections, axis)
        return torch.cat([p.reshape(-1) * (i + 1) for i, p in enumerate(parts)])
    return run


def dh_split_scaled(fn):
    def run(x, sections, axis):
        parts = fn(x, sections, axis=axis)
        return dh.concatenate([dh.reshape(p, (-1,)) * (i + 1) for i, p in enumerate(parts)])
    return run


def t_tensor_split(x, sections, axis):
    if isinstance(sections, int):
        return torch.tensor_split(x, sections, dim=axis)
    return torch.tensor_split(x, list(sections), dim=axis)


def j_pad(x, pad_width, mode="constant", constant_values=0):
    import jax.numpy as jnp

    if mode == "constant":
        return jnp.pad(x, pad_width, mode=mode, constant_values=constant_values)
    return jnp.pad(x, pad_width, mode=mode)


def j_interp(x, fp, xp):
    import jax.numpy as jnp

    return jnp.interp(x, xp, fp)


def t_rollaxis(x, axis, start):
    return x.permute(_rollaxis_order(x.ndim, axis, start))


def _rollaxis_order(ndim, axis, start):
    order = list(range(ndim))
    axis %= ndim
    if start < 0:
        start += ndim
    if axis < start:
        start -= 1
    order.remove(axis)
    order.insert(start, axis)
    return order


def t_select(x):
    return torch.where(x < -0.5, -x, torch.where(x > 0.5, x * x, 3 * x))


def t_gradient(x, spacing, axis, edge_order):
    out = torch.gradient(x, spacing=spacing, dim=axis, edge_order=edge_order)
    return torch.stack(out) if isinstance(axis, (tuple, list)) else out[0]


def dh_gradient(x, spacing, axis, edge_order):
    out = dh.gradient(x, spacing, axis=axis, edge_order=edge_order)
    return dh.stack(out) if isinstance(axis, (tuple, list)) else out


def t_cross(a, b):
    if a.shape[-1] == 2:
        a = torch.cat([a, torch.zeros(a.shape[:-1] + (1,), dtype=a.dtype)], -1)
    if b.shape[-1] == 2:
        b = torch.cat([b, torch.zeros(b.shape[:-1] + (1,), dtype=b.dtype)], -1)
    a, b = torch.broadcast_tensors(a, b)
    return torch.linalg.cross(a, b, dim=-1)


INDEX_ROWS = np.array([[2, 0, 1], [1, 1, 0]])
COORDINATES = np.array([-1.0, -0.7, 0.1, 0.4, 1.6])
INDEX_COLUMNS = np.array([[1, 0, 1], [1, 1, 0], [0, 0, 0]])


# ------------------------------------------------------------------ the rows
def _unary(name, torch_fn, domain, valid=None, shapes=UNARY, settings=({},)):
    return Spec(name, getattr(dh, name), torch_fn, (domain,), shapes, settings, valid=valid)


def _binary(name, torch_fn, domains, valid=None):
    return Spec(name, getattr(dh, name), torch_fn, domains, BINARY, valid=valid)


def _scan_settings(shapes):
    (shape,) = shapes
    return [dict(axis=None)] + [dict(axis=a) for a in range(-1, len(shape)) if len(shape)]


SQUARE = (((3, 3),), ((2, 3, 3),))

ELEMENTWISE = [
    _unary("arcsin", torch.asin, unit_open),
    _unary("arccos", torch.acos, unit_open),
    _unary("arcsinh", torch.asinh, wide),
    _unary("arccosh", torch.acosh, above_one),
    _unary("arctanh", torch.atanh, unit_open),
    _unary("log2", torch.log2, positive),
    _unary("log10", torch.log10, positive),
    _unary("exp2", torch.exp2, real),
    _unary("erfc", torch.erfc, wide),
    Spec("erfc", dh.erfc, torch.erfc, (lambda rng, shape: rng.choice([-1.0, 1.0], shape)
                                       * rng.uniform(3.5, 6.5, shape),), UNARY, tag="tails"),
    _unary("reciprocal", torch.reciprocal, nonzero),
    _unary("sinc", torch.sinc, wide),
    _unary("fabs", torch.abs, nonzero),
    _unary("deg2rad", torch.deg2rad, wide),
    _unary("rad2deg", torch.rad2deg, wide),
    _unary("radians", torch.deg2rad, wide),
    _unary("degrees", torch.rad2deg, wide),
    _unary("floor", torch.floor, wide, off_steps()),
    _unary("ceil", torch.ceil, wide, off_steps()),
    _unary("trunc", torch.trunc, wide, off_steps()),
    _unary("round", lambda x, decimals: torch.round(x, decimals=decimals), wide, round_valid, UNARY,
           [dict(decimals=0), dict(decimals=1)]),
    _unary("around", lambda x: torch.round(x), wide, off_steps()),
    # Central differences cannot step from NaN or inf: the rows with them are checked against PyTorch only.
    Spec("nan_to_num", lambda x, **kw: dh.nan_to_num(x, **kw), lambda x, **kw: torch.nan_to_num(x, **kw),
         (with_non_finite,), UNARY, [dict(nan=1.5, posinf=9.0, neginf=-9.0)], gradcheck=False),
    # NumPy's default for infinities is the dtype's extremes, which overflow any sum: NaN only here.
    Spec("nan_to_num", dh.nan_to_num, torch.nan_to_num, (with_nan,), UNARY, gradcheck=False, tag="defaults"),
    Spec("nan_to_num", dh.nan_to_num, torch.nan_to_num, (real,), UNARY, tag="finite"),
    _binary("arctan2", torch.atan2, (nonzero, nonzero)),
    _binary("hypot", torch.hypot, (nonzero, nonzero)),
    _binary("logaddexp", torch.logaddexp, (wide, wide)),
    _binary("logaddexp2", torch.logaddexp2, (wide, wide)),
    Spec("fmax", dh.fmax, torch.fmax, (with_nan, with_nan), BINARY, valid=apart_pairs, gradcheck=False, tag="nan"),
    Spec("fmin", dh.fmin, torch.fmin, (with_nan, with_nan), BINARY, valid=apart_pairs, gradcheck=False, tag="nan"),
    _binary("fmax", torch.fmax, (real, real), apart_pairs),
    _binary("fmin", torch.fmin, (real, real), apart_pairs),
    _binary("mod", torch.remainder, (wide, nonzero), mod_valid),
    _binary("remainder", torch.remainder, (wide, nonzero), mod_valid),
    Spec("mod", lambda x, y: x % y, torch.remainder, (wide, nonzero), BINARY[:4], valid=mod_valid,
         tag="operator"),
    # PyTorch has no derivative of remainder in its second input: c - floor(c / x) * x says the same.
    Spec("mod", lambda x, c: c % x, lambda x, c: c - torch.floor(c / x) * x, (nonzero,), UNARY, [dict(c=2.5)],
         valid=lambda xs, p: mod_valid([np.full_like(xs[0], 2.5), xs[0]], p), tag="reflected"),
    # NumPy's and the Array API's other names
    _binary("true_divide", torch.true_divide, (real, nonzero)),
    _unary("absolute", torch.abs, nonzero),
    _unary("asin", torch.asin, unit_open),
    _unary("acos", torch.acos, unit_open),
    _unary("atan", torch.atan, wide),
    _unary("asinh", torch.asinh, wide),
    _unary("acosh", torch.acosh, above_one),
    _unary("atanh", torch.atanh, unit_open),
    _binary("atan2", torch.atan2, (nonzero, nonzero)),
    _binary("pow", torch.pow, (positive, real)),
]

REDUCTIONS = [
    Spec("cumsum", lambda x, axis: dh.cumsum(x, axis), t_axis_none(torch.cumsum), (real,), REDUCTION_SHAPES,
         _scan_settings),
    Spec("cumprod", lambda x, axis: dh.cumprod(x, axis), t_axis_none(torch.cumprod), (real,),
         REDUCTION_SHAPES + (((7,),),), _scan_settings),
    Spec("median", lambda x, axis, keepdims: dh.median(x, axis, keepdims), t_median, (distinct,),
         REDUCTION_SHAPES + (((4,),),), reductions),
    Spec("amax", lambda x, axis, keepdims: dh.amax(x, axis, keepdims),
         lambda x, axis, keepdims: t_reduce(torch.amax, x, axis, keepdims), (distinct,), REDUCTION_SHAPES, reductions),
    Spec("amin", lambda x, axis, keepdims: dh.amin(x, axis, keepdims),
         lambda x, axis, keepdims: t_reduce(torch.amin, x, axis, keepdims), (distinct,), REDUCTION_SHAPES, reductions),
    Spec("ptp", lambda x, axis, keepdims: dh.ptp(x, axis, keepdims), t_ptp, (distinct,), REDUCTION_SHAPES,
         reductions),
    Spec("average", lambda x, w, axis: dh.average(x, axis=axis, weights=w), t_average, (real, positive),
         (((3,), (3,)), ((2, 3), (3,)), ((2, 3), (2,))),
         lambda shapes: {((3,), (3,)): [dict(axis=None), dict(axis=0)], ((2, 3), (3,)): [dict(axis=1)],
                         ((2, 3), (2,)): [dict(axis=0)]}[shapes]),
    Spec("average", lambda x, axis: dh.average(x, axis=axis), lambda x, axis: t_reduce(torch.mean, x, axis, False),
         (real,), UNARY, lambda shapes: [dict(axis=None)] + ([dict(axis=0)] if shapes[0] else []),
         tag="unweighted"),
    Spec("logsumexp", lambda x, w, axis, keepdims: dh.logsumexp(x, axis=axis, keepdims=keepdims, b=w),
         t_weighted_lse, (real, positive), (((3,), (3,)), ((2, 3), (2, 3)), ((2, 3), (3,))),
         lambda shapes: [dict(axis=a, keepdims=k) for a in _axes_for(len(shapes[0])) for k in (False, True)],
         tag="weighted"),
    Spec("argmax", lambda x, axis: dh.argmax(x, axis=axis),
         lambda x, axis: torch.argmax(x.reshape(-1) if axis is None else x, 0 if axis is None else axis),
         (distinct,), UNARY[1:], lambda shapes: [dict(axis=None), dict(axis=-1)], integer=True),
    Spec("argmin", lambda x, axis: dh.argmin(x, axis=axis),
         lambda x, axis: torch.argmin(x.reshape(-1) if axis is None else x, 0 if axis is None else axis),
         (distinct,), UNARY[1:], lambda shapes: [dict(axis=None), dict(axis=0)], integer=True),
    Spec("count_nonzero", lambda x, axis: dh.count_nonzero(dh.round(x), axis=axis),
         lambda x, axis: torch.count_nonzero(torch.round(x), dim=axis), (real,), UNARY[1:],
         lambda shapes: [dict(axis=None), dict(axis=0)], integer=True),
]

LINEAR_ALGEBRA = [
    Spec("einsum", lambda *xs, subscripts: dh.einsum(subscripts, *xs),
         lambda *xs, subscripts: torch.einsum(subscripts, *xs), (real,),
         (((2, 3), (3, 4)), ((2, 3), (3, 4), (4,)), ((3, 3),), ((2, 3),), ((2, 2, 3), (2, 3, 4))),
         lambda shapes: {((2, 3), (3, 4)): [dict(subscripts="ij,jk->ik"), dict(subscripts="ij,jk"),
                                            dict(subscripts="ij,jk->"), dict(subscripts="ij,jk->kji")],
                         ((2, 3), (3, 4), (4,)): [dict(subscripts="ij,jk,k->i"), dict(subscripts="ij,jk,k->ijk")],
                         ((3, 3),): [dict(subscripts="ii->"), dict(subscripts="ii->i"), dict(subscripts="ij->j"),
                                     dict(subscripts="ij->ji")],
                         ((2, 3),): [dict(subscripts="ij->"), dict(subscripts="...j->...")],
                         ((2, 2, 3), (2, 3, 4)): [dict(subscripts="...ij,...jk->...ik"),
                                                  dict(subscripts="bij,bjk->bik")]}[shapes]),
    Spec("tensordot", lambda a, b, axes: dh.tensordot(a, b, axes), lambda a, b, axes: torch.tensordot(a, b, axes),
         (real, real), (((2, 3), (3, 4)), ((2, 3, 4), (3, 4, 2)), ((3,), (2,))),
         lambda shapes: {((2, 3), (3, 4)): [dict(axes=1)], ((2, 3, 4), (3, 4, 2)): [dict(axes=2),
                                                                                   dict(axes=([1], [0]))],
                         ((3,), (2,)): [dict(axes=0)]}[shapes]),
    Spec("inner", dh.inner, torch.inner, (real, real), (((3,), (3,)), ((2, 3), (3,)), ((2, 3), (4, 3)), ((), (3,)))),
    Spec("vdot", dh.vdot, lambda a, b: torch.vdot(a.reshape(-1), b.reshape(-1)), (real, real),
         (((3,), (3,)), ((2, 3), (6,)))),
    Spec("vecdot", lambda a, b: dh.vecdot(a, b), lambda a, b: torch.linalg.vecdot(a, b), (real, real),
         (((3,), (3,)), ((2, 3), (3,)), ((2, 3), (2, 3)))),
    Spec("kron", dh.kron, torch.kron, (real, real), (((2,), (3,)), ((2, 2), (2, 3)), ((3,), (2, 2)))),
    Spec("cross", dh.cross, t_cross, (real, real), (((3,), (3,)), ((2, 3), (3,)), ((3,), (2,)))),
    Spec("cross", dh.cross, lambda a, b: a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0], (real, real),
         (((2,), (2,)), ((2, 2), (2,))), tag="2d"),
    Spec("dot", dh.dot, lambda a, b: torch.tensordot(a, b, ([-1], [-2 if b.ndim > 1 else -1])), (real, real),
         (((2, 2, 3), (3, 2)), ((2, 3), (2, 3, 2)), ((2, 2, 3), (3,))), tag="nd"),
    Spec("trace", lambda x, offset: dh.trace(x, offset), lambda x, offset: torch.diagonal(x, offset).sum(-1),
         (real,), (((3, 3),), ((2, 4),)), [dict(offset=0), dict(offset=1), dict(offset=-1)]),
    Spec("diagonal", lambda x, offset, a1, a2: dh.diagonal(x, offset, a1, a2),
         lambda x, offset, a1, a2: torch.diagonal(x, offset, a1, a2), (real,), (((3, 3),), ((2, 3, 4),)),
         lambda shapes: [dict(offset=0, a1=0, a2=1), dict(offset=1, a1=-1, a2=-2)]),
    Spec("diag", lambda x, k: dh.diag(x, k), lambda x, k: torch.diag(x, k), (real,), (((3,),), ((3, 3),)),
         [dict(k=0), dict(k=1), dict(k=-2)]),
    Spec("tril", lambda x, k: dh.tril(x, k), lambda x, k: torch.tril(x, k), (real,), (((3, 3),), ((2, 3, 4),)),
         [dict(k=0), dict(k=-1), dict(k=1)]),
    Spec("triu", lambda x, k: dh.triu(x, k), lambda x, k: torch.triu(x, k), (real,), (((3, 3),), ((2, 3, 4),)),
         [dict(k=0), dict(k=-1), dict(k=1)]),
    Spec("matrix_transpose", dh.matrix_transpose, lambda x: x.mT, (real,), (((2, 3),), ((4, 2, 3),))),
    # dh.linalg
    Spec("linalg.inv", dh.linalg.inv, torch.linalg.inv, (matrix_plus(3.0),), SQUARE),
    Spec("linalg.det", dh.linalg.det, torch.linalg.det, (matrix_plus(3.0),), SQUARE),
    Spec("linalg.slogdet", lambda x: dh.linalg.slogdet(x)[1], lambda x: torch.linalg.slogdet(x)[1],
         (matrix_plus(2.0),), SQUARE),
    Spec("linalg.solve", dh.linalg.solve, torch.linalg.solve, (matrix_plus(3.0), real),
         (((3, 3), (3,)), ((3, 3), (3, 2)), ((2, 3, 3), (2, 3, 2)), ((3, 3), (2, 3, 2)))),
    Spec("linalg.cholesky", lambda x: dh.linalg.cholesky(spd(x)), lambda x: torch.linalg.cholesky(spd(x)),
         (gaussian,), SQUARE),
    Spec("linalg.eigh", dh_eigh_invariant, t_eigh_invariant, (gaussian,), SQUARE, valid=separated_eigenvalues),
    Spec("linalg.eigvalsh", lambda x: dh.linalg.eigvalsh(sym(x)), lambda x: torch.linalg.eigvalsh(sym(x)),
         (gaussian,), SQUARE, valid=separated_eigenvalues),
    Spec("linalg.svd", dh_svd_invariant, t_svd_invariant, (gaussian,),
         (((3, 3),), ((4, 2),), ((2, 4),), ((2, 3, 2),)), [dict(full_matrices=False), dict(full_matrices=True)],
         valid=separated_singular_values),
    Spec("linalg.svdvals", dh.linalg.svdvals, torch.linalg.svdvals, (gaussian,), (((3, 3),), ((4, 2),)),
         valid=separated_singular_values),
    Spec("linalg.qr", dh_qr_invariant, t_qr_invariant, (matrix_plus(2.0),), (((3, 3),), ((2, 3, 3),))),
    Spec("linalg.qr", dh_qr_invariant, t_qr_invariant, (gaussian,), (((4, 2),), ((2, 4),)),
         valid=separated_singular_values, tag="rectangular"),
    Spec("linalg.pinv", dh.linalg.pinv, torch.linalg.pinv, (gaussian,), (((3, 2),), ((2, 3),), ((3, 3),)),
         valid=separated_singular_values),
    Spec("linalg.matrix_power", lambda x, n: dh.linalg.matrix_power(x, n),
         lambda x, n: torch.linalg.matrix_power(x, n), (matrix_plus(2.0),), SQUARE,
         [dict(n=0), dict(n=1), dict(n=3), dict(n=-2)]),
    Spec("linalg.lstsq", lambda a, b: dh.linalg.lstsq(a, b)[0], lambda a, b: torch.linalg.pinv(a) @ b,
         (gaussian, real), (((4, 2), (4,)), ((4, 2), (4, 3)), ((2, 3), (2,))), valid=separated_singular_values),
    Spec("linalg.lstsq", lambda a, b: dh.linalg.lstsq(a, b)[1],
         lambda a, b: ((a @ (torch.linalg.pinv(a) @ b) - b) ** 2).sum(0).reshape(-1),
         (gaussian, real), (((4, 2), (4,)), ((4, 2), (4, 3))), valid=separated_singular_values, tag="residuals"),
    Spec("linalg.norm", lambda x, ord, axis, keepdims: dh.linalg.norm(x, ord, axis, keepdims), t_norm, (distinct,),
         (((3,),), ((2, 3),)),
         lambda shapes: [dict(ord=o, axis=None, keepdims=False) for o in (None, 1, 3, math.inf, -math.inf, 0.5)]
         + [dict(ord=None, axis=-1, keepdims=True), dict(ord=1, axis=0, keepdims=False)]
         if len(shapes[0]) == 1 else
         [dict(ord=o, axis=None, keepdims=False) for o in (None, "fro", "nuc", 1, -1, 2, -2, math.inf, -math.inf)]
         + [dict(ord=3, axis=1, keepdims=False), dict(ord="nuc", axis=(0, 1), keepdims=True),
            dict(ord=math.inf, axis=(1, 0), keepdims=True), dict(ord=None, axis=None, keepdims=True)],
         valid=lambda xs, p: p["ord"] not in ("nuc", 2, -2) or separated_singular_values(xs, p)),
]

SHAPES = [
    Spec("moveaxis", lambda x, s, d: dh.moveaxis(x, s, d), lambda x, s, d: torch.moveaxis(x, s, d), (real,),
         (((2, 3, 4),),), [dict(s=0, d=-1), dict(s=(0, 1), d=(2, 0)), dict(s=-1, d=1)]),
    Spec("rollaxis", lambda x, axis, start: dh.rollaxis(x, axis, start), t_rollaxis, (real,), (((2, 3, 4),),),
         [dict(axis=2, start=0), dict(axis=0, start=3), dict(axis=1, start=-1)]),
    Spec("flip", lambda x, axis: dh.flip(x, axis), lambda x, axis: torch.flip(x, tuple(range(x.ndim)) if axis is None
                                                                             else (axis,) if isinstance(axis, int)
                                                                             else axis),
         (real,), (((3,),), ((2, 3),)), lambda shapes: [dict(axis=None), dict(axis=0)] + (
             [dict(axis=(0, 1))] if len(shapes[0]) == 2 else [])),
    Spec("fliplr", dh.fliplr, torch.fliplr, (real,), (((2, 3),),)),
    Spec("flipud", dh.flipud, torch.flipud, (real,), (((3,),), ((2, 3),))),
    Spec("rot90", lambda x, k, axes: dh.rot90(x, k, axes), lambda x, k, axes: torch.rot90(x, k, axes), (real,),
         (((2, 3),), ((2, 3, 4),)), lambda shapes: [dict(k=k, axes=(0, 1)) for k in (1, 2, 3, 4, -1)] + (
             [dict(k=1, axes=(2, 0))] if len(shapes[0]) == 3 else [])),
    Spec("roll", lambda x, shift, axis: dh.roll(x, shift, axis), lambda x, shift, axis: torch.roll(x, shift, axis),
         (real,), (((5,),), ((2, 3),)), lambda shapes: [dict(shift=2, axis=None), dict(shift=-1, axis=0)] + (
             [dict(shift=(1, 2), axis=(0, 1))] if len(shapes[0]) == 2 else [])),
    Spec("tile", lambda x, reps: dh.tile(x, reps), lambda x, reps: torch.tile(x, reps if isinstance(reps, tuple) else (reps,)), (real,), UNARY,
         [dict(reps=2), dict(reps=(2, 1)), dict(reps=(1, 2, 2))]),
    Spec("repeat", lambda x, repeats, axis: dh.repeat(x, repeats, axis),
         lambda x, repeats, axis: torch.repeat_interleave(x, torch.as_tensor(repeats), dim=axis), (real,),
         (((3,),), ((2, 3),)), lambda shapes: [dict(repeats=2, axis=None), dict(repeats=2, axis=0),
                                               dict(repeats=[1, 0, 3], axis=-1)]),
    Spec("pad", lambda x, pad_width, mode: dh.pad(x, pad_width, mode=mode), None, (real,), (((3,),), ((2, 3),)),
         lambda shapes: [dict(pad_width=w, mode=m) for m in ("constant", "edge", "reflect", "symmetric", "wrap")
                         for w in ((1, 2), 2 if len(shapes[0]) == 1 else ((0, 1), (2, 1)))],
         jax_fn=j_pad),
    Spec("pad", lambda x, pad_width, constant_values: dh.pad(x, pad_width, constant_values=constant_values), None,
         (real,), (((2, 3),),), [dict(pad_width=1, constant_values=2.5)], jax_fn=j_pad, tag="value"),
    Spec("split", dh_split_scaled(dh.split), t_split_scaled(t_tensor_split), (real,), (((6,),), ((2, 6),)),
         lambda shapes: [dict(sections=3, axis=-1), dict(sections=(1, 4), axis=-1)]),
    Spec("array_split", dh_split_scaled(dh.array_split), t_split_scaled(t_tensor_split), (real,), (((7,),),),
         [dict(sections=3, axis=0), dict(sections=(2, 2, 5), axis=0)]),
    Spec("hsplit", lambda x: dh.concatenate([p * (i + 1) for i, p in enumerate(dh.hsplit(x, 2))], axis=1),
         lambda x: torch.cat([p * (i + 1) for i, p in enumerate(torch.hsplit(x, 2))], 1), (real,), (((2, 4),),)),
    Spec("vsplit", lambda x: dh.concatenate([p * (i + 1) for i, p in enumerate(dh.vsplit(x, 2))]),
         lambda x: torch.cat([p * (i + 1) for i, p in enumerate(torch.vsplit(x, 2))]), (real,), (((4, 2),),)),
    Spec("dsplit", lambda x: dh.concatenate([p * (i + 1) for i, p in enumerate(dh.dsplit(x, 2))], axis=2),
         lambda x: torch.cat([p * (i + 1) for i, p in enumerate(torch.dsplit(x, 2))], 2), (real,), (((1, 2, 4),),)),
    Spec("vstack", lambda *xs: dh.vstack(xs), lambda *xs: torch.vstack(xs), (real,),
         (((3,), (3,)), ((2, 3), (3,)), ((), ()))),
    Spec("hstack", lambda *xs: dh.hstack(xs), lambda *xs: torch.hstack(xs), (real,),
         (((3,), (2,)), ((2, 3), (2, 1)), ((), ()))),
    Spec("dstack", lambda *xs: dh.dstack(xs), lambda *xs: torch.dstack(xs), (real,), (((3,), (3,)), ((2, 3), (2, 3)))),
    Spec("column_stack", lambda *xs: dh.column_stack(xs), lambda *xs: torch.column_stack(xs), (real,),
         (((3,), (3,)), ((3, 2), (3,)))),
    Spec("append", lambda x, y, axis: dh.append(x, y, axis),
         lambda x, y, axis: torch.cat([x.reshape(-1), y.reshape(-1)]) if axis is None else torch.cat([x, y], axis),
         (real,), (((2, 3), (1, 3)),), [dict(axis=None), dict(axis=0)]),
    Spec("atleast_1d", dh.atleast_1d, torch.atleast_1d, (real,), UNARY),
    Spec("atleast_2d", dh.atleast_2d, torch.atleast_2d, (real,), UNARY),
    Spec("atleast_3d", dh.atleast_3d, torch.atleast_3d, (real,), UNARY + (((2, 3, 4),),)),
    Spec("ravel", dh.ravel, torch.ravel, (real,), UNARY),
    Spec("ravel", lambda x: x.ravel(), torch.ravel, (real,), (((2, 3),),), tag="method"),
    Spec("meshgrid", lambda *xs, indexing: dh.stack(dh.meshgrid(*xs, indexing=indexing)),
         lambda *xs, indexing: torch.stack(torch.meshgrid(*xs, indexing=indexing)), (real,),
         (((3,), (2,)), ((2,), (3,), (4,))), [dict(indexing="xy"), dict(indexing="ij")]),
    Spec("permute_dims", lambda x, axes: dh.permute_dims(x, axes), lambda x, axes: x.permute(axes), (real,),
         (((2, 3, 4),),), [dict(axes=(2, 0, 1))]),
    Spec("concat", lambda *xs, axis: dh.concat(xs, axis=axis),
         lambda *xs, axis: torch.cat([x.reshape(-1) for x in xs]) if axis is None else torch.cat(xs, axis), (real,),
         (((2, 3), (1, 3)),), [dict(axis=0), dict(axis=None)]),
    # indexing and sorting
    Spec("take", lambda x, indices, axis: dh.take(x, indices, axis),
         lambda x, indices, axis: torch.take(x, torch.as_tensor(indices)) if axis is None
         else torch.index_select(x, axis, torch.as_tensor(indices).reshape(-1)).reshape(
             x.shape[:axis] + np.shape(indices) + x.shape[axis + 1:]),
         (real,), (((2, 3),),), [dict(indices=[5, 0, 0], axis=None), dict(indices=[2, 0], axis=1),
                                 dict(indices=INDEX_ROWS, axis=1), dict(indices=[1, 1], axis=0)]),
    Spec("take_along_axis", lambda x, axis: dh.take_along_axis(x, INDEX_ROWS if axis else INDEX_COLUMNS, axis),
         lambda x, axis: torch.take_along_dim(x, torch.as_tensor(INDEX_ROWS if axis else INDEX_COLUMNS), axis),
         (real,), (((2, 3),),), [dict(axis=1), dict(axis=0)]),
    Spec("sort", lambda x, axis: dh.sort(x, axis), lambda x, axis: torch.sort(x.reshape(-1) if axis is None else x,
                                                                             0 if axis is None else axis)[0],
         (distinct,), (((5,),), ((2, 3),)), lambda shapes: [dict(axis=-1), dict(axis=0), dict(axis=None)]),
    Spec("argsort", lambda x, axis: dh.argsort(x, axis), lambda x, axis: torch.argsort(x, dim=axis), (distinct,),
         (((5,),), ((2, 3),)), [dict(axis=-1), dict(axis=0)], integer=True),
    Spec("partition", lambda x, kth: dh.sort(dh.partition(x, kth)), lambda x, kth: torch.sort(x)[0], (distinct,),
         (((5,),), ((2, 4),)), [dict(kth=1), dict(kth=-1)]),
    Spec("partition", lambda x, kth: dh.partition(x, kth)[..., kth], lambda x, kth: torch.kthvalue(x, kth + 1)[0],
         (distinct,), (((5,),), ((2, 4),)), [dict(kth=2)], tag="kth"),
    Spec("select", lambda x: dh.select([x < -0.5, x > 0.5], [-x, x * x], 3 * x), t_select, (real,), UNARY,
         valid=lambda xs, p: bool(np.all(np.abs(np.abs(xs[0]) - 0.5) > MARGIN))),
    Spec("diff", lambda x, n, axis: dh.diff(x, n, axis), lambda x, n, axis: torch.diff(x, n, axis), (real,),
         (((5,),), ((3, 4),)), lambda shapes: [dict(n=1, axis=-1), dict(n=2, axis=-1)] + (
             [dict(n=1, axis=0)] if len(shapes[0]) == 2 else [])),
    Spec("diff", lambda x, p, a: dh.diff(x, prepend=p, append=a), lambda x, p, a: torch.diff(
        x, prepend=torch.as_tensor(np.atleast_1d(p)), append=torch.as_tensor(np.atleast_1d(a))), (real,), (((4,),),),
         [dict(p=1.5, a=np.array([2.0, -1.0]))], tag="prepend"),
    Spec("gradient", dh_gradient, t_gradient, (real,), (((5,),), ((3, 4),)),
         lambda shapes: [dict(spacing=h, axis=a, edge_order=e) for h in (1.0, 0.5) for e in (1, 2)
                         for a in ([0] if len(shapes[0]) == 1 else [0, 1, (0, 1)])]),
    Spec("gradient", lambda x, coordinates, edge_order: dh.gradient(x, coordinates, edge_order=edge_order),
         lambda x, coordinates, edge_order: torch.gradient(x, spacing=(torch.as_tensor(coordinates),),
                                                          edge_order=edge_order)[0],
         (real,), (((5,),),), [dict(coordinates=COORDINATES, edge_order=e) for e in (1, 2)], tag="coordinates"),
    Spec("interp", lambda x, fp, xp: dh.interp(x, xp, fp), None, (wide, real), (((7,), (5,)), ((2, 3), (5,))),
         [dict(xp=np.array([-2.0, -0.5, 0.3, 1.0, 2.5]))],
         valid=lambda xs, p: bool(np.all(np.abs(xs[0][..., None] - p["xp"]) > MARGIN)),
         jax_fn=j_interp),
]

MORE_TABLE = ELEMENTWISE + REDUCTIONS + LINEAR_ALGEBRA + SHAPES
