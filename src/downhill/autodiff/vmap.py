"""``vmap``: a function of one example, run on a whole batch at once (JAX's ``jax.vmap``).

How it works: ``f`` is traced on one example (its graph is recorded, as for
``backward``), and the recorded graph is then evaluated once on the whole
batch, with the batch as a new first axis. Every primitive of the rule table
knows how to take that axis along (:data:`~downhill.autodiff.batching.BATCH_RULES`):
elementwise ops line their inputs up so that NumPy's broadcasting pairs
example with example; reductions, cumsum, reshape, transpose, indexing and
concatenate have their axis settings moved by one; matmul, einsum and the
``linalg`` decompositions map over the leading axes of a stack. Because the
graph of ``grad(f)`` contains its backward pass, ``vmap(grad(f))`` gives
per-example gradients in one evaluation.

One evaluation on the batch needs (and vmap checks):

- mapped arguments that are floating-point arrays (labels too: pass them as floats);
- a graph that does not depend on the values of the example: no Python ``if``
  on a mapped value, no index computed from one (``sort``, ``median``,
  ``argmax`` pick their elements by value). ``f`` is traced on the first and
  the last example and the two graphs must agree op for op, constant for
  constant; comparisons (``x > 0``) are recorded, so ``where`` and ``relu``
  follow each example, and softmax's, logsumexp's and std's data-dependent
  steps are recorded too while vmap traces.

Where that fails, ``vmap`` falls back to a Python loop over the examples,
stacking the results: correct, as slow as the loop. That happens for code
that reads a mapped value (``.item()``, ``float()``, an ``if`` on it, NumPy
on ``.data``), for the functions that pick elements by value (``sort``,
``argsort``, ``partition``, ``median``, ``argmax``/``argmin``, ``interp`` at
mapped points, ``linalg.lstsq``'s rank, ``logsumexp`` with ``b=``), and for
``custom_vjp``/``custom_jvp`` functions and primitives without a batch rule.
``fallback="raise"`` refuses with :class:`NotBatchable` and the reason
instead, to make sure the fast path is taken.

A limit: a Python branch that the first and the last example take the same
way, and a middle one the other way, is not seen; keep ``if`` away from
mapped values (as under JAX's jit).

The result is computed with downhill's ops on the batch, so an outer
transform can differentiate through it when the batched inputs require gradients.
"""

from __future__ import annotations

import functools

import numpy as np

from ..errors import InputError
from .backward import topological
from .batching import BATCH_RULES, NotBatchable
from .mode import THREAD, TRACING, enable_grad
from .ops import transpose
from .tensor import Tensor, _wrap, apply

__all__ = ["vmap", "NotBatchable", "BATCH_RULES"]


def _data(value):
    return value._data if isinstance(value, Tensor) else value


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
    if isinstance(a, float) and isinstance(b, float) and a != a:
        return b != b  # NaN: a constant equal to itself in both traces
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
    THREAD.values_read, previous_read = False, THREAD.values_read
    TRACING.append(None)
    try:
        with enable_grad():
            out = f(*call_args)
        read = THREAD.values_read
    finally:
        TRACING.pop()
        THREAD.depth -= 1
        THREAD.masks_in_graph = previous
        THREAD.values_read = previous_read
    single = not isinstance(out, (tuple, list))
    return ([out] if single else list(out)), single, placeholders, read


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
            if a._op.name == b._op.name:  # a rule made per call (custom_vjp): nothing to batch it with
                return f"'{a._op.name}' is a rule made for each call, with no batch rule"
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
                f"vmap: '{node._op.name}' has no batch rule; add one to "
                "downhill.autodiff.batching.BATCH_RULES, or let vmap loop over the examples (fallback='loop')"
            )
        result = rule(node._op, node, inputs, batched, node._params or {}, size)
        expected = (size,) + np.shape(node._data)
        if np.shape(_data(result)) != expected:
            raise NotBatchable(
                f"vmap: '{node._op.name}' gave shape {np.shape(_data(result))} on the batch where "
                f"{expected} was expected; this use of it cannot be batched (fallback='loop' runs a loop instead)"
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


def _batched(f, moved, mapped, size):
    """Trace ``f`` on the first and the last example, check the graphs agree, evaluate on the batch."""
    outputs, single, places, read = _trace(f, moved, mapped, 0)
    if read:
        raise NotBatchable(
            f"vmap cannot evaluate {getattr(f, '__name__', 'this function')} on the whole batch at once: "
            "it reads the values of a mapped tensor into Python (.item(), float(), bool(), .data, "
            "an 'if' on a value, NumPy, or a function that picks by value such as sort), so its "
            "graph may differ between examples. Run a loop over the examples instead (fallback='loop')."
        )
    order = _graph(outputs)
    # A second trace, on the last example: the two graphs must agree (and
    # leaves made inside f show themselves by being new objects).
    outputs2, _, places2, _ = _trace(f, moved, mapped, size - 1)
    internal = set()
    problem = _check_same_graph(order, _graph(outputs2), places, places2, internal) \
        or _check_constants(outputs, outputs2, places, places2)
    if problem:
        raise NotBatchable(
            f"vmap cannot evaluate {getattr(f, '__name__', 'this function')} on the whole batch at "
            f"once: {problem}. Run a loop over the examples instead (fallback='loop')."
        )
    return _evaluate(order, outputs, places, internal, moved, size), single


def _loop(f, moved, mapped, size):
    """The fallback: ``f`` on each example in turn, the results stacked (batch first)."""
    from .composites import stack

    rows = []
    for k in range(size):
        call = list(moved)
        for i in mapped:
            call[i] = moved[i][k] if isinstance(moved[i], Tensor) else _wrap(np.array(moved[i][k]))
        out = f(*call)
        rows.append(out)
    single = not isinstance(rows[0], (tuple, list))
    columns = [rows] if single else list(zip(*rows))
    results = []
    for column in columns:
        if any(isinstance(v, Tensor) and v._rg for v in column):
            results.append(stack(list(column)))
        else:
            results.append(np.stack([np.asarray(_data(v)) for v in column]))
    return results, single


def vmap(f, in_axes=0, out_axes=0, *, fallback="loop"):
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

    See the module's documentation for what can be batched in one evaluation.
    Anything else runs as a loop over the examples (``fallback="loop"``, the
    default: the same numbers, the loop's speed), or raises
    :class:`NotBatchable` with the reason (``fallback="raise"``):

    >>> dh.vmap(dh.sort)(np.array([[2.0, 1.0], [3.0, 4.0]]))  # sort picks by value: a loop
    array([[1., 2.],
           [3., 4.]])
    """

    if fallback not in ("loop", "raise"):
        raise InputError(f"vmap: fallback must be 'loop' or 'raise'; got {fallback!r}")
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
        try:
            results, single = _batched(f, moved, mapped, size)
        except NotBatchable:
            if fallback == "raise":
                raise
            results, single = _loop(f, moved, mapped, size)
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
