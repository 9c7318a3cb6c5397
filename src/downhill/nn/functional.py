"""Layers and losses as plain functions (``torch.nn.functional``), built from downhill's ops.

Nothing here has a derivative rule of its own: every function is a
composition of the engine's primitives, so its gradient (to any order) comes
from the chain rule. The losses live in :mod:`downhill.nn.loss_functions`
and are re-exported here.

>>> import downhill as dh
>>> import downhill.nn.functional as F
>>> F.relu(dh.tensor([-1.0, 2.0]))
tensor([0., 2.])
"""

from __future__ import annotations

import warnings

import numpy as np

from ..errors import InputError
from .. import autodiff as ad
from ..autodiff.tensor import Tensor
from ._rng import resolve
from .loss_functions import (
    binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy, l1_loss, mse_loss,
    nll_loss,
)

__all__ = [
    "linear", "relu", "leaky_relu", "tanh", "sigmoid", "gelu", "softmax", "log_softmax",
    "dropout", "mse_loss", "l1_loss", "cross_entropy", "nll_loss", "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
]

_SQRT1_2 = 0.70710678118654752440  # 1/sqrt(2), as in PyTorch's GELU kernel
# PyTorch's kBeta = M_SQRT2 * M_2_SQRTPI * 0.5 = sqrt(2/pi), computed the same way.
_GELU_BETA = 1.41421356237309504880 * 1.12837916709551257390 * 0.5
_GELU_KAPPA = 0.044715


def _tensor(x):
    return x if isinstance(x, Tensor) else ad.tensor(x)


def linear(input, weight, bias=None):
    """``input @ weight.T + bias``: a Linear layer with the weight given (shape (out, in)).

    >>> import downhill as dh
    >>> import downhill.nn.functional as F
    >>> F.linear(dh.ones((2, 3)), dh.ones((4, 3)), dh.zeros(4)).shape
    (2, 4)
    """
    out = ad.matmul(input, ad.transpose(weight))
    return out if bias is None else out + bias


def relu(input, inplace: bool = False):
    """max(x, 0), elementwise; its slope at 0 is taken as 0 (PyTorch's choice).

    ``inplace`` is accepted for PyTorch's signature and ignored: downhill never
    overwrites a tensor that the backward pass may need.

    >>> import downhill as dh
    >>> import downhill.nn.functional as F
    >>> F.relu(dh.tensor([-2.0, 0.0, 3.0]))
    tensor([0., 0., 3.])
    """
    return ad.relu(input)


def leaky_relu(input, negative_slope: float = 0.01, inplace: bool = False):
    """x for x > 0, else ``negative_slope * x``; the slope at 0 is ``negative_slope`` (PyTorch).

    >>> import downhill as dh
    >>> import downhill.nn.functional as F
    >>> F.leaky_relu(dh.tensor([-2.0, 3.0]), 0.1)
    tensor([-0.2,  3. ])
    """
    input = _tensor(input)
    return ad.where(input.data > 0, input, input * negative_slope)


def tanh(input):
    """The hyperbolic tangent, elementwise: an S-curve from -1 to 1.

    >>> import downhill as dh
    >>> import downhill.nn.functional as F
    >>> F.tanh(dh.tensor(0.0))
    tensor(0.)
    """
    return ad.tanh(input)


def sigmoid(input):
    """The logistic function 1 / (1 + exp(-x)), elementwise: an S-curve from 0 to 1.

    >>> import downhill as dh
    >>> import downhill.nn.functional as F
    >>> F.sigmoid(dh.tensor(0.0))
    tensor(0.5)
    """
    return ad.sigmoid(input)


def gelu(input, approximate: str = "none"):
    """The Gaussian error linear unit, x * P(X <= x) for a standard normal X.

    ``approximate="none"`` (PyTorch's default) is exact:
    ``x/2 * (1 + erf(x/sqrt(2)))``; ``"tanh"`` is the older approximation
    ``x/2 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x**3)))``.

    >>> import downhill as dh
    >>> import downhill.nn.functional as F
    >>> [round(v, 6) for v in F.gelu(dh.tensor([-1.0, 0.0, 1.0])).tolist()]
    [-0.158655, 0.0, 0.841345]
    """
    input = _tensor(input)
    if approximate == "none":
        return input * 0.5 * (1 + ad.erf(input * _SQRT1_2))
    if approximate == "tanh":
        inner = _GELU_BETA * (input + _GELU_KAPPA * (input * input * input))
        return 0.5 * input * (1 + ad.tanh(inner))
    raise InputError(f"approximate argument must be either 'none' or 'tanh', got {approximate!r}")


def _softmax_dim(ndim: int, name: str) -> int:
    warnings.warn(
        f"Implicit dimension choice for {name} has been deprecated (in PyTorch too). "
        "Change the call to include dim=X as an argument.",
        UserWarning,
        stacklevel=3,
    )
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input, dim=None, dtype=None):
    """exp(x) normalized to sum to 1 along ``dim``: scores into probabilities.

    >>> import downhill as dh
    >>> import downhill.nn.functional as F
    >>> F.softmax(dh.tensor([[0.0, 0.0], [0.0, 2.0]]), dim=1).data.round(4)
    array([[0.5   , 0.5   ],
           [0.1192, 0.8808]])
    """
    input = _tensor(input)
    if dtype is not None:
        input = input.astype(dtype)
    if dim is None:
        dim = _softmax_dim(input.ndim, "softmax")
    return ad.softmax(input, axis=dim)


def log_softmax(input, dim=None, dtype=None):
    """log(softmax(x)) along ``dim``, computed stably as x - logsumexp(x).

    >>> import downhill as dh
    >>> import downhill.nn.functional as F
    >>> F.log_softmax(dh.tensor([0.0, 1e4]), dim=0)
    tensor([-10000.,      0.])
    """
    input = _tensor(input)
    if dtype is not None:
        input = input.astype(dtype)
    if dim is None:
        dim = _softmax_dim(input.ndim, "log_softmax")
    return ad.log_softmax(input, axis=dim)


def dropout(input, p: float = 0.5, training: bool = True, inplace: bool = False, generator=None):
    """In training, zero each value with probability ``p`` and scale the rest by 1/(1-p).

    The scaling ("inverted dropout") keeps the expected value of every
    output equal to its input, so nothing needs to change at evaluation,
    where dropout is the identity (``training=False``). ``generator``: None
    for the global generator (``dh.nn.manual_seed``), an int seed, or a
    ``numpy.random.Generator``.

    >>> import downhill as dh
    >>> import downhill.nn.functional as F
    >>> y = F.dropout(dh.ones(8), p=0.5, generator=0)
    >>> sorted(set(y.tolist()))
    [0.0, 2.0]
    >>> F.dropout(dh.ones(3), p=0.5, training=False)
    tensor([1., 1., 1.])
    """
    if not 0.0 <= p <= 1.0:
        raise InputError(f"dropout probability has to be between 0 and 1, but got {p}")
    input = _tensor(input)
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * np.zeros(input.shape, dtype=input.dtype)
    keep = resolve(generator).random(input.shape) >= p
    dtype = input.dtype if input.dtype.kind == "f" else np.float64
    return input * (keep.astype(dtype) / dtype.type(1 - p))

