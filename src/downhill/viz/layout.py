"""Laying out a small DAG in layers (no Graphviz): inputs on the left, the result on the right."""

from __future__ import annotations

from collections import defaultdict

__all__ = ["layered_layout"]


def layered_layout(layers: dict, edges, sweeps: int = 6, spacing=(1.0, 1.0)) -> dict:
    """Positions ``{node: (x, y)}`` for nodes given their layer, with few crossings.

    ``layers`` maps each node to its layer (a whole number, e.g. its depth in
    the graph); ``edges`` is a sequence of (parent, child) pairs. Each layer is
    a column; within a column, nodes are ordered by the mean position of their
    neighbours (the barycenter heuristic of Sugiyama et al.), sweeping left to
    right and back a few times, then centred around y = 0.

    >>> pos = layered_layout({"a": 0, "b": 0, "c": 1}, [("a", "c"), ("b", "c")])
    >>> pos["c"], sorted([pos["a"], pos["b"]])
    ((1.0, 0.0), [(0.0, -0.5), (0.0, 0.5)])
    """
    columns = defaultdict(list)
    for node, layer in layers.items():
        columns[int(layer)].append(node)
    parents, children = defaultdict(list), defaultdict(list)
    for parent, child in edges:
        parents[child].append(parent)
        children[parent].append(child)
    order = sorted(columns)
    rank = {}
    for layer in order:
        for i, node in enumerate(columns[layer]):
            rank[node] = i - (len(columns[layer]) - 1) / 2

    def reorder(layer, neighbours):
        nodes = columns[layer]

        def key(node):
            around = [rank[n] for n in neighbours[node] if n in rank]
            return (sum(around) / len(around)) if around else rank[node]

        nodes.sort(key=key)
        for i, node in enumerate(nodes):
            rank[node] = i - (len(nodes) - 1) / 2

    for _ in range(sweeps):
        for layer in order[1:]:
            reorder(layer, parents)
        for layer in reversed(order[:-1]):
            reorder(layer, children)
    dx, dy = spacing
    # 0.0 - r rather than -r: no "-0.0" for a node on the middle line.
    return {node: (float(layers[node]) * dx, 0.0 - rank[node] * dy) for node in layers}
