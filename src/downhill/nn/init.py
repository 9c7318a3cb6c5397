"""Initial values for Parameters, with PyTorch's names, gains and fans (``torch.nn.init``).

Why it matters: if the first weights are too large, each layer multiplies
the signal (and, going back, the gradient) and it explodes; too small, and
it fades to nothing before it reaches the first layer. Xavier (Glorot) and
Kaiming (He) scale the random weights by the layer's *fan* (how many inputs
feed each output) so that the size of the signal stays about the same from
layer to layer.

Every function fills its tensor in place (outside the graph, as under
``no_grad``) and returns it. Random ones take ``generator``: None for the
global generator (:func:`manual_seed`), an int seed, or a
``numpy.random.Generator``. Values are drawn in float64 and stored in the
tensor's dtype.
"""

from __future__ import annotations

import math
import warnings

from ..errors import InputError, InputTypeError
from ..autodiff.tensor import Tensor
from ._rng import manual_seed, resolve

__all__ = [
    "calculate_gain", "uniform_", "normal_", "constant_", "zeros_", "ones_", "xavier_uniform_",
    "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "manual_seed",
]

_LINEAR_FNS = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
               "conv_transpose3d", "sigmoid")


def calculate_gain(nonlinearity: str, param=None) -> float:
    """The recommended scale of the weights in front of ``nonlinearity`` (PyTorch's table).

    ========================  ====================================
    linear, conv, sigmoid     1
    tanh                      5/3
    relu                      sqrt(2)
    leaky_relu                sqrt(2 / (1 + negative_slope**2))
    selu                      3/4
    ========================  ====================================

    >>> import downhill as dh
    >>> dh.nn.init.calculate_gain("tanh")
    1.6666666666666667
    >>> round(dh.nn.init.calculate_gain("leaky_relu", 5 ** 0.5) ** 2, 12)
    0.333333333333
    """
    if nonlinearity in _LINEAR_FNS:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise InputError(f"negative_slope {param} is not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise InputError(f"Unsupported nonlinearity {nonlinearity!r}; choose one of "
                     f"{', '.join(_LINEAR_FNS + ('tanh', 'relu', 'leaky_relu', 'selu'))}")


def _calculate_fan_in_and_fan_out(tensor) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of shape (out, in, *kernel): in*k and out*k (PyTorch's rule)."""
    shape = tensor.shape
    if len(shape) < 2:
        raise InputError("Fan in and fan out can not be computed for a tensor with fewer than "
                         f"2 dimensions (this one has shape {shape})")
    receptive_field = math.prod(shape[2:])
    return shape[1] * receptive_field, shape[0] * receptive_field


def _calculate_correct_fan(tensor, mode: str) -> int:
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise InputError(f"Mode {mode} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _fill(tensor, values):
    if not isinstance(tensor, Tensor):
        raise InputTypeError(f"init functions fill a Tensor (or Parameter) in place, got {type(tensor).__name__}")
    data = tensor.data  # a real ndarray from here on, so the write is in place
    data[...] = values
    return tensor


def uniform_(tensor, a: float = 0.0, b: float = 1.0, generator=None):
    """Fill with values drawn uniformly from [a, b).

    >>> import downhill as dh
    >>> w = dh.nn.init.uniform_(dh.zeros(1000), -0.1, 0.1, generator=0)
    >>> bool(w.data.min() >= -0.1 and w.data.max() < 0.1)
    True
    """
    if not a <= b:
        raise InputError(f"uniform_ expects a <= b, got a={a}, b={b}")
    return _fill(tensor, resolve(generator).uniform(a, b, size=tensor.shape))


def normal_(tensor, mean: float = 0.0, std: float = 1.0, generator=None):
    """Fill with values drawn from the normal distribution N(mean, std**2).

    >>> import downhill as dh
    >>> w = dh.nn.init.normal_(dh.zeros(10000), 0.0, 2.0, generator=0)
    >>> round(float(w.data.std()), 1)
    2.0
    """
    if std < 0:
        raise InputError(f"normal_ expects std >= 0, got {std}")
    return _fill(tensor, resolve(generator).normal(mean, std, size=tensor.shape))


def constant_(tensor, val: float):
    """Fill with the value ``val``.

    >>> import downhill as dh
    >>> dh.nn.init.constant_(dh.zeros(2), 0.5)
    tensor([0.5, 0.5])
    """
    return _fill(tensor, val)


def zeros_(tensor):
    """Fill with zeros.

    >>> import downhill as dh
    >>> dh.nn.init.zeros_(dh.ones(2))
    tensor([0., 0.])
    """
    return _fill(tensor, 0)


def ones_(tensor):
    """Fill with ones.

    >>> import downhill as dh
    >>> dh.nn.init.ones_(dh.zeros(2))
    tensor([1., 1.])
    """
    return _fill(tensor, 1)


def xavier_uniform_(tensor, gain: float = 1.0, generator=None):
    """Glorot's uniform init: U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)).

    Keeps the variance of the signal about equal going forward and backward
    (for linear or tanh-like layers; give ``gain=calculate_gain("tanh")`` for tanh).

    >>> import downhill as dh
    >>> w = dh.nn.init.xavier_uniform_(dh.zeros((30, 20)), generator=0)
    >>> bool(abs(w.data).max() <= (6 / 50) ** 0.5)
    True
    """
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor, gain: float = 1.0, generator=None):
    """Glorot's normal init: N(0, std**2) with std = gain * sqrt(2 / (fan_in + fan_out)).

    >>> import downhill as dh
    >>> w = dh.nn.init.xavier_normal_(dh.zeros((300, 200)), generator=0)
    >>> round(float(w.data.std()) / (2 / 500) ** 0.5, 1)
    1.0
    """
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std, generator)


def _kaiming_std(tensor, a, mode, nonlinearity):
    fan = _calculate_correct_fan(tensor, mode)
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def _empty(tensor, name) -> bool:
    if 0 in tensor.shape:
        warnings.warn(f"Initializing zero-element tensors is a no-op ({name})", UserWarning, stacklevel=3)
        return True
    return False


def kaiming_uniform_(tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                     generator=None):
    """He's uniform init: U(-b, b) with b = gain * sqrt(3 / fan), gain from ``nonlinearity``.

    ``a`` is the negative slope of a leaky ReLU. ``Linear`` uses
    ``a=sqrt(5)``, which makes the bound exactly 1/sqrt(fan_in).

    >>> import downhill as dh
    >>> w = dh.nn.init.kaiming_uniform_(dh.zeros((50, 16)), a=5 ** 0.5, generator=0)
    >>> bool(abs(w.data).max() <= 1 / 16 ** 0.5)
    True
    """
    if _empty(tensor, "kaiming_uniform_"):
        return tensor
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity)
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                    generator=None):
    """He's normal init: N(0, std**2) with std = gain / sqrt(fan).

    >>> import downhill as dh
    >>> w = dh.nn.init.kaiming_normal_(dh.zeros((400, 100)), nonlinearity="relu", generator=0)
    >>> round(float(w.data.std()) / (2 / 100) ** 0.5, 1)
    1.0
    """
    if _empty(tensor, "kaiming_normal_"):
        return tensor
    return normal_(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity), generator)
