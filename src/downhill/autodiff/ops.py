"""The rule table: every primitive's forward computation next to its vjp.

Each rule receives ``F``, the namespace it computes with. During an ordinary
backward pass ``F`` is :data:`NP` and every value is a plain NumPy value, so a
rule costs a few NumPy calls. Under ``create_graph=True`` ``F`` is downhill
itself and the values are Tensors, so the same rule records its own graph and
can be differentiated again. Rules therefore use only operators, indexing and
the names that NumPy and downhill share (``F.cos``, ``F.sum``, ...).

Cotangents may come back larger than their input (broadcasting); the backward
pass sums them back to the input's shape in one place (``unbroadcast``), so no
rule here repeats that.

Everything not in this table is a composite of it (see ``composites.py``).
"""

from __future__ import annotations

import builtins
import functools
import itertools
import operator
import types

import numpy as np

from ..errors import InputAxisError, InputError, InputTypeError, shorten
from .mode import THREAD
from .tensor import (Op, Tensor, _apply1, _apply2, _normalize_index, _raw, apply, pass_negated, pass_on, times_first,
                     times_second)

OPS: dict[str, Op] = {}


def defop(name, forward, *vjps, fits=()):
    """Add a primitive to the table: its forward function and one vjp rule per input.

    ``fits`` marks the inputs whose rule keeps the cotangent's shape and dtype
    (see :class:`~downhill.autodiff.tensor.Op`): only elementwise rules that
    compute in the cotangent's dtype qualify.
    """
    op = Op(name, forward, vjps, fits)
    OPS[name] = op
    return op


class _PerInput:
    """vjp rules of a variadic primitive: rule ``i`` is ``rule(i, ...)``."""

    __slots__ = ("rule",)

    def __init__(self, rule):
        self.rule = rule

    def __getitem__(self, i):
        return functools.partial(self.rule, i)

    def __iter__(self):
        return (functools.partial(self.rule, i) for i in itertools.count())


def _expand(F, value, axis, keepdims):
    """Undo a reduction's dropped axes so the value broadcasts against the input."""
    if axis is None or keepdims:
        return value
    return F.expand_dims(value, axis)


# ----------------------------------------------------------------- arithmetic
# (fits: each rule is the cotangent times or over the inputs, whose dtypes the
# output's already promotes; see defop.)
_BOTH = (True, True)
_ONE = (True,)
ADD = defop("add", operator.add, pass_on, pass_on, fits=_BOTH)
SUB = defop("subtract", operator.sub, pass_on, pass_negated, fits=_BOTH)
MUL = defop("multiply", operator.mul, times_second, times_first, fits=_BOTH)
DIV = defop("divide", operator.truediv,
            lambda F, g, ans, x, y: g / y,
            lambda F, g, ans, x, y: -g * x / (y * y), fits=_BOTH)
NEG = defop("negative", operator.neg, pass_negated, fits=_ONE)


def _pow_base(F, g, ans, x, y):
    # d/dx x**y = y * x**(y-1); at y == 0 the derivative is 0, even at x == 0
    # where the formula would give 0 * inf (PyTorch's convention too).
    if isinstance(y, (int, float)):
        if y == 2:
            return g * (x + x)  # x + x is exactly 2 * x, and cheaper on a NumPy scalar
        if y == 0:
            return g * 0
        return g * (y * F.power(x, y - 1))
    y_minus_one = F.where(y == 0, 1, y - 1)
    return F.where(y == 0, 0, g * (y * F.power(x, y_minus_one)))


def _pow_exponent(F, g, ans, x, y):
    # d/dy x**y = x**y * log(x); PyTorch sets it to 0 where x == 0 and y >= 0
    # (the limit from the right), and we keep the log away from the zero.
    safe_x = F.where(x == 0, 1, x)
    return F.where((x == 0) & (y >= 0), 0, g * ans * F.log(safe_x))


def _power_forward(x, y):
    # NumPy computes ``array ** y`` with its own loops (x*x for 2, sqrt for
    # 0.5, a vectorised pow otherwise) but a NumPy scalar through the C
    # library's pow(), and the two can differ in the last bit. So small whole
    # exponents are done by repeated multiplication, and scalars go through
    # the array loop: one climber and a batch of climbers stay bit-identical.
    if type(y) in (int, float) and 2 <= y <= 64 and y == int(y):
        n = int(y)
        result = None
        square = x
        while n:
            if n & 1:
                result = square if result is None else result * square
            n >>= 1
            if n:
                square = square * square
        return result
    if type(x) is not np.ndarray:
        return (np.asarray(x) ** y)[()]
    return x ** y


# The exponent's rule does not fit: the log of a constant Python base is a
# float64 NumPy number, which promotes a float32 cotangent.
POW = defop("power", _power_forward, _pow_base, _pow_exponent, fits=(True, False))

# ------------------------------------------------------------- elementwise


def _sigmoid_forward(x):
    # Split by sign so that exp never overflows: 1/(1+e^-x) for x >= 0,
    # e^x/(1+e^x) for x < 0. Both are accurate to rounding.
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)) if np.ndim(x) else (
        1 / (1 + e) if x >= 0 else e / (1 + e))


EXP = defop("exp", np.exp, lambda F, g, ans, x: g * ans, fits=_ONE)
LOG = defop("log", np.log, lambda F, g, ans, x: g / x, fits=_ONE)
LOG1P = defop("log1p", np.log1p, lambda F, g, ans, x: g / (1 + x), fits=_ONE)
EXPM1 = defop("expm1", np.expm1, lambda F, g, ans, x: g * (ans + 1), fits=_ONE)
SQRT = defop("sqrt", np.sqrt, lambda F, g, ans, x: g / (2 * ans), fits=_ONE)
# abs'(0) = 0 and sign' = 0, as in PyTorch: sign(0) is 0.
ABS = defop("abs", operator.abs, lambda F, g, ans, x: g * F.sign(x), fits=_ONE)
SIGN = defop("sign", np.sign, None)
SIN = defop("sin", np.sin, lambda F, g, ans, x: g * F.cos(x), fits=_ONE)
COS = defop("cos", np.cos, lambda F, g, ans, x: -g * F.sin(x), fits=_ONE)
TAN = defop("tan", np.tan, lambda F, g, ans, x: g * (1 + ans * ans), fits=_ONE)
ARCTAN = defop("arctan", np.arctan, lambda F, g, ans, x: g / (1 + x * x), fits=_ONE)
SINH = defop("sinh", np.sinh, lambda F, g, ans, x: g * F.cosh(x), fits=_ONE)
COSH = defop("cosh", np.cosh, lambda F, g, ans, x: g * F.sinh(x), fits=_ONE)
_F64 = np.dtype(np.float64)
_ONE64 = np.ones((), dtype=np.float64)  # (never written to)
_NDARRAY = np.ndarray


def _tanh_vjp(F, g, ans, x):
    if type(ans) is _NDARRAY and ans.dtype is _F64:
        # The same numbers as below: NumPy turns the Python 1 into this very
        # float64 value, but doing so costs it as much as the subtraction.
        return g * (_ONE64 - ans * ans)
    return g * (1 - ans * ans)


TANH = defop("tanh", np.tanh, _tanh_vjp, fits=_ONE)
# sigmoid and softplus have hand rules: built from exp, their derivatives
# overflow to inf/inf = nan for large |x|.
SIGMOID = defop("sigmoid", _sigmoid_forward, lambda F, g, ans, x: g * (ans * (1 - ans)), fits=_ONE)
SOFTPLUS = defop("softplus", lambda x: np.logaddexp(0, x), lambda F, g, ans, x: g * F.sigmoid(x), fits=_ONE)


# W. J. Cody, "Rational Chebyshev approximations for the error function",
# Math. Comp. 23 (1969), 631-637, as in his SPECFUN routine CALERF: three
# rational functions, each accurate to about 1e-16 relative on its interval.
_ERF_A = (3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02,
          3.20937758913846947e03, 1.85777706184603153e-1)
_ERF_B = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03,
          2.84423683343917062e03)
_ERF_C = (5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01,
          2.98635138197400131e02, 8.81952221241769090e02, 1.71204761263407058e03,
          2.05107837782607147e03, 1.23033935479799725e03, 2.15311535474403846e-8)
_ERF_D = (1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02,
          1.62138957456669019e03, 3.29079923573345963e03, 4.36261909014324716e03,
          3.43936767414372164e03, 1.23033935480374942e03)
_ERF_P = (3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1,
          1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2)
_ERF_Q = (2.56852019228982242e00, 1.87295284992346725e00, 5.27905102951428412e-1,
          6.05183413124413191e-2, 2.33520497626869185e-3)
_ONE_OVER_SQRT_PI = 5.6418958354775628695e-1


def _erfc_scaled_tail(y, num, den):
    """exp(-y*y) * ratio, with y*y split so that its rounding error does not grow."""
    whole = np.trunc(y * 16) / 16
    return np.exp(-whole * whole) * np.exp(-(y - whole) * (y + whole)) * num / den


def _erf_forward(x):
    x = np.asarray(x)
    dtype = x.dtype if x.dtype.kind == "f" else np.dtype(np.float64)
    y = np.abs(x.astype(np.float64, copy=False)).reshape(-1)
    out = np.full(y.shape, np.nan)
    small = y <= 0.5
    if small.any():
        s = y[small]
        z = s * s
        num, den = _ERF_A[4] * z, z
        for a, b in zip(_ERF_A[:3], _ERF_B[:3]):
            num = (num + a) * z
            den = (den + b) * z
        out[small] = s * (num + _ERF_A[3]) / (den + _ERF_B[3])
    middle = (y > 0.5) & (y <= 4.0)
    if middle.any():
        s = y[middle]
        num, den = _ERF_C[8] * s, s
        for c, d in zip(_ERF_C[:7], _ERF_D[:7]):
            num = (num + c) * s
            den = (den + d) * s
        out[middle] = (0.5 - _erfc_scaled_tail(s, num + _ERF_C[7], den + _ERF_D[7])) + 0.5
    large = y > 4.0
    if large.any():
        # Past 27, erfc(y) < 1e-317: erf is 1 to the last bit (and inf stays out of the arithmetic).
        s = np.minimum(y[large], 27.0)
        z = 1 / (s * s)
        num, den = _ERF_P[5] * z, z
        for p, q in zip(_ERF_P[:4], _ERF_Q[:4]):
            num = (num + p) * z
            den = (den + q) * z
        tail = z * (num + _ERF_P[4]) / (den + _ERF_Q[4])
        out[large] = (0.5 - _erfc_scaled_tail(s, _ONE_OVER_SQRT_PI - tail, s)) + 0.5
    out = np.copysign(out, x.reshape(-1)).reshape(x.shape).astype(dtype, copy=False)
    return out[()] if out.ndim == 0 else out


_TWO_OVER_SQRT_PI = 1.1283791670955125739  # 2/sqrt(pi), the slope of erf at 0
# NumPy has no erf; the exact GELU of downhill.nn needs one.
ERF = defop("erf", _erf_forward, lambda F, g, ans, x: g * (_TWO_OVER_SQRT_PI * F.exp(-(x * x))))
# relu is a primitive rather than where(x > 0, x, 0): np.where is about ten
# times slower than maximum and a multiply, and relu sits in every layer.
# relu'(0) = 0 (PyTorch): the mask ans > 0 is False there.
# relu(nan) is nan (np.maximum propagates it) and passes its gradient on, as
# PyTorch's threshold rule does: only ans <= 0 stops it.
RELU = defop("relu", lambda x: np.maximum(x, 0), lambda F, g, ans, x: g * ~(ans <= 0), fits=_ONE)

# A tie splits the gradient evenly between the two inputs; where a NaN makes
# every comparison false the gradient passes to both (PyTorch's rule).
MAXIMUM = defop("maximum", np.maximum,
                lambda F, g, ans, x, y: g * (1 - (x < y) - 0.5 * (x == y)),
                lambda F, g, ans, x, y: g * (1 - (y < x) - 0.5 * (x == y)))
WHERE = defop("where", np.where,
              None,
              lambda F, g, ans, c, x, y: F.where(c, g, 0),
              lambda F, g, ans, c, x, y: F.where(c, 0, g))


def _clip_vjp(F, g, ans, x, a_min=None, a_max=None):
    # The gradient passes where a_min <= x <= a_max, bounds included (PyTorch).
    inside = None
    if a_min is not None:
        inside = x >= a_min
    if a_max is not None:
        upper = x <= a_max
        inside = upper if inside is None else inside & upper
    return g if inside is None else F.where(inside, g, 0)


CLIP = defop("clip", lambda x, a_min=None, a_max=None: np.clip(x, a_min, a_max), _clip_vjp)

# ------------------------------------------------------------------- reductions


def _sum_vjp(F, g, ans, x, axis=None, keepdims=False):
    return F.broadcast_to(_expand(F, g, axis, keepdims), np.shape(x))


def _max_vjp(F, g, ans, x, axis=None, keepdims=False):
    # Equal maxima share the gradient evenly (PyTorch's amax rule).
    g = _expand(F, g, axis, keepdims)
    mask = x == _expand(F, ans, axis, keepdims)
    if THREAD.masks_in_graph:
        # vmap is tracing: an integer count would be a constant of one example;
        # counted in floats it is recorded and follows each example's ties.
        count = F.sum(F.where(mask, 1.0, 0.0), axis=axis, keepdims=True)
        lost = count == 0
        return F.where(lost, np.nan, F.where(mask, g / F.where(lost, 1.0, count), 0))
    count = F.sum(mask, axis=axis, keepdims=True)
    lost = count == 0
    if not np.any(lost._data if isinstance(lost, Tensor) else lost):
        return F.where(mask, g / count, 0)
    # A NaN maximum equals nothing: its slice gets NaN gradients (PyTorch's amax).
    return F.where(lost, np.nan, F.where(mask, g / F.where(lost, 1, count), 0))


def _norm_vjp(F, g, ans, x, axis=None, keepdims=False):
    # x / |x|, with the subgradient 0 at the origin (PyTorch's choice) instead
    # of the 0/0 that the composite sqrt(sum(x*x)) would give.
    g = _expand(F, g, axis, keepdims)
    ans = _expand(F, ans, axis, keepdims)
    at_zero = ans == 0
    return F.where(at_zero, 0, g * x / F.where(at_zero, 1, ans))


def _norm_forward(x, axis=None, keepdims=False):
    return np.sqrt(np.sum(np.square(x), axis=axis, keepdims=keepdims))


SUM = defop("sum", lambda x, axis=None, keepdims=False: np.sum(x, axis=axis, keepdims=keepdims), _sum_vjp)
MAX = defop("max", lambda x, axis=None, keepdims=False: np.max(x, axis=axis, keepdims=keepdims), _max_vjp)
NORM = defop("norm", _norm_forward, _norm_vjp)

# ------------------------------------------------------------------- linear algebra


def _matmul_vjp_x(F, g, ans, x, y):
    if np.ndim(y) == 1:
        if np.ndim(x) == 1:
            return g * y
        return F.expand_dims(g, -1) * y
    if np.ndim(x) == 1:
        return F.matmul(y, F.expand_dims(g, -1))[..., 0]
    return F.matmul(g, F.swapaxes(y, -1, -2))


def _matmul_vjp_y(F, g, ans, x, y):
    if np.ndim(x) == 1:
        if np.ndim(y) == 1:
            return g * x
        return F.expand_dims(x, -1) * F.expand_dims(g, -2)
    if np.ndim(y) == 1:
        return F.matmul(F.swapaxes(x, -1, -2), F.expand_dims(g, -1))[..., 0]
    if type(y) is np.ndarray and y.ndim == 2 and y.flags.f_contiguous and not y.flags.c_contiguous:
        # y is a transposed view, as in x @ W.T (a Linear layer): (g.T @ x).T is the
        # same product laid out like W, so W's gradient arrives C-contiguous and
        # the optimizer's in-place step reads it in order (no strided copy).
        return F.swapaxes(F.matmul(F.swapaxes(g, -1, -2), x), -1, -2)
    return F.matmul(F.swapaxes(x, -1, -2), g)


MATMUL = defop("matmul", np.matmul, _matmul_vjp_x, _matmul_vjp_y)

# ------------------------------------------------------------------- shapes


def _transpose_vjp(F, g, ans, x, axes=None):
    return F.transpose(g, None if axes is None else tuple(np.argsort(axes)))


def _concatenate_vjp(i, F, g, ans, *xs, axis=0):
    start = builtins.sum(np.shape(x)[axis] for x in xs[:i])
    stop = start + np.shape(xs[i])[axis]
    return g[(slice(None),) * axis + (slice(start, stop),)]


def _scatter_forward(g, index, shape):
    """Zeros of ``shape`` with ``g`` added at ``index`` (repeats accumulate)."""
    out = np.zeros(shape, dtype=np.result_type(g))
    if _without_repeats(index):
        out[index] = g
    else:
        np.add.at(out, index, g)  # slow, but adds up repeated positions
    return out


def _without_repeats(index):
    """True when ``index`` cannot name a position twice, so plain assignment is enough.

    Slices, integers and boolean masks never repeat; integer arrays may, unless
    one of them is strictly increasing (like ``arange(n)`` when picking one
    class per row), which makes every combination distinct.
    """
    parts = index if isinstance(index, tuple) else (index,)
    arrays = []
    for p in parts:
        if isinstance(p, (int, np.integer, slice, type(None), type(Ellipsis))):
            continue
        p = np.asarray(p)
        if p.dtype == bool:
            continue
        arrays.append(p)
    if not arrays:
        return True
    # Negative indices wrap around, so only a non-negative increasing run counts.
    return len({a.shape for a in arrays}) == 1 and any(
        a.ndim == 1 and (a.size < 2 or (a[0] >= 0 and bool(np.all(a[1:] > a[:-1])))) for a in arrays
    )


RESHAPE = defop("reshape", lambda x, shape: np.reshape(x, shape),
                lambda F, g, ans, x, shape: F.reshape(g, np.shape(x)))
TRANSPOSE = defop("transpose", lambda x, axes=None: np.transpose(x, axes), _transpose_vjp)
# The backward pass sums a cotangent back to its input's shape, which is
# exactly broadcast_to's vjp.
BROADCAST_TO = defop("broadcast_to", lambda x, shape: np.broadcast_to(x, shape),
                     lambda F, g, ans, x, shape: g)
GETITEM = defop("getitem", lambda x, index: np.asarray(x)[index],
                lambda F, g, ans, x, index: F.scatter(g, index, np.shape(x)))
SCATTER = defop("scatter", _scatter_forward,
                lambda F, g, ans, v, index, shape: g[index])
CONCATENATE = defop("concatenate", lambda *xs, axis=0: np.concatenate(xs, axis=axis))
CONCATENATE.vjps = _PerInput(_concatenate_vjp)
ASTYPE = defop("astype", lambda x, dtype, copy=True: np.asarray(x).astype(dtype, copy=copy)[()]
               if np.ndim(x) == 0 else x.astype(dtype, copy=copy),
               lambda F, g, ans, x, dtype, copy=True: g)


# ======================================================================
# Public functions over the primitives (NumPy's names and conventions)
# ======================================================================


def _axes(axis, ndim, name):
    """A reduction's axis as None or a sorted tuple of non-negative ints."""
    if axis is None:
        return None
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    out = []
    for a in axes:
        if not isinstance(a, (int, np.integer)) or isinstance(a, bool):
            raise InputTypeError(f"{name}: axis must be an int or a tuple of ints, got {shorten(repr(a))}")
        if not -builtins.max(ndim, 1) <= a < builtins.max(ndim, 1):
            raise InputAxisError(
                f"{name}: axis {a} is out of range for a tensor with {ndim} dimension(s) "
                f"(accepted: {-builtins.max(ndim, 1)}..{builtins.max(ndim, 1) - 1})"
            )
        out.append(int(a) % builtins.max(ndim, 1))
    if len(set(out)) != len(out):
        raise InputError(f"{name}: repeated axis in {shorten(repr(axis))}; name each axis once")
    if ndim == 0:
        # A 0-d tensor has one implicit axis (PyTorch accepts dim 0 or -1):
        # reducing over it leaves the one value, which is axis=None to NumPy.
        return None
    return tuple(sorted(out))


def _ndim(x):
    return x.ndim if isinstance(x, Tensor) else np.ndim(_raw(x))


def add(x1, x2):
    """Elementwise ``x1 + x2`` with broadcasting.

    >>> import downhill as dh
    >>> dh.add(dh.tensor([1.0, 2.0]), 10)
    tensor([11., 12.])
    """
    return _apply2(ADD, x1, x2)


def subtract(x1, x2):
    """Elementwise ``x1 - x2``.

    >>> import downhill as dh
    >>> dh.subtract(5.0, dh.tensor([1.0, 2.0]))
    tensor([4., 3.])
    """
    return _apply2(SUB, x1, x2)


def multiply(x1, x2):
    """Elementwise ``x1 * x2``.

    >>> import downhill as dh
    >>> dh.multiply(dh.tensor([1.0, 2.0]), dh.tensor([3.0, 4.0]))
    tensor([3., 8.])
    """
    return _apply2(MUL, x1, x2)


def divide(x1, x2):
    """Elementwise ``x1 / x2`` (true division).

    >>> import downhill as dh
    >>> dh.divide(dh.tensor([1.0, 3.0]), 2)
    tensor([0.5, 1.5])
    """
    return _apply2(DIV, x1, x2)


def negative(x):
    """Elementwise ``-x``.

    >>> import downhill as dh
    >>> dh.negative(dh.tensor([1.0, -2.0]))
    tensor([-1.,  2.])
    """
    return _apply1(NEG, x)


def power(x1, x2):
    """Elementwise ``x1 ** x2``; differentiable in both.

    The derivative in the exponent at ``x1 == 0`` is taken as 0 (PyTorch).

    >>> import downhill as dh
    >>> dh.power(dh.tensor([2.0, 3.0]), 2)
    tensor([4., 9.])
    """
    return _apply2(POW, x1, x2)


def exp(x):
    """Elementwise e**x.

    >>> import downhill as dh
    >>> dh.exp(dh.tensor(0.0))
    tensor(1.)
    """
    return _apply1(EXP, x)


def log(x):
    """Elementwise natural logarithm.

    >>> import downhill as dh
    >>> dh.log(dh.tensor(1.0))
    tensor(0.)
    """
    return _apply1(LOG, x)


def log1p(x):
    """Elementwise log(1 + x), accurate for small x.

    >>> import downhill as dh
    >>> dh.log1p(dh.tensor(0.0))
    tensor(0.)
    """
    return _apply1(LOG1P, x)


def expm1(x):
    """Elementwise exp(x) - 1, accurate for small x.

    >>> import downhill as dh
    >>> dh.expm1(dh.tensor(0.0))
    tensor(0.)
    """
    return _apply1(EXPM1, x)


def sqrt(x):
    """Elementwise square root.

    >>> import downhill as dh
    >>> dh.sqrt(dh.tensor([4.0, 9.0]))
    tensor([2., 3.])
    """
    return _apply1(SQRT, x)


def abs(x):
    """Elementwise |x|. Its derivative at 0 is taken as 0 (PyTorch's convention).

    >>> import downhill as dh
    >>> dh.abs(dh.tensor([-2.0, 3.0]))
    tensor([2., 3.])
    """
    return _apply1(ABS, x)


def sign(x):
    """Elementwise sign (-1, 0 or 1). Its derivative is 0 everywhere.

    >>> import downhill as dh
    >>> dh.sign(dh.tensor([-2.0, 0.0, 3.0]))
    tensor([-1.,  0.,  1.])
    """
    return _apply1(SIGN, x)


def sin(x):
    """Elementwise sine (radians).

    >>> import downhill as dh
    >>> dh.sin(dh.tensor(0.0))
    tensor(0.)
    """
    return _apply1(SIN, x)


def cos(x):
    """Elementwise cosine (radians).

    >>> import downhill as dh
    >>> dh.cos(dh.tensor(0.0))
    tensor(1.)
    """
    return _apply1(COS, x)


def tan(x):
    """Elementwise tangent (radians).

    >>> import downhill as dh
    >>> dh.tan(dh.tensor(0.0))
    tensor(0.)
    """
    return _apply1(TAN, x)


def arctan(x):
    """Elementwise inverse tangent.

    >>> import downhill as dh
    >>> dh.arctan(dh.tensor(0.0))
    tensor(0.)
    """
    return _apply1(ARCTAN, x)


def sinh(x):
    """Elementwise hyperbolic sine.

    >>> import downhill as dh
    >>> dh.sinh(dh.tensor(0.0))
    tensor(0.)
    """
    return _apply1(SINH, x)


def cosh(x):
    """Elementwise hyperbolic cosine.

    >>> import downhill as dh
    >>> dh.cosh(dh.tensor(0.0))
    tensor(1.)
    """
    return _apply1(COSH, x)


def tanh(x):
    """Elementwise hyperbolic tangent.

    >>> import downhill as dh
    >>> dh.tanh(dh.tensor(0.0))
    tensor(0.)
    """
    return _apply1(TANH, x)


def sigmoid(x):
    """Elementwise logistic function 1 / (1 + e**-x), stable for large |x|.

    >>> import downhill as dh
    >>> dh.sigmoid(dh.tensor(0.0))
    tensor(0.5)
    """
    return _apply1(SIGMOID, x)


def softplus(x):
    """Elementwise log(1 + e**x), computed without overflow; its derivative is sigmoid(x).

    Unlike ``torch.nn.functional.softplus`` there is no threshold above which
    it returns x: the value is accurate to rounding everywhere.

    >>> import downhill as dh
    >>> round(dh.softplus(dh.tensor(0.0)).item(), 6)
    0.693147
    """
    return _apply1(SOFTPLUS, x)


def erf(x):
    """The error function, erf(x) = 2/sqrt(pi) * integral from 0 to x of exp(-t*t) dt.

    Computed with W. J. Cody's rational approximations (accurate to about
    1e-16 relative); its derivative is 2/sqrt(pi) * exp(-x*x). Integer inputs
    give float64, float32 stays float32.

    >>> import downhill as dh
    >>> dh.erf(dh.tensor([0.0, 0.5])).tolist()
    [0.0, 0.5204998778130465]
    """
    return _apply1(ERF, x)


def relu(x):
    """Elementwise max(x, 0). Its derivative at 0 is taken as 0 (PyTorch's convention).

    >>> import downhill as dh
    >>> dh.relu(dh.tensor([-1.0, 0.0, 2.0]))
    tensor([0., 0., 2.])
    """
    return _apply1(RELU, x)


def maximum(x1, x2):
    """Elementwise larger of two values; a tie splits the gradient evenly.

    >>> import downhill as dh
    >>> dh.maximum(dh.tensor([1.0, 5.0]), 3.0)
    tensor([3., 5.])
    """
    return _apply2(MAXIMUM, x1, x2)


def where(condition, x, y):
    """``x`` where ``condition`` holds, else ``y``; differentiable in x and y.

    >>> import downhill as dh
    >>> t = dh.tensor([-1.0, 2.0])
    >>> dh.where(t > 0, t, 0.0)
    tensor([0., 2.])
    """
    if isinstance(condition, Tensor):
        if condition._rg:  # a mask recorded while vmap traces: kept in the graph
            return apply(WHERE, (condition, x, y))
        condition = condition._data
    return apply(WHERE, (np.asarray(condition, dtype=bool), x, y))


def clip(a, a_min=None, a_max=None):
    """Limit values to [a_min, a_max]. The gradient passes at the bounds too (PyTorch's clamp).

    >>> import downhill as dh
    >>> dh.clip(dh.tensor([-2.0, 0.5, 2.0]), -1, 1)
    tensor([-1. ,  0.5,  1. ])
    """
    if a_min is None and a_max is None:
        raise InputError("clip: give a_min, a_max, or both")
    if isinstance(a_min, Tensor):
        a_min = a_min.data
    if isinstance(a_max, Tensor):
        a_max = a_max.data
    return _apply1(CLIP, a, {"a_min": a_min, "a_max": a_max})


def sum(a, axis=None, keepdims=False):
    """Sum of elements over ``axis`` (all of them by default).

    >>> import downhill as dh
    >>> dh.sum(dh.tensor([[1.0, 2.0], [3.0, 4.0]]), axis=0)
    tensor([4., 6.])
    """
    return _apply1(SUM, a, {"axis": _axes(axis, _ndim(a), "sum"), "keepdims": bool(keepdims)})


def max(a, axis=None, keepdims=False):
    """Largest element over ``axis``. Equal maxima share the gradient evenly.

    >>> import downhill as dh
    >>> dh.max(dh.tensor([[1.0, 5.0], [3.0, 2.0]]), axis=1)
    tensor([5., 3.])
    """
    # ._data, not .data: reading a shape is not reading the values (vmap's tracing watches .data)
    if _ndim(a) and 0 in np.shape(a._data if isinstance(a, Tensor) else a):
        raise InputError(f"max of an empty tensor (shape {np.shape(a._data if isinstance(a, Tensor) else a)}) "
                         "has no value; give a tensor with at least one element")
    return _apply1(MAX, a, {"axis": _axes(axis, _ndim(a), "max"), "keepdims": bool(keepdims)})


def norm(x, axis=None, keepdims=False):
    """The 2-norm: Euclidean length of a vector, Frobenius norm of a matrix.

    With ``axis``, vector norms along that axis. The gradient at the origin is 0.

    >>> import downhill as dh
    >>> dh.norm(dh.tensor([3.0, 4.0]))
    tensor(5.)
    """
    return _apply1(NORM, x, {"axis": _axes(axis, _ndim(x), "norm"), "keepdims": bool(keepdims)})


def matmul(x1, x2):
    """Matrix product with NumPy's rules (1-D operands, batched stacks, broadcasting).

    >>> import downhill as dh
    >>> dh.matmul(dh.tensor([[1.0, 2.0]]), dh.tensor([[3.0], [4.0]]))
    tensor([[11.]])
    """
    if _ndim(x1) == 0 or _ndim(x2) == 0:
        raise InputError("matmul: operands must have at least one dimension; use * for scalars")
    return apply(MATMUL, (x1, x2))


def reshape(a, shape):
    """The same elements in a new shape (one axis may be -1).

    >>> import downhill as dh
    >>> dh.reshape(dh.arange(6.0), (2, 3)).shape
    (2, 3)
    """
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    return _apply1(RESHAPE, a, {"shape": tuple(shape)})


def transpose(a, axes=None):
    """Permute axes (reverse them by default).

    >>> import downhill as dh
    >>> dh.transpose(dh.zeros((2, 3))).shape
    (3, 2)
    """
    if axes is not None:
        ndim = builtins.max(_ndim(a), 1)
        # Check the range first: `% ndim` alone would wrap axis 5 of a matrix to 1.
        if any(not -ndim <= ax < ndim for ax in axes):
            raise InputAxisError(f"transpose: axes {shorten(tuple(axes))} out of range for a tensor with {_ndim(a)} dimension(s) "
                                 f"(accepted: {-ndim}..{ndim - 1})")
        axes = tuple(int(ax) % ndim for ax in axes)
    return _apply1(TRANSPOSE, a, {"axes": axes})


def broadcast_to(a, shape):
    """Repeat values to a larger shape by NumPy's broadcasting; the gradient is summed back.

    >>> import downhill as dh
    >>> dh.broadcast_to(dh.tensor([1.0, 2.0]), (3, 2)).shape
    (3, 2)
    """
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    return _apply1(BROADCAST_TO, a, {"shape": tuple(shape)})


def getitem(a, index):
    """``a[index]``: slices, integer arrays (repeats accumulate in the gradient), boolean masks.

    >>> import downhill as dh
    >>> dh.getitem(dh.tensor([10.0, 20.0, 30.0]), [0, 2])
    tensor([10., 30.])
    """
    return _apply1(GETITEM, a, {"index": _normalize_index(index)})


def scatter(values, index, shape):
    """Zeros of ``shape`` with ``values`` added at ``index``: the transpose of indexing.

    >>> import downhill as dh
    >>> dh.scatter(dh.tensor([1.0, 1.0]), [0, 0], (3,))
    tensor([2., 0., 0.])
    """
    return _apply1(SCATTER, values, {"index": _normalize_index(index), "shape": tuple(shape)})


def concatenate(arrays, axis=0):
    """Join tensors along an existing axis.

    >>> import downhill as dh
    >>> dh.concatenate([dh.ones(2), dh.zeros(1)])
    tensor([1., 1., 0.])
    """
    arrays = list(arrays)
    if not arrays:
        raise InputError("concatenate needs at least one tensor; got an empty sequence")
    ndim = _ndim(arrays[0])
    if ndim == 0:
        raise InputError("concatenate: 0-d tensors cannot be joined; use stack")
    (axis,) = _axes(axis, ndim, "concatenate")
    return apply(CONCATENATE, arrays, {"axis": axis})


def astype(x, dtype, copy=True):
    """Cast to ``dtype``; the gradient flows back in the input's dtype.

    >>> import downhill as dh
    >>> dh.astype(dh.tensor([1.5]), "float32").dtype
    dtype('float32')
    """
    return _apply1(ASTYPE, x, {"dtype": np.dtype(dtype), "copy": copy})


def expand_dims(a, axis):
    """Insert axes of length 1 at ``axis`` (an int or a tuple).

    >>> import downhill as dh
    >>> dh.expand_dims(dh.zeros(3), 0).shape
    (1, 3)
    """
    shape = np.shape(a._data if isinstance(a, Tensor) else _raw(a))
    return reshape(a, np.expand_dims(np.empty(shape, dtype=bool), axis).shape)


def swapaxes(a, axis1, axis2):
    """Exchange two axes.

    >>> import downhill as dh
    >>> dh.swapaxes(dh.zeros((2, 3, 4)), 0, 2).shape
    (4, 3, 2)
    """
    ndim = _ndim(a)
    # _axes checks the range (a bare `% ndim` wrapped any axis, and divided by zero for 0-d).
    (i,), (j,) = _axes(axis1, builtins.max(ndim, 1), "swapaxes"), _axes(axis2, builtins.max(ndim, 1), "swapaxes")
    if ndim == 0:
        return transpose(a)  # one implicit axis, swapped with itself
    axes = list(range(ndim))
    axes[i], axes[j] = axes[j], axes[i]
    return transpose(a, tuple(axes))


# The namespace the rules compute with during an ordinary backward pass:
# plain NumPy, plus the few helpers NumPy spells differently.
NP = types.SimpleNamespace(
    exp=np.exp, log=np.log, sin=np.sin, cos=np.cos, sinh=np.sinh, cosh=np.cosh,
    sign=np.sign, sigmoid=_sigmoid_forward, where=np.where,
    sum=lambda x, axis=None, keepdims=False: np.sum(x, axis=axis, keepdims=keepdims),
    reshape=np.reshape, broadcast_to=np.broadcast_to, expand_dims=np.expand_dims,
    swapaxes=np.swapaxes, transpose=np.transpose, matmul=np.matmul,
    scatter=_scatter_forward, power=_power_forward,
)

# The namespace for create_graph=True: downhill's own recorded functions.
DH = types.SimpleNamespace(
    exp=exp, log=log, sin=sin, cos=cos, sinh=sinh, cosh=cosh, sign=sign, sigmoid=sigmoid,
    where=where, sum=sum, reshape=reshape, broadcast_to=broadcast_to, expand_dims=expand_dims,
    swapaxes=swapaxes, transpose=transpose, matmul=matmul, scatter=scatter, power=power,
)
