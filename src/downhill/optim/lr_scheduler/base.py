"""``LRScheduler``: the base of the learning-rate schedulers, with PyTorch's protocol.

A scheduler owns an optimizer and rewrites ``group["lr"]`` of each parameter
group when ``step()`` is called, once per epoch (or per iteration), after
``optimizer.step()``. Construction already performs the first (initial)
step, so ``get_last_lr()`` is the learning rate for the first epoch.

Two formulas exist for most schedulers, as in PyTorch: ``get_lr()`` is the
*recursive* (chainable) form, which multiplies the current ``group["lr"]`` and
so composes with other schedulers; ``_get_closed_form_lr()`` computes the rate
from ``base_lrs`` and the epoch directly, and is used when an epoch is given
explicitly (``SequentialLR`` does so at its milestones). Using the same forms
as PyTorch keeps the sequences equal to PyTorch's to the last bit.
"""

from __future__ import annotations

import copy
import warnings
from typing import Any
from ...errors import InputError, InputKeyError, InputTypeError

__all__ = ["LRScheduler"]

EPOCH_DEPRECATION_WARNING = (
    "The epoch argument of scheduler.step() is deprecated (as in PyTorch): call "
    "scheduler.step() once per epoch instead. When an epoch is given, the closed "
    "form of the schedule is used where there is one."
)


def check_optimizer(optimizer) -> None:
    """Schedulers need an object with PyTorch's ``param_groups`` (a list of dicts with ``"lr"``)."""
    groups = getattr(optimizer, "param_groups", None)
    if not isinstance(groups, list) or not all(isinstance(g, dict) and "lr" in g for g in groups):
        raise InputTypeError(
            f"{type(optimizer).__name__} is not an Optimizer: a scheduler needs an optimizer "
            "such as downhill.optim.SGD, whose param_groups hold each group's 'lr'"
        )


def format_param(name: str, optimizer, value) -> list:
    """One value per parameter group: broadcast a scalar, or check a list's length."""
    if isinstance(value, (list, tuple)):
        if len(value) != len(optimizer.param_groups):
            raise InputError(
                f"{name} must have the same length as optimizer.param_groups: "
                f"{name} has {len(value)} values, param_groups has {len(optimizer.param_groups)}"
            )
        return list(value)
    return [value] * len(optimizer.param_groups)


def group_values(optimizer, key: str = "lr") -> list:
    """``[group[key] for group in optimizer.param_groups]``."""
    return [group[key] for group in optimizer.param_groups]


class LRScheduler:
    """Base class of learning-rate schedulers (``torch.optim.lr_scheduler.LRScheduler``).

    Subclasses implement ``get_lr()`` (the learning rates for ``self.last_epoch``,
    usually computed from the current ``group["lr"]``) and, where one exists,
    ``_get_closed_form_lr()``.

    Attributes:
        optimizer: the optimizer whose learning rates are scheduled.
        base_lrs: each group's ``initial_lr`` (written into the groups on
            construction, so that a scheduler made later can resume).
        last_epoch: the index of the current epoch; ``-1`` before the first step.

    >>> import downhill as dh
    >>> from downhill.optim import SGD
    >>> from downhill.optim.lr_scheduler import StepLR
    >>> opt = SGD([dh.tensor(1.0, requires_grad=True)], lr=1.0)
    >>> scheduler = StepLR(opt, step_size=2, gamma=0.5)
    >>> lrs = []
    >>> for epoch in range(6):
    ...     lrs.append(scheduler.get_last_lr()[0])
    ...     opt.step()
    ...     scheduler.step()
    >>> lrs
    [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    """

    _is_initial: bool = False
    _get_lr_called_within_step: bool = False

    def __init__(self, optimizer, last_epoch: int = -1) -> None:
        check_optimizer(optimizer)
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise InputKeyError(
                        f"param 'initial_lr' is not specified in param_groups[{i}] when resuming a "
                        f"scheduler with last_epoch={last_epoch}; load the optimizer's state_dict "
                        "first, or use last_epoch=-1 for a fresh run"
                    )
        self.base_lrs: list[float] = group_values(optimizer, "initial_lr")
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self) -> None:
        """The step taken on construction: it sets the learning rate of epoch 0."""
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self) -> list[float]:
        """The learning rates for ``self.last_epoch`` (called by ``step()``; read ``get_last_lr()``)."""
        raise NotImplementedError(f"{type(self).__name__} must implement get_lr()")

    def get_last_lr(self) -> list[float]:
        """The learning rate of each parameter group, as last set by this scheduler.

        >>> import downhill as dh
        >>> from downhill.optim import SGD
        >>> from downhill.optim.lr_scheduler import ExponentialLR
        >>> opt = SGD([dh.tensor(1.0, requires_grad=True)], lr=0.1)
        >>> scheduler = ExponentialLR(opt, gamma=0.5)
        >>> scheduler.step(); scheduler.get_last_lr()
        [0.05]
        """
        return self._last_lr

    def _warn_outside_step(self) -> None:
        if not self._get_lr_called_within_step:
            warnings.warn(
                "To get the last learning rate computed by the scheduler, please use get_last_lr(); "
                "get_lr() computes the next one from the current state.",
                UserWarning,
                stacklevel=3,
            )

    def step(self, epoch: int | None = None) -> None:
        """Move to the next epoch and write its learning rates into the optimizer.

        Call it after ``optimizer.step()``. Passing ``epoch`` is deprecated (as
        in PyTorch) and jumps to that epoch using the closed form.

        >>> import downhill as dh
        >>> from downhill.optim import SGD
        >>> from downhill.optim.lr_scheduler import StepLR
        >>> opt = SGD([dh.tensor(1.0, requires_grad=True)], lr=1.0)
        >>> scheduler = StepLR(opt, step_size=1, gamma=0.5)
        >>> opt.step(); scheduler.step()
        >>> opt.param_groups[0]["lr"], scheduler.last_epoch
        (0.5, 1)
        """
        self._step_count += 1
        if epoch is not None:
            warnings.warn(EPOCH_DEPRECATION_WARNING, UserWarning, stacklevel=2)
        self._update_lr(epoch)

    def _update_lr(self, epoch: int | None = None) -> None:
        self._get_lr_called_within_step = True
        try:
            if epoch is None:
                self.last_epoch += 1
                values = self.get_lr()
            else:
                self.last_epoch = epoch
                closed_form = getattr(self, "_get_closed_form_lr", None)
                values = closed_form() if closed_form is not None else self.get_lr()
        finally:
            self._get_lr_called_within_step = False
        for group, lr in zip(self.optimizer.param_groups, values, strict=True):
            group["lr"] = lr
        self._last_lr = group_values(self.optimizer)

    # Attributes that are not state: the optimizer, and functions (which
    # cannot be copied faithfully; subclasses save what they can of them).
    _not_state: tuple[str, ...] = ("optimizer",)

    def state_dict(self) -> dict[str, Any]:
        """The scheduler's state: every attribute but the optimizer, copied.

        >>> import downhill as dh
        >>> from downhill.optim import SGD
        >>> from downhill.optim.lr_scheduler import StepLR
        >>> opt = SGD([dh.tensor(1.0, requires_grad=True)], lr=1.0)
        >>> scheduler = StepLR(opt, step_size=3)
        >>> scheduler.state_dict()["last_epoch"], scheduler.state_dict()["base_lrs"]
        (0, [1.0])
        """
        return {
            key: copy.deepcopy(value) for key, value in self.__dict__.items() if key not in self._not_state
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a state from :meth:`state_dict` (load the optimizer's state too).

        >>> import downhill as dh
        >>> from downhill.optim import SGD
        >>> from downhill.optim.lr_scheduler import ExponentialLR
        >>> opt = SGD([dh.tensor(1.0, requires_grad=True)], lr=1.0)
        >>> scheduler = ExponentialLR(opt, gamma=0.5)
        >>> scheduler.step(); scheduler.step()
        >>> fresh_opt = SGD([dh.tensor(1.0, requires_grad=True)], lr=1.0)
        >>> fresh = ExponentialLR(fresh_opt, gamma=0.5)
        >>> fresh_opt.load_state_dict(opt.state_dict()); fresh.load_state_dict(scheduler.state_dict())
        >>> fresh.step(); fresh.get_last_lr()
        [0.125]
        """
        self.__dict__.update(copy.deepcopy(state_dict))

    def __repr__(self) -> str:
        epoch = getattr(self, "last_epoch", None)
        return f"{type(self).__name__}(last_epoch={epoch}, last_lr={getattr(self, '_last_lr', None)})"
