"""``SGD``: stochastic gradient descent, with momentum, dampening and Nesterov."""

from __future__ import annotations

from . import checks
from . import functional as F
from .optimizer import Optimizer

__all__ = ["SGD"]


class SGD(Optimizer):
    """Stochastic gradient descent (optionally with momentum), as ``torch.optim.SGD``.

    "Momentum" is not a separate optimizer: it is this one with ``momentum=0.9``
    (the heavy ball), or ``nesterov=True`` to look ahead before stepping. The
    update rule is :func:`downhill.optim.functional.sgd_update`.

    Args:
        params: Tensors to optimize, or dicts defining parameter groups.
        lr: learning rate (default 1e-3), ``>= 0``.
        momentum: momentum factor (default 0: plain gradient descent).
        dampening: dampening of the momentum's new gradient (default 0).
        weight_decay: L2 penalty added to the gradient (default 0).
        nesterov: use Nesterov momentum (needs ``momentum > 0``, ``dampening = 0``).
        maximize: climb up instead of down.

    State per parameter: ``momentum_buffer`` (only when ``momentum != 0``).

    >>> import downhill as dh
    >>> from downhill.optim import SGD
    >>> x = dh.tensor([3.0, -2.0], requires_grad=True)
    >>> opt = SGD([x], lr=0.1, momentum=0.9)
    >>> for _ in range(200):
    ...     opt.zero_grad()
    ...     (x * x).sum().backward()
    ...     opt.step()
    >>> bool(abs(x.data).max() < 1e-3)
    True
    """

    _init_fn = staticmethod(F.sgd_init)
    _update_fn = staticmethod(F.sgd_update_)
    _state_type = F.SGDState
    _init_keys = ()
    _update_keys = ("lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize")
    _check_fn = staticmethod(checks.check_sgd_options)

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "dampening": dampening,
            "weight_decay": weight_decay,
            "nesterov": nesterov,
            "maximize": maximize,
        }
        super().__init__(params, defaults)
