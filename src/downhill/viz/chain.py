"""The chain rule, pictured: the computational graph with its local derivatives, and gradients per layer."""

from __future__ import annotations

import math

import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, Patch

from ..errors import InputError, InputTypeError
from ..autodiff.graph import format_value, graph_of
from ..autodiff.tensor import Tensor
from .layout import layered_layout
from .style import COLORS, new_figure, picture

__all__ = ["graph", "layers"]

SYMBOLS = {"add": "+", "subtract": "−", "multiply": "×", "divide": "÷", "power": "power", "negative": "negate"}
KIND_STYLE = {
    "input": dict(facecolor="#D6EAF8", edgecolor=COLORS["blue"]),
    "constant": dict(facecolor="#F2F2F2", edgecolor=COLORS["grey"]),
    "op": dict(facecolor="white", edgecolor=COLORS["black"]),
}
MAX_NODES = 60


def _node_text(node, output: bool) -> str:
    if node.kind == "constant":
        return f"constant\n{format_value(node.value, 4)}"
    if node.kind == "input":
        head = node.name or "input"
    else:
        op = SYMBOLS.get(node.op, node.op)
        head = f"{node.name} = {op}" if node.name else op
    head = ("output: " + head) if output else head
    return f"{head}\nvalue {format_value(node.value, 4)}\ngrad {format_value(node.grad, 4)}"


def _chain_lines(g, limit: int = 3) -> list[str]:
    """'d out/d x = 3 × 0.9 + 3 × 0.9 = 5.5' for up to ``limit`` inputs of a scalar graph."""
    lines = []
    for node in g.inputs[:limit]:
        if not node.scalar:
            continue
        try:
            rule = g.chain_rule(node.id)
        except ValueError:
            continue
        if len(rule.terms) > 4 or any(np.ndim(f) for t in rule.terms for f in t.factors):
            continue
        terms = " + ".join(" × ".join(format_value(f, 3) for f in t.factors) or "1" for t in rule.terms)
        lines.append(f"d output / d {node.label} = {terms} = {format_value(rule.total, 4)}")
    return lines


@picture
def graph(value, names=None, title=None):
    """The computational graph of ``value``, each link labelled with its local derivative.

    ``value`` is a Tensor computed from inputs with ``requires_grad=True`` (draw
    it before ``backward()``, or after ``backward(retain_graph=True)``); ``names``
    labels tensors, e.g. ``{"x": x, "h": h}``. Inputs sit on the left, the
    output on the right, one column per depth. Each box shows the op, the value
    and the gradient d output / d node; each arrow shows d child / d parent. The
    chain rule reads off the picture: a node's gradient is the sum over the
    paths to the output of the product of the numbers on the arrows (written out
    beneath for the inputs). Built on :func:`downhill.autodiff.graph.graph_of`.

    >>> import downhill as dh
    >>> x = dh.tensor(2.0, requires_grad=True)
    >>> y = dh.tensor(3.0, requires_grad=True)
    >>> fig = dh.viz.graph(x * y + dh.sin(x), names={"x": x, "y": y})
    >>> [t.get_text() for t in fig.axes[0].texts if t.get_text().startswith("d output")]
    ['d output / d x = 3 × 1 + -0.416 × 1 = 2.584', 'd output / d y = 2 × 1 = 2']
    """
    g = graph_of(value, names=names)
    if len(g.nodes) > MAX_NODES:
        raise InputError(
            f"graph: this graph has {len(g.nodes)} nodes; a readable picture needs at most {MAX_NODES}. "
            "Draw a smaller piece (e.g. one neuron, or a model with fewer layers)"
        )
    layers_of = {n.id: n.depth for n in g.nodes}
    pos = layered_layout(layers_of, [(e.parent, e.child) for e in g.edges], spacing=(2.7, 1.45))
    columns = max(layers_of.values()) + 1
    tallest = max(sum(1 for d in layers_of.values() if d == k) for k in range(columns))
    lines = _chain_lines(g)
    fig = new_figure(min(2.6 * columns + 1.6, 22), min(1.45 * tallest + 2.4 + 0.3 * len(lines), 16))
    ax = fig.add_subplot(1, 1, 1)
    ax.set_axis_off()

    # Arrows first (beneath the boxes); parallel links (x * x) bend apart.
    seen = {}
    for edge in g.edges:
        key = (edge.parent, edge.child)
        k = seen.get(key, 0)
        seen[key] = k + 1
        count = sum(1 for e in g.edges if (e.parent, e.child) == key)
        (x1, y1), (x2, y2) = pos[edge.parent], pos[edge.child]
        skip = layers_of[edge.child] - layers_of[edge.parent]
        rad = (k - (count - 1) / 2) * 0.35 if count > 1 else (0.12 if skip > 1 else 0.0)
        constant = g.nodes[edge.parent].kind == "constant"
        shade = COLORS["grey"] if constant else COLORS["black"]
        ax.add_patch(FancyArrowPatch((x1, y1), (x2, y2), connectionstyle=f"arc3,rad={rad}",
                                     arrowstyle="-|>", mutation_scale=14, color=shade,
                                     linewidth=1.0 if constant else 1.5, shrinkA=34, shrinkB=38, zorder=1))
        if constant:
            continue
        dx, dy = x2 - x1, y2 - y1
        # The middle of the arc (a quadratic Bezier with control point mid + rad * (dy, -dx)).
        mx, my = (x1 + x2) / 2 + 0.5 * rad * dy, (y1 + y2) / 2 - 0.5 * rad * dx
        ax.text(mx, my, edge.summary, ha="center", va="center", fontsize=9.5, color=COLORS["vermillion"],
                zorder=3,
                bbox=dict(boxstyle="round,pad=0.2", facecolor="white", edgecolor=COLORS["vermillion"], lw=0.8))
    for node in g.nodes:
        output = node.id == g.output
        style = dict(KIND_STYLE[node.kind])
        if output:
            style = dict(facecolor="#D5F5E3", edgecolor=COLORS["green"])
        ax.text(*pos[node.id], _node_text(node, output), ha="center", va="center", fontsize=9,
                linespacing=1.35, zorder=4,
                bbox=dict(boxstyle="round,pad=0.45", linewidth=2.0 if output else 1.3, **style))
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    ax.set_xlim(min(xs) - 1.3, max(xs) + 1.3)
    bottom = min(ys) - 0.9 - 0.35 * len(lines)
    ax.set_ylim(bottom, max(ys) + 0.9)
    for i, line in enumerate(lines):
        ax.text(0.5, 0.0 + 0.055 * (len(lines) - 1 - i), line, transform=ax.transAxes, ha="center", va="bottom",
                fontsize=10, color=COLORS["black"],
                bbox=dict(boxstyle="round,pad=0.3", facecolor="#FFF8E1", edgecolor=COLORS["orange"]))
    handles = [
        Patch(facecolor=KIND_STYLE["input"]["facecolor"], edgecolor=COLORS["blue"], label="input"),
        Patch(facecolor="white", edgecolor="black", label="operation (value, grad = d output / d node)"),
        Patch(facecolor="#D5F5E3", edgecolor=COLORS["green"], label="output"),
        Line2D([], [], color=COLORS["vermillion"], marker="s", linestyle="", markerfacecolor="white",
               label="on each arrow: local derivative d child / d parent"),
    ]
    if any(n.kind == "constant" for n in g.nodes):
        handles.insert(1, Patch(facecolor=KIND_STYLE["constant"]["facecolor"], edgecolor=COLORS["grey"],
                                label="constant"))
    fig.legend(handles=handles, loc="outside lower center", ncol=min(3, len(handles)), frameon=False, fontsize=8.5)
    fig.suptitle(title or "The chain rule, link by link")
    ax.set_title("gradient of a node = sum over paths to the output of the product of the arrows' numbers",
                 fontsize=9.5, fontweight="normal")
    return fig


def _layer_rows(model_or_report):
    """[(name, norm or None)] from a model, a gradient report, rows, or (name, norm) pairs."""
    source = model_or_report
    if hasattr(source, "named_parameters"):
        rows = []
        for name, parameter in source.named_parameters():
            grad = parameter.grad
            if grad is None:
                rows.append((name, None))
            else:
                data = grad.data if isinstance(grad, Tensor) else np.asarray(grad)
                rows.append((name, float(np.sqrt(np.sum(np.square(data, dtype=np.float64))))))
        if not rows:
            raise InputError("layers: this model has no parameters")
        return rows
    if hasattr(source, "rows"):
        source = source.rows
    if isinstance(source, dict):
        source = list(source.items())
    rows = []
    for row in source:
        if isinstance(row, (tuple, list)) and len(row) == 2:
            name, norm = row
        elif isinstance(row, dict):
            name, norm = row.get("name"), row.get("grad_norm", row.get("norm"))
        elif hasattr(row, "name") and (hasattr(row, "grad_norm") or hasattr(row, "norm")):
            # nn.gradient_report's rows call it ``norm``.
            name, norm = row.name, getattr(row, "grad_norm", getattr(row, "norm", None))
        else:
            raise InputTypeError(
                "layers: give a model (after loss.backward()), a gradient report (rows with name and norm), "
                f"or a list of (name, norm) pairs; got a row of type {type(row).__name__}"
            )
        rows.append((str(name), None if norm is None or not math.isfinite(float(norm)) else float(norm)))
    if not rows:
        raise InputError("layers: nothing to draw (no rows)")
    return rows


@picture
def layers(model_or_report, title=None):
    """The size of the gradient in each layer after a backward pass (log scale).

    ``model_or_report`` is a model whose parameters have ``.grad`` (call
    ``loss.backward()`` first), a gradient report (rows with ``name`` and
    ``grad_norm``, as ``downhill.nn.gradient_report(model)`` gives), or a list of
    ``(name, norm)`` pairs. One bar per parameter, first layer at the top. The
    chain rule multiplies local derivatives layer by layer from the loss back,
    so bars that shrink towards the input warn of vanishing gradients, bars that
    grow of exploding ones. Parameters without a gradient are marked.

    >>> import downhill as dh
    >>> fig = dh.viz.layers([("layer1.weight", 1e-4), ("layer2.weight", 0.01), ("layer3.weight", 0.5)])
    >>> fig.axes[0].get_xscale(), len(fig.axes[0].patches)
    ('log', 3)
    """
    rows = _layer_rows(model_or_report)
    names = [name for name, _ in rows]
    norms = np.array([np.nan if norm is None else norm for _, norm in rows], dtype=np.float64)
    fig = new_figure(9, max(3.2, 0.42 * len(rows) + 2.0))
    ax = fig.add_subplot(1, 1, 1)
    positive = norms[np.isfinite(norms) & (norms > 0)]
    low = positive.min() / 10 if positive.size else 1e-8
    high = positive.max() * 10 if positive.size else 1.0
    y = np.arange(len(rows))
    widths = np.where(np.isfinite(norms) & (norms > 0), norms, low)
    median = float(np.median(positive)) if positive.size else 1.0
    shades = [COLORS["light"] if not (np.isfinite(n) and n > 0) else
              (COLORS["vermillion"] if n < median / 100 or n > median * 100 else COLORS["blue"]) for n in norms]
    ax.barh(y, widths, left=0, color=shades, edgecolor="black", linewidth=0.6, height=0.65)
    ax.set_xscale("log")
    ax.set_xlim(low, high)
    for i, norm in enumerate(norms):
        text = ("no gradient" if np.isnan(norm) else "0 (no gradient)") if not (np.isfinite(norm) and norm > 0) \
            else f"{norm:.3g}"
        ax.text(max(widths[i], low) * 1.15, i, text, va="center", fontsize=8.5)
    ax.set_yticks(y, names)
    ax.invert_yaxis()  # first layer at the top, as the model reads
    ax.set_xlabel("gradient size ‖grad‖ (log scale)")
    ax.grid(True, axis="x", which="major")
    handles = [Patch(facecolor=COLORS["blue"], edgecolor="black", label="gradient size")]
    if COLORS["vermillion"] in shades:
        handles.append(Patch(facecolor=COLORS["vermillion"], edgecolor="black",
                             label="over 100x away from the median: vanishing or exploding"))
    if COLORS["light"] in shades:
        handles.append(Patch(facecolor=COLORS["light"], edgecolor="black", label="no gradient"))
    fig.legend(handles=handles, loc="outside lower center", ncol=len(handles), frameon=False, fontsize=8.5)
    ax.set_title("the chain rule carries the loss's slope back layer by layer (first layer at the top)",
                 fontsize=9.5, fontweight="normal")
    fig.suptitle(title or "Gradient size per layer after backward()")
    return fig
