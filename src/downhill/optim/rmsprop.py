"""``RMSprop``: divide the gradient by a running root-mean-square of its history."""

from __future__ import annotations

from . import checks
from . import functional as F
from .optimizer import Optimizer

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop, as ``torch.optim.RMSprop``.

    Keeps a moving average of squared gradients and divides each step by its
    square root, so steep and shallow directions move at similar speeds. The
    update rule is :func:`downhill.optim.functional.rmsprop_update`.

    Args:
        params: Tensors to optimize, or dicts defining parameter groups.
        lr: learning rate (default 1e-2), ``>= 0``.
        alpha: decay of the squared-gradient average (default 0.99), ``>= 0``.
        eps: added to the denominator for stability (default 1e-8), ``>= 0``.
        weight_decay: L2 penalty added to the gradient (default 0).
        momentum: momentum factor (default 0).
        centered: divide by an estimate of the gradient's variance instead.
        maximize: climb up instead of down.

    State per parameter: ``step`` (an ``int``), ``square_avg``, and
    ``momentum_buffer`` (with momentum) and ``grad_avg`` (when centered).

    >>> import downhill as dh
    >>> from downhill.optim import RMSprop
    >>> x = dh.tensor([3.0, -2.0], requires_grad=True)
    >>> opt = RMSprop([x], lr=0.05)
    >>> for _ in range(300):
    ...     opt.zero_grad()
    ...     (x * x).sum().backward()
    ...     opt.step()
    >>> bool(abs(x.data).max() < 1e-6)
    True
    """

    _init_fn = staticmethod(F.rmsprop_init)
    _update_fn = staticmethod(F.rmsprop_update_)
    _state_type = F.RMSpropState
    _init_keys = ()
    _update_keys = ("lr", "alpha", "eps", "weight_decay", "momentum", "centered", "maximize")
    _check_fn = staticmethod(checks.check_rmsprop_options)

    def __init__(
        self,
        params,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "alpha": alpha,
            "eps": eps,
            "weight_decay": weight_decay,
            "momentum": momentum,
            "centered": centered,
            "maximize": maximize,
        }
        super().__init__(params, defaults)
