"""``gradient_report``: the chain rule's result, layer by layer, as numbers to read.

After ``loss.backward()`` every Parameter holds its gradient. The report
lists, for each Parameter (or each layer), how large that gradient is. Read
from the last layer up to the first, it shows the error signal travelling
back through the network: norms that shrink by a factor at every layer are a
*vanishing* gradient (the first layers barely learn), norms that grow are an
*exploding* one, and a large fraction of exact zeros points at dead ReLUs.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from ..errors import InputError, InputTypeError
from ..notebook import shows_in_notebook
from ..autodiff.tensor import Tensor
from ..results import Result, jsonable

__all__ = ["GradientRow", "GradientReport", "gradient_report"]


@dataclass(frozen=True)
class GradientRow:
    """One line of the report: a Parameter (or a layer's Parameters together) and its gradient.

    ``norm`` is the Euclidean norm of the gradient, ``mean`` its average entry,
    ``max_abs`` its largest entry in size, ``zero_fraction`` the share of
    entries that are exactly 0. All four are None when there is no gradient
    (``.grad is None``: the parameter took no part in the loss, or
    ``backward()`` has not run). ``weight_norm`` is the norm of the values
    themselves, to compare with: a step of ``lr * norm`` against ``weight_norm``.
    For a layer row, ``shape`` lists each Parameter's shape.
    """

    name: str
    shape: tuple
    size: int
    norm: float | None
    mean: float | None
    max_abs: float | None
    zero_fraction: float | None
    weight_norm: float


@shows_in_notebook
@dataclass(frozen=True)
class GradientReport(Result):
    """The rows of :func:`gradient_report`, printable as a table.

    ``str(report)`` (or ``report.table()``) gives the table; ``to_dict()``
    gives the columns as lists, ready for a plot or JSON; ``total_norm`` is
    the norm of all gradients together (what gradient clipping measures).
    """

    rows: tuple
    by: str = "parameter"

    @property
    def total_norm(self) -> float:
        norms = [row.norm for row in self.rows if row.norm is not None]
        return math.sqrt(sum(n * n for n in norms)) if norms else 0.0

    def to_dict(self) -> dict:
        """The report as columns: ``{"name": [...], "norm": [...], ...}`` (shapes as lists).

        >>> import downhill as dh
        >>> layer = dh.nn.Linear(2, 1, generator=0)
        >>> layer(dh.ones((1, 2))).sum().backward()
        >>> dh.nn.gradient_report(layer).to_dict()["norm"]
        [1.4142135623730951, 1.0]
        """
        columns = {name: [] for name in GradientRow.__dataclass_fields__}
        for row in self.rows:
            for key, value in asdict(row).items():
                columns[key].append(value)
        columns["by"] = self.by
        columns["total_norm"] = self.total_norm
        return jsonable(columns)

    def table(self) -> str:
        """The report as a text table, one row per parameter (or layer), first layer first."""
        header = (self.by, "shape", "grad norm", "mean", "max |g|", "zeros", "weight norm")
        lines = [header]
        for row in self.rows:
            shape = _shape_text(row.shape)
            if row.norm is None:
                lines.append((row.name, shape, "no grad", "-", "-", "-", f"{row.weight_norm:.3e}"))
                continue
            lines.append((row.name, shape, f"{row.norm:.3e}", f"{row.mean:.3e}", f"{row.max_abs:.3e}",
                          f"{100 * row.zero_fraction:.1f}%", f"{row.weight_norm:.3e}"))
        widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
        text = []
        for k, line in enumerate(lines):
            cells = [line[0].ljust(widths[0]), line[1].ljust(widths[1])]
            cells += [cell.rjust(width) for cell, width in zip(line[2:], widths[2:])]
            text.append("  ".join(cells).rstrip())
            if k == 0:
                text.append("  ".join("-" * w for w in widths))
        text.append(f"total gradient norm: {self.total_norm:.3e}")
        return "\n".join(text)

    def __str__(self) -> str:
        return self.table()


def _shape_text(shape) -> str:
    if shape and isinstance(shape[0], tuple):
        return " + ".join(_shape_text(s) for s in shape)
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def _named(model) -> list:
    if hasattr(model, "named_parameters"):
        return list(model.named_parameters())
    if isinstance(model, dict):
        return list(model.items())
    pairs = list(model)
    if not all(isinstance(p, tuple) and len(p) == 2 for p in pairs):
        raise InputTypeError("gradient_report needs a Module, a dict of name -> tensor, "
                        "or (name, tensor) pairs such as model.named_parameters()")
    return pairs


def _row(name, shape, tensors) -> GradientRow:
    values = [np.asarray(t.data, dtype=np.float64).reshape(-1) for t in tensors]
    grads = [np.asarray(t.grad.data, dtype=np.float64).reshape(-1) for t in tensors if t.grad is not None]
    with np.errstate(over="ignore", invalid="ignore"):
        weight_norm = float(np.sqrt(sum(float(np.dot(v, v)) for v in values)))
        if not grads:
            return GradientRow(name, shape, sum(v.size for v in values), None, None, None, None, weight_norm)
        g = np.concatenate(grads)
        size = g.size
        norm = float(np.sqrt(np.dot(g, g)))
        mean = float(g.mean()) if size else 0.0
        max_abs = float(np.abs(g).max()) if size else 0.0
        zeros = float(np.count_nonzero(g == 0) / size) if size else 0.0
    return GradientRow(name, shape, size, norm, mean, max_abs, zeros, weight_norm)


def gradient_report(model, by: str = "parameter") -> GradientReport:
    """How large each Parameter's gradient is, after ``backward()``: the chain rule made visible.

    ``model`` is a Module (or a dict / pairs of name -> tensor). ``by`` is
    ``"parameter"`` (one row each) or ``"layer"`` (a module's Parameters
    together: ``0.weight`` and ``0.bias`` make the row ``0``). Rows come in the
    model's order, first layer first.

    >>> import downhill as dh
    >>> net = dh.nn.Sequential(dh.nn.Linear(4, 3, generator=0), dh.nn.Tanh(), dh.nn.Linear(3, 1, generator=1))
    >>> net(dh.ones((2, 4))).sum().backward()
    >>> report = dh.nn.gradient_report(net)
    >>> [row.name for row in report.rows]
    ['0.weight', '0.bias', '2.weight', '2.bias']
    >>> report.rows[-1].norm  # d(sum of 2 outputs)/d(bias) = 2
    2.0
    >>> print(dh.nn.gradient_report(net, by="layer"))
    layer  shape          grad norm       mean    max |g|  zeros  weight norm
    -----  -------------  ---------  ---------  ---------  -----  -----------
    0      (3, 4) + (3,)  2.180e+00  4.380e-02  7.436e-01   0.0%    1.336e+00
    2      (1, 3) + (1,)  2.733e+00  7.133e-01  2.000e+00   0.0%    8.414e-01
    total gradient norm: 3.496e+00
    """
    if by not in ("parameter", "layer"):
        raise InputError(f"gradient_report: by must be 'parameter' or 'layer', got {by!r}")
    named = _named(model)
    for name, tensor in named:
        if not isinstance(tensor, Tensor):
            raise InputTypeError(f"gradient_report: {name!r} is a {type(tensor).__name__}, not a Tensor")
    if by == "parameter":
        rows = [_row(name, tensor.shape, [tensor]) for name, tensor in named]
        return GradientReport(tuple(rows), by)
    groups: dict[str, list] = {}
    for name, tensor in named:
        groups.setdefault(name.rpartition(".")[0] or "(top)", []).append(tensor)
    rows = [_row(layer, tuple(t.shape for t in tensors), tensors) for layer, tensors in groups.items()]
    return GradientReport(tuple(rows), by)
