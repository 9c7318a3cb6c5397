"""The chain rule, link by link: the computational graph of a result as data.

:func:`graph_of` walks the graph that made a Tensor and returns every node
(input, constant or operation, with its value and its gradient: how much the
result changes per unit change of that node) and every edge parent -> child,
labelled with the *local* derivative d child / d parent, evaluated with the
op's own vjp rule from ``ops.py``. The chain rule then reads off the graph:
the gradient of the result with respect to a node is the sum, over every
path from that node to the result, of the product of the local derivatives
along the path (:meth:`Graph.chain_rule` does exactly that sum).

Nothing here changes the graph or any ``.grad``: the gradients are computed
by a private reverse pass over the same rules, so the graph can be drawn
(``downhill.viz.graph``) before or after ``backward(retain_graph=True)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InputError, InputKeyError, InputTypeError, LimitError, shorten
from ..results import Result, jsonable
from .backward import topological, unbroadcast
from .ops import NP
from .tensor import Tensor

__all__ = ["graph_of", "Graph", "Node", "Edge", "ChainRule", "PathTerm"]

# A Jacobian (child.size x parent.size) is kept for an edge only up to this
# many entries: graphs worth reading are small, and one vjp is made per row.
MAX_JACOBIAN = 65_536
MAX_PATHS = 100_000


@dataclass
class Node:
    """One value of the graph.

    ``kind`` is ``"input"`` (a leaf that requires a gradient), ``"constant"``
    (a number or array that does not), or ``"op"`` (made by an operation;
    ``op`` is the primitive's name, e.g. ``"multiply"``). ``grad`` is d result /
    d node (for a result with many elements, of its sum), the node's shape; None
    for a constant that has no derivative rule (a condition, an index).
    ``depth`` is the length of the longest path from an input to the node.
    """

    id: int
    kind: str
    op: str
    name: str | None
    value: Any
    grad: Any
    depth: int
    shape: tuple

    @property
    def label(self) -> str:
        """The user's name, or the op's name, or the constant's value."""
        if self.name:
            return self.name
        if self.kind == "constant":
            return format_value(self.value)
        return self.op

    @property
    def scalar(self) -> bool:
        """True when the node holds a single number."""
        return math.prod(self.shape) == 1


@dataclass
class Edge:
    """A link parent -> child: the child's op used the parent as input ``index``.

    ``local`` is the local derivative d child / d parent: a float when both are
    single numbers, else the Jacobian as a ``(child.size, parent.size)`` array
    (None past :data:`MAX_JACOBIAN` entries, or where the op has no rule for
    this input). ``summary`` says it in a few characters. ``passed`` is what the
    backward pass hands along this edge: the child's gradient times the local
    derivative (a vector-Jacobian product), in the parent's shape.
    """

    parent: int
    child: int
    index: int
    local: Any
    summary: str
    passed: Any


@dataclass
class PathTerm:
    """One path from a node to the result and the product of its local derivatives."""

    nodes: list[int]
    factors: list[Any]
    product: Any


@dataclass
class ChainRule:
    """The chain rule spelled out for one node: a term per path, and their sum."""

    source: int
    terms: list[PathTerm]
    total: Any
    labels: list = field(default_factory=list, repr=False)

    def __str__(self) -> str:
        lines = []
        for number, term in enumerate(self.terms, 1):
            route = " -> ".join(self.labels[i] if i < len(self.labels) else str(i) for i in term.nodes)
            if all(np.ndim(f) == 0 for f in term.factors):
                factors = " x ".join(format_value(f) for f in term.factors) or "1"
                lines.append(f"path {number}: {route}: {factors} = {format_value(term.product)}")
            else:
                lines.append(f"path {number}: {route}: product of {len(term.factors)} Jacobians")
        lines.append(f"sum over {len(self.terms)} path(s) = {format_value(self.total)}")
        return "\n".join(lines)


@dataclass
class Graph(Result):
    """The nodes and edges of a result's computational graph (see :func:`graph_of`).

    ``nodes`` are in topological order (every parent before its children); the
    result is ``nodes[output]``. Node ids are positions in ``nodes``.
    """

    nodes: list[Node]
    edges: list[Edge]
    output: int
    scalar: bool
    _children: dict = field(default_factory=dict, repr=False)

    def node(self, key) -> Node:
        """A node by its id or by the name the user gave it.

        >>> import downhill as dh
        >>> x = dh.tensor(2.0, requires_grad=True)
        >>> graph_of(x * x, names={"x": x}).node("x").grad
        4.0
        """
        if isinstance(key, (int, np.integer)):
            return self.nodes[int(key)]
        for node in self.nodes:
            if node.name == key:
                return node
        names = [n.name for n in self.nodes if n.name]
        raise InputKeyError(f"no node named {shorten(repr(key))} in this graph; named nodes: {shorten(names)} "
                            f"(or a node id from 0 to {len(self.nodes) - 1})")

    @property
    def inputs(self) -> list[Node]:
        """The leaves that require a gradient."""
        return [n for n in self.nodes if n.kind == "input"]

    def edges_into(self, node_id: int) -> list[Edge]:
        """The edges whose child is ``node_id``."""
        return [e for e in self.edges if e.child == node_id]

    def edges_from(self, node_id: int) -> list[Edge]:
        """The edges whose parent is ``node_id``."""
        return [self.edges[i] for i in self._children.get(node_id, ())]

    def paths(self, source) -> list[list[Edge]]:
        """Every path (a list of edges) from ``source`` (id or name) to the result.

        >>> import downhill as dh
        >>> x = dh.tensor(3.0, requires_grad=True)
        >>> g = graph_of(x * x + x, names={"x": x})
        >>> len(g.paths("x"))  # twice into the product, once straight to the sum
        3
        """
        start = self.node(source).id
        found, stack = [], [(start, [])]
        while stack:
            at, path = stack.pop()
            if at == self.output:
                found.append(path)
                if len(found) > MAX_PATHS:
                    raise LimitError(f"more than {MAX_PATHS} paths: too large a graph to enumerate (the limit is "
                                     f"{MAX_PATHS} paths); ask for a smaller graph, or read node(...).grad")
                continue
            for edge in reversed(self.edges_from(at)):
                stack.append((edge.child, path + [edge]))
        return found

    def chain_rule(self, source) -> ChainRule:
        """d result / d source as the chain rule says: sum over paths of products of local derivatives.

        For single numbers each factor is a number; for tensors each factor is a
        Jacobian and the product is their matrix product, summed over the result's
        elements. The total equals ``nodes[source].grad`` (that is the chain rule).

        >>> import downhill as dh
        >>> x = dh.tensor(3.0, requires_grad=True)
        >>> y = dh.sin(x * x)
        >>> print(graph_of(y, names={"x": x}).chain_rule("x"))   # x is used twice by x * x
        path 1: x -> multiply -> sin: 3 x -0.91113 = -2.73339
        path 2: x -> multiply -> sin: 3 x -0.91113 = -2.73339
        sum over 2 path(s) = -5.46678
        """
        source_node = self.node(source)
        terms = []
        total = None
        for path in self.paths(source_node.id):
            factors = [edge.local for edge in path]
            if any(f is None for f in factors):
                raise InputError(
                    "a local derivative on this path is not available (no rule for that input, or a "
                    f"Jacobian past {MAX_JACOBIAN} entries), so the chain cannot be multiplied out"
                )
            ids = [source_node.id] + [edge.child for edge in path]
            if all(np.ndim(f) == 0 for f in factors):
                product = float(np.prod(factors)) if factors else 1.0
            else:
                product = np.eye(source_node.value.size if np.ndim(source_node.value) else 1)
                for f in factors:
                    product = np.atleast_2d(f) @ product
            terms.append(PathTerm(ids, factors, product))
            total = product if total is None else total + product
        if total is None:  # the result does not depend on this node
            total = 0.0 if source_node.scalar and self.scalar else np.zeros(source_node.shape)
        elif np.ndim(total) == 2:
            # Summed over the result's elements, as grad is (the seed is all ones).
            total = total.sum(axis=0).reshape(source_node.shape)
            if total.shape == ():
                total = float(total)
        return ChainRule(source_node.id, terms, total, [n.label for n in self.nodes])

    def table(self) -> str:
        """The graph as text: one line per node, then one per edge.

        >>> import downhill as dh
        >>> x = dh.tensor(3.0, requires_grad=True)
        >>> print(graph_of(x * 2, names={"x": x}).table())
        node  kind      label     value  gradient
           0  input     x             3         2
           1  constant  2             2         3
           2  op        multiply      6         1
        edge  local derivative
        0 -> 2  2
        1 -> 2  3
        """
        lines = [f"{'node':>4}  {'kind':<8}  {'label':<8}  {'value':>5}  gradient"]
        for n in self.nodes:
            grad = "-" if n.grad is None else format_value(n.grad)
            lines.append(f"{n.id:>4}  {n.kind:<8}  {n.label:<8}  {format_value(n.value):>5}  {grad:>8}")
        lines.append("edge  local derivative")
        for e in self.edges:
            lines.append(f"{e.parent} -> {e.child}  {e.summary}")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """Plain lists and numbers, ready for ``json.dumps`` (NaN and inf become None).

        >>> import json, downhill as dh
        >>> x = dh.tensor(3.0, requires_grad=True)
        >>> data = json.loads(json.dumps(graph_of(x * 2, names={"x": x}).to_dict()))
        >>> data["nodes"][0]["label"], data["edges"][0]["local"], data["output"]
        ('x', 2.0, 2)
        """
        return jsonable({
            "nodes": [dict(id=n.id, kind=n.kind, op=n.op, name=n.name, label=n.label, value=_numbers(n.value),
                           grad=_numbers(n.grad), depth=n.depth, shape=list(n.shape)) for n in self.nodes],
            "edges": [dict(parent=e.parent, child=e.child, index=e.index, local=_numbers(e.local),
                           summary=e.summary, passed=_numbers(e.passed)) for e in self.edges],
            "output": self.output,
            "scalar": self.scalar,
        })

    def __str__(self) -> str:
        return self.table()


def _numbers(value):
    """A node's value or gradient as float64 (booleans stay booleans), for :func:`jsonable`."""
    if value is None:
        return None
    array = np.asarray(value)
    return array if array.dtype == bool else array.astype(np.float64)


def format_value(value, digits: int = 6) -> str:
    """A short text for a number or a small array (``3``, ``0.911130``, ``[1, 2]``, ``(3, 4) array``).

    >>> format_value(2.0), format_value(1 / 3), format_value(np.array([1.0, 2.5]))
    ('2', '0.333333', '[1, 2.5]')
    """
    if value is None:
        return "-"
    array = np.asarray(value)
    if array.dtype == bool:
        return str(array.tolist()) if array.size <= 4 else f"{array.shape} mask"
    if array.size == 1:
        number = float(array.reshape(()))
        if math.isfinite(number) and number == int(number) and abs(number) < 1e15:
            return str(int(number))
        return f"{number:.{digits}g}" if abs(number) >= 1e-4 or number == 0 else f"{number:.3g}"
    if array.size <= 4 and array.ndim == 1:
        return "[" + ", ".join(format_value(v, 3) for v in array) + "]"
    return f"{'x'.join(map(str, array.shape))} array"


def _as_number_or_array(value):
    array = np.asarray(value, dtype=np.float64) if np.asarray(value).dtype != bool else np.asarray(value)
    return float(array) if array.ndim == 0 else np.array(array)


def _name_map(names):
    if names is None:
        return {}
    if not hasattr(names, "items"):
        raise InputTypeError(f"graph_of: names must be a dict like {{'x': x}} (a name for each Tensor), "
                             f"got a {type(names).__name__}")
    out = {}
    for key, value in names.items():
        if isinstance(key, str) and isinstance(value, Tensor):
            out[id(value)] = key
        elif isinstance(key, Tensor) and isinstance(value, str):
            out[id(key)] = value
        else:
            raise InputTypeError(
                f"graph_of: names must map a name to a Tensor, like {{'x': x}}; "
                f"got {shorten(repr(key))}: {type(value).__name__}"
            )
    return out


def _walk(root):
    """Topological order (parents first) of the tensors that lead to ``root``, leaves included:
    the engine's one walk (``backward.topological``), with this module's message for a freed graph."""
    try:
        return topological(root, leaves=True)
    except RuntimeError as error:
        raise RuntimeError(
            "graph_of: the graph was freed by backward(). Call graph_of before backward(), "
            "or use backward(retain_graph=True)."
        ) from error


def _vjp(tensor, index, g):
    """The cotangent for input ``index`` of ``tensor``'s op, in that input's shape (None: no rule)."""
    rule = tensor._op.vjps[index]
    if rule is None:
        return None
    params = tensor._params
    inputs = tensor._inputs
    out = rule(NP, g, tensor._data, *inputs, **params) if params else rule(NP, g, tensor._data, *inputs)
    if out is None:
        return None
    out = np.asarray(out, dtype=np.float64)
    shape = np.shape(inputs[index])
    if out.shape != shape:
        out = np.asarray(unbroadcast(NP, out, shape))
    return out


def _jacobian(tensor, index):
    """d tensor / d input ``index`` as a (tensor.size, input.size) array, one vjp per row."""
    out_shape = np.shape(tensor._data)
    in_shape = np.shape(tensor._inputs[index])
    rows, cols = math.prod(out_shape), math.prod(in_shape)
    if rows * cols > MAX_JACOBIAN:
        return None
    J = np.empty((rows, cols))
    for k in range(rows):
        seed = np.zeros(rows)
        seed[k] = 1.0
        row = _vjp(tensor, index, seed.reshape(out_shape)[()] if out_shape else np.float64(1.0))
        if row is None:
            return None
        J[k] = row.ravel()
    return J


def _summary(local, child_shape, parent_shape):
    if local is None:
        return "-"
    if np.ndim(local) == 0:
        return format_value(local, 4)
    J = np.asarray(local)
    if J.shape[0] == J.shape[1] and np.count_nonzero(J - np.diag(np.diagonal(J))) == 0:
        diagonal = np.diagonal(J)
        if np.all(diagonal == diagonal[0]):
            return f"{format_value(diagonal[0], 4)} I"
        return f"diag {format_value(diagonal, 3)}" if diagonal.size <= 4 else f"diagonal {J.shape[0]}x{J.shape[1]}"
    if J.size and np.all(J == J.flat[0]):
        return f"all {format_value(J.flat[0], 4)} ({J.shape[0]}x{J.shape[1]})"
    return f"J {J.shape[0]}x{J.shape[1]}"


def graph_of(value, names=None):
    """The computational graph of ``value``: nodes with values and gradients, edges with local derivatives.

    ``value`` is a Tensor computed from inputs made with ``requires_grad=True``,
    whose graph is still there: call this before ``backward()``, or after
    ``backward(retain_graph=True)``. ``names`` labels tensors, e.g.
    ``{"x": x, "h": hidden}``. Returns a :class:`Graph`; no ``.grad`` is touched.

    Each node's ``grad`` is d value / d node, computed by a reverse pass over the
    rules of ``ops.py`` (for a value with many elements, the gradient of its sum).
    Each edge's ``local`` is d child / d parent. The chain rule:
    ``graph.chain_rule(node).total == node.grad``.

    >>> import downhill as dh
    >>> x = dh.tensor(2.0, requires_grad=True)
    >>> y = dh.tensor(3.0, requires_grad=True)
    >>> g = graph_of(x * y + dh.sin(x), names={"x": x, "y": y})
    >>> [n.label for n in g.nodes]
    ['x', 'y', 'multiply', 'sin', 'add']
    >>> [(e.parent, e.child, e.summary) for e in g.edges]
    [(0, 2, '3'), (1, 2, '2'), (0, 3, '-0.4161'), (2, 4, '1'), (3, 4, '1')]
    >>> round(g.node("x").grad, 6), g.chain_rule("x").total == g.node("x").grad
    (2.583853, True)
    """
    if not isinstance(value, Tensor):
        raise InputTypeError(f"graph_of needs a downhill Tensor (the result of a computation), got {type(value).__name__}")
    if value._op is None and not value._rg:
        raise InputError(
            "graph_of: this value has no graph: nothing it was computed from requires a gradient. "
            "Make the inputs with requires_grad=True, e.g. x = dh.tensor(2.0, requires_grad=True), "
            "and compute outside dh.no_grad()."
        )
    labels = _name_map(names)
    order = _walk(value)

    # Constants: one node per use, placed just before the op that uses them.
    nodes: list[Node] = []
    edges: list[Edge] = []
    node_of: dict[int, int] = {}
    tensors: list[Any] = []
    const_links = []  # (constant node position, child tensor id, index)
    for tensor in order:
        if tensor._op is not None:
            for index, (parent, raw) in enumerate(zip(tensor._parents, tensor._inputs)):
                if parent is None:
                    const_links.append((len(tensors), id(tensor), index))
                    tensors.append(("constant", raw))
        node_of[id(tensor)] = len(tensors)
        tensors.append(("tensor", tensor))

    # Depth: the longest path from a source (inputs 0; a constant sits one before its user).
    depth: dict[int, int] = {}
    for tensor in order:
        if tensor._op is None:
            depth[id(tensor)] = 0
        else:
            depth[id(tensor)] = 1 + max((depth[id(p)] for p in tensor._parents if p is not None), default=0)

    # The private reverse pass: gradients and what passes along each edge.
    seed = np.ones(np.shape(value._data))
    grads: dict[int, Any] = {id(value): seed[()] if seed.ndim == 0 else seed}
    passed: dict[tuple[int, int], Any] = {}
    local: dict[tuple[int, int], Any] = {}
    const_grads: dict[tuple[int, int], Any] = {}
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        for tensor in reversed(order):
            if tensor._op is None:
                continue
            g = grads.get(id(tensor))
            for index, parent in enumerate(tensor._parents):
                contribution = None if g is None else _vjp(tensor, index, g)
                J = _jacobian(tensor, index)
                scalar = math.prod(np.shape(tensor._data)) == 1 and math.prod(np.shape(tensor._inputs[index])) == 1
                local[(id(tensor), index)] = (float(J.reshape(())) if J is not None and J.size == 1 and scalar
                                              else J)
                passed[(id(tensor), index)] = contribution
                if parent is None:
                    const_grads[(id(tensor), index)] = contribution
                    continue
                if contribution is None:
                    continue
                key = id(parent)
                grads[key] = contribution if key not in grads else grads[key] + contribution

    # Assemble nodes in order, then edges (numbered by their child, inputs in order).
    const_at = {position: (child, index) for position, child, index in const_links}
    for position, (kind, item) in enumerate(tensors):
        if kind == "constant":
            child, index = const_at[position]
            grad = const_grads.get((child, index))
            nodes.append(Node(position, "constant", "constant", None, _as_number_or_array(item),
                              None if grad is None else _as_number_or_array(grad),
                              max(depth[child] - 1, 0), np.shape(item)))
            continue
        tensor = item
        is_input = tensor._op is None
        grad = grads.get(id(tensor))
        if grad is None:
            grad = np.zeros(np.shape(tensor._data))
        nodes.append(Node(position, "input" if is_input else "op", "input" if is_input else tensor._op.name,
                          labels.get(id(tensor)), _as_number_or_array(tensor._data), _as_number_or_array(grad),
                          depth[id(tensor)], np.shape(tensor._data)))
    const_position = {(child, index): position for position, child, index in const_links}
    for tensor in order:
        if tensor._op is None:
            continue
        child = node_of[id(tensor)]
        for index, parent in enumerate(tensor._parents):
            parent_id = node_of[id(parent)] if parent is not None else const_position[(id(tensor), index)]
            J = local[(id(tensor), index)]
            contribution = passed[(id(tensor), index)]
            edges.append(Edge(parent_id, child, index, J,
                              _summary(J, np.shape(tensor._data), np.shape(tensor._inputs[index])),
                              None if contribution is None else _as_number_or_array(contribution)))
    children: dict[int, list[int]] = {}
    for i, edge in enumerate(edges):
        children.setdefault(edge.parent, []).append(i)
    return Graph(nodes, edges, node_of[id(value)], math.prod(np.shape(value._data)) == 1, children)
