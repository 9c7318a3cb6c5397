"""Batch rules: how each primitive of the rule table takes ``vmap``'s batch axis along.

A rule is ``rule(op, node, values, batched, params, size)`` and returns the
op's output on the whole batch, with the batch as its first axis. ``values``
are the op's inputs (the batched ones with the batch first, the others as
they were traced), ``batched`` says which are batched, ``node`` is the traced
node (its inputs and output have the shapes of one example) and ``params``
its settings.

Three families cover the table:

- elementwise ops line their inputs up so that NumPy's broadcasting pairs
  example with example;
- ops with an axis setting (reductions, cumsum, concatenate, transpose,
  reshape, indexing) have the setting moved by one;
- ops on the last axes of a stack (matmul and all of ``linalg``) already map
  over leading axes: the inputs are lined up so that the batch is one of them;
  ``einsum`` gets one more letter for the batch.

A new primitive joins ``vmap`` by adding its rule to :data:`BATCH_RULES`; the
test ``tests/autodiff/test_vmap_table.py`` fails while a primitive has none.
Its vjp rule must compute masks from its own inputs (``x == 0``, not
``value(x) == 0``): while vmap traces, comparisons of traced values are
recorded and follow each example, but a mask made from ``value(x)`` is a
constant of the traced example (vmap refuses it when the first and the last
example disagree, and cannot see a middle one that differs).
"""

from __future__ import annotations

import string

import numpy as np

from ..errors import InputError
from .compile import ELEMENTWISE
from .ops import broadcast_to, reshape, transpose
from .tensor import MASK_OPS, Tensor, apply

__all__ = ["BATCH_RULES", "NotBatchable"]


class NotBatchable(InputError):
    """The function cannot be evaluated on a batch in one pass (the message says why)."""


def _data(value):
    return value._data if isinstance(value, Tensor) else value


def _lift(value, node_rank, per_shape):
    """A batched value (B,) + per_shape lined up for broadcasting against rank ``node_rank``."""
    missing = node_rank - len(per_shape)
    if missing <= 0:
        return value
    return reshape(value, (np.shape(_data(value))[0],) + (1,) * missing + tuple(per_shape))


def _insert_axis(value, axis):
    shape = list(np.shape(_data(value)))
    shape.insert(len(shape) + 1 + axis if axis < 0 else axis, 1)
    return reshape(value, tuple(shape))


# ----------------------------------------------------------------- elementwise
def _elementwise(op, node, values, batched, params, size):
    rank = np.ndim(node._data)
    lined = [_lift(v, rank, np.shape(raw)) if b else v for v, b, raw in zip(values, batched, node._inputs)]
    return apply(op, lined, params)


# ----------------------------------------------------------------- axis settings
def _reduction(op, node, values, batched, params, size):
    (x,) = values
    rank = np.ndim(node._inputs[0])
    axis = params.get("axis")
    axes = tuple(range(1, rank + 1)) if axis is None else tuple(a + 1 for a in axis)
    return apply(op, [x], {**params, "axis": axes})


def _cumsum(op, node, values, batched, params, size):
    (x,) = values
    if params.get("axis") is None:  # over the flattened example
        return apply(op, [reshape(x, (size, -1))], {**params, "axis": 1})
    return apply(op, [x], {**params, "axis": params["axis"] + 1})


def _reshape(op, node, values, batched, params, size):
    return reshape(values[0], (size,) + np.shape(node._data))


def _broadcast_to(op, node, values, batched, params, size):
    shape = np.shape(node._data)
    return broadcast_to(_lift(values[0], len(shape), np.shape(node._inputs[0])), (size,) + shape)


def _transpose(op, node, values, batched, params, size):
    rank = np.ndim(node._inputs[0])
    axes = params.get("axes")
    per = tuple(range(rank - 1, -1, -1)) if axes is None else tuple(axes)
    return transpose(values[0], (0,) + tuple(a + 1 for a in per))


def _batched_index(index):
    return (slice(None),) + (index if isinstance(index, tuple) else (index,))


def _getitem(op, node, values, batched, params, size):
    # The batch axis goes first; ``...`` then spans the same axes as per example.
    # Advanced indices split by slices would move axes: the shape check catches it.
    return apply(op, [values[0]], {"index": _batched_index(params["index"])})


def _scatter(op, node, values, batched, params, size):
    g = values[0] if batched[0] else broadcast_to(values[0], (size,) + np.shape(node._inputs[0]))
    return apply(op, [g], {"index": _batched_index(params["index"]), "shape": (size,) + tuple(params["shape"])})


def _concatenate(op, node, values, batched, params, size):
    parts = [v if b else broadcast_to(v, (size,) + np.shape(raw))
             for v, b, raw in zip(values, batched, node._inputs)]
    return apply(op, parts, {**params, "axis": params.get("axis", 0) + 1})


# ----------------------------------------------------------------- stacks of matrices
def _matmul(op, node, values, batched, params, size):
    a, b = values
    ra, rb = np.ndim(node._inputs[0]), np.ndim(node._inputs[1])
    if ra == 0 or rb == 0:
        raise NotBatchable("vmap: matmul of a 0-d value")
    # Promote 1-d operands to matrices explicitly, so that NumPy never mistakes
    # the batch axis for a matrix axis, and drop the promoted axes afterwards.
    if ra == 1:
        a = _insert_axis(a, -2)
    if rb == 1:
        b = _insert_axis(b, -1)
    if batched[0] and batched[1]:
        pass  # both (B, ..., n, k) and (B, ..., k, m): matmul broadcasts the batch
    elif batched[0] and rb > 2:
        a = _lift(a, max(ra, 2) + (rb - 2) - max(ra - 2, 0), np.shape(_data(a))[1:])
    elif batched[1] and ra > 2:
        b = _lift(b, max(rb, 2) + (ra - 2) - max(rb - 2, 0), np.shape(_data(b))[1:])
    out = apply(op, [a, b])
    shape = np.shape(_data(out))
    if rb == 1:
        out = reshape(out, shape[:-1])
        shape = shape[:-1]
    if ra == 1:
        out = reshape(out, shape[:-2] + shape[-1:] if rb != 1 else shape[:-1])
    return out


def _stacked(core):
    """The rule of an op that works on the last ``core[i]`` axes of input i and maps over the rest.

    The batched inputs get axes of length 1 after the batch, so that every
    input's stack axes line up with the others' (NumPy broadcasts them).
    """
    def rule(op, node, values, batched, params, size):
        stack = max(np.ndim(raw) - c for raw, c in zip(node._inputs, core))
        lined = []
        for v, b, raw, c in zip(values, batched, node._inputs, core):
            per = np.shape(raw)
            if b and np.ndim(raw) - c < stack:
                v = reshape(v, (size,) + (1,) * (stack - (len(per) - c)) + per)
            lined.append(v)
        return apply(op, lined, params)
    return rule


def _solve(op, node, values, batched, params, size):
    # NumPy reads a 1-D right-hand side as a vector and anything more as a
    # stack of matrices: a batch of vectors is made a batch of one-column matrices.
    a, b = values
    if np.ndim(node._inputs[1]) == 1:
        if not batched[1]:
            return _stacked((2, 1))(op, node, values, batched, params, size)
        column = _stacked((2, 2))(op, node, [a, reshape(b, np.shape(_data(b)) + (1,))], batched, params, size)
        return reshape(column, np.shape(_data(column))[:-1])
    return _stacked((2, 2))(op, node, values, batched, params, size)


def _einsum(op, node, values, batched, params, size):
    inputs, output = params["spec"]
    used = set("".join(inputs) + output)
    spare = [c for c in string.ascii_letters if c not in used]
    if not spare:
        raise NotBatchable("vmap: this einsum uses all 52 letters; none is left for the batch")
    letter = spare[0]
    new_inputs = tuple(letter + sub if b else sub for sub, b in zip(inputs, batched))
    new_output = letter + output
    subscripts = ",".join(new_inputs) + "->" + new_output
    return apply(op, values, {"subscripts": subscripts, "spec": (new_inputs, new_output)})


# The elementwise primitives are the tracer's list (one list for both), erf
# (which the tracer does not take), floor_divide, fmod, and the masks and the
# stop_gradient of composites.py, recorded only while vmap traces.
_ELEMENTWISE = ELEMENTWISE | {"erf", "floor_divide", "fmod", "stop_gradient"} | {op.name for op in MASK_OPS.values()}
BATCH_RULES = {name: _elementwise for name in _ELEMENTWISE}
BATCH_RULES.update(
    sum=_reduction, max=_reduction, norm=_reduction, cumsum=_cumsum, reshape=_reshape,
    broadcast_to=_broadcast_to, transpose=_transpose, getitem=_getitem, scatter=_scatter,
    concatenate=_concatenate, matmul=_matmul, einsum=_einsum, solve=_solve,
    **{name: _stacked((2,)) for name in ("inv", "det", "logabsdet", "pinv", "cholesky", "eigh", "svd", "qr")},
)
"""Batch rules by primitive name. A new primitive joins vmap by adding its rule here."""
