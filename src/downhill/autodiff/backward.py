"""The backward pass: the chain rule, applied from an output back to its inputs.

1. Order the graph (an iterative depth-first search, so a graph 100,000 ops
   deep needs no recursion, and a value used twice is visited once).
2. Walk it from the output: each node hands its gradient to its inputs through
   the vjp rules of ``ops.py``; gradients reaching the same input add up.
3. Leaves collect their total into ``.grad``; everything else is dropped as
   soon as it has been passed on.
"""

from __future__ import annotations

import threading

import numpy as np

from ..errors import UsageError
from .mode import ANOMALOUS, THREAD, anomaly_on, enable_grad
from .ops import DH, NP
from .tensor import Tensor, _new, _wrap, pass_negated, pass_on, times_first, times_second


def unbroadcast(F, g, shape):
    """Sum a cotangent ``g`` back down to ``shape``, undoing NumPy broadcasting.

    This is the one place where broadcasting is paid back: an input of shape
    (1, 3) that was stretched to (2, 3) gets the sum of both rows.

    >>> import numpy as np
    >>> from downhill.autodiff.ops import NP
    >>> unbroadcast(NP, np.ones((2, 3)), (1, 3))
    array([[2., 2., 2.]])
    """
    g_shape = g.shape
    if g_shape == shape:
        return g
    extra = len(g_shape) - len(shape)
    if extra < 0:
        # A rule may return a smaller value (a constant); stretch it.
        return F.broadcast_to(g, shape)
    axes = tuple(range(extra)) + tuple(
        extra + i for i, size in enumerate(shape) if size == 1 and g_shape[extra + i] != 1
    )
    if axes:
        g = F.sum(g, axis=axes, keepdims=True)
    return F.reshape(g, shape)


def topological(root, leaves=False):
    """Every recorded tensor that leads to ``root``, parents before children.

    The one walk of the graph that the backward pass, :func:`graph_of
    <downhill.autodiff.graph.graph_of>` and the tracer (``compile.py``)
    share: an iterative depth-first search (no recursion limit, each tensor
    entered once), keeping its bookkeeping in a dict of its own, so that any
    number of walks may run at once, in any threads. Leaves (tensors that no
    op made) are included when ``leaves`` is true. A node whose saved values
    were freed by an earlier backward() raises.

    >>> import downhill as dh
    >>> x = dh.tensor(2.0, requires_grad=True)
    >>> [t._op.name for t in topological(dh.sin(x * x) + x)]
    ['multiply', 'sin', 'add']
    """
    order = []
    state = {}
    stack = [(root, False)]
    while stack:
        tensor, expanded = stack.pop()
        key = id(tensor)
        if expanded:
            if state[key] is not True:
                state[key] = True
                order.append(tensor)
            continue
        if key in state:
            continue
        state[key] = False
        parents = tensor._parents
        if tensor._op is None:
            if leaves:
                state[key] = True
                order.append(tensor)
            continue
        if parents is None:
            raise _freed_error(tensor)
        stack.append((tensor, True))
        for parent in reversed(parents):
            if parent is not None and id(parent) not in state and (leaves or parent._op is not None):
                stack.append((parent, False))
    return order


def reverse_walk(root):
    """The recorded nodes of ``root``'s graph, ``root`` first and each node
    before the nodes it was computed from: the order of the chain rule."""
    return reversed(topological(root))


def count_uses(root):
    """Count, for every node that leads to ``root``, its consumers inside the graph.

    The fast first-order loop's own walk (see :func:`_propagate_plain`): the
    count is kept on the node (``_uses``); a node is ready for the backward
    pass once all its consumers have handed it their gradients, that is, when
    the count has gone down to zero. Each node reached gets ``_pending`` set
    to a token new for this pass, which marks it as seen (cheaper than a set
    of ids) and, later, as "no gradient has arrived yet". Returns the token.
    """
    unset = object()
    stack = [root]
    pop = stack.pop
    push = stack.append
    root._pending = unset
    while stack:
        node = pop()
        parents = node._parents
        if parents is None:
            raise _freed_error(node)
        for parent in parents:
            # Parents are None unless they need a gradient; leaves have no op.
            if parent is not None and parent._op is not None:
                if parent._pending is unset:
                    parent._uses += 1
                else:
                    parent._pending = unset
                    parent._uses = 1
                    push(parent)
    return unset


def _freed_error(node):
    return UsageError(
        f"backward through the graph a second time: the values saved by '{node._op.name}' "
        "were freed by the first backward(). Call backward(retain_graph=True) the first time "
        "if you need to go back twice, or recompute the forward pass."
    )


# The fast loop keeps its per-pass bookkeeping on the nodes themselves
# (``_pending``, ``_uses``), which is cheapest; one pass at a time may do so.
# A pass that finds the lock taken (another thread's pass, or a backward()
# started from a hook inside a pass) takes the general loop, whose bookkeeping
# lives in the pass alone. Both give the same gradients (tests/autodiff/test_walks.py).
_FAST_LOOP = threading.Lock()


def propagate(root, seed, retain_graph=False, create_graph=False, wants=(), fast=True):
    """Run the chain rule from ``root`` (with cotangent ``seed``).

    Returns ``(leaves, found)``: ``leaves`` maps id -> [leaf, total gradient]
    for every leaf reached (the gradient is None for a leaf reached only
    through ops without a derivative, such as sign); ``found`` maps id ->
    gradient for the non-leaf tensors listed in ``wants``. ``fast=False``
    forces the general loop (the tests compare the two).
    """
    if root._op is None:
        return {id(root): [root, seed]}, {}
    if fast and not (create_graph or wants or (ANOMALOUS and THREAD.anomaly)) and _same_form(seed, root._data) \
            and _FAST_LOOP.acquire(False):
        try:
            return {id(entry[0]): entry for entry in _take(_propagate_plain(root, seed, retain_graph))}, {}
        finally:
            _FAST_LOOP.release()
    leaves = {}
    found = {}
    want_ids = {id(w) for w in wants} if wants else None
    anomaly = anomaly_on()
    F = DH if create_graph else NP
    order = topological(root)
    needed = None
    if want_ids is not None:
        # Only the nodes on a path to a wanted tensor (as torch.autograd.grad):
        # other branches would cost time, and may divide by zero for nothing.
        needed = set(want_ids)
        for node in order:
            for parent in node._parents:
                if parent is not None and id(parent) in needed:
                    needed.add(id(node))
                    break
    pending = {id(root): seed}  # this pass's gradients, by node, until passed on
    for node in reversed(order):
        g = pending.pop(id(node), None)
        parents = node._parents
        inputs = node._inputs
        if not retain_graph:
            node._parents = node._inputs = None  # free what the backward needed
        if g is None:  # nothing arrived (through sign, say)
            for parent in parents:
                if parent is not None and parent._op is None:
                    _to_leaf(leaves, parent, None)
            continue
        if node._extra is not None:
            g = _node_hooks(node, g, create_graph)
        if want_ids is not None and id(node) in want_ids:
            found[id(node)] = g
        if create_graph:
            # Rules see Tensors for everything that needs a gradient, so
            # the backward pass is itself recorded.
            ans = node
            inputs = [p if p is not None else raw for p, raw in zip(parents, inputs)]
        else:
            ans = node._data
        params = node._params
        for i, (parent, rule) in enumerate(zip(parents, node._op.vjps)):
            if parent is None or (needed is not None and id(parent) not in needed):
                continue
            interior = parent._op is not None
            gi = None
            if rule is not None:
                gi = rule(F, g, ans, *inputs, **params) if params else rule(F, g, ans, *inputs)
            if gi is None:
                if not interior:
                    _to_leaf(leaves, parent, None)
                continue
            data = parent._data
            if gi.shape != data.shape or gi.dtype is not data.dtype:
                gi = _fit(F, gi, data)
            if anomaly:
                _check_backward(node, i, g, gi)
            if interior:
                key = id(parent)
                previous = pending.get(key)
                pending[key] = gi if previous is None else previous + gi
            else:
                _to_leaf(leaves, parent, gi)
    return leaves, found


def _to_leaf(leaves, leaf, gi):
    """Add a leaf's share ``gi`` to its total in ``leaves`` (both loops' one way).

    ``gi`` None notes a leaf that the walk reached without a gradient (through
    sign, say): it gets zeros, as in PyTorch, rather than no ``.grad`` at all.
    """
    key = id(leaf)
    entry = leaves.get(key)
    if entry is None:
        leaves[key] = [leaf, gi]
    elif gi is not None:
        total = entry[1]
        entry[1] = gi if total is None else total + gi


def _propagate_plain(root, seed, retain_graph):
    """The common case of :func:`propagate`, kept lean: first order, no anomaly checks.

    The same steps as the general loop; only the branches that cannot apply
    are left out, because this loop runs once per node of every backward().
    The rules that pass the cotangent on as it is or negated (add, subtract),
    or times the other input (multiply), are applied without calling them. Each leaf reached gets an entry
    ``[leaf, total gradient]`` (the total None while no gradient came through,
    as from sign), found again through the leaf's own ``_pending`` (None on
    every leaf outside a pass) rather than a dict; the entries are returned,
    for :func:`_take` to detach from the leaves, still under the lock.
    """
    unset = count_uses(root)
    root._pending = seed
    reached = []
    try:
        _walk_plain(root, retain_graph, unset, reached)
    except BaseException:
        _take(reached)  # a rule raised: leave no entry behind for the next pass
        raise
    return reached


def _take(reached):
    """The ``[leaf, total gradient]`` entries of a fast pass, each leaf's
    ``_pending`` set back to None."""
    for entry in reached:
        entry[0]._pending = None
    return reached


def _walk_plain(root, retain_graph, unset, reached):
    ready = [root]
    pop = ready.pop
    push = ready.append
    F = NP
    ndarray = np.ndarray
    while ready:
        node = pop()
        g = node._pending
        node._pending = None
        parents = node._parents
        inputs = node._inputs
        if not retain_graph:
            node._parents = node._inputs = None  # free what the backward needed
        if g is unset:  # nothing arrived (e.g. through sign): just release the inputs
            for parent in parents:
                if parent is not None:
                    if parent._op is None:
                        if parent._pending is None:
                            parent._pending = entry = [parent, None]
                            reached.append(entry)
                    else:
                        parent._uses -= 1
                        if not parent._uses:
                            push(parent)
            continue
        if node._extra is None:
            # Marked when the node was made: the cotangents it hands on need no
            # check (g has the node's own shape and dtype, and so will they).
            fits = node._fits
        else:
            g = _node_hooks(node, g, False)
            fits = False  # a hook may hand back another shape or dtype
        for parent, rule in zip(parents, node._op.vjps):
            if parent is None:
                continue
            if rule is pass_on:
                gi = g
            elif rule is times_second:
                gi = g * inputs[1]
            elif rule is times_first:
                gi = g * inputs[0]
            elif rule is pass_negated:
                gi = -g
            elif rule is None:
                gi = None
            else:
                params = node._params
                if params:
                    gi = rule(F, g, node._data, *inputs, **params)
                elif len(inputs) == 1:  # (spelled out: no argument tuple to build)
                    gi = rule(F, g, node._data, inputs[0])
                elif len(inputs) == 2:
                    gi = rule(F, g, node._data, inputs[0], inputs[1])
                else:
                    gi = rule(F, g, node._data, *inputs)
            if gi is not None and not fits:
                data = parent._data
                kind = type(data)
                # Equal NumPy scalar types mean equal dtype and shape (), the
                # common case of small problems; arrays are compared in full.
                if type(gi) is not kind or (kind is ndarray and (
                        gi.shape != data.shape or gi.dtype is not data.dtype)):
                    gi = _fit(F, gi, data)
            if parent._op is None:  # a leaf: its entry, if reached before, is in _pending
                entry = parent._pending
                if entry is None:
                    parent._pending = entry = [parent, gi]
                    reached.append(entry)
                elif gi is not None:
                    total = entry[1]
                    entry[1] = gi if total is None else total + gi
                continue
            if gi is not None:
                previous = parent._pending
                parent._pending = gi if previous is unset else previous + gi
            uses = parent._uses - 1  # one consumer fewer to wait for
            parent._uses = uses
            if not uses:
                push(parent)


def _same_form(value, data):
    """True when ``value`` has the shape and dtype of ``data``: a seed the fast
    loop may start from, since it trusts every node's cotangent to have them
    (a gradient= Tensor of another dtype goes the general way)."""
    kind = type(data)
    if type(value) is kind and kind is not np.ndarray:
        return True
    return np.shape(value) == np.shape(data) and np.result_type(value) == np.result_type(data)


def _fit(F, gi, data):
    """Sum broadcasting away and give the gradient its input's dtype."""
    if gi.shape != data.shape:
        gi = unbroadcast(F, gi, data.shape)
    if gi.dtype != data.dtype:
        gi = gi.astype(data.dtype)
    return gi


def _run_hooks(hooks, g, create_graph):
    """Call each tensor hook on the gradient; a hook may return a replacement."""
    for hook in hooks:
        result = hook(g if create_graph else _wrap(g))
        if result is not None:
            g = result if create_graph else np.asarray(result.data if isinstance(result, Tensor) else result)
    return g


def _node_hooks(node, g, create_graph):
    extra = node._extra
    g = _run_hooks(extra.get("hooks", ()), g, create_graph)
    if extra.get("retain"):
        _accumulate(node, g, create_graph)
    return g


def _accumulate(tensor, g, create_graph):
    """Add ``g`` into ``tensor.grad`` (PyTorch's accumulation).

    A first gradient is copied, so that no two ``.grad`` share memory and no
    read-only view (from broadcast_to) ends up in ``.grad``; backward() hands
    over fresh arrays itself, without this copy.
    """
    old = tensor._grad
    if create_graph:
        tensor._grad = g if old is None else old + g
        return
    if old is None:
        tensor._grad = _wrap(np.array(g) if isinstance(g, np.ndarray) else g)
        return
    od = old._data
    if type(od) is np.ndarray and od.flags.writeable and old._op is None:
        np.add(od, g, out=od, casting="same_kind")
    else:
        tensor._grad = _wrap(od + g)


def _check_backward(node, i, g, gi):
    from .anomaly import check_backward

    check_backward(node, i, g, gi)


def seed_for(root, gradient, create_graph):
    """The starting cotangent: ones for a one-element output, else the given one."""
    data = root._data
    if gradient is None and type(data) is not np.ndarray:
        seed = data.dtype.type(1)  # a 0-d output: the common case, kept fast
        return _wrap(seed) if create_graph else seed
    if gradient is None:
        if root._data.size != 1:  # (Tensor.size builds a callable int: slower)
            raise UsageError(
                f"backward() without a gradient needs a single-number output, but this one has "
                f"shape {root.shape}. Reduce it first (e.g. loss = y.sum() or y.mean()), "
                "or pass gradient= with the output's shape."
            )
        seed = np.ones(root.shape, dtype=root.dtype)[()] if root.ndim else root.dtype.type(1)
    else:
        seed = gradient._data if isinstance(gradient, Tensor) else np.asarray(gradient, dtype=root.dtype)
        if np.shape(seed) != root.shape:
            from ..errors import InputError  # only a mistake comes here: no import on the fast path

            raise InputError(
                f"backward(gradient=...): the gradient has shape {np.shape(seed)} but the "
                f"output has shape {root.shape}; they must match"
            )
    return _wrap(seed) if create_graph else seed


def backward(root, gradient=None, retain_graph=None, create_graph=False, inputs=None):
    """Run the chain rule from this tensor back to the leaves (``Tensor.backward`` is this function).

    Leaves that require grad accumulate into ``.grad``, as in PyTorch. The
    graph is freed afterwards unless ``retain_graph=True``; a second
    backward through a freed graph raises an error. ``create_graph=True``
    records the backward pass itself, for higher derivatives, and then
    keeps the graph unless ``retain_graph=False`` (PyTorch's default):
    the recorded gradient refers back to it. ``inputs`` limits which
    leaves accumulate.

    >>> import downhill as dh
    >>> x = dh.tensor([1.0, 2.0], requires_grad=True)
    >>> (x ** 3).sum().backward()
    >>> x.grad
    tensor([ 3., 12.])
    """
    if not root._rg:
        raise UsageError(
            "backward() on a tensor that does not require grad: nothing it was computed from "
            "asked for a gradient. Create the input with requires_grad=True, e.g. "
            "dh.tensor(2.0, requires_grad=True), and compute outside dh.no_grad()."
        )
    if retain_graph is None:
        retain_graph = create_graph
    data = root._data
    if gradient is None and not create_graph and type(data) is not np.ndarray:
        seed = type(data)(1)  # a 0-d output, the common case: seed_for's answer, sooner
    else:
        seed = seed_for(root, gradient, create_graph)
    only = None if inputs is None else {id(t) for t in _as_list(inputs)}
    if create_graph:
        with enable_grad():
            leaves, _ = propagate(root, seed, retain_graph, True)
    elif root._op is not None and not (ANOMALOUS and THREAD.anomaly) and (
            gradient is None or _same_form(seed, data)) and _FAST_LOOP.acquire(False):
        # propagate()'s fast loop, with the leaves' totals handed over while
        # the lock is held (they wait in the leaves' own _pending until then).
        try:
            _store(_take(_propagate_plain(root, seed, retain_graph)), seed, only, False)
        finally:
            _FAST_LOOP.release()
        return
    else:
        leaves, _ = propagate(root, seed, retain_graph, False)
    _store(leaves.values(), seed, only, create_graph)


def _store(pairs, seed, only, create_graph):
    """Give each leaf its gradient from ``(leaf, total)`` pairs: into ``.grad``, after its hooks."""
    # A rule may pass its cotangent straight on (add does, to both inputs), so
    # the same array can reach several leaves; only its first holder keeps it
    # without a copy, and only if it is (a writable view of) a fresh array.
    handed_out = {id(seed)}
    ndarray = np.ndarray
    for leaf, g in pairs:
        if only is not None and id(leaf) not in only:
            continue
        if g is None:  # reached, but no gradient came through: zeros, as in PyTorch
            if leaf._grad is None:
                zeros = np.zeros(leaf.shape, dtype=leaf.dtype)[()]
                leaf._grad = _wrap(zeros)
            continue
        if leaf._grad is None and leaf._extra is None and not create_graph:
            # The usual case, inlined: a first gradient. A fresh array, or a
            # writable view of one (a transposed cotangent), not given out
            # before, is kept as it is; anything else is copied.
            if type(g) is ndarray:
                owner = g.base
                if owner is None:
                    owner = g
                elif type(owner) is not ndarray or not g.flags.writeable:
                    owner = None
                key = id(owner)
                if owner is None or key in handed_out:
                    g = np.array(g)
                else:
                    handed_out.add(key)
            # _wrap(g), inline (once per leaf of every backward): the slots of _fill
            t = _new(Tensor)
            t._data = g
            t._rg = t._fits = False
            t._grad = t._op = t._parents = t._inputs = t._params = t._extra = t._pending = None
            leaf._grad = t
            continue
        hooks = leaf._extra.get("hooks") if leaf._extra is not None else None
        if hooks:
            _accumulate(leaf, _run_hooks(hooks, g, create_graph), create_graph)
        else:
            _accumulate(leaf, g, create_graph)


def _as_list(inputs):
    return [inputs] if isinstance(inputs, Tensor) else list(inputs)


def grad_of(output, wrt, seed=None, retain_graph=False, create_graph=False):
    """Gradients of ``output`` with respect to the tensors ``wrt`` (like torch.autograd.grad).

    Nothing is written into ``.grad``. Tensors that ``output`` does not depend
    on get zeros. With ``create_graph`` the results are Tensors in the graph;
    otherwise NumPy values.
    """
    if seed is None:
        seed = seed_for(output, None, create_graph)
    elif create_graph and not isinstance(seed, Tensor):
        seed = _wrap(seed)
    if not output._rg:
        leaves, found = {}, {}
    elif create_graph:
        with enable_grad():
            leaves, found = propagate(output, seed, retain_graph, True, wants=wrt)
    else:
        leaves, found = propagate(output, seed, retain_graph, False, wants=wrt)
    results = []
    for tensor in wrt:
        key = id(tensor)
        if key in found:
            g = found[key]
        elif key in leaves and leaves[key][1] is not None:
            g = leaves[key][1]
        else:
            zeros = np.zeros(tensor.shape, dtype=tensor.dtype)[()]
            g = _wrap(zeros) if create_graph else zeros
        results.append(g)
    return results
