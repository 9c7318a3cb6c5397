"""Loss functions: how far the model's answer is from the right one, as one number to descend.

Each is a composition of the engine's primitives (so its gradient needs no
rule of its own) with PyTorch's definition, reductions (``"mean"``,
``"sum"``, ``"none"``) and edge cases. The classification losses start from
the stable composites ``log_softmax`` and ``softplus``, so logits of +-1e4
give finite losses and gradients, exactly as in PyTorch. The class of each
target is picked by indexing, ``logp[np.arange(N), targets]``, whose
backward pass is a scatter.

Classes over these functions are in :mod:`downhill.nn.loss`.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from ..errors import InputError, InputIndexError, InputTypeError
from .. import autodiff as ad
from ..autodiff.tensor import Tensor

__all__ = ["mse_loss", "l1_loss", "cross_entropy", "nll_loss", "binary_cross_entropy",
           "binary_cross_entropy_with_logits"]

_REDUCTIONS = ("mean", "sum", "none")
_LOG_FLOOR = -100.0  # PyTorch's clamp of the logarithms in binary_cross_entropy


def _tensor(x):
    return x if isinstance(x, Tensor) else ad.tensor(x)


def _raw(x):
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def _constant(value, dtype):
    """A weight in the input's dtype (a Tensor that requires grad stays as it is, in the graph)."""
    if value is None or isinstance(value, Tensor) and value.requires_grad:
        return value
    return np.asarray(_raw(value), dtype=dtype if dtype.kind == "f" else None)


def _check_reduction(reduction, name):
    if reduction not in _REDUCTIONS:
        raise InputError(f"{name}: {reduction!r} is not a valid value for reduction; "
                         "choose 'mean', 'sum' or 'none'")


def _reduce(loss, reduction):
    if reduction == "mean":
        return ad.mean(loss)
    if reduction == "sum":
        return ad.sum(loss)
    return loss


def _pair(input, target, name):
    input = _tensor(input)
    if not isinstance(target, Tensor):  # plain numbers and arrays follow the input's dtype
        target = ad.tensor(target, dtype=input.dtype if input.dtype.kind == "f" else None)
    if input.shape != target.shape:
        warnings.warn(
            f"{name}: target shape {target.shape} differs from input shape {input.shape}; "
            "they will be broadcast against each other, which is rarely what you want "
            "(e.g. (N, 1) against (N,) gives (N, N)). Reshape one so the shapes agree.",
            UserWarning,
            stacklevel=3,
        )
    return input, target


def mse_loss(input, target, reduction: str = "mean"):
    """Mean squared error: the average of (input - target)**2.

    >>> import downhill as dh
    >>> import downhill.nn.functional as F
    >>> F.mse_loss(dh.tensor([1.0, 2.0]), dh.tensor([1.0, 4.0]))
    tensor(2.)
    """
    _check_reduction(reduction, "mse_loss")
    input, target = _pair(input, target, "mse_loss")
    difference = input - target
    return _reduce(difference * difference, reduction)


def l1_loss(input, target, reduction: str = "mean"):
    """Mean absolute error: the average of |input - target| (slope 0 where they are equal).

    >>> import downhill as dh
    >>> import downhill.nn.functional as F
    >>> F.l1_loss(dh.tensor([1.0, 2.0]), dh.tensor([1.0, 4.0]), reduction="sum")
    tensor(2.)
    """
    _check_reduction(reduction, "l1_loss")
    input, target = _pair(input, target, "l1_loss")
    return _reduce(ad.abs(input - target), reduction)


# --------------------------------------------------------- class targets
def _classes_last(input, name):
    """Input as a matrix (M, C) with the classes along axis 1, and the shape of a per-item loss.

    Shapes, as in PyTorch: (C,) one example; (N, C); (N, C, d1, d2, ...) with
    one class score vector per position.
    """
    if input.ndim == 0:
        raise InputError(f"{name}: input must have a class axis; got a 0-d tensor")
    if input.ndim == 1:
        return ad.reshape(input, (1, input.shape[0])), ()
    if input.ndim == 2:
        return input, (input.shape[0],)
    n, c, *rest = input.shape
    moved = ad.transpose(input, (0, *range(2, input.ndim), 1))
    return ad.reshape(moved, (-1, c)), (n, *rest)


def _class_targets(target, item_shape, n_classes, ignore_index, name):
    """Validated integer targets as a flat array, and the mask of those not ignored."""
    t = _raw(target)
    if t.dtype.kind not in "iu":
        raise InputTypeError(
            f"{name}: targets must be integer class indices (0 to {n_classes - 1}), got dtype "
            f"{t.dtype}. Convert them with .astype(int)"
            + ("; for class probabilities use cross_entropy" if name == "nll_loss" else "")
        )
    if t.shape != item_shape:
        raise InputError(f"{name}: expected targets of shape {item_shape} (one class index per "
                         f"item), got {t.shape}")
    t = t.reshape(-1).astype(np.intp)
    keep = t != ignore_index
    bad = keep & ((t < 0) | (t >= n_classes))
    if bad.any():
        raise InputIndexError(f"{name}: target {t[bad][0]} is out of bounds for {n_classes} classes "
                              f"(valid: 0 to {n_classes - 1}, or ignore_index={ignore_index})")
    return t, keep


def _class_weight(weight, n_classes, dtype, name):
    if weight is None:
        return None
    w = np.asarray(_raw(weight), dtype=dtype)
    if w.shape != (n_classes,):
        raise InputError(f"{name}: weight needs one entry per class, shape ({n_classes},), got {w.shape}")
    return w


def _divide(total, count):
    """``total / count`` for a mean over no items at all: NaN (PyTorch's answer), without a warning."""
    if count == 0:
        return total * math.nan
    return total / count


def _nll(logp, t, keep, w, reduction, item_shape):
    """-logp[n, t_n] * w[t_n], reduced: the heart of nll_loss and cross_entropy."""
    m = logp.shape[0]
    safe = np.where(keep, t, 0)  # ignored items point at class 0 and get weight 0
    picked = logp[np.arange(m), safe]
    if w is None and keep.all():
        losses, total = -picked, m
    else:
        item_weight = (np.ones(m, dtype=logp.dtype) if w is None else w[safe]) * keep
        losses, total = -(picked * item_weight), item_weight.sum().item()
    if reduction == "none":
        return ad.reshape(losses, item_shape)
    if reduction == "sum":
        return ad.sum(losses)
    return _divide(ad.sum(losses), total)


def nll_loss(input, target, weight=None, ignore_index: int = -100, reduction: str = "mean"):
    """Negative log likelihood: -input[n, target[n]], for inputs that are log-probabilities.

    ``weight`` scales each class; items whose target is ``ignore_index`` count
    for nothing; ``"mean"`` divides by the total weight of the items counted.

    >>> import downhill as dh
    >>> import downhill.nn.functional as F
    >>> logp = dh.log(dh.tensor([[0.5, 0.5], [0.1, 0.9]]))
    >>> round(F.nll_loss(logp, [0, 1]).item(), 6)
    0.399254
    """
    _check_reduction(reduction, "nll_loss")
    input = _tensor(input)
    logp, item_shape = _classes_last(input, "nll_loss")
    n_classes = logp.shape[1]
    t, keep = _class_targets(target, item_shape, n_classes, ignore_index, "nll_loss")
    w = _class_weight(weight, n_classes, input.dtype, "nll_loss")
    return _nll(logp, t, keep, w, reduction, item_shape)


def cross_entropy(input, target, weight=None, ignore_index: int = -100, reduction: str = "mean",
                  label_smoothing: float = 0.0):
    """Cross entropy between the softmax of ``input`` (logits) and the targets.

    Targets are class indices (integers, shape (N,) for input (N, C)) or
    class probabilities (floats, the shape of ``input``). ``label_smoothing``
    mixes each target with the uniform distribution: (1 - e) * target + e / C.
    Computed as ``nll_loss(log_softmax(input))``, so huge logits stay finite.

    >>> import downhill as dh
    >>> import downhill.nn.functional as F
    >>> logits = dh.tensor([[2.0, 0.0], [1e4, -1e4]], requires_grad=True)
    >>> loss = F.cross_entropy(logits, [0, 1])
    >>> round(loss.item(), 4)
    10000.0635
    >>> loss.backward()
    >>> logits.grad.data.round(4)
    array([[-0.0596,  0.0596],
           [ 0.5   , -0.5   ]])
    """
    _check_reduction(reduction, "cross_entropy")
    if not 0.0 <= label_smoothing <= 1.0:
        raise InputError(f"cross_entropy: label_smoothing must be between 0.0 and 1.0, got {label_smoothing}")
    input = _tensor(input)
    logits, item_shape = _classes_last(input, "cross_entropy")
    n_classes = logits.shape[1]
    w = _class_weight(weight, n_classes, input.dtype, "cross_entropy")
    logp = ad.log_softmax(logits, axis=1)
    if _raw(target).dtype.kind == "f":
        return _soft_cross_entropy(logp, input, target, w, reduction, label_smoothing, item_shape)
    t, keep = _class_targets(target, item_shape, n_classes, ignore_index, "cross_entropy")
    nll = _nll(logp, t, keep, w, reduction, item_shape)
    if label_smoothing == 0.0:
        return nll
    # The smoothed part: minus the (weighted) sum of all log-probabilities, as PyTorch's
    # cross_entropy_loss_label_smoothing, normalized the way the nll part is.
    smooth = -ad.sum(logp if w is None else logp * w, axis=1)
    if not keep.all():
        smooth = ad.where(keep, smooth, 0.0)
    if reduction == "none":
        smooth = ad.reshape(smooth, item_shape)
    elif reduction == "sum":
        smooth = ad.sum(smooth)
    else:
        count = int(keep.sum()) if w is None else w[t[keep]].sum().item()
        smooth = _divide(ad.sum(smooth), count)
    return (1 - label_smoothing) * nll + smooth * (label_smoothing / n_classes)


def _soft_cross_entropy(logp, input, target, w, reduction, label_smoothing, item_shape):
    """Cross entropy against class probabilities: -sum_c target_c * log p_c (* weight_c)."""
    target = _tensor(target)
    if target.shape != input.shape:
        raise InputError(f"cross_entropy: probability targets must have the input's shape "
                         f"{input.shape}, got {target.shape}")
    probabilities, _ = _classes_last(target, "cross_entropy")
    n_classes = logp.shape[1]
    if label_smoothing > 0:
        probabilities = probabilities * (1 - label_smoothing) + label_smoothing / n_classes
    terms = logp * probabilities if w is None else logp * probabilities * w
    if reduction == "none":
        return ad.reshape(-ad.sum(terms, axis=1), item_shape)
    if reduction == "sum":
        return -ad.sum(terms)
    return _divide(-ad.sum(terms), logp.shape[0])


# --------------------------------------------------------- binary targets
def _floored_log(x, inside, log_fn, fill):
    """``log_fn(x)`` where ``inside``, else -100; never evaluates the log outside (no warnings)."""
    if inside.all():
        return log_fn(x)
    return ad.where(inside, log_fn(ad.where(inside, x, fill)), _LOG_FLOOR)


def binary_cross_entropy(input, target, weight=None, reduction: str = "mean"):
    """Binary cross entropy for probabilities: -(y log x + (1 - y) log(1 - x)).

    ``input`` must lie in [0, 1] (the output of a sigmoid). As in PyTorch each
    logarithm is clamped at -100, so a confident wrong answer costs 100, not
    infinity; where the clamp is active the gradient is 0 (the slope of what
    is computed). Prefer :func:`binary_cross_entropy_with_logits`, which takes
    the logits and never needs a clamp.

    >>> import downhill as dh
    >>> import downhill.nn.functional as F
    >>> round(F.binary_cross_entropy(dh.tensor([0.9, 0.2]), dh.tensor([1.0, 0.0])).item(), 6)
    0.164252
    >>> F.binary_cross_entropy(dh.tensor([0.0]), dh.tensor([1.0]))
    tensor(100.)
    """
    _check_reduction(reduction, "binary_cross_entropy")
    input, target = _pair(input, target, "binary_cross_entropy")
    x = input.data
    if not np.all((x >= 0) & (x <= 1)):
        raise InputError("binary_cross_entropy: all elements of input should be between 0 and 1 "
                         "(probabilities); for raw scores use binary_cross_entropy_with_logits")
    # log x is above -100 for x > e^-100; log1p(-x) is above -100 for every x < 1.
    log_x = _floored_log(input, x > math.exp(_LOG_FLOOR), ad.log, 1.0)
    log_1mx = _floored_log(input, x < 1, lambda v: ad.log1p(-v), 0.0)
    loss = (target - 1) * log_1mx - target * log_x  # PyTorch's arrangement
    if weight is not None:
        loss = loss * _constant(weight, input.dtype)
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, reduction: str = "mean",
                                     pos_weight=None):
    """Binary cross entropy on logits: the same as sigmoid then BCE, but stable for any logit.

    Computed as PyTorch does, ``(1 - y) x - w_pos log(sigmoid(x))`` with
    ``log(sigmoid(x)) = -softplus(-x)`` and ``w_pos = 1 + (pos_weight - 1) y``;
    ``pos_weight`` (one per class, broadcast along the last axis) weighs the
    positive examples, to balance rare positives.

    >>> import downhill as dh
    >>> import downhill.nn.functional as F
    >>> F.binary_cross_entropy_with_logits(dh.tensor([1e4, -1e4]), dh.tensor([0.0, 0.0]))
    tensor(5000.)
    """
    _check_reduction(reduction, "binary_cross_entropy_with_logits")
    input, target = _pair(input, target, "binary_cross_entropy_with_logits")
    softplus_minus = ad.softplus(-input)  # = -log(sigmoid(input))
    if pos_weight is not None:
        softplus_minus = ((_constant(pos_weight, input.dtype) - 1) * target + 1) * softplus_minus
    loss = (1 - target) * input + softplus_minus
    if weight is not None:
        loss = loss * _constant(weight, input.dtype)
    return _reduce(loss, reduction)
