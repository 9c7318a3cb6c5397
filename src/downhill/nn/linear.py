"""``Linear`` (y = x W^T + b) and ``Identity``."""

from __future__ import annotations

import math

import numpy as np

from ..errors import InputError
from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter

__all__ = ["Linear", "Identity"]


class Identity(Module):
    """Returns its input unchanged (a placeholder; any arguments are accepted and ignored).

    >>> import downhill as dh
    >>> dh.nn.Identity()(dh.tensor([1.0, 2.0]))
    tensor([1., 2.])
    """

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        return input


class Linear(Module):
    """An affine map ``y = x @ weight.T + bias`` (``torch.nn.Linear``).

    ``weight`` has shape (out_features, in_features) and ``bias`` (out_features,),
    float32 unless ``dtype`` says otherwise, as in PyTorch. They start as
    PyTorch's do: ``kaiming_uniform_(weight, a=sqrt(5))``, that is
    U(-1/sqrt(in_features), 1/sqrt(in_features)), and the bias from the same
    range. ``generator`` makes them reproducible: an int seed, a
    ``numpy.random.Generator``, or None for the global generator
    (``dh.nn.manual_seed``). ``device`` may only be ``None`` or ``"cpu"``.

    >>> import downhill as dh
    >>> layer = dh.nn.Linear(3, 2, generator=0)
    >>> layer
    Linear(in_features=3, out_features=2, bias=True)
    >>> layer.weight.shape, layer.weight.dtype, layer(dh.ones((5, 3))).shape
    ((2, 3), dtype('float32'), (5, 2))
    >>> bool(abs(layer.weight.data).max() <= 1 / 3 ** 0.5)
    True
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device=None,
                 dtype=None, *, generator=None):
        super().__init__()
        if device not in (None, "cpu"):
            raise InputError(f"downhill runs on the CPU with NumPy; device={device!r} is not available")
        for name, value in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
                raise InputError(f"Linear: {name} must be a whole number >= 0, got {value!r}")
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        dtype = np.dtype(np.float32 if dtype is None else dtype)
        self.weight = Parameter(np.empty((self.out_features, self.in_features), dtype=dtype))
        if bias:
            self.bias = Parameter(np.empty((self.out_features,), dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters(generator)

    def reset_parameters(self, generator=None) -> None:
        """Draw new starting values, PyTorch's way (see the class docstring)."""
        from ._rng import resolve

        rng = resolve(generator)  # one stream for weight then bias
        init.kaiming_uniform_(self.weight, a=math.sqrt(5), generator=rng)
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound, generator=rng)

    def forward(self, input):
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
