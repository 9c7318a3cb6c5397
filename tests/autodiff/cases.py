"""The table of test cases: every public function, its PyTorch twin, its input domain and settings.

Each :class:`Spec` row names a public function of downhill and says

* how to call it in downhill (``dh``) and in PyTorch (``torch_fn``), both
  taking the differentiated inputs positionally and the settings by keyword;
* where its inputs may be drawn (``domains``: log wants positive numbers, tan
  stays inside (-1.2, 1.2), a kink stays at least ``MARGIN`` away, ...);
* which input shapes to sweep (scalars, vectors, matrices, broadcasting pairs);
* which settings to sweep (``axis``, ``keepdims``, ``ddof``, an index, ...).

:data:`CASES` expands the table into one :class:`Case` per (row, shapes,
settings). The tests in ``test_ops_table.py`` run every case through
``dh.gradcheck`` (first and second order) and against PyTorch in float64, and
check that together the cases reach every primitive of ``downhill.autodiff.ops.OPS``.

PyTorch's answers are recorded in tests/oracle/data/test_ops_table.npz (see
tests/oracle); the rows name torch's functions through ``oracle.lazy``, so
importing the table never imports torch: only calling a ``torch_fn`` does.
After adding or changing a row: ``python -m tests.oracle.record test_ops_table``.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

import downhill as dh
from oracle.lazy import real_torch, torch  # torch.exp & co. import torch when called

# Central differences step about 6e-6; kinks stay much further away than that.
MARGIN = 0.05


# ------------------------------------------------------------------ domains
def real(rng, shape):
    return rng.uniform(-2.0, 2.0, shape)


def wide(rng, shape):
    return rng.uniform(-5.0, 5.0, shape)


def positive(rng, shape):
    return rng.uniform(0.2, 2.0, shape)


def above_minus_one(rng, shape):
    # log1p's domain is x > -1; stay clear of the pole.
    return rng.uniform(-0.6, 2.0, shape)


def nonzero(rng, shape):
    # For functions with a kink at 0 (abs, sign, relu) and for divisors.
    return rng.choice([-1.0, 1.0], shape) * rng.uniform(0.2, 2.0, shape)


def tan_range(rng, shape):
    return rng.uniform(-1.2, 1.2, shape)


def distinct(rng, shape):
    # No two values within MARGIN of each other, so max/min have one winner.
    n = math.prod(shape)
    values = (rng.permutation(n) - n / 2) * 0.4 + rng.uniform(-0.1, 0.1, n)
    return values.reshape(shape)


# ------------------------------------------------------------ input validity
def apart(margin=MARGIN):
    """Both inputs differ everywhere by more than ``margin`` (maximum/minimum off their tie)."""
    return lambda xs, params: bool(np.all(np.abs(xs[0] - xs[1]) > margin))


def clear_of_bounds(xs, params):
    bounds = [b for b in (params.get("a_min"), params.get("a_max")) if b is not None]
    return all(np.all(np.abs(xs[0] - np.asarray(b)) > MARGIN) for b in bounds)


# ------------------------------------------------------------------ shapes
UNARY = (((),), ((3,),), ((2, 3),))
BINARY = (
    ((), ()),
    ((3,), (3,)),
    ((2, 3), (2, 3)),
    ((1, 3), (2, 3)),
    ((2, 3), (1, 3)),
    ((3,), (2, 3)),
    ((2, 3), (3,)),
    ((), (2, 3)),
    ((2, 3), ()),
    ((2, 1), (1, 3)),
)
MATMUL_SHAPES = (
    ((3,), (3,)),
    ((2, 3), (3,)),
    ((3,), (3, 4)),
    ((2, 3), (3, 4)),
    ((5, 2, 3), (3, 4)),
    ((2, 3), (4, 1, 3, 2)),
    ((2, 1, 2, 3), (3, 3, 2)),
    ((5, 2, 3), (3,)),
    ((3,), (5, 3, 2)),
)


REDUCTION_SHAPES = UNARY + (((2, 3, 2),),)


def _axes_for(ndim):
    """axis=None, 0, -1 and (0, 1) for matrices; partial tuples for 3-d arrays."""
    if ndim == 3:
        return [1, (0, 2), (-1, 0)]
    return [None, 0, -1] + ([(0, 1)] if ndim >= 2 else [])


def reductions(shapes):
    (shape,) = shapes
    return [dict(axis=a, keepdims=k) for a in _axes_for(len(shape)) for k in (False, True)]


def _count(shape, axis):
    if axis is None or not shape:
        return math.prod(shape)
    axes = axis if isinstance(axis, tuple) else (axis,)
    return math.prod(shape[a] for a in axes)


def var_settings(shapes):
    (shape,) = shapes
    return [dict(p, ddof=ddof) for p in reductions(shapes) for ddof in (0, 1)
            if _count(shape, p["axis"]) - ddof > 0]


def std_settings(shapes):
    # std's derivative is infinite where the variance is 0 (one element).
    (shape,) = shapes
    return [p for p in var_settings(shapes) if _count(shape, p["axis"]) >= 2]


def softmax_settings(shapes):
    (shape,) = shapes
    if len(shape) == 3:
        return [dict(axis=1)]
    return [dict(axis=a) for a in ([None, -1] + ([0] if shape else []))]


# ------------------------------------------------------------- PyTorch side
def t_reduce(fn, x, axis, keepdims, **kw):
    """A PyTorch reduction with NumPy's axis=None meaning 'all axes'."""
    if axis is None:
        out = fn(x.reshape(-1), 0, **kw)
        return out.reshape((1,) * x.ndim) if keepdims else out
    return fn(x, axis, keepdim=keepdims, **kw)


def t_prod(x, axis=None, keepdims=False):
    if axis is None or isinstance(axis, int):
        return t_reduce(lambda v, d, keepdim=False: torch.prod(v, d, keepdim=keepdim), x, axis, keepdims)
    axes = [a % x.ndim for a in axis]
    kept = [i for i in range(x.ndim) if i not in axes]
    moved = x.permute(kept + axes).reshape([x.shape[i] for i in kept] + [-1])
    out = torch.prod(moved, -1)
    if keepdims:
        out = out.reshape([1 if i in axes else x.shape[i] for i in range(x.ndim)])
    return out


def t_var(x, axis=None, keepdims=False, ddof=0):
    return t_reduce(lambda v, d, keepdim=False: torch.var(v, d, correction=ddof, keepdim=keepdim),
                    x, axis, keepdims)


def t_std(x, axis=None, keepdims=False, ddof=0):
    return t_reduce(lambda v, d, keepdim=False: torch.std(v, d, correction=ddof, keepdim=keepdim),
                    x, axis, keepdims)


def t_norm(x, dim, keepdim=False):
    return torch.linalg.vector_norm(x, ord=2, dim=dim, keepdim=keepdim)


def t_softmax(fn, x, axis):
    if axis is None:
        return fn(x.reshape(-1), 0).reshape(x.shape)
    return fn(x, axis)


def t_dot(a, b):
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    if a.ndim == 1 and b.ndim == 1:
        return torch.dot(a, b)
    return torch.matmul(a, b)


def t_index(index):
    """A NumPy-style index with its arrays and Tensors made into torch tensors."""
    if isinstance(index, tuple):
        return tuple(t_index(part) for part in index)
    if isinstance(index, dh.Tensor):
        return torch.as_tensor(index.numpy())
    if isinstance(index, (np.ndarray, list)):
        return torch.as_tensor(np.asarray(index))
    return index


def t_scatter(values, index, shape):
    out = torch.zeros(shape, dtype=values.dtype)
    parts = index if isinstance(index, tuple) else (index,)
    if all(isinstance(p, (int, slice)) for p in parts):
        out[index] = values
        return out
    return out.index_put(tuple(torch.as_tensor(np.asarray(p)) for p in parts), values, accumulate=True)


def t_const(value):
    return torch.as_tensor(value) if isinstance(value, np.ndarray) else value


def t_expand_dims(x, axis):
    return x.reshape(np.expand_dims(np.empty(tuple(x.shape)), axis).shape)


def t_dtype(dtype):
    """PyTorch's dtype of the NumPy name ``dtype`` (float64, float32)."""
    return getattr(real_torch(), np.dtype(dtype).name)

MASK = np.array([[True, False, True], [False, True, True]])
COND_ROW = np.array([True, False, True])


# ------------------------------------------------------------------ the table
@dataclass(frozen=True)
class Spec:
    name: str                           # the public function this row tests
    dh: Callable                        # dh(*inputs, **settings)
    torch_fn: Callable                  # the same in PyTorch
    domains: tuple                      # one sampler per input (or one for all)
    shapes: tuple                       # tuples of input shapes to sweep
    settings: object = ({},)            # dicts, or a function of the shapes giving dicts
    valid: Callable | None = None       # valid(inputs, settings): resample until True
    gradcheck: bool = True              # False where central differences cannot measure it
    tag: str = ""                       # tells apart rows of the same function in test ids
    jax_fn: Callable | None = None      # the oracle where PyTorch lacks the function (torch_fn None)
    integer: bool = False               # returns positions or counts: values only, no graph


def _unary(name, torch_fn, domain):
    return Spec(name, getattr(dh, name), torch_fn, (domain,), UNARY)


def _binary(name, torch_fn, domains, valid=None):
    return Spec(name, getattr(dh, name), torch_fn, domains, BINARY, valid=valid)


def _reduction(name, torch_fn, domain, settings=reductions, shapes=REDUCTION_SHAPES):
    return Spec(name, getattr(dh, name), torch_fn, (domain,), shapes, settings)


TABLE: list[Spec] = [
    # arithmetic, with broadcasting
    _binary("add", torch.add, (real, real)),
    _binary("subtract", torch.subtract, (real, real)),
    _binary("multiply", torch.multiply, (real, real)),
    _binary("divide", torch.divide, (real, nonzero)),
    _binary("power", torch.pow, (positive, real)),
    _binary("maximum", torch.maximum, (real, real), valid=apart()),
    _binary("minimum", torch.minimum, (real, real), valid=apart()),
    # arithmetic with a constant operand (Python number or ndarray, on either side)
    Spec("add", lambda x, c, right: dh.add(x, c) if right else dh.add(c, x),
         lambda x, c, right: x + t_const(c) if right else t_const(c) + x, (real,), UNARY,
         [dict(c=2.5, right=True), dict(c=np.array([1.0, -2.0, 0.5]), right=False)]),
    Spec("subtract", lambda x, c, right: dh.subtract(x, c) if right else dh.subtract(c, x),
         lambda x, c, right: x - t_const(c) if right else t_const(c) - x, (real,), UNARY,
         [dict(c=1.5, right=True), dict(c=1.5, right=False)]),
    Spec("multiply", lambda x, c: dh.multiply(c, x), lambda x, c: t_const(c) * x, (real,), UNARY,
         [dict(c=-3.0), dict(c=np.array([1.0, -2.0, 0.5]))]),
    Spec("divide", lambda x, c, right: dh.divide(x, c) if right else dh.divide(c, x),
         lambda x, c, right: x / c if right else c / x, (nonzero,), UNARY,
         [dict(c=4.0, right=True), dict(c=2.0, right=False)]),
    # x ** constant (on positive and, for whole exponents, any bases), constant ** x
    Spec("power", lambda x, p: dh.power(x, p), lambda x, p: torch.pow(x, t_const(p)), (positive,), UNARY,
         [dict(p=p) for p in (2, 3, 0.5, -1.5, 0, 1, np.int64(3), np.float64(2.5), np.array([0.0, 1.0, -0.5]))]),
    Spec("power", lambda x, p: dh.power(x, p), lambda x, p: torch.pow(x, p), (real,), UNARY,
         [dict(p=2), dict(p=3), dict(p=2.0)], tag="any-base"),
    Spec("power", lambda x, b: dh.power(b, x), lambda x, b: torch.pow(b, x), (real,), UNARY,
         [dict(b=2.0), dict(b=0.5)]),
    # elementwise
    _unary("negative", torch.neg, real),
    _unary("exp", torch.exp, real),
    _unary("log", torch.log, positive),
    _unary("log1p", torch.log1p, above_minus_one),
    _unary("expm1", torch.expm1, real),
    _unary("sqrt", torch.sqrt, positive),
    _unary("square", torch.square, real),
    _unary("abs", torch.abs, nonzero),
    _unary("sign", torch.sign, nonzero),
    _unary("sin", torch.sin, real),
    _unary("cos", torch.cos, real),
    _unary("tan", torch.tan, tan_range),
    _unary("arctan", torch.atan, wide),
    _unary("sinh", torch.sinh, real),
    _unary("cosh", torch.cosh, real),
    _unary("tanh", torch.tanh, real),
    _unary("sigmoid", torch.sigmoid, wide),
    _unary("relu", torch.relu, nonzero),
    # |x| < 15: torch's softplus switches to x above its threshold 20.
    _unary("softplus", torch.nn.functional.softplus, wide),
    # erf's three rational pieces: |x| <= 0.5, 0.5 < |x| <= 4, and the tails past 4.
    Spec("erf", dh.autodiff.erf, torch.erf, (wide,), UNARY),
    Spec("erf", dh.autodiff.erf, torch.erf, (lambda rng, shape: rng.choice([-1.0, 1.0], shape)
                                              * rng.uniform(3.5, 6.5, shape),), UNARY, tag="tails"),
    Spec("where", lambda x, y, cond: dh.where(cond, x, y),
         lambda x, y, cond: torch.where(torch.as_tensor(cond), x, y), (real, real),
         (((2, 3), (2, 3)), ((3,), (2, 3)), ((2, 3), ()), ((), ()), ((1, 3), (2, 1))),
         [dict(cond=MASK), dict(cond=COND_ROW)]),
    Spec("where", lambda x, cond: dh.where(cond, x, 0.0),
         lambda x, cond: torch.where(torch.as_tensor(cond), x, 0.0), (real,), (((2, 3),),),
         [dict(cond=MASK)]),
    Spec("clip", lambda x, a_min, a_max: dh.clip(x, a_min, a_max),
         lambda x, a_min, a_max: torch.clamp(x, a_min, a_max), (real,), UNARY,
         [dict(a_min=-0.5, a_max=0.5), dict(a_min=None, a_max=0.5), dict(a_min=-0.5, a_max=None)],
         valid=clear_of_bounds),
    # reductions
    _reduction("sum", lambda x, axis, keepdims: t_reduce(torch.sum, x, axis, keepdims), real),
    _reduction("mean", lambda x, axis, keepdims: t_reduce(torch.mean, x, axis, keepdims), real),
    _reduction("var", t_var, real, settings=var_settings),
    _reduction("std", t_std, real, settings=std_settings),
    _reduction("max", lambda x, axis, keepdims: t_reduce(torch.amax, x, axis, keepdims), distinct),
    _reduction("min", lambda x, axis, keepdims: t_reduce(torch.amin, x, axis, keepdims), distinct),
    _reduction("prod", t_prod, real),
    _reduction("logsumexp", lambda x, axis, keepdims: t_reduce(torch.logsumexp, x, axis, keepdims), real),
    _reduction("norm", lambda x, axis, keepdims: t_reduce(t_norm, x, axis, keepdims), real),
    _reduction("softmax", lambda x, axis: t_softmax(torch.softmax, x, axis), real, softmax_settings),
    _reduction("log_softmax", lambda x, axis: t_softmax(torch.log_softmax, x, axis), real, softmax_settings),
    # linear algebra
    Spec("matmul", dh.matmul, torch.matmul, (real, real), MATMUL_SHAPES),
    Spec("dot", dh.dot, t_dot, (real, real),
         (((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 2)), ((2, 3), (3, 2)), ((), (2, 3)), ((2, 3), ()))),
    Spec("outer", dh.outer, lambda a, b: torch.outer(a.reshape(-1), b.reshape(-1)), (real, real),
         (((3,), (2,)), ((2, 2), (3,)), ((), (3,)))),
    # shapes
    Spec("reshape", lambda x, shape: dh.reshape(x, shape), lambda x, shape: torch.reshape(x, shape), (real,),
         (((2, 3),),), [dict(shape=(3, 2)), dict(shape=(-1,)), dict(shape=(2, 1, 3)), dict(shape=(1, -1))]),
    Spec("reshape", lambda x, shape: dh.reshape(x, shape), lambda x, shape: torch.reshape(x, shape), (real,),
         (((),),), [dict(shape=(1, 1))]),
    Spec("transpose", lambda x, axes: dh.transpose(x, axes),
         lambda x, axes: x.permute(axes if axes is not None else tuple(reversed(range(x.ndim)))), (real,),
         (((2, 3),), ((2, 3, 4),)), lambda shapes: [dict(axes=None)] + (
             [dict(axes=(1, 0, 2)), dict(axes=(2, 0, 1)), dict(axes=(-1, 0, 1))] if len(shapes[0]) == 3 else [])),
    Spec("swapaxes", lambda x, a1, a2: dh.swapaxes(x, a1, a2), lambda x, a1, a2: torch.swapaxes(x, a1, a2),
         (real,), (((2, 3),), ((2, 3, 4),), ((),)),
         lambda shapes: [dict(a1=0, a2=-1)] if shapes == ((),) else [dict(a1=0, a2=1), dict(a1=-1, a2=0)]),
    Spec("expand_dims", lambda x, axis: dh.expand_dims(x, axis), t_expand_dims, (real,), UNARY,
         lambda shapes: [dict(axis=0), dict(axis=-1)] + ([dict(axis=(0, 2))] if shapes[0] else [])),
    Spec("squeeze", lambda x, axis: dh.squeeze(x, axis),
         lambda x, axis: torch.squeeze(x) if axis is None else torch.squeeze(x, axis), (real,),
         (((1, 3),), ((2, 1, 3, 1),), ((),)),
         lambda shapes: {(1, 3): [dict(axis=None), dict(axis=0)],
                         (2, 1, 3, 1): [dict(axis=None), dict(axis=(1, 3)), dict(axis=-1)],
                         (): [dict(axis=None)]}[shapes[0]]),
    Spec("broadcast_to", lambda x, shape: dh.broadcast_to(x, shape),
         lambda x, shape: torch.broadcast_to(x, shape), (real,),
         (((3,),), ((1, 3),), ((),), ((2, 1),)),
         lambda shapes: {(3,): [dict(shape=(2, 3))], (1, 3): [dict(shape=(4, 3)), dict(shape=(2, 2, 3))],
                         (): [dict(shape=(2, 3))], (2, 1): [dict(shape=(2, 3))]}[shapes[0]]),
    Spec("concatenate", lambda *xs, axis: dh.concatenate(xs, axis=axis),
         lambda *xs, axis: torch.cat(xs, dim=axis), (real,),
         (((2, 3), (1, 3)), ((2, 3), (2, 2)), ((3,), (2,), (1,))),
         lambda shapes: {((2, 3), (1, 3)): [dict(axis=0)], ((2, 3), (2, 2)): [dict(axis=1), dict(axis=-1)],
                         ((3,), (2,), (1,)): [dict(axis=0), dict(axis=-1)]}[shapes]),
    Spec("stack", lambda *xs, axis: dh.stack(xs, axis=axis), lambda *xs, axis: torch.stack(xs, dim=axis),
         (real,), (((3,), (3,)), ((2, 3), (2, 3), (2, 3)), ((), ())),
         lambda shapes: [dict(axis=0), dict(axis=-1)] + ([dict(axis=1)] if shapes[0] else [])),
    Spec("flatten", dh.flatten, torch.flatten, (real,), (((),), ((3,),), ((2, 3),), ((2, 1, 2),))),
    Spec("getitem", lambda x, index: dh.getitem(x, index), lambda x, index: x[t_index(index)], (real,),
         (((2, 3),),),
         [dict(index=i) for i in (0, -1, (1, 2), (slice(None), 1), (slice(0, 2), slice(None, None, 2)),
                                  (Ellipsis, None, 1), [1, 0, 1], np.array([[0, 1], [1, 1]]),
                                  ([0, 1, 1], [2, 0, 2]), MASK, dh.tensor([1, 1]), (1, MASK[0]))]),
    Spec("getitem", lambda x, index: x[index], lambda x, index: x[t_index(index)], (real,), (((3,),),),
         [dict(index=[0, 0, 1]), dict(index=slice(1, None))]),
    # primitives with no public name in the list above
    Spec("scatter", lambda v, index, shape: dh.scatter(v, index, shape), t_scatter, (real,),
         (((3,),), ((2, 3),)),
         lambda shapes: {(3,): [dict(index=[0, 0, 2], shape=(4,)), dict(index=slice(1, 4), shape=(5,))],
                         (2, 3): [dict(index=[1, 1], shape=(3, 3)), dict(index=(slice(None), slice(0, 3)),
                                                                         shape=(2, 4))]}[shapes[0]]),
    Spec("astype", lambda x, dtype, copy: dh.astype(x, dtype, copy=copy),
         lambda x, dtype, copy: x.to(t_dtype(dtype)), (real,), UNARY,
         [dict(dtype="float64", copy=True), dict(dtype="float64", copy=False)]),
    # float32 rounding makes the function a staircase to central differences: PyTorch only.
    Spec("astype", lambda x, dtype, copy: dh.astype(x, dtype, copy=copy),
         lambda x, dtype, copy: x.to(t_dtype(dtype)), (real,), UNARY,
         [dict(dtype="float32", copy=True)], gradcheck=False),
]

# The public functions the issue lists; test_ops_table checks the table covers each.
PUBLIC = (
    "add subtract multiply divide negative power exp log log1p expm1 sqrt square abs sign sin cos "
    "tan arctan sinh cosh tanh sigmoid relu softplus maximum minimum where clip sum mean var std max "
    "min prod logsumexp softmax log_softmax matmul dot outer reshape transpose swapaxes expand_dims "
    "squeeze broadcast_to concatenate stack flatten norm getitem"
).split()


@dataclass(frozen=True)
class Case:
    spec: Spec
    shapes: tuple
    settings: dict = field(default_factory=dict)

    @property
    def id(self):
        shapes = "&".join(str(s).replace(" ", "") for s in self.shapes)
        settings = ",".join(f"{k}={_short(v)}" for k, v in self.settings.items())
        name = self.spec.name + (f"[{self.spec.tag}]" if self.spec.tag else "")
        return f"{name}-{shapes}" + (f"-{settings}" if settings else "")

    def inputs(self):
        """The inputs, drawn from the row's domains with a seed fixed by the case's id."""
        rng = np.random.default_rng(zlib.crc32(self.id.encode()))
        domains = self.spec.domains * len(self.shapes) if len(self.spec.domains) == 1 else self.spec.domains
        for _ in range(100):
            xs = [np.asarray(d(rng, s), dtype=np.float64) for d, s in zip(domains, self.shapes, strict=True)]
            if self.spec.valid is None or self.spec.valid(xs, self.settings):
                return xs
        raise AssertionError(f"{self.id}: no valid inputs drawn")

    def dh_call(self, *xs):
        return self.spec.dh(*xs, **self.settings)

    def torch_call(self, *xs):
        return self.spec.torch_fn(*xs, **self.settings)

    def jax_call(self, *xs):
        return self.spec.jax_fn(*xs, **self.settings)


def _short(value):
    if isinstance(value, np.generic):
        return f"{type(value).__name__}({value})"
    if isinstance(value, np.ndarray):
        return "arr" + str(value.shape).replace(" ", "")
    if isinstance(value, dh.Tensor):
        return "T" + str(value.tolist()).replace(" ", "")
    return str(value).replace(" ", "")


def _expand(spec):
    for shapes in spec.shapes:
        settings = spec.settings(shapes) if callable(spec.settings) else spec.settings
        for s in settings:
            yield Case(spec, shapes, s)


# The rows for the functions of issue 10 live in their own file; it imports the
# helpers above, so it is imported here, after them.
from .cases_more import MORE_TABLE  # noqa: E402
from .cases_mod import MOD_TABLE  # noqa: E402

TABLE += MORE_TABLE
TABLE += MOD_TABLE

CASES: list[Case] = [case for spec in TABLE for case in _expand(spec)]
