"""``vmap``: a function of one example, run on a whole batch at once (JAX's ``jax.vmap``).

How it works: ``f`` is traced on one example (its graph is recorded, as for
``backward``), and the recorded graph is then evaluated once on the whole
batch, with the batch as a new first axis. Each primitive knows how to take
that axis along (:data:`BATCH_RULES`): elementwise ops line their inputs up
so that NumPy's broadcasting pairs example with example; reductions, reshape,
transpose, indexing, concatenate and matmul have their axis arguments moved
by one. Because the graph of ``grad(f)`` contains its backward pass,
``vmap(grad(f))`` gives per-example gradients in one evaluation.

What is supported (and checked; anything else raises :class:`NotBatchable`):

- mapped arguments are floating-point arrays (labels too: pass them as floats);
- ``f`` is built from primitives that have a batch rule, and its graph does not
  depend on the values of the example: no Python ``if`` on a mapped value, no
  index computed from one. ``f`` is traced on the first and the last example
  and the two graphs must agree op for op, constant for constant, so most
  value-dependent code is caught; a Python branch that both examples take the
  same way is not, so keep ``if`` away from mapped values (as under JAX's jit);
- composites that pick a constant from the data (softmax's and logsumexp's
  shift by the maximum, std's test for zero variance) differ between examples
  and are refused.

The result is computed with downhill's ops on the batch, so an outer
transform can differentiate through it when the batched inputs require gradients.
"""

from __future__ import annotations

import functools

import numpy as np

from ..errors import InputError
from .backward import topological
from .compile import ELEMENTWISE
from .mode import THREAD, enable_grad
from .ops import broadcast_to, reshape, transpose
from .tensor import MASK_OPS, Tensor, _wrap, apply

__all__ = ["vmap", "NotBatchable", "BATCH_RULES"]


class NotBatchable(InputError):
    """The function cannot be evaluated on a batch in one pass (the message says why)."""


# ----------------------------------------------------------------- batch rules
# rule(op, node, values, batched, params, size) -> the op's batched output.
# ``values`` are the inputs (batched ones with the batch first), ``batched``
# says which are batched, ``node`` is the traced node (per-example shapes).


def _lift(value, node_rank, per_shape):
    """A batched value (B,) + per_shape lined up for broadcasting against rank ``node_rank``."""
    missing = node_rank - len(per_shape)
    if missing <= 0:
        return value
    return reshape(value, (np.shape(_data(value))[0],) + (1,) * missing + tuple(per_shape))


def _data(value):
    return value._data if isinstance(value, Tensor) else value


def _elementwise(op, node, values, batched, params, size):
    rank = np.ndim(node._data)
    lined = [_lift(v, rank, np.shape(raw)) if b else v for v, b, raw in zip(values, batched, node._inputs)]
    return apply(op, lined, params)


def _reduction(op, node, values, batched, params, size):
    (x,) = values
    rank = np.ndim(node._inputs[0])
    axis = params.get("axis")
    axes = tuple(range(1, rank + 1)) if axis is None else tuple(a + 1 for a in axis)
    return apply(op, [x], {**params, "axis": axes})


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


def _insert_axis(value, axis):
    shape = list(np.shape(_data(value)))
    shape.insert(len(shape) + 1 + axis if axis < 0 else axis, 1)
    return reshape(value, tuple(shape))


# The elementwise primitives are the tracer's list (one list for both), erf
# (which the tracer does not take), and the masks recorded while tracing.
_ELEMENTWISE = ELEMENTWISE | {"erf"} | {op.name for op in MASK_OPS.values()}
BATCH_RULES = {name: _elementwise for name in _ELEMENTWISE}
BATCH_RULES.update(sum=_reduction, max=_reduction, norm=_reduction, reshape=_reshape,
                   broadcast_to=_broadcast_to, transpose=_transpose, getitem=_getitem, scatter=_scatter,
                   concatenate=_concatenate, matmul=_matmul)
"""Batch rules by primitive name. A new primitive joins vmap by adding its rule here."""


# ----------------------------------------------------------------- tracing
def _same(a, b):
    """Equality for traced constants and settings (arrays, tuples, slices, dtypes)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray) or isinstance(a, np.generic):
        a, b = np.asarray(a), np.asarray(b)
        return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(
            a, b, equal_nan=a.dtype.kind in "fc")
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return a is b


def _trace(f, args, mapped, example):
    """Run ``f`` on one example; return (outputs, single, placeholders)."""
    placeholders = {}
    call_args = list(args)
    for i in mapped:
        t = _wrap(np.array(_data(args[i])[example]))
        t._rg = True
        placeholders[id(t)] = i
        call_args[i] = t
    # Counted as a transform: transforms inside f (grad, ...) then keep their
    # results in the graph, which is what gets evaluated on the batch.
    THREAD.depth += 1
    THREAD.masks_in_graph, previous = True, THREAD.masks_in_graph
    try:
        with enable_grad():
            out = f(*call_args)
    finally:
        THREAD.depth -= 1
        THREAD.masks_in_graph = previous
    single = not isinstance(out, (tuple, list))
    return ([out] if single else list(out)), single, placeholders


def _graph(outputs):
    """The recorded nodes leading to the outputs (leaves included), in order."""
    order, seen = [], set()
    for out in outputs:
        if isinstance(out, Tensor):
            for t in topological(out, leaves=True):
                if id(t) not in seen:
                    seen.add(id(t))
                    order.append(t)
    return order


def _check_same_graph(first, second, places1, places2, internal):
    """Both traces must record the same computation; only the mapped values may differ.

    Leaves made inside ``f`` are added to ``internal``."""
    if len(first) != len(second):
        return "its graph has a different number of operations on different examples"
    pos1 = {id(t): k for k, t in enumerate(first)}
    pos2 = {id(t): k for k, t in enumerate(second)}
    for a, b in zip(first, second):
        if (a._op is None) != (b._op is None):
            return "its graph differs between examples"
        if a._op is None:
            if (id(a) in places1) != (id(b) in places2) or (id(a) in places1 and places1[id(a)] != places2[id(b)]):
                return "its graph differs between examples"
            if id(a) not in places1 and a is not b:
                # A leaf made inside f (grad wraps its shared arguments so):
                # a constant of the batch, equal in both traces.
                if not _same(a._data, b._data):
                    return "a tensor made inside the function depends on the example"
                internal.add(id(a))
            continue
        if a._op is not b._op:
            return f"it runs '{a._op.name}' on one example and '{b._op.name}' on another"
        if not _same(a._params or {}, b._params or {}):
            return f"the settings of '{a._op.name}' depend on the example (an index or an axis computed from it)"
        for pa, pb, ra, rb in zip(a._parents, b._parents, a._inputs, b._inputs):
            if (pa is None) != (pb is None):
                return "its graph differs between examples"
            if pa is None:
                if not _same(ra, rb):
                    return (f"a constant used by '{a._op.name}' depends on the example (computed outside "
                            "the graph: a comparison such as x > 0, or a shift such as softmax's maximum)")
            elif pos1[id(pa)] != pos2[id(pb)]:
                return "its graph differs between examples"
    return None


def _check_constants(outputs, outputs2, places, places2):
    """Outputs outside the graph must not depend on the example (else the graph lost track of it)."""
    if len(outputs) != len(outputs2):
        return "it returns a different number of results on different examples"
    for a, b in zip(outputs, outputs2):
        in_graph = isinstance(a, Tensor) and (a._op is not None or id(a) in places)
        if not in_graph and not _same(np.asarray(_data(a)), np.asarray(_data(b))):
            return "a result was computed outside the graph (with NumPy, or as a plain number)"
    return None


def _evaluate(order, outputs, placeholders, internal, batched_args, size):
    """Evaluate the traced graph once on the batch."""
    values = {}
    flags = {}
    for node in order:
        key = id(node)
        if node._op is None:
            if key in placeholders:
                values[key], flags[key] = batched_args[placeholders[key]], True
            elif key in internal:
                values[key], flags[key] = node._data, False  # made inside f: a constant
            else:
                values[key], flags[key] = node, False  # a parameter the function closes over
            continue
        inputs = []
        batched = []
        for parent, raw in zip(node._parents, node._inputs):
            if parent is None:
                inputs.append(raw)
                batched.append(False)
            else:
                inputs.append(values[id(parent)])
                batched.append(flags[id(parent)])
        if not any(batched):
            needs = any(isinstance(v, Tensor) and v._rg for v in inputs)
            values[key] = apply(node._op, inputs, node._params) if needs else node._data
            flags[key] = False
            continue
        rule = BATCH_RULES.get(node._op.name)
        if rule is None:
            raise NotBatchable(
                f"vmap: '{node._op.name}' has no batch rule yet (supported: {', '.join(sorted(BATCH_RULES))}). "
                "Run a Python loop over the examples instead, or add a rule to downhill.autodiff.vmap.BATCH_RULES."
            )
        result = rule(node._op, node, inputs, batched, node._params or {}, size)
        expected = (size,) + np.shape(node._data)
        if np.shape(_data(result)) != expected:
            raise NotBatchable(
                f"vmap: '{node._op.name}' gave shape {np.shape(_data(result))} on the batch where "
                f"{expected} was expected; this use of it cannot be batched"
            )
        values[key], flags[key] = result, True
    results = []
    for out in outputs:
        if isinstance(out, Tensor) and id(out) in values and flags[id(out)]:
            results.append(values[id(out)])
        else:  # does not depend on the mapped inputs: the same for every example
            data = _data(values.get(id(out), out)) if isinstance(out, Tensor) else np.asarray(out)
            results.append(np.broadcast_to(data, (size,) + np.shape(data)).copy())
    return results


def _axes_for(in_axes, n):
    if isinstance(in_axes, (tuple, list)):
        if len(in_axes) != n:
            raise InputError(f"vmap: in_axes has {len(in_axes)} entries but the function got {n} arguments")
        return tuple(in_axes)
    return (in_axes,) * n


def vmap(f, in_axes=0, out_axes=0):
    """Map ``f`` over an axis of its arguments, in one evaluation (JAX's ``vmap``).

    ``in_axes``: for each argument the axis holding the examples, or None for
    an argument shared by all examples (one int or None for all, or a tuple).
    ``out_axes``: where the examples' axis goes in the result. Per-example
    gradients are one line:

    >>> import numpy as np, downhill as dh
    >>> loss = lambda w, x: (dh.tanh(x @ w) - 1.0) ** 2
    >>> w, X = np.array([0.5, -0.2]), np.array([[1.0, 2.0], [0.0, 1.0], [3.0, 1.0]])
    >>> per_example = dh.vmap(dh.grad(loss), in_axes=(None, 0))(w, X)
    >>> per_example.shape
    (3, 2)
    >>> np.allclose(per_example, [dh.grad(loss)(w, x) for x in X])
    True

    See the module's documentation for what can be batched; anything else
    raises :class:`NotBatchable` with the reason.
    """

    if isinstance(out_axes, bool) or not isinstance(out_axes, (int, np.integer)):
        raise InputError(f"vmap: out_axes must be an int (where the examples' axis goes); got {out_axes!r}")

    @functools.wraps(f)
    def batched_f(*args):
        axes = _axes_for(in_axes, len(args))
        mapped = [i for i, a in enumerate(axes) if a is not None]
        if not mapped:
            raise InputError("vmap: in_axes maps no argument; give the axis of the examples (e.g. in_axes=0)")
        moved = list(args)
        size = None
        for i in mapped:
            value = args[i]
            data = np.asarray(_data(value))
            if data.dtype.kind != "f":
                raise NotBatchable(
                    f"vmap: argument {i} is {data.dtype}; mapped arguments must be floating-point "
                    "(pass labels as floats, e.g. y.astype(float))"
                )
            axis = axes[i]
            if not isinstance(axis, (int, np.integer)) or not -data.ndim <= axis < max(data.ndim, 1) or not data.ndim:
                raise InputError(f"vmap: in_axes={axis!r} does not name an axis of argument {i} (shape {data.shape})")
            if axis % data.ndim:
                value = transpose(value, (axis % data.ndim,) + tuple(
                    k for k in range(data.ndim) if k != axis % data.ndim)) if isinstance(value, Tensor) \
                    else np.moveaxis(data, axis, 0)
            n = np.shape(_data(value))[0]
            if size is not None and n != size:
                raise InputError(f"vmap: the mapped axes have different lengths ({size} and {n})")
            size = n
            moved[i] = value if isinstance(value, Tensor) else np.asarray(value)
        if size == 0:
            raise InputError("vmap: the mapped axis is empty; there is no example to trace")
        outputs, single, places = _trace(f, moved, mapped, 0)
        order = _graph(outputs)
        # A second trace, on the last example: the two graphs must agree (and
        # leaves made inside f show themselves by being new objects).
        outputs2, _, places2 = _trace(f, moved, mapped, size - 1)
        internal = set()
        problem = _check_same_graph(order, _graph(outputs2), places, places2, internal) \
            or _check_constants(outputs, outputs2, places, places2)
        if problem:
            raise NotBatchable(
                f"vmap cannot evaluate {getattr(f, '__name__', 'this function')} on the whole batch at "
                f"once: {problem}. Run a Python loop over the examples instead."
            )
        results = _evaluate(order, outputs, places, internal, moved, size)
        any_tensor = any(isinstance(args[i], Tensor) for i in mapped)
        finished = []
        for r in results:
            if isinstance(r, Tensor) and (any_tensor or r._rg):
                if out_axes:
                    rank = r.ndim
                    target = out_axes % rank
                    order_ = list(range(1, rank))
                    order_.insert(target, 0)
                    r = transpose(r, tuple(order_))
                finished.append(r)
            else:
                data = np.asarray(_data(r))
                finished.append(np.moveaxis(data, 0, out_axes) if out_axes else data)
        return finished[0] if single else tuple(finished)

    return batched_f
