"""Loss layers (``torch.nn.MSELoss``, ``CrossEntropyLoss``, ...): thin shells over :mod:`.loss_functions`.

A loss layer holds its settings (``reduction``, class ``weight``, ...) and is
called as ``criterion(input, target)``.
"""

from __future__ import annotations

from ..autodiff.tensor import Tensor
from . import loss_functions as L
from .module import Module

__all__ = ["MSELoss", "L1Loss", "CrossEntropyLoss", "NLLLoss", "BCELoss", "BCEWithLogitsLoss"]


class _Loss(Module):
    def __init__(self, reduction: str = "mean"):
        super().__init__()
        L._check_reduction(reduction, type(self).__name__)
        self.reduction = reduction

    def _weight_buffer(self, name, value):
        # As in PyTorch, class weights are buffers: saved in state_dict, cast by .to().
        self.register_buffer(name, value if value is None or isinstance(value, Tensor) else Tensor(value))


class MSELoss(_Loss):
    """Mean squared error, ``mean((input - target)**2)``; ``reduction`` ``"mean"``, ``"sum"`` or ``"none"``.

    >>> import downhill as dh
    >>> dh.nn.MSELoss()(dh.tensor([1.0, 2.0]), dh.tensor([1.0, 4.0]))
    tensor(2.)
    """

    def forward(self, input, target):
        return L.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """Mean absolute error, ``mean(|input - target|)``.

    >>> import downhill as dh
    >>> dh.nn.L1Loss(reduction="none")(dh.tensor([1.0, 2.0]), dh.tensor([1.0, 4.0]))
    tensor([0., 2.])
    """

    def forward(self, input, target):
        return L.l1_loss(input, target, reduction=self.reduction)


class NLLLoss(_Loss):
    """Negative log likelihood of the target class, for log-probabilities (after LogSoftmax).

    >>> import downhill as dh
    >>> logp = dh.nn.LogSoftmax(dim=1)(dh.tensor([[0.0, 0.0]]))
    >>> round(dh.nn.NLLLoss()(logp, [1]).item(), 6)
    0.693147
    """

    def __init__(self, weight=None, ignore_index: int = -100, reduction: str = "mean"):
        super().__init__(reduction)
        self._weight_buffer("weight", weight)
        self.ignore_index = ignore_index

    def forward(self, input, target):
        return L.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index,
                          reduction=self.reduction)


class CrossEntropyLoss(_Loss):
    """Cross entropy of the softmax of the logits against class indices (or probabilities).

    The usual loss for classification: feed it raw scores (no softmax
    layer), shape (N, C), and integer targets, shape (N,). ``weight`` scales
    classes, ``ignore_index`` skips items, ``label_smoothing`` softens the
    targets. See :func:`downhill.nn.functional.cross_entropy`.

    >>> import downhill as dh
    >>> criterion = dh.nn.CrossEntropyLoss()
    >>> round(criterion(dh.tensor([[0.0, 0.0, 0.0]]), [2]).item(), 6)
    1.098612
    """

    def __init__(self, weight=None, ignore_index: int = -100, reduction: str = "mean",
                 label_smoothing: float = 0.0):
        super().__init__(reduction)
        self._weight_buffer("weight", weight)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input, target):
        return L.cross_entropy(input, target, weight=self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)


class BCELoss(_Loss):
    """Binary cross entropy for probabilities in [0, 1] (logs clamped at -100, as PyTorch).

    >>> import downhill as dh
    >>> round(dh.nn.BCELoss()(dh.tensor([0.5]), dh.tensor([1.0])).item(), 6)
    0.693147
    """

    def __init__(self, weight=None, reduction: str = "mean"):
        super().__init__(reduction)
        self._weight_buffer("weight", weight)

    def forward(self, input, target):
        return L.binary_cross_entropy(input, target, weight=self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Binary cross entropy on logits (sigmoid built in, stable for any logit); ``pos_weight`` per class.

    >>> import downhill as dh
    >>> round(dh.nn.BCEWithLogitsLoss()(dh.tensor([0.0]), dh.tensor([1.0])).item(), 6)
    0.693147
    """

    def __init__(self, weight=None, reduction: str = "mean", pos_weight=None):
        super().__init__(reduction)
        self._weight_buffer("weight", weight)
        self._weight_buffer("pos_weight", pos_weight)

    def forward(self, input, target):
        return L.binary_cross_entropy_with_logits(input, target, weight=self.weight,
                                                  reduction=self.reduction, pos_weight=self.pos_weight)
