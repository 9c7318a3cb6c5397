"""Function transforms in the manner of JAX: grad, value_and_grad, derivative,
jvp, vjp, jacobian, hessian.

They return what they were given: a float in gives a float out, a NumPy
array gives a NumPy array, a Tensor gives a Tensor. Inside another transform
every result is a Tensor that stays in the graph, so transforms compose:
``grad(grad(f))(x)`` is the second derivative.
"""

from __future__ import annotations

import functools
from numbers import Number

import numpy as np

from ..errors import InputError, InputTypeError, shorten
from .backward import grad_of
from .mode import THREAD, enable_grad
from .tensor import Tensor, _wrap

# THREAD.depth: how many transforms are evaluating a user function right now,
# in this thread. Inside one, results must stay Tensors in the graph for the
# outer transform to use.


class _Input:
    """One differentiated argument: the Tensor the function sees, and how to give results back."""

    __slots__ = ("tensor", "kind")

    def __init__(self, value, name):
        if isinstance(value, Tensor):
            self.kind = "tensor"
            if value._rg:
                # Already in an outer graph: keep the link, through a fresh node,
                # so that the derivative here does not also count the outer
                # variable's other uses (perturbation confusion: in
                # grad(lambda a: grad(lambda b: a * b**2)(a) * a), b is not a).
                from .ops import astype

                self.tensor = astype(value, value.dtype, copy=False)
                return
            data = value._data
        elif isinstance(value, Number) and not isinstance(value, complex):
            self.kind = "float"
            data = np.float64(value)
        else:
            self.kind = "array"
            data = np.asarray(value)
            if data.dtype == object:
                raise InputTypeError(f"{name}: cannot differentiate with respect to a {type(value).__name__}; "
                                     "give a number, a NumPy array of floats, or a Tensor")
        if data.dtype.kind in "biu":
            data = data.astype(np.float64)
        if data.dtype.kind != "f":
            raise InputTypeError(
                f"{name}: can only differentiate with respect to real floating-point inputs, got {data.dtype}"
            )
        tensor = _wrap(data[()] if np.ndim(data) == 0 else data)
        tensor._rg = True
        self.tensor = tensor

    def give(self, value, nested):
        """Convert a result (NumPy value or Tensor) to this input's kind."""
        if nested:
            return value if isinstance(value, Tensor) else _wrap(value)
        data = value._data if isinstance(value, Tensor) else value
        if self.kind == "tensor":
            return _wrap(data)
        if self.kind == "float" and np.ndim(data) == 0:
            return float(data)
        return np.array(data)


def _argnums(argnums, nargs, name):
    single = isinstance(argnums, int)
    nums = (argnums,) if single else tuple(argnums)
    if not nums:
        raise InputError(f"{name}: argnums must name at least one argument, like argnums=0 or argnums=(0, 1); got ()")
    for i in nums:
        if not isinstance(i, int) or not -nargs <= i < nargs:
            raise InputError(
                f"{name}: argnums={shorten(repr(argnums))} but the function was called with {nargs} positional "
                f"argument(s) (accepted: whole numbers from {-nargs} to {nargs - 1})"
            )
    return single, tuple(i % nargs for i in nums)


def _call(f, args, kwargs):
    THREAD.depth += 1
    try:
        with enable_grad():
            return f(*args, **kwargs)
    finally:
        THREAD.depth -= 1


def _prepare(args, argnums, name):
    single, nums = _argnums(argnums, len(args), name)
    args = list(args)
    inputs = []
    outer = False
    for i in nums:
        original = args[i]
        if isinstance(original, Tensor) and original._rg:
            outer = True
        inp = _Input(original, name)
        args[i] = inp.tensor
        inputs.append(inp)
    nested = outer or THREAD.depth > 0
    return single, args, inputs, nested


def _scalar_output(out, name):
    if isinstance(out, Tensor):
        if out.shape != ():
            raise InputTypeError(
                f"{name} needs a function that returns a single number (shape ()), but it returned "
                f"shape {out.shape}. Reduce it inside the function (e.g. return y.sum() or y.mean()), "
                "or use dh.jacobian(f) for the derivative of every output."
            )
        if out.dtype.kind != "f":
            raise InputTypeError(f"{name}: the function's output must be a float, got {out.dtype}; "
                                 "make it one with dh.astype(y, float) or compute in floats")
        return out
    if isinstance(out, Number) or (isinstance(out, np.ndarray) and out.shape == ()):
        return _wrap(np.float64(out))  # does not depend on the inputs
    raise InputTypeError(
        f"{name} needs a function that returns a single number, but it returned a "
        f"{type(out).__name__}" + (f" of shape {np.shape(out)}" if hasattr(out, "shape") else "")
        + ". Return a 0-d Tensor, e.g. y.sum()."
    )


def value_and_grad(f, argnums=0, has_aux=False):
    """A function returning both ``f(*args)`` and its gradient.

    ``argnums`` picks the argument(s) to differentiate (an int or a tuple;
    with a tuple the gradient is a tuple). With ``has_aux=True``, ``f``
    returns ``(value, aux)`` and the result is ``((value, aux), grad)``.

    >>> import downhill as dh
    >>> dh.value_and_grad(lambda x: x ** 2)(3.0)
    (9.0, 6.0)
    """

    @functools.wraps(f)
    def value_and_grad_f(*args, **kwargs):
        single, args, inputs, nested = _prepare(args, argnums, "value_and_grad")
        out = _call(f, args, kwargs)
        aux = None
        if has_aux:
            if not (isinstance(out, tuple) and len(out) == 2):
                raise InputTypeError("has_aux=True needs the function to return a pair (value, aux); "
                                     f"it returned a {type(out).__name__}")
            out, aux = out
        out = _scalar_output(out, "grad")
        grads = grad_of(out, [inp.tensor for inp in inputs], retain_graph=nested, create_graph=nested)
        results = tuple(inp.give(g, nested) for inp, g in zip(inputs, grads))
        value = inputs[0].give(out, nested)
        if has_aux:
            value = (value, aux)
        return value, (results[0] if single else results)

    return value_and_grad_f


def grad(f, argnums=0, has_aux=False):
    """The gradient of a scalar function: which way is uphill, and how steeply.

    ``grad(f)(x)`` has the shape and kind of ``x``. It composes:
    ``grad(grad(f))`` is the second derivative.

    >>> import downhill as dh
    >>> dh.grad(lambda x: x ** 3)(2.0)
    12.0
    >>> dh.grad(dh.grad(lambda x: x ** 3))(2.0)
    12.0
    >>> dh.grad(lambda x, y: x * y, argnums=(0, 1))(2.0, 5.0)
    (5.0, 2.0)
    """
    both = value_and_grad(f, argnums, has_aux)

    @functools.wraps(f)
    def grad_f(*args, **kwargs):
        value, g = both(*args, **kwargs)
        if has_aux:
            return g, value[1]
        return g

    return grad_f


def derivative(f):
    """f'(x) for a function of one real variable: the speedometer's reading.

    Works elementwise, so an array of x gives an array of slopes (``f`` must
    act on each element separately, as ``x ** 2`` or ``dh.sin(x)`` do).

    >>> import downhill as dh
    >>> dh.derivative(lambda x: x ** 2)(3.0)
    6.0
    >>> dh.derivative(dh.sin)(np.array([0.0, np.pi]))
    array([ 1., -1.])
    """

    @functools.wraps(f)
    def derivative_f(x):
        _, args, inputs, nested = _prepare((x,), 0, "derivative")
        out = _call(f, args, {})
        if not isinstance(out, Tensor):
            out = _wrap(np.float64(out)) if isinstance(out, Number) else _wrap(np.asarray(out))
        if out.shape != inputs[0].tensor.shape:
            raise InputTypeError(
                f"derivative needs f to act elementwise: x has shape {inputs[0].tensor.shape} but "
                f"f(x) has shape {out.shape}. Use dh.grad for a scalar function of a vector, or "
                "dh.jacobian for the general case."
            )
        total = out.sum() if out.ndim else out
        if not total._rg:
            zeros = np.zeros(inputs[0].tensor.shape)[()]
            return inputs[0].give(zeros, nested)
        (g,) = grad_of(total, [inputs[0].tensor], retain_graph=nested, create_graph=nested)
        return inputs[0].give(g, nested)

    return derivative_f


def vjp(f, *primals):
    """Evaluate ``f`` and return ``(out, pullback)``; ``pullback(v)`` is v^T J, one per primal.

    The pullback may be called many times (the graph is kept).

    >>> import downhill as dh
    >>> out, pullback = dh.vjp(lambda x: x * 3.0, 2.0)
    >>> out, pullback(1.0)
    (6.0, (3.0,))
    """
    _, args, inputs, nested = _prepare(primals, tuple(range(len(primals))), "vjp")
    out = _call(f, args, {})
    if not isinstance(out, Tensor):
        out = _wrap(np.asarray(out, dtype=np.float64)[()])
    result = inputs[0].give(out, nested)

    def pullback(cotangent):
        # The pullback is linear in its cotangent and differentiable in it: a
        # cotangent that is itself in a graph (pullback called inside grad)
        # records this backward pass too, as JAX's vjp does.
        recording = nested or THREAD.depth > 0 or (isinstance(cotangent, Tensor) and cotangent._rg)
        seed = cotangent._data if isinstance(cotangent, Tensor) and not recording else cotangent
        if not isinstance(seed, Tensor):
            seed = np.asarray(seed, dtype=out.dtype)
            if seed.shape != out.shape:
                raise InputError(
                    f"pullback: the cotangent has shape {seed.shape} but the output has shape {out.shape}; "
                    "give one of the output's shape"
                )
            seed = seed[()]
        if recording and isinstance(seed, Tensor) and seed.shape != out.shape:
            raise InputError(
                f"pullback: the cotangent has shape {seed.shape} but the output has shape {out.shape}; "
                "give one of the output's shape"
            )
        grads = grad_of(out, [inp.tensor for inp in inputs], seed=seed, retain_graph=True,
                        create_graph=recording)
        return tuple(inp.give(g, recording) for inp, g in zip(inputs, grads))

    return result, pullback


def jvp(f, primals, tangents):
    """Forward-mode product: ``(f(*primals), J @ tangents)``.

    Computed by transposing the vjp (the vjp is linear in its cotangent, so
    differentiating it with respect to that cotangent gives J v): exact, with
    no separate forward-mode rules to keep in step.

    >>> import downhill as dh
    >>> dh.jvp(lambda x: x ** 2, (3.0,), (1.0,))
    (9.0, 6.0)
    """
    primals, tangents = tuple(primals), tuple(tangents)
    if len(primals) != len(tangents):
        raise InputError(f"jvp: {len(primals)} primal(s) but {len(tangents)} tangent(s); give one tangent each")
    _, args, inputs, nested = _prepare(primals, tuple(range(len(primals))), "jvp")
    for inp, t in zip(inputs, tangents):
        if np.shape(t._data if isinstance(t, Tensor) else t) != inp.tensor.shape:
            raise InputError(
                f"jvp: a tangent has shape {np.shape(t)} but its primal has shape {inp.tensor.shape}; "
                "give each tangent its primal's shape"
            )
    out = _call(f, args, {})
    if not isinstance(out, Tensor):
        out = _wrap(np.asarray(out, dtype=np.float64)[()])
    if not out._rg:
        zeros = np.zeros(out.shape, dtype=out.dtype)[()]
        return inputs[0].give(out, nested), inputs[0].give(zeros, nested)
    with enable_grad():
        u = _wrap(np.zeros(out.shape, dtype=out.dtype)[()])
        u._rg = True
        pulled = grad_of(out, [inp.tensor for inp in inputs], seed=u, retain_graph=True, create_graph=True)
        total = None
        for g, t in zip(pulled, tangents):
            t = t if isinstance(t, Tensor) else np.asarray(t, dtype=out.dtype)
            term = (g * t).sum()
            total = term if total is None else total + term
    if not total._rg:
        tangent_out = np.zeros(out.shape, dtype=out.dtype)[()]
    else:
        (tangent_out,) = grad_of(total, [u], retain_graph=nested, create_graph=nested)
    return inputs[0].give(out, nested), inputs[0].give(tangent_out, nested)


def jacobian(f, argnums=0):
    """The matrix of all partial derivatives, shape ``out.shape + x.shape`` (reverse mode).

    >>> import downhill as dh
    >>> dh.jacobian(lambda x: x ** 2)(np.array([1.0, 2.0]))
    array([[2., 0.],
           [0., 4.]])
    """

    @functools.wraps(f)
    def jacobian_f(*args, **kwargs):
        single, args, inputs, nested = _prepare(args, argnums, "jacobian")
        out = _call(f, args, kwargs)
        outs_single = not isinstance(out, (tuple, list))
        outs = [out] if outs_single else list(out)
        per_output = []
        for o in outs:
            if not isinstance(o, Tensor):
                o = _wrap(np.asarray(o, dtype=np.float64)[()])
            per_output.append(_jacobian_of(o, inputs, nested))
        results = [r[0] if single else tuple(r) for r in per_output]
        return results[0] if outs_single else tuple(results)

    return jacobian_f


def _jacobian_of(out, inputs, nested):
    """One output's Jacobian with respect to each input, by one vjp per output element."""
    from .composites import stack
    from .ops import reshape

    tensors = [inp.tensor for inp in inputs]
    rows = [[] for _ in inputs]
    n = out.size
    for k in range(n):
        seed = np.zeros(n, dtype=out.dtype)
        seed[k] = 1
        seed = seed.reshape(out.shape)[()]
        if out._rg:
            grads = grad_of(out, tensors, seed=seed, retain_graph=True, create_graph=nested)
        else:
            grads = [np.zeros(t.shape, dtype=t.dtype)[()] for t in tensors]
        for row, g in zip(rows, grads):
            row.append(g)
    results = []
    for inp, row in zip(inputs, rows):
        shape = out.shape + inp.tensor.shape
        if nested:
            stacked = stack([g if isinstance(g, Tensor) else _wrap(g) for g in row]) if row else _wrap(
                np.zeros(shape))
            results.append(reshape(stacked, shape))
        else:
            data = np.stack([np.asarray(g) for g in row]).reshape(shape) if row else np.zeros(shape)
            results.append(inp.give(data, False) if inp.kind != "float" or shape else float(data))
    return results


def hessian(f, argnums=0):
    """The matrix of second derivatives of a scalar function, shape ``x.shape + x.shape``.

    Its largest eigenvalue is the curvature that limits the learning rate.

    >>> import downhill as dh
    >>> dh.hessian(lambda p: p[0] ** 2 * p[1])(np.array([1.0, 2.0]))
    array([[4., 2.],
           [2., 0.]])
    """
    return jacobian(jacobian(f, argnums), argnums)
