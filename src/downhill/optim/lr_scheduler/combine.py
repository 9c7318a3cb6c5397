"""Schedulers made of schedulers: one after another, or all at once."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from typing import Any

from ...errors import InputError, InputTypeError
from .base import LRScheduler, group_values
from .plateau import ReduceLROnPlateau

__all__ = ["SequentialLR", "ChainedScheduler"]


def _check_members(kind: str, optimizer, schedulers: Sequence) -> None:
    if len(schedulers) < 1:
        raise InputError(f"{kind} expects at least one scheduler, but got no scheduler.")
    for index, scheduler in enumerate(schedulers):
        if not hasattr(scheduler, "optimizer"):
            raise InputTypeError(f"{kind} at index {index} should have `optimizer` as its attribute.")
        if isinstance(scheduler, ReduceLROnPlateau):
            raise InputError(
                f"{kind} does not support `ReduceLROnPlateau` scheduler as it requires additional "
                f"kwargs to be specified when calling `step`, but got one at index {index} in the "
                "given schedulers sequence."
            )
        if scheduler.optimizer is not optimizer:
            raise InputError(
                f"{kind} expects all schedulers to belong to the same optimizer, but got scheduler "
                f"{type(scheduler).__name__} at index {index} with a different optimizer."
            )


class _Composite(LRScheduler):
    """State saving shared by the composites: their members' states, nested."""

    _not_state = ("optimizer", "_schedulers")

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state["_schedulers"] = [scheduler.state_dict() for scheduler in self._schedulers]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state = dict(state_dict)
        saved = state.pop("_schedulers")
        super().load_state_dict(state)
        for scheduler, scheduler_state in zip(self._schedulers, saved, strict=True):
            scheduler.load_state_dict(scheduler_state)


class SequentialLR(_Composite):
    """Run ``schedulers`` one after another, switching at each milestone epoch.

    The usual use is a warm-up followed by a decay. At a milestone, the next
    scheduler starts from its own epoch 0 (its closed form, as in PyTorch).

    >>> import downhill as dh
    >>> from downhill.optim import SGD
    >>> from downhill.optim.lr_scheduler import ConstantLR, ExponentialLR
    >>> opt = SGD([dh.tensor(1.0, requires_grad=True)], lr=1.0)
    >>> warmup = ConstantLR(opt, factor=0.1, total_iters=2)
    >>> decay = ExponentialLR(opt, gamma=0.5)
    >>> scheduler = SequentialLR(opt, schedulers=[warmup, decay], milestones=[2])
    >>> lrs = [scheduler.get_last_lr()[0]]
    >>> for _ in range(4):
    ...     scheduler.step(); lrs.append(scheduler.get_last_lr()[0])
    >>> lrs
    [0.1, 0.1, 1.0, 0.5, 0.25]
    """

    def __init__(self, optimizer, schedulers: list[LRScheduler], milestones: list[int], last_epoch: int = -1) -> None:
        _check_members(type(self).__name__, optimizer, schedulers)
        if len(milestones) != len(schedulers) - 1:
            raise InputError(
                "Sequential Schedulers expects number of schedulers provided to be one more than the "
                f"number of milestone points, but got number of schedulers {len(schedulers)} and the "
                f"number of milestones to be equal to {len(milestones)}"
            )
        self._schedulers = list(schedulers)
        self._milestones = list(milestones)
        self.last_epoch = last_epoch + 1
        self.optimizer = optimizer

        # Each member already stepped once when it was built; undo that, so that
        # only the scheduler in charge of epoch 0 sets the starting rate.
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        self.recursive_undo()
        first = self._schedulers[bisect_right(self._milestones, 0)]
        first._initial_step()
        self._last_lr = first.get_last_lr()

    def recursive_undo(self, sched=None) -> None:
        """Step every member (and members of members) back by one epoch."""
        target = self if sched is None else sched
        if hasattr(target, "_schedulers"):
            for member in target._schedulers:
                self.recursive_undo(member)
        elif hasattr(target, "last_epoch"):
            target.last_epoch -= 1

    def step(self) -> None:  # type: ignore[override]
        """Advance one epoch, handing over to the next scheduler at a milestone.

        >>> import downhill as dh
        >>> from downhill.optim import SGD
        >>> from downhill.optim.lr_scheduler import ConstantLR, StepLR
        >>> opt = SGD([dh.tensor(1.0, requires_grad=True)], lr=1.0)
        >>> scheduler = SequentialLR(opt, [ConstantLR(opt, 0.5, 1), StepLR(opt, 1, 0.1)], milestones=[1])
        >>> scheduler.step(); scheduler.get_last_lr()
        [1.0]
        """
        self.last_epoch += 1
        index = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[index]
        if index > 0 and self._milestones[index - 1] == self.last_epoch:
            scheduler._update_lr(0)
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()


class ChainedScheduler(_Composite):
    """Step several schedulers together each epoch; their factors multiply.

    >>> import downhill as dh
    >>> from downhill.optim import SGD
    >>> from downhill.optim.lr_scheduler import ConstantLR, ExponentialLR
    >>> opt = SGD([dh.tensor(1.0, requires_grad=True)], lr=1.0)
    >>> scheduler = ChainedScheduler([ConstantLR(opt, factor=0.5, total_iters=2), ExponentialLR(opt, gamma=0.9)])
    >>> lrs = [scheduler.get_last_lr()[0]]
    >>> for _ in range(3):
    ...     scheduler.step(); lrs.append(round(scheduler.get_last_lr()[0], 6))
    >>> lrs
    [0.5, 0.45, 0.81, 0.729]
    """

    def __init__(self, schedulers: Sequence[LRScheduler], optimizer=None) -> None:
        if len(schedulers) >= 1 and optimizer is None:
            optimizer = schedulers[0].optimizer
        _check_members(type(self).__name__, optimizer, schedulers)
        self._schedulers = list(schedulers)
        self.optimizer = optimizer
        self._last_lr = group_values(self._schedulers[-1].optimizer)

    def step(self) -> None:  # type: ignore[override]
        """Step every member scheduler once.

        >>> import downhill as dh
        >>> from downhill.optim import SGD
        >>> from downhill.optim.lr_scheduler import ExponentialLR
        >>> opt = SGD([dh.tensor(1.0, requires_grad=True)], lr=1.0)
        >>> scheduler = ChainedScheduler([ExponentialLR(opt, 0.5), ExponentialLR(opt, 0.5)])
        >>> scheduler.step(); scheduler.get_last_lr()
        [0.25]
        """
        for scheduler in self._schedulers:
            scheduler.step()
        self._last_lr = group_values(self._schedulers[-1].optimizer)
