"""Activation layers: the bends between linear maps (without them, layers collapse into one)."""

from __future__ import annotations

from ..errors import InputError
from . import functional as F
from .module import Module

__all__ = ["ReLU", "LeakyReLU", "Tanh", "Sigmoid", "GELU", "Softmax", "LogSoftmax"]


class ReLU(Module):
    """max(x, 0), elementwise. ``inplace`` is accepted for PyTorch's signature and ignored.

    >>> import downhill as dh
    >>> dh.nn.ReLU()(dh.tensor([-1.0, 2.0]))
    tensor([0., 2.])
    """

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return F.relu(input)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class LeakyReLU(Module):
    """x for x > 0, else ``negative_slope * x``: a ReLU whose negative side still learns.

    >>> import downhill as dh
    >>> dh.nn.LeakyReLU(0.1)(dh.tensor([-1.0, 2.0]))
    tensor([-0.1,  2. ])
    """

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False):
        super().__init__()
        self.negative_slope = negative_slope
        self.inplace = inplace

    def forward(self, input):
        return F.leaky_relu(input, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class Tanh(Module):
    """The hyperbolic tangent, elementwise. Its slope 1 - tanh**2 fades for large |x|.

    >>> import downhill as dh
    >>> dh.nn.Tanh()(dh.tensor([0.0]))
    tensor([0.])
    """

    def forward(self, input):
        return F.tanh(input)


class Sigmoid(Module):
    """The logistic function 1 / (1 + exp(-x)), elementwise.

    >>> import downhill as dh
    >>> dh.nn.Sigmoid()(dh.tensor([0.0]))
    tensor([0.5])
    """

    def forward(self, input):
        return F.sigmoid(input)


class GELU(Module):
    """The Gaussian error linear unit; ``approximate="none"`` (exact, with erf) or ``"tanh"``.

    >>> import downhill as dh
    >>> dh.nn.GELU(approximate="tanh")
    GELU(approximate='tanh')
    >>> round(dh.nn.GELU()(dh.tensor(1.0)).item(), 6)
    0.841345
    """

    def __init__(self, approximate: str = "none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise InputError(f"approximate argument must be either 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, input):
        return F.gelu(input, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Softmax(Module):
    """exp(x) normalized to sum to 1 along ``dim``.

    >>> import downhill as dh
    >>> dh.nn.Softmax(dim=1)(dh.zeros((1, 4)))
    tensor([[0.25, 0.25, 0.25, 0.25]])
    """

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        return F.softmax(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """log(softmax(x)) along ``dim``, computed stably; pair it with NLLLoss.

    >>> import downhill as dh
    >>> dh.nn.LogSoftmax(dim=0)(dh.tensor([0.0, 0.0]))
    tensor([-0.69314718, -0.69314718])
    """

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        return F.log_softmax(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"
