"""``Parameter``: a Tensor that a Module learns.

A Parameter is an ordinary leaf Tensor with ``requires_grad=True``; being its
own type lets a Module notice it when it is assigned as an attribute
(``self.weight = Parameter(...)``) and list it in ``parameters()``.
"""

from __future__ import annotations

import numpy as np

from ..autodiff.tensor import Tensor


class Parameter(Tensor):
    """A Tensor that is a learnable part of a Module (``torch.nn.Parameter``).

    Made from a Tensor, it shares that tensor's memory (as in PyTorch); from
    anything else (a NumPy array, a list) it holds a copy as a NumPy array
    would. Parameters require gradients unless ``requires_grad=False``.

    >>> import downhill as dh
    >>> w = dh.nn.Parameter(dh.tensor([1.0, 2.0]))
    >>> w
    Parameter containing:
    tensor([1., 2.], requires_grad=True)
    >>> w.requires_grad, w.is_leaf
    (True, True)
    """

    __slots__ = ()

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            data = np.empty((0,), dtype=np.float32)
        if isinstance(data, Tensor):
            # Shares memory with ``data``, like torch.nn.Parameter(tensor).
            super().__init__(np.array(0.0))
            self._data = data.data
        else:
            super().__init__(data)
        self.requires_grad = requires_grad

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        result = type(self)(np.array(self.data, copy=True), self.requires_grad)
        memo[id(self)] = result
        return result

    def __reduce_ex__(self, protocol):
        return (_rebuild_parameter, (np.array(self.data), self.requires_grad))


def _rebuild_parameter(data, requires_grad):
    return Parameter(data, requires_grad)
