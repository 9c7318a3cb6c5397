"""``Adam`` and ``AdamW``: adaptive moment estimation, with coupled or decoupled weight decay."""

from __future__ import annotations

from . import checks
from . import functional as F
from .optimizer import Optimizer

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    """Adam, as ``torch.optim.Adam``: moving averages of the gradient and its square.

    Each coordinate moves by about ``lr`` per step, whatever the scale of its
    gradient, which makes Adam forgiving on badly scaled valleys. The update
    rule is :func:`downhill.optim.functional.adam_update`.

    Args:
        params: Tensors to optimize, or dicts defining parameter groups.
        lr: learning rate (default 1e-3), ``>= 0``.
        betas: decay rates of the two moving averages (default ``(0.9, 0.999)``),
            each in ``[0, 1)``.
        eps: added to the denominator for stability (default 1e-8), ``>= 0``.
        weight_decay: L2 penalty added to the gradient (default 0).
        amsgrad: divide by the running maximum of the second moment (default False).
        maximize: climb up instead of down.
        decoupled_weight_decay: shrink the weights directly instead (that is AdamW).

    State per parameter: ``step`` (an ``int``), ``exp_avg``, ``exp_avg_sq`` and,
    with ``amsgrad``, ``max_exp_avg_sq``.

    >>> import downhill as dh
    >>> from downhill.optim import Adam
    >>> x = dh.tensor([3.0, -2.0], requires_grad=True)
    >>> opt = Adam([x], lr=0.1)
    >>> for _ in range(300):
    ...     opt.zero_grad()
    ...     (x * x).sum().backward()
    ...     opt.step()
    >>> bool(abs(x.data).max() < 1e-2)
    True
    """

    _init_fn = staticmethod(F.adam_init)
    _update_fn = staticmethod(F.adam_update_)
    _state_type = F.AdamState
    _init_keys = ()
    _update_keys = (
        "lr",
        "betas",
        "eps",
        "weight_decay",
        "amsgrad",
        "maximize",
        "decoupled_weight_decay",
    )
    _check_fn = staticmethod(checks.check_adam_options)

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        decoupled_weight_decay: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "betas": tuple(betas) if isinstance(betas, list) else betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "amsgrad": amsgrad,
            "maximize": maximize,
            "decoupled_weight_decay": decoupled_weight_decay,
        }
        super().__init__(params, defaults)


class AdamW(Adam):
    """AdamW, as ``torch.optim.AdamW``: Adam whose weight decay shrinks the weights.

    The decay ``param *= 1 - lr * weight_decay`` is applied directly instead of
    being added to the gradient, so it is not rescaled by Adam's denominator
    (Loshchilov & Hutter). Default ``weight_decay`` is 0.01.

    >>> import downhill as dh
    >>> from downhill.optim import AdamW
    >>> x = dh.tensor([1.0], requires_grad=True)
    >>> opt = AdamW([x], lr=0.1, weight_decay=0.5)
    >>> x.grad = dh.tensor([0.0])
    >>> opt.step()
    >>> x.data       # a zero gradient: only the decay acts, 1 - 0.1 * 0.5
    array([0.95])
    """

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(
            params,
            lr,
            betas,
            eps,
            weight_decay,
            amsgrad,
            maximize=maximize,
            decoupled_weight_decay=True,
        )

    def load_state_dict(self, state_dict) -> None:
        super().load_state_dict(state_dict)
        # AdamW always decouples, whatever the saved groups say (as in PyTorch).
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True
