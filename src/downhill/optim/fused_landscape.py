"""A landscape's trace written as scalar code, for the fused kernels of :mod:`.fused`.

descend's trace (the graph of downhill ops that the safe parser's expression
builds on placeholder inputs, read in the order :mod:`downhill.autodiff.compile`
reads it) becomes ``_slope(x0, ..., xd) -> (value, g0, ..., gd)``: one line
per link forward, then the chain rule last link first. Each line repeats the
op's NumPy forward function or its derivative rule in :mod:`downhill.autodiff.ops`
for one float64 number, with the same order of operations, so + - * / sqrt
and whole powers round exactly as the NumPy path does. Numbers enter the code
only as ``repr`` of floats.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["landscape_source", "NotFusable", "HELPERS"]


class NotFusable(ValueError):
    """The landscape or the settings have no fused kernel; the NumPy path runs instead."""


def _num(value):
    """A constant of the graph as code: the repr of a float (never user text)."""
    if isinstance(value, (bool, np.bool_)):
        raise NotFusable("boolean constants are not fused")
    if isinstance(value, (int, float, np.integer, np.floating)) or (
            isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iuf"):
        number = float(value)
        if not math.isfinite(number):
            return {math.inf: "INF", -math.inf: "-INF"}.get(number, "NAN")
        return repr(number)
    raise NotFusable(f"a constant of type {type(value).__name__} is not fused")


def _power_lines(target, x, y, emit):
    """x ** y as ``ops._power_forward`` computes it.

    A Python int or float exponent that is whole, 2..64, goes by the same
    square-and-multiply sequence; other exponents go through NumPy's array
    power, which takes x*x, sqrt, 1/x, x or 1 for 2, 0.5, -1, 1 and 0 and pow()
    otherwise. ``y`` is the raw exponent, or the name of a traced one.
    """
    if isinstance(y, str):
        emit(f"{target} = {x} ** {y}")
        return
    if type(y) in (int, float) and 2 <= y <= 64 and y == int(y):
        n, result, square, k = int(y), None, x, 0
        while n:
            if n & 1:
                if result is None:
                    result = square
                else:
                    emit(f"{target}_m{k} = {result} * {square}")
                    result = f"{target}_m{k}"
                    k += 1
            n >>= 1
            if n:
                emit(f"{target}_s{k} = {square} * {square}")
                square = f"{target}_s{k}"
                k += 1
        emit(f"{target} = {result}")
        return
    special = {2.0: f"{x} * {x}", 0.5: f"_sqrt({x})", -1.0: f"1.0 / {x}", 1.0: f"{x}", 0.0: "1.0"}
    emit(f"{target} = {special.get(float(y), f'{x} ** {_num(y)}')}")


# Forward lines by op: each gives the same IEEE result as the op's NumPy forward
# on float64 (the transcendental ones up to the C library's last bit).
_UNARY = {
    "negative": "-{0}", "exp": "math.exp({0})", "log": "_log({0})", "log1p": "_log1p({0})",
    "expm1": "math.expm1({0})", "sqrt": "_sqrt({0})", "abs": "abs({0})", "sign": "_sign({0})",
    "sin": "math.sin({0})", "cos": "math.cos({0})", "tan": "math.tan({0})", "arctan": "math.atan({0})",
    "sinh": "math.sinh({0})", "cosh": "math.cosh({0})", "tanh": "math.tanh({0})",
    "sigmoid": "_sigmoid({0})", "softplus": "_softplus({0})", "relu": "_maximum({0}, 0.0)",
}
_BINARY = {"add": "{0} + {1}", "subtract": "{0} - {1}", "multiply": "{0} * {1}", "divide": "{0} / {1}",
           "maximum": "_maximum({0}, {1})"}

# Derivative rules by (op, input): the rules of autodiff/ops.py written for
# scalars, in the same order of operations. {g} is the incoming gradient,
# {a} the node's value, {0} {1} its inputs.
_RULES = {
    ("add", 0): "{g}", ("add", 1): "{g}",
    ("subtract", 0): "{g}", ("subtract", 1): "-{g}",
    ("multiply", 0): "{g} * {1}", ("multiply", 1): "{g} * {0}",
    ("divide", 0): "{g} / {1}", ("divide", 1): "-{g} * {0} / ({1} * {1})",
    ("negative", 0): "-{g}",
    ("exp", 0): "{g} * {a}", ("log", 0): "{g} / {0}", ("log1p", 0): "{g} / (1 + {0})",
    ("expm1", 0): "{g} * ({a} + 1)", ("sqrt", 0): "{g} / (2 * {a})", ("abs", 0): "{g} * _sign({0})",
    ("sin", 0): "{g} * math.cos({0})", ("cos", 0): "-{g} * math.sin({0})",
    ("tan", 0): "{g} * (1 + {a} * {a})", ("arctan", 0): "{g} / (1 + {0} * {0})",
    ("sinh", 0): "{g} * math.cosh({0})", ("cosh", 0): "{g} * math.sinh({0})",
    ("tanh", 0): "{g} * (1 - {a} * {a})", ("sigmoid", 0): "{g} * ({a} * (1 - {a}))",
    ("softplus", 0): "{g} * _sigmoid({0})", ("relu", 0): "{g} * (1.0 if {a} > 0 else 0.0)",
    ("maximum", 0): "{g} * ((1.0 if {0} > {1} else 0.0) + 0.5 * (1.0 if {0} == {1} else 0.0))",
    ("maximum", 1): "{g} * ((1.0 if {1} > {0} else 0.0) + 0.5 * (1.0 if {0} == {1} else 0.0))",
}


def landscape_source(formula, variables):
    """``def _slope(x0, ..., xd) -> (value, g0, ..., gd)`` as scalar code, from the trace."""
    from ..autodiff.backward import topological
    from ..autodiff.mode import enable_grad
    from ..autodiff.tensor import Tensor
    from ..landscapes.expression import parse_expression
    from ..landscapes.namespaces import DOWNHILL_FUNCTIONS

    expression = parse_expression(formula, variables)
    names = [f"x{i}" for i in range(len(variables))]
    placeholders = []
    for i in range(len(names)):  # away from 0 and 1, as compile.trace does
        t = Tensor(0.3 + 0.1 * i)
        t.requires_grad = True
        placeholders.append(t)
    with enable_grad(), np.errstate(all="ignore"):
        try:
            out = expression.evaluate(placeholders, DOWNHILL_FUNCTIONS)
        except (ValueError, TypeError, IndexError) as error:
            raise NotFusable(f"the formula cannot be traced: {error}") from error
    if not isinstance(out, Tensor) or out.shape != () or out._op is None:
        raise NotFusable("the formula is not a function of its variables")
    order = topological(out)  # the engine's one walk: parents before children
    lines = []
    emit = lines.append
    value = {id(p): n for p, n in zip(placeholders, names)}
    args = {}
    for k, node in enumerate(order):
        op = node._op.name
        operands = []
        for parent, raw in zip(node._parents, node._inputs):
            if parent is None:
                operands.append(_num(raw))
            elif id(parent) in value:
                operands.append(value[id(parent)])
            else:
                raise NotFusable("the graph reaches a tensor that is not one of the inputs")
        target = f"v{k}"
        if op == "power":
            exponent = node._inputs[1] if node._parents[1] is None else operands[1]
            if isinstance(exponent, np.ndarray):
                exponent = exponent[()]
            _power_lines(target, operands[0], exponent, emit)
            args[id(node)] = (operands, exponent)
        elif op == "clip":
            low, high = node._params.get("a_min"), node._params.get("a_max")
            text = operands[0]
            if low is not None:
                text = f"_maximum({text}, {_num(low)})"
            if high is not None:
                text = f"_minimum({text}, {_num(high)})"
            emit(f"{target} = {text}")
            args[id(node)] = (operands, (low, high))
        elif op == "astype" and np.dtype(node._params.get("dtype", np.float64)) == np.float64:
            emit(f"{target} = {operands[0]}")
            args[id(node)] = (operands, None)
        elif op in _UNARY and len(operands) == 1 and not node._params:
            emit(f"{target} = {_UNARY[op].format(*operands)}")
            args[id(node)] = (operands, None)
        elif op in _BINARY and len(operands) == 2 and not node._params:
            emit(f"{target} = {_BINARY[op].format(*operands)}")
            args[id(node)] = (operands, None)
        else:
            raise NotFusable(f"'{op}' has no fused form")
        value[id(node)] = target
    # Backward: the chain rule, last link first, sums in the engine's order.
    pending = {id(out): "1.0"}
    counter = 0
    for node in reversed(order):
        g = pending.pop(id(node), None)
        if g is None:
            continue
        op = node._op.name
        operands, extra = args[id(node)]
        a = value[id(node)]
        for i, parent in enumerate(node._parents):
            if parent is None:
                continue
            counter += 1
            target = f"g{counter}"
            if op == "power" and i == 0:
                x, y = operands[0], extra
                if isinstance(y, str):  # a traced exponent: the where() of the engine's rule
                    emit(f"{target}_e = 1.0 if {y} == 0 else {y} - 1")
                    emit(f"{target}_p = {x} ** {target}_e")
                    emit(f"{target} = 0.0 if {y} == 0 else {g} * ({y} * {target}_p)")
                elif not isinstance(y, (int, float)):  # a NumPy integer: the engine's where() form
                    emit(f"{target} = {g} * ({_num(y)} * {x} ** {_num(y - 1)})")
                elif y == 0:
                    emit(f"{target} = {g} * 0")
                elif y == 2:
                    emit(f"{target} = {g} * (2 * {x})")
                else:
                    _power_lines(f"{target}_p", x, y - 1, emit)
                    emit(f"{target} = {g} * ({_num(y)} * {target}_p)")
            elif op == "power":
                x, y = operands
                emit(f"{target} = 0.0 if ({x} == 0 and {y} >= 0) else {g} * {a} * _log(1.0 if {x} == 0 else {x})")
            elif op == "clip":
                low, high = extra
                tests = ([f"{operands[0]} >= {_num(low)}"] if low is not None else []) + (
                    [f"{operands[0]} <= {_num(high)}"] if high is not None else [])
                emit(f"{target} = {g} if ({' and '.join(tests) or 'True'}) else 0.0")
            elif op == "astype":
                emit(f"{target} = {g}")
            elif op == "sign":
                continue
            else:
                rule = _RULES.get((op, i))
                if rule is None:
                    raise NotFusable(f"'{op}' has no fused derivative")
                emit(f"{target} = {rule.format(*operands, g=g, a=a)}")
            previous = pending.get(id(parent))
            if previous is not None:
                emit(f"{target}s = {previous} + {target}")
                target = f"{target}s"
            pending[id(parent)] = target
    grads = [pending.get(id(p), "0.0") for p in placeholders]
    body = "\n".join("    " + line for line in lines)
    return (f"@njit(inline='always', error_model='numpy', cache=True)\n"
            f"def _slope({', '.join(names)}):\n{body}\n"
            f"    return {value[id(out)]}, {', '.join(grads)}\n")


# Scalar helpers the generated code calls, with NumPy's answers at NaN, 0 and below.
HELPERS = '''
@njit(inline='always', error_model='numpy', cache=True)
def _maximum(a, b):
    # np.maximum: NaN wins (a is NaN; or b is, and then a >= b is false), else the larger, a on a tie
    return a if a != a or a >= b else b


@njit(inline='always', error_model='numpy', cache=True)
def _minimum(a, b):
    return a if a != a or a <= b else b


@njit(inline='always', error_model='numpy', cache=True)
def _sign(a):
    if a > 0:
        return 1.0
    if a < 0:
        return -1.0
    return a  # 0, -0 and NaN are their own sign


@njit(inline='always', error_model='numpy', cache=True)
def _sqrt(a):
    return math.sqrt(a) if a >= 0 else (a if a != a else NAN)


@njit(inline='always', error_model='numpy', cache=True)
def _log(a):
    if a > 0:
        return math.log(a)
    if a == 0:
        return -INF
    return NAN


@njit(inline='always', error_model='numpy', cache=True)
def _log1p(a):
    if a > -1:
        return math.log1p(a)
    if a == -1:
        return -INF
    return NAN


@njit(inline='always', error_model='numpy', cache=True)
def _sigmoid(a):
    e = math.exp(-abs(a))
    return 1 / (1 + e) if a >= 0 else e / (1 + e)


@njit(inline='always', error_model='numpy', cache=True)
def _softplus(a):
    # np.logaddexp(0, a)
    if a == 0:
        return 0.6931471805599453
    if a > 0:
        return a + math.log1p(math.exp(-a))
    if a <= 0:
        return math.log1p(math.exp(a))
    return a
'''
