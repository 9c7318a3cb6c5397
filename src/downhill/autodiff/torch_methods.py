"""Tensor methods a PyTorch user reaches for, with PyTorch's meaning.

:class:`TorchMethods` is a base class of :class:`~downhill.autodiff.tensor.Tensor`:
``view``, ``unsqueeze``, ``permute``, ``numel``, ``dim``, the dtype casts
(``float``, ``double``, ``long``, ...), ``to``, ``cpu``, ``zero_``, ``fill_``,
``argmax``/``argmin``. Each is a thin call into the same functions as the
NumPy-named API, so it differentiates the same way. ``size()``/``size(i)``,
``transpose(a, b)`` and ``flatten(start_dim, end_dim)`` live on Tensor itself,
where NumPy's spelling of the same name does.

>>> import downhill as dh
>>> x = dh.arange(6.0).view(2, 3)
>>> x.unsqueeze(0).shape, x.permute(1, 0).shape, x.numel(), x.size(1)
((1, 2, 3), (3, 2), 6, 3)
>>> x.long().dtype, x.to(dh.float32).dtype, x.to("cpu") is x
(dtype('int64'), dtype('float32'), True)
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError, shorten


def _ops():
    # Imported on use: this class is a base of Tensor, which ops.py imports.
    from . import ops

    return ops


class TorchMethods:
    """PyTorch's Tensor methods; mixed into :class:`Tensor` (no state of its own)."""

    __slots__ = ()

    # ------------------------------------------------------------- shapes
    def view(self, *shape):
        """The same elements in a new shape, as ``reshape`` (one size may be -1).

        >>> import downhill as dh
        >>> dh.zeros(6).view(2, -1).shape
        (2, 3)
        """
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return _ops().reshape(self, shape)

    def view_as(self, other):
        """Reshape to ``other``'s shape."""
        return _ops().reshape(self, other.shape)

    def reshape_as(self, other):
        """Reshape to ``other``'s shape."""
        return _ops().reshape(self, other.shape)

    def unsqueeze(self, dim):
        """A new axis of length 1 at ``dim``.

        >>> import downhill as dh
        >>> dh.zeros(3).unsqueeze(-1).shape
        (3, 1)
        """
        return _ops().expand_dims(self, dim)

    def permute(self, *dims):
        """Reorder the axes: ``x.permute(2, 0, 1)``.

        >>> import downhill as dh
        >>> dh.zeros((2, 3, 4)).permute(2, 0, 1).shape
        (4, 2, 3)
        """
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = tuple(dims[0])
        if len(dims) != self.ndim:
            raise InputError(f"permute: give one index per dimension ({self.ndim}), got {shorten(dims)}")
        return _ops().transpose(self, dims)

    def numel(self) -> int:
        """The number of elements.

        >>> import downhill as dh
        >>> dh.zeros((2, 3)).numel()
        6
        """
        return int(np.size(self._data))

    def dim(self) -> int:
        """The number of dimensions (``ndim``).

        >>> import downhill as dh
        >>> dh.zeros((2, 3)).dim()
        2
        """
        return np.ndim(self._data)

    def expand(self, *sizes):
        """Broadcast to a larger shape (-1 keeps a size); the gradient is summed back.

        >>> import downhill as dh
        >>> dh.zeros((3, 1)).expand(3, 4).shape
        (3, 4)
        """
        if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
            sizes = tuple(sizes[0])
        shape = self.shape
        lead = len(sizes) - len(shape)
        target = tuple(shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(sizes))
        return _ops().broadcast_to(self, target)

    # ------------------------------------------------------------- dtypes and devices
    def to(self, *args, **kwargs):
        """Cast to a dtype (``to(dh.float32)``, ``to(other)``); ``to("cpu")`` is this tensor.

        Any other device raises :class:`~downhill.errors.DeviceError`: downhill
        computes on the CPU. The cast is differentiable; the same dtype gives
        this tensor back (``copy=True`` forces a copy), as in PyTorch.

        >>> import downhill as dh
        >>> dh.tensor([1.5]).to(dh.float32)
        tensor([1.5], dtype=float32)
        """
        from .torch_names import parse_to

        dtype, copy = parse_to(args, kwargs, "tensor")
        if dtype is None or dtype == self.dtype:
            return self.clone() if copy else self
        return _ops().astype(self, dtype)

    def cpu(self):
        """This tensor: it already is on the CPU."""
        return self

    def cuda(self, *args, **kwargs):
        """Refused: downhill computes on the CPU (the error says how to reach PyTorch)."""
        from .torch_names import check_device

        check_device("cuda", "tensor")

    @property
    def device(self):
        """``dh.device("cpu")``: where every downhill tensor lives."""
        from .torch_names import device

        return device("cpu")

    @property
    def is_cuda(self) -> bool:
        return False

    def type_as(self, other):
        """Cast to ``other``'s dtype."""
        return self.to(other.dtype)

    def float(self):
        """Cast to float32 (PyTorch's ``.float()``)."""
        return self.to(np.float32)

    def double(self):
        """Cast to float64."""
        return self.to(np.float64)

    def half(self):
        """Cast to float16."""
        return self.to(np.float16)

    def long(self):
        """Cast to int64 (class labels for ``CrossEntropyLoss``)."""
        return self.to(np.int64)

    def int(self):
        """Cast to int32."""
        return self.to(np.int32)

    def bool(self):
        """Cast to bool."""
        return self.to(np.bool_)

    # ------------------------------------------------------------- in place
    def _check_in_place(self, name):
        from .mode import recording

        if recording() and self._rg:
            from .tensor import _INPLACE_MESSAGE

            raise RuntimeError(_INPLACE_MESSAGE.format(op=name))

    def zero_(self):
        """Set every element to 0, in place; returns this tensor (``p.grad.zero_()``).

        >>> import downhill as dh
        >>> dh.ones(2).zero_()
        tensor([0., 0.])
        """
        self._check_in_place("zero_()")
        self.data[...] = 0
        return self

    def fill_(self, value):
        """Set every element to ``value``, in place; returns this tensor.

        >>> import downhill as dh
        >>> dh.zeros(2).fill_(7)
        tensor([7., 7.])
        """
        self._check_in_place("fill_()")
        self.data[...] = value.item() if hasattr(value, "item") else value
        return self

    def clamp(self, min=None, max=None):
        """Values limited to [min, max] (``clip``); the gradient passes at the bounds."""
        return _ops().clip(self, min, max)

    def clamp_(self, min=None, max=None):
        """Limit the values to [min, max], in place; returns this tensor."""
        self._check_in_place("clamp_()")
        np.clip(self.data, min, max, out=self.data)
        return self

    def mul_(self, value):
        """Multiply in place (outside the graph); returns this tensor."""
        self *= value
        return self

    def add_(self, value, alpha=1):
        """Add ``alpha * value`` in place (outside the graph); returns this tensor."""
        self += value if alpha == 1 else alpha * value
        return self

    # ------------------------------------------------------------- indices
    def argmax(self, axis=None, keepdims=False):
        """Index of the largest element (over ``axis``/``dim``, or the flat index).

        >>> import downhill as dh
        >>> dh.tensor([[1.0, 9.0], [8.0, 2.0]]).argmax(dim=1)
        tensor([1, 0])
        """
        from .torch_names import argmax

        return argmax(self, axis=axis, keepdims=keepdims)

    def argmin(self, axis=None, keepdims=False):
        """Index of the smallest element (over ``axis``/``dim``, or the flat index)."""
        from .torch_names import argmin

        return argmin(self, axis=axis, keepdims=keepdims)
