"""``nn.utils``: gradient clipping, as ``torch.nn.utils`` does it, number for number.

Clipping keeps one bad batch from throwing the climber off the mountain: the
gradient keeps its direction but its length is capped (``clip_grad_norm_``),
or each component is capped (``clip_grad_value_``).

>>> import downhill as dh
>>> from downhill import nn
>>> w = dh.tensor([3.0, 4.0], requires_grad=True)
>>> (w * w).sum().backward()             # gradient (6, 8): length 10
>>> float(nn.utils.clip_grad_norm_([w], max_norm=1.0))
10.0
>>> w.grad.data.round(6).tolist()        # now of length 1 (less PyTorch's 1e-6 guard)
[0.6, 0.8]
"""

from __future__ import annotations

import math

import numpy as np

from ..autodiff.tensor import Tensor, _wrap
from ..errors import InputError, InputTypeError

__all__ = ["clip_grad_norm_", "clip_grad_value_", "get_total_norm", "clip_grads_with_norm_"]


def _with_grads(parameters):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    try:
        parameters = list(parameters)
    except TypeError:
        raise InputTypeError(
            f"give a tensor or an iterable of tensors (model.parameters()), got {type(parameters).__name__}"
        ) from None
    for p in parameters:
        if not isinstance(p, Tensor):
            raise InputTypeError(f"expected tensors (model.parameters()), got a {type(p).__name__}")
    return [p for p in parameters if p._grad is not None]


def _norm(values: np.ndarray, norm_type: float) -> np.ndarray:
    """The vector norm of all of ``values``, in their dtype (as torch.linalg.vector_norm)."""
    a = np.abs(values.ravel())
    if norm_type == math.inf:
        return a.max() if a.size else a.dtype.type(0)
    if norm_type == -math.inf:
        return a.min()
    if norm_type == 0:
        return a.dtype.type(np.count_nonzero(a))
    if norm_type == 1:
        return a.sum()
    if norm_type == 2:
        return np.sqrt(np.dot(a, a))
    return np.sum(a ** norm_type) ** (1.0 / norm_type)


def get_total_norm(tensors, norm_type: float = 2.0, error_if_nonfinite: bool = False) -> Tensor:
    """The norm of the norms of ``tensors``: their norm as if concatenated into one vector.

    >>> import downhill as dh
    >>> from downhill.nn.utils import get_total_norm
    >>> get_total_norm([dh.tensor([3.0]), dh.tensor([4.0])])
    tensor(5.)
    """
    if isinstance(tensors, Tensor):
        tensors = [tensors]
    tensors = [t.data if isinstance(t, Tensor) else np.asarray(t) for t in tensors]
    norm_type = float(norm_type)
    if not tensors:
        return _wrap(np.float32(0.0))
    norms = np.stack([_norm(t, norm_type) for t in tensors])
    total = _norm(norms, norm_type)
    if error_if_nonfinite and not np.isfinite(total):
        raise InputError(
            f"the total norm of order {norm_type} of the gradients is {float(total)}: the gradients "
            "are not finite, so clipping cannot rescue them. Lower the learning rate, or pass "
            "error_if_nonfinite=False to clip anyway"
        )
    return _wrap(total[()])


def clip_grads_with_norm_(parameters, max_norm: float, total_norm) -> None:
    """Scale the gradients by ``max_norm / (total_norm + 1e-6)`` where that is below 1.

    As PyTorch, the factor is clamped at 1 and applied to every gradient (a
    factor of exactly 1 leaves them unchanged).
    """
    total = total_norm.data if isinstance(total_norm, Tensor) else np.asarray(total_norm)
    coefficient = np.minimum(max_norm / (total + total.dtype.type(1e-6)), total.dtype.type(1.0))
    for p in _with_grads(parameters):
        g = p._grad.data
        scaled = (g * coefficient.astype(g.dtype)).astype(g.dtype, copy=False)
        if g.flags.writeable:
            g[...] = scaled
        else:
            p._grad = Tensor(scaled)


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False,
                    foreach=None) -> Tensor:
    """Rescale the gradients in place so that their total norm is at most ``max_norm``.

    Returns the total norm before clipping (a 0-d tensor), as PyTorch does;
    the same numbers as ``torch.nn.utils.clip_grad_norm_``: the norm of the
    per-tensor norms, then each gradient times ``min(1, max_norm / (total + 1e-6))``,
    in the gradients' dtype. ``norm_type`` may be ``float("inf")``. ``foreach``
    is accepted and ignored (one NumPy call per tensor either way).

    >>> import downhill as dh
    >>> from downhill import nn
    >>> w = dh.tensor([1.0, -2.0], requires_grad=True)
    >>> (w * 10).sum().backward()
    >>> nn.utils.clip_grad_norm_(w, 5.0, norm_type=float("inf"))
    tensor(10.)
    >>> w.grad
    tensor([4.9999995, 4.9999995])
    """
    with_grads = _with_grads(parameters)
    if isinstance(max_norm, bool) or not isinstance(max_norm, (int, float, np.number)) or not max_norm >= 0:
        raise InputError(f"clip_grad_norm_: max_norm must be a number >= 0, got {max_norm!r}")
    total = get_total_norm([p._grad for p in with_grads], norm_type, error_if_nonfinite)
    clip_grads_with_norm_(with_grads, float(max_norm), total)
    return total


def clip_grad_value_(parameters, clip_value: float, foreach=None) -> None:
    """Clamp every gradient component to [-clip_value, clip_value], in place.

    >>> import downhill as dh
    >>> from downhill import nn
    >>> w = dh.tensor([1.0, -2.0], requires_grad=True)
    >>> (w * w).sum().backward()
    >>> nn.utils.clip_grad_value_([w], 1.0)
    >>> w.grad
    tensor([ 1., -1.])
    """
    if isinstance(clip_value, bool) or not isinstance(clip_value, (int, float, np.number)):
        raise InputError(f"clip_grad_value_: clip_value must be a number, got {clip_value!r}")
    clip_value = float(clip_value)
    for p in _with_grads(parameters):
        g = p._grad.data
        if g.flags.writeable:
            np.clip(g, -clip_value, clip_value, out=g)
        else:
            p._grad = Tensor(np.clip(g, -clip_value, clip_value))
