"""More elementwise functions: inverse trigonometry, logarithms in other bases, rounding, ...

Primitives (forward next to vjp) where NumPy has an accurate forward of its
own or the derived rule would be poor; composites (a line of existing ops)
otherwise. NumPy's names, broadcasting and dtypes throughout.
"""

from __future__ import annotations

import math

import numpy as np

from .composites import _as_tensor
from .extend import provide, value
from .ops import (
    _ERF_C,
    _ERF_D,
    _ERF_P,
    _ERF_Q,
    _ONE_OVER_SQRT_PI,
    _TWO_OVER_SQRT_PI,
    _erf_forward,
    _erfc_scaled_tail,
    abs as _abs,
    defop,
    divide as _divide,
    exp,
    sqrt,
)
from .tensor import _apply1, _apply2

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)


def _erfc_forward(x):
    """erfc(x) = 1 - erf(x) without the cancellation for large x (W. J. Cody's pieces, as erf)."""
    x = np.asarray(x)
    dtype = x.dtype if x.dtype.kind == "f" else np.dtype(np.float64)
    flat = x.astype(np.float64, copy=False).reshape(-1)
    y = np.abs(flat)
    out = np.empty(y.shape)
    small = ~(y > 0.5)  # NaN goes here too: 1 - erf(NaN) is NaN
    if small.any():
        out[small] = 1.0 - np.asarray(_erf_forward(flat[small]), dtype=np.float64)
    middle = (y > 0.5) & (y <= 4.0)
    if middle.any():
        s = y[middle]
        num, den = _ERF_C[8] * s, s
        for c, d in zip(_ERF_C[:7], _ERF_D[:7]):
            num = (num + c) * s
            den = (den + d) * s
        out[middle] = _erfc_scaled_tail(s, num + _ERF_C[7], den + _ERF_D[7])
    large = y > 4.0
    if large.any():
        # Past 27, erfc(y) < 1e-317: it is 0 (and inf stays out of the arithmetic).
        s = np.minimum(y[large], 27.0)
        z = 1 / (s * s)
        num, den = _ERF_P[5] * z, z
        for p, q in zip(_ERF_P[:4], _ERF_Q[:4]):
            num = (num + p) * z
            den = (den + q) * z
        tail = z * (num + _ERF_P[4]) / (den + _ERF_Q[4])
        out[large] = np.where(y[large] > 27.0, 0.0, _erfc_scaled_tail(s, _ONE_OVER_SQRT_PI - tail, s))
    negative = (flat < 0) & ~small
    out[negative] = 2.0 - out[negative]  # erfc(-y) = 2 - erfc(y)
    out = out.reshape(x.shape).astype(dtype, copy=False)
    return out[()] if out.ndim == 0 else out


def _sinc_vjp(F, g, ans, x):
    # d/dx sin(pi x)/(pi x) = (cos(pi x) - sinc(x)) / x, with the limit 0 at x = 0.
    # Masks are computed on the rule's own inputs (NumPy values, or Tensors under
    # create_graph), so that vmap's tracing records them and they follow each example.
    at_zero = x == 0
    safe = F.where(at_zero, 1.0, x)
    return F.where(at_zero, 0.0, g * (F.cos(np.pi * x) - ans) / safe)


def _hypot_vjp(which):
    def rule(F, g, ans, x, y):
        # x / hypot(x, y), with 0 at the origin (the subgradient norm uses too).
        at_zero = ans == 0
        part = x if which == 0 else y
        return F.where(at_zero, 0.0, g * part / F.where(at_zero, 1.0, ans))
    return rule


def _fmax_wins(x, y):
    # The first input wins ties and wherever the second is NaN (PyTorch's fmax rule).
    return (x >= y) | (y != y)  # y != y: y is NaN


def _fmin_wins(x, y):
    return (x <= y) | (y != y)


def _zero(F, g, ans, *inputs, **params):
    # A step function: its derivative is 0 wherever it exists. PyTorch gives zeros (not None,
    # and not g * 0, which is NaN where g is infinite).
    return F.where(np.zeros(np.shape(value(g)), dtype=bool), g, 0.0)


ARCSIN = defop("arcsin", np.arcsin, lambda F, g, ans, x: g / F.sqrt(1 - x * x))
ARCCOS = defop("arccos", np.arccos, lambda F, g, ans, x: -g / F.sqrt(1 - x * x))
ARCSINH = defop("arcsinh", np.arcsinh, lambda F, g, ans, x: g / F.sqrt(x * x + 1))
# sqrt(x - 1) * sqrt(x + 1) rather than sqrt(x*x - 1): no cancellation near x = 1.
ARCCOSH = defop("arccosh", np.arccosh, lambda F, g, ans, x: g / (F.sqrt(x - 1) * F.sqrt(x + 1)))
ARCTANH = defop("arctanh", np.arctanh, lambda F, g, ans, x: g / (1 - x * x))
# log2, log10 and exp2 are primitives so that log2(8) is 3 exactly (log(8)/log(2) is not).
LOG2 = defop("log2", np.log2, lambda F, g, ans, x: g / (x * _LN2))
LOG10 = defop("log10", np.log10, lambda F, g, ans, x: g / (x * _LN10))
EXP2 = defop("exp2", np.exp2, lambda F, g, ans, x: g * (ans * _LN2))
ERFC = defop("erfc", _erfc_forward, lambda F, g, ans, x: g * (-_TWO_OVER_SQRT_PI * F.exp(-(x * x))))
# atan2 is not arctan(y / x): the quadrant, and x = 0, need the two-argument form.
ARCTAN2 = defop("arctan2", np.arctan2,
                lambda F, g, ans, y, x: g * x / (x * x + y * y),
                lambda F, g, ans, y, x: -g * y / (x * x + y * y))
# hypot, logaddexp and logaddexp2 are primitives: built from exp/log/sqrt they overflow.
HYPOT = defop("hypot", np.hypot, _hypot_vjp(0), _hypot_vjp(1))
LOGADDEXP = defop("logaddexp", np.logaddexp,
                  lambda F, g, ans, x, y: g * F.exp(x - ans),
                  lambda F, g, ans, x, y: g * F.exp(y - ans))
LOGADDEXP2 = defop("logaddexp2", np.logaddexp2,
                   lambda F, g, ans, x, y: g * F.exp((x - ans) * _LN2),
                   lambda F, g, ans, x, y: g * F.exp((y - ans) * _LN2))
SINC = defop("sinc", np.sinc, _sinc_vjp)
FMAX = defop("fmax", np.fmax,
             lambda F, g, ans, x, y: F.where(_fmax_wins(x, y), g, 0.0),
             lambda F, g, ans, x, y: F.where(_fmax_wins(x, y), 0.0, g))
FMIN = defop("fmin", np.fmin,
             lambda F, g, ans, x, y: F.where(_fmin_wins(x, y), g, 0.0),
             lambda F, g, ans, x, y: F.where(_fmin_wins(x, y), 0.0, g))
# floor_divide is a step function: derivative 0 wherever it has one (as floor; JAX's choice).
FLOOR_DIVIDE = defop("floor_divide", np.floor_divide, _zero, _zero)
# x mod y = x - floor(x / y) * y; floor's derivative is 0, so d/dy = -floor(x / y), with
# NumPy's (and PyTorch's) exact floor division rather than floor of the rounded quotient.
MOD = defop("mod", np.mod,
            lambda F, g, ans, x, y: g,
            lambda F, g, ans, x, y: g * -F.floor_divide(x, y))
# fmod(x, y) = x - trunc(x / y) * y (C's remainder, the sign of x): d/dy = -trunc(x / y) (PyTorch).
FMOD = defop("fmod", np.fmod,
             lambda F, g, ans, x, y: g,
             lambda F, g, ans, x, y: g * -F.trunc(x / y))
NAN_TO_NUM = defop(
    "nan_to_num",
    lambda x, nan=0.0, posinf=None, neginf=None: np.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf),
    # Replaced values are constants: the gradient passes only where x was finite.
    lambda F, g, ans, x, **params: F.where((x > -np.inf) & (x < np.inf), g, 0.0),
)
FLOOR = defop("floor", np.floor, _zero)
CEIL = defop("ceil", np.ceil, _zero)
TRUNC = defop("trunc", np.trunc, _zero)
ROUND = defop("round", lambda x, decimals=0: np.round(x, decimals), _zero)


def arcsin(x):
    """Elementwise inverse sine, in [-pi/2, pi/2]; derivative 1/sqrt(1 - x*x) (infinite at ±1).

    >>> import downhill as dh
    >>> dh.grad(dh.arcsin)(0.0)
    1.0
    """
    return _apply1(ARCSIN, x)


def arccos(x):
    """Elementwise inverse cosine, in [0, pi]; derivative -1/sqrt(1 - x*x).

    >>> import downhill as dh
    >>> dh.arccos(dh.tensor(1.0))
    tensor(0.)
    """
    return _apply1(ARCCOS, x)


def arcsinh(x):
    """Elementwise inverse hyperbolic sine.

    >>> import downhill as dh
    >>> dh.grad(dh.arcsinh)(0.0)
    1.0
    """
    return _apply1(ARCSINH, x)


def arccosh(x):
    """Elementwise inverse hyperbolic cosine (x >= 1); derivative 1/sqrt(x*x - 1).

    >>> import downhill as dh
    >>> dh.arccosh(dh.tensor(1.0))
    tensor(0.)
    """
    return _apply1(ARCCOSH, x)


def arctanh(x):
    """Elementwise inverse hyperbolic tangent (|x| < 1); derivative 1/(1 - x*x).

    >>> import downhill as dh
    >>> dh.grad(dh.arctanh)(0.5)
    1.3333333333333333
    """
    return _apply1(ARCTANH, x)


def arctan2(x1, x2):
    """The angle of the point (x2, x1): arctan(x1/x2) in the right quadrant, in [-pi, pi].

    NumPy's order: ``arctan2(y, x)``. Derivatives x/(x²+y²) and -y/(x²+y²)
    (NaN at the origin, as in PyTorch).

    >>> import downhill as dh
    >>> dh.arctan2(dh.tensor(1.0), -1.0).item()  # 3*pi/4
    2.356194490192345
    """
    return _apply2(ARCTAN2, x1, x2)


def hypot(x1, x2):
    """Elementwise sqrt(x1² + x2²) without overflow. The gradient at the origin is 0 (as norm's).

    >>> import downhill as dh
    >>> dh.hypot(dh.tensor(3e200), 4e200)
    tensor(5.e+200)
    """
    return _apply2(HYPOT, x1, x2)


def log2(x):
    """Elementwise base-2 logarithm (exact at powers of 2).

    >>> import downhill as dh
    >>> dh.log2(dh.tensor(8.0))
    tensor(3.)
    """
    return _apply1(LOG2, x)


def log10(x):
    """Elementwise base-10 logarithm (exact at powers of 10).

    >>> import downhill as dh
    >>> dh.log10(dh.tensor(1000.0))
    tensor(3.)
    """
    return _apply1(LOG10, x)


def exp2(x):
    """Elementwise 2**x.

    >>> import downhill as dh
    >>> dh.exp2(dh.tensor(10.0))
    tensor(1024.)
    """
    return _apply1(EXP2, x)


def erfc(x):
    """The complementary error function 1 - erf(x), accurate where it is tiny (large x).

    >>> import downhill as dh
    >>> f"{dh.erfc(dh.tensor(6.0)).item():.6e}"
    '2.151974e-17'
    """
    return _apply1(ERFC, x)


def logaddexp(x1, x2):
    """Elementwise log(exp(x1) + exp(x2)), without overflow.

    >>> import downhill as dh
    >>> dh.logaddexp(dh.tensor(1000.0), 1000.0).item()
    1000.6931471805599
    """
    return _apply2(LOGADDEXP, x1, x2)


def logaddexp2(x1, x2):
    """Elementwise log2(2**x1 + 2**x2), without overflow.

    >>> import downhill as dh
    >>> dh.logaddexp2(dh.tensor(3.0), 3.0)
    tensor(4.)
    """
    return _apply2(LOGADDEXP2, x1, x2)


def sinc(x):
    """The normalized sinc, sin(pi x)/(pi x), 1 at x = 0 (NumPy's definition).

    The derivative at 0 is 0 (its limit); second derivatives are not exact at exactly 0.

    >>> import downhill as dh
    >>> dh.sinc(dh.tensor([0.0, 0.5])).tolist()
    [1.0, 0.6366197723675814]
    """
    return _apply1(SINC, x)


def fmax(x1, x2):
    """Elementwise maximum that ignores NaN: a NaN loses to a number.

    The gradient goes to the winner; on a tie, to ``x1`` (PyTorch's fmax rule,
    unlike ``maximum``, which splits a tie).

    >>> import downhill as dh
    >>> dh.fmax(dh.tensor([1.0, float("nan")]), 2.0)
    tensor([2., 2.])
    """
    return _apply2(FMAX, x1, x2)


def fmin(x1, x2):
    """Elementwise minimum that ignores NaN; the gradient goes to the winner, ``x1`` on a tie.

    >>> import downhill as dh
    >>> dh.fmin(dh.tensor([1.0, float("nan")]), 0.0)
    tensor([0., 0.])
    """
    return _apply2(FMIN, x1, x2)


def mod(x1, x2):
    """Elementwise remainder with the sign of the divisor (Python's and NumPy's ``%``).

    Derivatives: 1 in ``x1`` and -floor(x1/x2) in ``x2`` (PyTorch's remainder);
    at the jumps (x1 a multiple of x2) the one-sided values are taken.

    >>> import downhill as dh
    >>> dh.mod(dh.tensor([5.0, -5.0]), 3.0)
    tensor([2., 1.])
    """
    return _apply2(MOD, x1, x2)


remainder = mod


def fmod(x1, x2):
    """Elementwise remainder with the sign of the dividend (C's ``fmod``, NumPy's ``fmod``).

    Derivatives: 1 in ``x1`` and -trunc(x1/x2) in ``x2`` (PyTorch's fmod);
    at the jumps the one-sided values are taken.

    >>> import downhill as dh
    >>> dh.fmod(dh.tensor([5.0, -5.0]), 3.0)
    tensor([ 2., -2.])
    """
    return _apply2(FMOD, x1, x2)


def floor_divide(x1, x2):
    """Elementwise ``x1 // x2``: the largest whole number not above x1/x2 (Python's and NumPy's).

    A step function: its gradient is 0 (as ``floor``; JAX's convention).
    ``x1 == floor_divide(x1, x2) * x2 + mod(x1, x2)``.

    >>> import downhill as dh
    >>> dh.floor_divide(dh.tensor([5.0, -5.0]), 3.0)
    tensor([ 1., -2.])
    """
    return _apply2(FLOOR_DIVIDE, x1, x2)


def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    """NaN and infinities replaced by finite numbers (NumPy's defaults: 0 and the dtype's extremes).

    The replaced entries are constants: their gradient is 0; elsewhere it passes unchanged.

    >>> import downhill as dh
    >>> dh.nan_to_num(dh.tensor([float("nan"), 1.0]))
    tensor([0., 1.])
    """
    return _apply1(NAN_TO_NUM, x, {"nan": nan, "posinf": posinf, "neginf": neginf})


def floor(x):
    """Elementwise largest integer <= x (as a float). Its gradient is 0 (PyTorch).

    >>> import downhill as dh
    >>> dh.floor(dh.tensor([-1.5, 1.5]))
    tensor([-2.,  1.])
    """
    return _apply1(FLOOR, x)


def ceil(x):
    """Elementwise smallest integer >= x (as a float). Its gradient is 0 (PyTorch).

    >>> import downhill as dh
    >>> dh.ceil(dh.tensor([-1.5, 1.5]))
    tensor([-1.,  2.])
    """
    return _apply1(CEIL, x)


def trunc(x):
    """Elementwise integer part, towards zero. Its gradient is 0 (PyTorch).

    >>> import downhill as dh
    >>> dh.trunc(dh.tensor([-1.5, 1.5]))
    tensor([-1.,  1.])
    """
    return _apply1(TRUNC, x)


def round(x, decimals=0):
    """Round to ``decimals`` places, halves to even (NumPy and PyTorch). Its gradient is 0.

    >>> import downhill as dh
    >>> dh.round(dh.tensor([0.5, 1.5, 2.5]))
    tensor([0., 2., 2.])
    """
    return _apply1(ROUND, x, {"decimals": int(decimals)} if decimals else None)


around = round


def reciprocal(x):
    """Elementwise 1/x.

    >>> import downhill as dh
    >>> dh.reciprocal(dh.tensor([2.0, -4.0]))
    tensor([ 0.5 , -0.25])
    """
    return 1 / _as_tensor(x)


def fabs(x):
    """Elementwise |x| (NumPy's name for real inputs); derivative 0 at 0, as ``abs``.

    >>> import downhill as dh
    >>> dh.fabs(dh.tensor(-2.0))
    tensor(2.)
    """
    return _abs(x)


def deg2rad(x):
    """Degrees to radians: x * pi/180.

    >>> import downhill as dh
    >>> dh.deg2rad(dh.tensor(180.0)).item()
    3.141592653589793
    """
    return _as_tensor(x) * (np.pi / 180)


def rad2deg(x):
    """Radians to degrees: x * 180/pi.

    >>> import downhill as dh
    >>> dh.rad2deg(dh.tensor(3.141592653589793)).item()
    180.0
    """
    return _as_tensor(x) * (180 / np.pi)


radians = deg2rad
degrees = rad2deg
# NumPy's other names for the same functions.
true_divide = _divide
absolute = _abs

provide("sqrt", np.sqrt, sqrt)
provide("floor_divide", np.floor_divide, floor_divide)
provide("trunc", np.trunc, trunc)
provide("exp", np.exp, exp)

__all__ = [
    "arcsin", "arccos", "arcsinh", "arccosh", "arctanh", "arctan2", "hypot", "log2", "log10",
    "exp2", "erfc", "logaddexp", "logaddexp2", "sinc", "fmax", "fmin", "mod", "remainder", "fmod", "floor_divide",
    "nan_to_num", "floor", "ceil", "trunc", "round", "around", "reciprocal", "fabs", "deg2rad",
    "rad2deg", "radians", "degrees", "true_divide", "absolute",
]
