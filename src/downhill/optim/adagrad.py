"""``Adagrad``: per-coordinate learning rates that shrink with the gradients seen."""

from __future__ import annotations

from . import checks
from . import functional as F
from .optimizer import Optimizer

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """Adagrad, as ``torch.optim.Adagrad``.

    Divides each step by the root of the sum of all squared gradients so far:
    coordinates that have moved a lot slow down. The update rule is
    :func:`downhill.optim.functional.adagrad_update`.

    Args:
        params: Tensors to optimize, or dicts defining parameter groups.
        lr: learning rate (default 1e-2), ``>= 0``.
        lr_decay: the learning rate at step ``t`` is ``lr / (1 + (t - 1) * lr_decay)``.
        weight_decay: L2 penalty added to the gradient (default 0).
        initial_accumulator_value: starting value of the sum of squares (default 0).
        eps: added to the denominator for stability (default 1e-10), ``>= 0``.
        maximize: climb up instead of down.

    State per parameter: ``step`` (an ``int``) and ``sum``. As in PyTorch, the
    state exists from construction on, not from the first step.

    >>> import downhill as dh
    >>> from downhill.optim import Adagrad
    >>> x = dh.tensor([3.0, -2.0], requires_grad=True)
    >>> opt = Adagrad([x], lr=1.0)
    >>> for _ in range(200):
    ...     opt.zero_grad()
    ...     (x * x).sum().backward()
    ...     opt.step()
    >>> bool(abs(x.data).max() < 1e-3)
    True
    """

    _init_fn = staticmethod(F.adagrad_init)
    _update_fn = staticmethod(F.adagrad_update_)
    _state_type = F.AdagradState
    _init_keys = ("initial_accumulator_value",)
    _update_keys = ("lr", "lr_decay", "weight_decay", "eps", "maximize")
    _check_fn = staticmethod(checks.check_adagrad_options)

    def __init__(
        self,
        params,
        lr: float = 1e-2,
        lr_decay: float = 0,
        weight_decay: float = 0,
        initial_accumulator_value: float = 0,
        eps: float = 1e-10,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "lr_decay": lr_decay,
            "weight_decay": weight_decay,
            "initial_accumulator_value": initial_accumulator_value,
            "eps": eps,
            "maximize": maximize,
        }
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self._store_state(
                    p, F.adagrad_init(p.data, initial_accumulator_value=group["initial_accumulator_value"])
                )
