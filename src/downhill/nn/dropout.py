"""``Dropout``: switch random units off while training, so none can be relied on alone."""

from __future__ import annotations

from ..errors import InputError
from . import functional as F
from ._rng import resolve
from .module import Module

__all__ = ["Dropout"]


class Dropout(Module):
    """In training mode, zero each value with probability ``p`` and scale the rest by 1/(1-p).

    In evaluation mode (``model.eval()``) it is the identity. ``generator``
    makes the masks reproducible: an int seed (the layer keeps its own
    generator, so each call draws a new mask and the sequence repeats run to
    run), a ``numpy.random.Generator``, or None for the global generator
    (``dh.nn.manual_seed``). ``inplace`` is accepted and ignored.

    >>> import downhill as dh
    >>> drop = dh.nn.Dropout(p=0.25, generator=0)
    >>> drop
    Dropout(p=0.25, inplace=False)
    >>> sorted(set(drop(dh.ones(100)).tolist()))
    [0.0, 1.3333333333333333]
    >>> drop.eval()(dh.ones(2))
    tensor([1., 1.])
    """

    def __init__(self, p: float = 0.5, inplace: bool = False, *, generator=None):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise InputError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.inplace = inplace
        # An int seed becomes this layer's own stream; None keeps using the global one.
        self.generator = None if generator is None else resolve(generator)

    def forward(self, input):
        return F.dropout(input, self.p, self.training, generator=self.generator)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"
