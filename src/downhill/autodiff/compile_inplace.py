"""A traced program written for a batch of fixed width: every link writes into a kept buffer.

:func:`downhill.autodiff.compile.trace` writes the chain rule as straight-line
code in which each link makes a fresh array. For many climbers that is most
of the cost: a step of a 4096-climber chunk is some twenty NumPy calls of a
microsecond each, and a fresh result array per call doubles the memory the
step touches. Here the same graph is written out again with

* ``out=`` buffers, made once per batch width and reused by every step (a
  buffer is handed on as soon as the value in it is no longer read, so the
  working set stays small enough for the CPU's cache);
* the links that do not depend on the inputs (the seed, a gradient times a
  constant) computed once, when the code is built;
* the gradients written straight into the rows of an array ``G`` (d, width),
  where the optimizer's in-place rule reads them.

Bit for bit the same numbers as the plain program. The fast forms below
repeat the engine's rules (:mod:`downhill.autodiff.ops`) with the same
operations in the same order (``g * (2 * x)`` stays two products), and each is
one correctly rounded ufunc; every other link calls the op's own forward
function or vjp rule, as the plain program does.

>>> import numpy as np
>>> from downhill.autodiff.compile import trace
>>> program = trace(lambda x, y: x * x * y, 2)
>>> G = np.empty((2, 3))
>>> slope = program.inplace().build(3, G)
>>> slope(np.array([1.0, 2.0, 3.0]), np.array([1.0, 1.0, 2.0])), G
(array([ 1.,  4., 18.]), array([[ 2.,  4., 12.],
       [ 1.,  4.,  9.]]))
"""

from __future__ import annotations

import operator

import numpy as np

from ..errors import InputError
from .ops import NP

__all__ = ["InplaceProgram", "generate"]

# Ufuncs that compute the same IEEE number as the operator the op table uses.
_UFUNC = {"add": "add", "subtract": "subtract", "multiply": "multiply", "divide": "divide"}
_OPERATOR = {"add": operator.add, "subtract": operator.sub, "multiply": operator.mul, "divide": operator.truediv}


class InplaceProgram:
    """``build(width, G) -> slope(*coordinates) -> value``: gradients land in the rows of ``G``.

    ``source`` holds the generated code. The value returned by ``slope`` lives
    in a buffer the next call overwrites: copy it to keep it.
    """

    def __init__(self, source, builder, n_inputs):
        self.source = source
        self._builder = builder
        self.n_inputs = n_inputs

    def build(self, width, G, V=None):
        """A slope function for inputs of shape ``(width,)`` writing the gradients into ``G`` (n_inputs, width).

        The value goes into ``V`` (width,) when given, else into a buffer of its own.
        """
        if G.shape != (self.n_inputs, width) or G.dtype != np.float64:
            raise InputError(f"G must be float64 of shape {(self.n_inputs, width)}, got {G.dtype} {G.shape}")
        if V is None:
            V = np.empty(width)
        elif V.shape != (width,) or V.dtype != np.float64:
            raise InputError(f"V must be float64 of shape {(width,)}, got {V.dtype} {V.shape}")
        return self._builder(lambda: np.empty(width), tuple(G), V)

    def __repr__(self):
        return f"<InplaceProgram of {self.n_inputs} input(s)>\n{self.source}"


class _Writer:
    """The instructions of one program, in order: (target, template, operand names) or constants."""

    def __init__(self, names):
        self.code = []  # (target, text with {0}, {1}, ... for the names read and {out} for the result, names read)  # (target or None, text with {out} for the buffer, names read)
        self.kind = {name: "input" for name in names}
        self.kind["NP"] = "const"  # name -> "input", "const", "array" (buffer) or "fresh"
        self.env = {"NP": NP, "np": np, "copyto": np.copyto}
        self.constants = {}
        self.count = 0

    def fresh_name(self, stem):
        self.count += 1
        return f"{stem}{self.count}"

    def const(self, value):
        name = self.fresh_name("C")
        self.env[name] = value
        self.kind[name] = "const"
        self.constants[name] = value
        return name

    def is_one(self, name):
        """True for a constant 1.0 (the seed): multiplying by it changes no bit."""
        value = self.constants.get(name)
        return type(value) in (float, np.float64) and value == 1.0

    def as_array(self, name):
        """A real constant as a 0-d float64 array: the number the ufunc would convert it to, given
        ready (a Python int or float is converted again on every call)."""
        value = self.constants.get(name)
        if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_)):
            key = ("array", name)
            if key not in self.constants:
                try:
                    self.constants[key] = self.const(np.asarray(value, dtype=np.float64))
                except OverflowError:  # an int past float64: leave it to the ufunc
                    self.constants[key] = name
            return self.constants[key]
        return name

    def ufunc(self, name, *operands):
        """``name(*operands)`` into a buffer, or a constant when no operand varies."""
        if all(self.kind[o] == "const" for o in operands):
            with np.errstate(all="ignore"):
                values = [self.constants[o] for o in operands]
                value = _OPERATOR[name](*values) if name in _OPERATOR else -values[0]
            return self.const(value)
        operands = [self.as_array(o) for o in operands]
        target = self.fresh_name("b")
        self.kind[target] = "array"
        slots = ", ".join(f"{{{k}}}" for k in range(len(operands)))
        self.code.append((target, f"{name}({slots}, {{out}})", operands))
        return target

    def call(self, function, operands, params=None):
        """``function(*operands, **params)``: a fresh array, exactly as the plain program computes it."""
        fname = self.fresh_name("f")
        self.env[fname] = function
        text = f"{{out}} = {fname}(" + ", ".join(f"{{{k}}}" for k in range(len(operands)))
        if params:
            pname = self.fresh_name("P")
            self.env[pname] = params
            text += f", **{pname}"
        target = self.fresh_name("r")
        self.kind[target] = "fresh"
        self.code.append((target, text + ")", operands))
        return target


def _power(w, x, y):
    """``ops._power_forward(x, y)`` for a whole exponent 2..64: the same square-and-multiply sequence."""
    n, result, square = int(y), None, x
    while n:
        if n & 1:
            result = square if result is None else w.ufunc("multiply", result, square)
        n >>= 1
        if n:
            square = w.ufunc("multiply", square, square)
    return result


def _whole(y):
    return type(y) in (int, float) and 2 <= y <= 64 and y == int(y)


def _forward(w, node, operands):
    name = node._op.name
    if node._params:
        return w.call(node._op.forward, operands, node._params)
    if name in _UFUNC and len(operands) == 2:
        return w.ufunc(_UFUNC[name], *operands)
    if name == "negative":
        return w.ufunc("negative", *operands)
    if name == "power" and node._parents[1] is None and _whole(node._inputs[1]):
        return _power(w, operands[0], node._inputs[1])
    return w.call(node._op.forward, operands)


def _vjp(w, node, i, g, ans, operands):
    """The cotangent of input ``i``: the op's rule, in fast form where there is one."""
    name = node._op.name
    if not node._params:
        if name == "add" or (name == "subtract" and i == 0):
            return g
        if name == "negative" or (name == "subtract" and i == 1):
            return w.ufunc("negative", g)
        if name == "multiply":
            if w.is_one(g):  # 1 * y is y to the last bit (NaN and -0 included): skip the product
                return operands[1 - i]
            return w.ufunc("multiply", g, operands[1 - i])
        if name == "divide" and i == 0:
            return w.ufunc("divide", g, operands[1])
        if name == "divide":  # -g * x / (y * y)
            x, y = operands
            return w.ufunc("divide", w.ufunc("multiply", w.ufunc("negative", g), x), w.ufunc("multiply", y, y))
        if name == "power" and i == 0 and node._parents[1] is None:
            y = node._inputs[1]
            if type(y) in (int, float):
                if y == 0:
                    return w.ufunc("multiply", g, w.const(0))
                if y == 2:
                    slope = w.ufunc("multiply", w.const(2), operands[0])
                    return slope if w.is_one(g) else w.ufunc("multiply", g, slope)
                if _whole(y - 1):
                    slope = w.ufunc("multiply", w.const(y), _power(w, operands[0], y - 1))
                    return slope if w.is_one(g) else w.ufunc("multiply", g, slope)
    rule = node._op.vjps[i]
    return w.call(rule, ["NP", g, ans, *operands], node._params or None)


def generate(out, placeholders, names):
    """The :class:`InplaceProgram` of a traced graph (``out`` a 0-d Tensor of ``placeholders``)."""
    from .backward import topological

    w = _Writer(names)
    value = {id(p): n for p, n in zip(placeholders, names)}
    operands_of = {}
    order = topological(out)
    for node in order:
        operands = []
        for parent, raw in zip(node._parents, node._inputs):
            operands.append(value[id(parent)] if parent is not None else w.const(raw))
        operands_of[id(node)] = operands
        value[id(node)] = _forward(w, node, operands)
    pending = {id(out): w.const(np.float64(1.0))}  # the seed, a NumPy number as in compile.py
    for node in reversed(order):
        g = pending.pop(id(node), None)
        if g is None:
            continue
        for i, (parent, rule) in enumerate(zip(node._parents, node._op.vjps)):
            if parent is None or rule is None:
                continue
            grad = _vjp(w, node, i, g, value[id(node)], operands_of[id(node)])
            previous = pending.get(id(parent))
            pending[id(parent)] = grad if previous is None else w.ufunc("add", previous, grad)
    finals = [pending.get(id(p)) for p in placeholders]
    return _emit(w, value[id(out)], finals, names)


def _emit(w, result, finals, names):
    """Give buffers to the instructions (reusing those no longer read) and write the code."""
    k_rows = [f"G{k}" for k in range(len(names))]
    row_of = {}  # a buffer instruction whose result is a gradient writes into G's row directly
    fill, copy = [], []
    for k, name in enumerate(finals):
        if name is None:
            fill.append((k_rows[k], w.const(0.0)))
        elif w.kind[name] == "const":
            fill.append((k_rows[k], name))
        elif w.kind[name] == "array" and name not in row_of:
            row_of[name] = k_rows[k]
        else:
            copy.append((k_rows[k], name))
    if w.kind[result] == "array":
        row_of[result] = "V"
    else:
        copy.append(("V", result))
    last_use = {}
    for index, (_, _, reads) in enumerate(w.code):
        for name in reads:
            last_use[name] = index
    keep = {name for _, name in copy}
    buffers, free, body = {}, [], []
    count = 0
    for index, (target, text, reads) in enumerate(w.code):
        # Buffers whose value is read here for the last time can take this result. Only
        # our own buffers: a function's result may be one of its arguments or a constant
        # (mod's rule hands its cotangent back as it came), which must never be written.
        for r in dict.fromkeys(reads):
            if (r in buffers and last_use[r] == index and r not in keep and r not in row_of
                    and w.kind[r] == "array"):
                free.append(buffers[r])
        if w.kind[target] == "array":
            if target in row_of:
                buffers[target] = row_of[target]
            elif free:
                buffers[target] = free.pop()
            else:
                buffers[target] = f"B{count}"
                count += 1
        else:
            buffers[target] = target  # a fresh array, named by itself
        body.append(text.format(*[buffers.get(r, r) for r in reads], out=buffers[target]))
    for row, name in copy:
        body.append(f"copyto({row}, {buffers.get(name, name)})")
    lines = ["def build(empty, G, V):"]
    lines += [f"    B{k} = empty()" for k in range(count)]
    lines.append(f"    {', '.join(k_rows)}{',' if len(k_rows) == 1 else ''} = G")
    lines += [f"    {row}[...] = {name}" for row, name in fill]
    lines.append(f"    def slope({', '.join(names)}):")
    lines += [f"        {line}" for line in body]
    lines.append(f"        return V")
    lines.append("    return slope")
    source = "\n".join(lines)
    for ufunc in ("add", "subtract", "multiply", "divide", "negative"):
        w.env[ufunc] = getattr(np, ufunc)
    namespace = dict(w.env)
    # Written by this module from the op table; constants travel through the namespace.
    exec(compile(source, "<downhill.compile_inplace>", "exec"), namespace)  # noqa: S102
    return InplaceProgram(source, namespace["build"], len(names))

