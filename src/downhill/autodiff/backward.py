"""The backward pass: the chain rule, applied from an output back to its inputs.

1. Order the graph (an iterative depth-first search, so a graph 100,000 ops
   deep needs no recursion, and a value used twice is visited once).
2. Walk it from the output: each node hands its gradient to its inputs through
   the vjp rules of ``ops.py``; gradients reaching the same input add up.
3. Leaves collect their total into ``.grad``; everything else is dropped as
   soon as it has been passed on.
"""

from __future__ import annotations

import numpy as np

from .mode import STATE, enable_grad
from .ops import DH, NP
from .tensor import Tensor, _wrap


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


def count_uses(root):
    """Count, for every node that leads to ``root``, its consumers inside the graph.

    An iterative walk (no recursion limit, each node entered once). The count
    is kept on the node (``_uses``); a node is ready for the backward pass
    once all its consumers have handed it their gradients, that is, when the
    count has gone down to zero. Each node reached gets ``_pending`` set to a
    token new for this pass, which marks it as seen (cheaper than a set of
    ids) and, later, as "no gradient has arrived yet". Returns the token.
    """
    unset = object()
    stack = [root]
    root._pending = unset
    while stack:
        node = stack.pop()
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
                    stack.append(parent)
    return unset


def _freed_error(node):
    return RuntimeError(
        f"backward through the graph a second time: the values saved by '{node._op.name}' "
        "were freed by the first backward(). Pass retain_graph=True to the first call if you "
        "need to go back twice, or recompute the forward pass."
    )


def propagate(root, seed, retain_graph=False, create_graph=False, wants=()):
    """Run the chain rule from ``root`` (with cotangent ``seed``).

    Returns ``(leaves, found)``: ``leaves`` maps id -> [leaf, total gradient]
    for every leaf reached; ``found`` maps id -> gradient for the non-leaf
    tensors listed in ``wants``.
    """
    if root._op is None:
        return {id(root): [root, seed]}, {}
    unset = count_uses(root)
    root._pending = seed
    if not (create_graph or wants or STATE.anomaly):
        return _propagate_plain(root, retain_graph, unset), {}
    leaves = {}
    found = {}
    want_ids = {id(w) for w in wants} if wants else None
    anomaly = STATE.anomaly
    F = DH if create_graph else NP
    ready = [root]
    while ready:
        node = ready.pop()
        # A node's gradient waits on the node itself until every consumer
        # has added its share; then it is passed on and dropped.
        g = node._pending
        node._pending = None
        if g is unset:
            g = None
        parents = node._parents
        inputs = node._inputs
        if not retain_graph:
            node._parents = node._inputs = None  # free what the backward needed
        if g is not None:
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
        for parent, rule in zip(parents, node._op.vjps):
            if parent is None:
                continue
            interior = parent._op is not None
            if interior:
                left = parent._uses - 1
                parent._uses = left
                if not left:
                    ready.append(parent)
            if g is None or rule is None:
                continue
            gi = rule(F, g, ans, *inputs, **params) if params else rule(F, g, ans, *inputs)
            if gi is None:
                continue
            data = parent._data
            if gi.shape != data.shape or gi.dtype is not data.dtype:
                gi = _fit(F, gi, data)
            if anomaly:
                # By identity: tuple.index would compare Tensors with == (elementwise).
                _check_backward(node, next(i for i, p in enumerate(parents) if p is parent), g, gi)
            if interior:
                previous = parent._pending
                parent._pending = gi if previous is unset else previous + gi
            else:  # a leaf: collect its total
                key = id(parent)
                entry = leaves.get(key)
                if entry is None:
                    leaves[key] = [parent, gi]
                else:
                    entry[1] = entry[1] + gi
    return leaves, found


def _propagate_plain(root, retain_graph, unset):
    """The common case of :func:`propagate`, kept lean: first order, no anomaly checks.

    The same steps as the general loop; only the branches that cannot apply
    are left out, because this loop runs once per node of every backward().
    """
    leaves = {}
    ready = [root]
    pop = ready.pop
    push = ready.append
    F = NP
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
                if parent is not None and parent._op is not None:
                    parent._uses -= 1
                    if not parent._uses:
                        push(parent)
            continue
        if node._extra is not None:
            g = _node_hooks(node, g, False)
        ans = node._data
        params = node._params
        for parent, rule in zip(parents, node._op.vjps):
            if parent is None:
                continue
            if rule is not None:
                gi = rule(F, g, ans, *inputs, **params) if params else rule(F, g, ans, *inputs)
                if gi is not None:
                    data = parent._data
                    kind = type(data)
                    # Equal NumPy scalar types mean equal dtype and shape (), the
                    # common case of small problems; arrays are compared in full.
                    if type(gi) is not kind or (kind is np.ndarray and (
                            gi.shape != data.shape or gi.dtype is not data.dtype)):
                        gi = _fit(F, gi, data)
                    if parent._op is None:  # a leaf: collect its total
                        key = id(parent)
                        entry = leaves.get(key)
                        if entry is None:
                            leaves[key] = [parent, gi]
                        else:
                            entry[1] = entry[1] + gi
                        continue
                    previous = parent._pending
                    parent._pending = gi if previous is unset else previous + gi
            if parent._op is not None:  # an interior node: one consumer fewer to wait for
                left = parent._uses - 1
                parent._uses = left
                if not left:
                    push(parent)
    return leaves


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
            raise RuntimeError(
                f"backward() without a gradient needs a single-number output, but this one has "
                f"shape {root.shape}. Reduce it first (e.g. loss = y.sum() or y.mean()), "
                "or pass gradient= with the output's shape."
            )
        seed = np.ones(root.shape, dtype=root.dtype)[()] if root.ndim else root.dtype.type(1)
    else:
        seed = gradient._data if isinstance(gradient, Tensor) else np.asarray(gradient, dtype=root.dtype)
        if np.shape(seed) != root.shape:
            raise ValueError(
                f"backward(gradient=...): the gradient has shape {np.shape(seed)} but the "
                f"output has shape {root.shape}; they must match"
            )
    return _wrap(seed) if create_graph else seed


def backward(root, gradient=None, retain_graph=None, create_graph=False, inputs=None):
    """``root.backward(...)``: accumulate gradients into the leaves' ``.grad``."""
    if not root._rg:
        raise RuntimeError(
            "backward() on a tensor that does not require grad: nothing it was computed from "
            "asked for a gradient. Create the input with requires_grad=True, e.g. "
            "dh.tensor(2.0, requires_grad=True), and compute outside dh.no_grad()."
        )
    if retain_graph is None:
        retain_graph = create_graph
    seed = seed_for(root, gradient, create_graph)
    only = None if inputs is None else {id(t) for t in _as_list(inputs)}
    if create_graph:
        with enable_grad():
            leaves, _ = propagate(root, seed, retain_graph, True)
    else:
        leaves, _ = propagate(root, seed, retain_graph, False)
    # A rule may pass its cotangent straight on (add does, to both inputs), so
    # the same array can reach several leaves; only its first holder keeps it
    # without a copy, and only if it is (a writable view of) a fresh array.
    handed_out = {id(seed)}
    for leaf, g in leaves.values():
        if only is not None and id(leaf) not in only:
            continue
        hooks = leaf._extra.get("hooks") if leaf._extra is not None else None
        if hooks:
            _accumulate(leaf, _run_hooks(hooks, g, create_graph), create_graph)
        elif leaf._grad is None and not create_graph:
            # The usual case, inlined: a first gradient. A fresh array, or a
            # writable view of one (a transposed cotangent), not given out
            # before, is kept as it is; anything else is copied.
            if type(g) is np.ndarray:
                owner = g if g.base is None else g.base
                if id(owner) in handed_out or type(owner) is not np.ndarray or (
                        owner is not g and not g.flags.writeable):
                    g = np.array(g)
                else:
                    handed_out.add(id(owner))
            leaf._grad = _wrap(g)
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
        elif key in leaves:
            g = leaves[key][1]
        else:
            zeros = np.zeros(tensor.shape, dtype=tensor.dtype)[()]
            g = _wrap(zeros) if create_graph else zeros
        results.append(g)
    return results
