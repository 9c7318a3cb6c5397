"""The speedometer, measured: derivatives by central differences, and gradcheck.

Central differences, (f(x + h) - f(x - h)) / 2h, have an error of order h²
from the curve and eps/h from rounding; h = eps^(1/3) * max(1, |x|), about
6e-6 for float64, balances the two, leaving about 1e-10 of relative error.
"""

from __future__ import annotations

from numbers import Number

import numpy as np

from ..errors import InputError, InputTypeError
from .composites import _as_tensor
from .ops import sum as _sum
from .tensor import Tensor
from .transforms import grad

_STEP = np.finfo(np.float64).eps ** (1 / 3)


class GradcheckError(AssertionError):
    """The engine's derivative and the measured one disagree."""


def _value(out):
    """A function's output as a float64 NumPy value."""
    if isinstance(out, Tensor):
        out = out.data
    return np.asarray(out, dtype=np.float64)


def _steps(x):
    return _STEP * np.maximum(1.0, np.abs(x))


def numerical_derivative(f, x, eps=None):
    """f'(x) measured by central differences, elementwise over an array of x.

    >>> import downhill as dh
    >>> round(dh.numerical_derivative(lambda x: x ** 3, 2.0), 6)
    12.0
    """
    scalar = isinstance(x, Number)
    xs = np.asarray(x, dtype=np.float64)
    h = _steps(xs) if eps is None else np.full(xs.shape, float(eps))
    slope = (_value(f(_like(x, xs + h))) - _value(f(_like(x, xs - h)))) / (2 * h)
    return float(slope) if scalar else slope


def _like(original, values):
    if isinstance(original, Tensor):
        return Tensor(values)
    if isinstance(original, Number):
        return float(values)
    return values


def numerical_grad(f, x, eps=None):
    """The gradient of a scalar function measured by central differences, one coordinate at a time.

    >>> import downhill as dh
    >>> g = dh.numerical_grad(lambda p: p[0] ** 2 + 3 * p[1], np.array([1.0, 5.0]))
    >>> np.round(g, 6)
    array([2., 3.])
    """
    scalar = isinstance(x, Number)
    xs = np.array(x, dtype=np.float64)
    out = np.zeros(xs.shape)
    h_all = _steps(xs) if eps is None else np.full(xs.shape, float(eps))
    for index in np.ndindex(xs.shape):
        h = h_all[index]
        up = xs.copy()
        up[index] += h
        down = xs.copy()
        down[index] -= h
        value_up = _value(f(_like(x, up)))
        value_down = _value(f(_like(x, down)))
        if value_up.shape != ():
            raise InputTypeError(
                f"numerical_grad needs a function returning one number; it returned shape {value_up.shape}. "
                "Reduce it inside the function (e.g. return y.sum())"
            )
        out[index] = (value_up - value_down) / (2 * h)
    return float(out) if scalar else out


def _grad_all(f, inputs, eps=None):
    """Central-difference gradient of scalar ``f(*inputs)`` with respect to every input."""
    grads = []
    for i, x in enumerate(inputs):
        def partial(xi, i=i):
            args = list(inputs)
            args[i] = xi
            return f(*args)
        grads.append(np.asarray(numerical_grad(partial, x, eps)))
    return grads


def _compare(label, analytic, measured, atol, rtol):
    for i, (a, m) in enumerate(zip(analytic, measured)):
        a = np.asarray(a, dtype=np.float64)
        if a.shape != m.shape:
            raise GradcheckError(f"{label} of input {i}: the engine gave shape {a.shape}, expected {m.shape}")
        bad = ~np.isclose(a, m, atol=atol, rtol=rtol, equal_nan=False)
        if bad.any():
            where = np.argwhere(bad)
            first = tuple(int(k) for k in where[0])
            diff = np.abs(a - m)
            raise GradcheckError(
                f"{label} of input {i} disagrees at index {first}: engine {float(a[first])!r}, "
                f"central differences {float(m[first])!r}, difference {diff[first]:.3g} "
                f"(allowed {atol:g} + {rtol:g} * |measured|); {int(bad.sum())} of {bad.size} "
                f"element(s) disagree, the largest difference is {diff.max():.3g}"
            )


def gradcheck(f, *inputs, atol=1e-6, rtol=1e-5, eps=None, second_order=True, seed=0):
    """Compare the engine's derivatives of ``f`` with central differences, in float64.

    ``f`` takes Tensors and returns a Tensor of any shape. Its output is
    contracted with a random cotangent (seeded), and the gradient of that
    scalar is checked coordinate by coordinate; with ``second_order`` the same
    is done for the derivative of the derivative (along a random direction).
    Returns True, or raises :class:`GradcheckError` saying where they disagree
    and by how much.

    >>> import downhill as dh
    >>> dh.gradcheck(lambda x: dh.sin(x) * x, np.array([0.5, 1.0, 2.0]))
    True
    """
    rng = np.random.default_rng(seed)
    inputs = [np.array(x, dtype=np.float64) for x in inputs]
    if not inputs:
        raise InputError("gradcheck needs at least one input: gradcheck(f, x) or gradcheck(f, x, y)")
    probe = f(*[Tensor(x) for x in inputs])
    cotangent = rng.normal(size=np.shape(_value(probe)))
    argnums = tuple(range(len(inputs)))

    def contracted(*xs):
        xs = [x if isinstance(x, Tensor) else Tensor(x) for x in xs]
        return _sum(_as_tensor(f(*xs)) * cotangent)

    first = grad(contracted, argnums=argnums)
    analytic = [np.asarray(g) for g in first(*inputs)]
    _compare("gradient", analytic, _grad_all(contracted, inputs, eps), atol, rtol)
    if second_order:
        directions = [rng.normal(size=x.shape) for x in inputs]

        def directional(*xs):
            # d/dt of the gradient along a random direction: a scalar whose
            # gradient is the Hessian-vector product of ``contracted``.
            gs = first(*xs)
            return sum(_sum(_as_tensor(g) * d) for g, d in zip(gs, directions))

        def directional_value(*xs):
            gs = first(*xs)
            return sum(float(np.sum(np.asarray(g) * d)) for g, d in zip(gs, directions))

        analytic2 = [np.asarray(g) for g in grad(directional, argnums=argnums)(*inputs)]
        _compare("second derivative", analytic2, _grad_all(directional_value, inputs, eps), atol, rtol)
    return True
