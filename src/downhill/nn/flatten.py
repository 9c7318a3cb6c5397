"""``Flatten``: merge a range of axes into one (images into vectors for a Linear layer)."""

from __future__ import annotations

import math

from ..errors import InputAxisError, InputError
from .. import autodiff as ad
from .module import Module

__all__ = ["Flatten"]


class Flatten(Module):
    """Merge axes ``start_dim`` to ``end_dim`` (both included) into one.

    The defaults keep the batch axis: (N, 8, 8) becomes (N, 64).

    >>> import downhill as dh
    >>> dh.nn.Flatten()(dh.zeros((5, 8, 8))).shape
    (5, 64)
    >>> dh.nn.Flatten(0, 1)(dh.zeros((2, 3, 4))).shape
    (6, 4)
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, input):
        shape = input.shape
        ndim = max(len(shape), 1)
        start, end = self.start_dim, self.end_dim
        for d in (start, end):
            if not -ndim <= d < ndim:
                raise InputAxisError(f"Flatten: dimension {d} is out of range for an input of shape {shape} "
                                     f"(accepted: {-ndim} to {ndim - 1})")
        start, end = start % ndim, end % ndim
        if start > end:
            raise InputError(f"Flatten: start_dim ({self.start_dim}) cannot come after end_dim "
                             f"({self.end_dim}) for an input of shape {shape}")
        if not shape:
            return ad.reshape(input, (1,))
        merged = math.prod(shape[start:end + 1])
        return ad.reshape(input, shape[:start] + (merged,) + shape[end + 1:])

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
