"""Learning-rate schedules as pure functions of the step, and helpers that turn
any schedule spec (a function, a scheduler class, or its name) into learning rates.

A *schedule* is a callable ``step -> lr`` (the optax convention): ``step`` counts
from 0, and the value is the learning rate used for that step. The factories
here build the closed forms of PyTorch's schedulers; they agree with the
scheduler classes (which PyTorch mostly computes recursively) to rounding,
about 1e-15 relative.

>>> sched = cosine_schedule(0.1, T_max=10)
>>> [round(sched(t), 4) for t in (0, 5, 10)]
[0.1, 0.05, 0.0]

:func:`lr_sequence` lists the rates of any spec ahead of time, replaying a
scheduler class exactly as PyTorch would; :func:`make_scheduler` builds a
scheduler from a spec on a given optimizer (for ``descend(schedule=...)``).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..errors import InputError, InputTypeError
from . import lr_scheduler
from .lr_scheduler import ChainedScheduler, LRScheduler, ReduceLROnPlateau, SequentialLR

__all__ = [
    "Schedule",
    "constant_schedule",
    "step_schedule",
    "multistep_schedule",
    "exponential_schedule",
    "linear_schedule",
    "constant_factor_schedule",
    "polynomial_schedule",
    "cosine_schedule",
    "cosine_warm_restarts_schedule",
    "cyclic_schedule",
    "one_cycle_schedule",
    "make_scheduler",
    "lr_sequence",
    "climb_length_defaults",
]


class Schedule:
    """A learning rate as a function of the step: ``schedule(step) -> lr``.

    >>> sched = step_schedule(1.0, step_size=2, gamma=0.5)
    >>> sched
    step_schedule(lr=1.0, step_size=2, gamma=0.5)
    >>> [sched(t) for t in range(5)]
    [1.0, 1.0, 0.5, 0.5, 0.25]
    """

    __slots__ = ("name", "options", "_function")

    def __init__(self, name: str, function: Callable[[int], float], **options: Any) -> None:
        self.name = name
        self.options = options
        self._function = function

    def __call__(self, step: int) -> float:
        return self._function(step)

    def __repr__(self) -> str:
        return f"{self.name}({', '.join(f'{k}={v!r}' for k, v in self.options.items())})"


def constant_schedule(lr: float) -> Schedule:
    """The same rate at every step.

    >>> constant_schedule(0.1)(100)
    0.1
    """
    return Schedule("constant_schedule", lambda step: lr, lr=lr)


def step_schedule(lr: float, step_size: int, gamma: float = 0.1) -> Schedule:
    """``lr * gamma ** (step // step_size)``, the closed form of ``StepLR``.

    >>> step_schedule(1.0, step_size=10)(25)
    0.010000000000000002
    """
    return Schedule(
        "step_schedule", lambda step: lr * gamma ** (step // step_size), lr=lr, step_size=step_size, gamma=gamma
    )


def multistep_schedule(lr: float, milestones: Sequence[int], gamma: float = 0.1) -> Schedule:
    """``lr * gamma ** (number of milestones <= step)``, the closed form of ``MultiStepLR``.

    >>> sched = multistep_schedule(1.0, milestones=[2, 4], gamma=0.5)
    >>> [sched(t) for t in range(6)]
    [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    """
    ordered = sorted(milestones)
    return Schedule(
        "multistep_schedule",
        lambda step: lr * gamma ** bisect_right(ordered, step),
        lr=lr,
        milestones=list(milestones),
        gamma=gamma,
    )


def exponential_schedule(lr: float, gamma: float) -> Schedule:
    """``lr * gamma ** step``, the closed form of ``ExponentialLR``.

    >>> exponential_schedule(1.0, gamma=0.5)(3)
    0.125
    """
    return Schedule("exponential_schedule", lambda step: lr * gamma**step, lr=lr, gamma=gamma)


def linear_schedule(lr: float, start_factor: float = 1.0 / 3, end_factor: float = 1.0, total_iters: int = 5) -> Schedule:
    """A factor ramped linearly from ``start_factor`` to ``end_factor`` over
    ``total_iters`` steps, then held: the closed form of ``LinearLR`` (a warm-up).

    >>> sched = linear_schedule(1.0, start_factor=0.5, total_iters=2)
    >>> [sched(t) for t in range(4)]
    [0.5, 0.75, 1.0, 1.0]
    """

    def schedule(step: int) -> float:
        return lr * (start_factor + (end_factor - start_factor) * min(total_iters, step) / total_iters)

    return Schedule(
        "linear_schedule", schedule, lr=lr, start_factor=start_factor, end_factor=end_factor, total_iters=total_iters
    )


def constant_factor_schedule(lr: float, factor: float = 1.0 / 3, total_iters: int = 5) -> Schedule:
    """``lr * factor`` for the first ``total_iters`` steps, then ``lr``: the closed form of ``ConstantLR``.

    >>> sched = constant_factor_schedule(1.0, factor=0.5, total_iters=2)
    >>> [sched(t) for t in range(4)]
    [0.5, 0.5, 1.0, 1.0]
    """
    return Schedule(
        "constant_factor_schedule",
        lambda step: lr * (factor + (step >= total_iters) * (1 - factor)),
        lr=lr,
        factor=factor,
        total_iters=total_iters,
    )


def polynomial_schedule(lr: float, total_iters: int = 5, power: float = 1.0) -> Schedule:
    """``lr * (1 - min(step, total_iters) / total_iters) ** power``, the closed form of ``PolynomialLR``.

    >>> sched = polynomial_schedule(1.0, total_iters=4, power=2.0)
    >>> [sched(t) for t in range(5)]
    [1.0, 0.5625, 0.25, 0.0625, 0.0]
    """
    return Schedule(
        "polynomial_schedule",
        lambda step: lr * (1.0 - min(total_iters, step) / total_iters) ** power,
        lr=lr,
        total_iters=total_iters,
        power=power,
    )


def cosine_schedule(lr: float, T_max: int, eta_min: float = 0.0) -> Schedule:
    """``eta_min + (lr - eta_min) * (1 + cos(pi * step / T_max)) / 2``, the closed form of ``CosineAnnealingLR``.

    >>> sched = cosine_schedule(1.0, T_max=4)
    >>> [round(sched(t), 4) for t in range(5)]
    [1.0, 0.8536, 0.5, 0.1464, 0.0]
    """
    return Schedule(
        "cosine_schedule",
        lambda step: eta_min + (lr - eta_min) * (1 + math.cos(math.pi * step / T_max)) / 2,
        lr=lr,
        T_max=T_max,
        eta_min=eta_min,
    )


def cosine_warm_restarts_schedule(lr: float, T_0: int, T_mult: int = 1, eta_min: float = 0.0) -> Schedule:
    """Cosine annealing restarted after ``T_0``, ``T_0 * T_mult``, ... steps (``CosineAnnealingWarmRestarts``).

    >>> sched = cosine_warm_restarts_schedule(1.0, T_0=2, T_mult=2)
    >>> [round(sched(t), 4) for t in range(7)]
    [1.0, 0.5, 1.0, 0.8536, 0.5, 0.1464, 1.0]
    """

    def schedule(step: int) -> float:
        # Locate the restart period that holds this step, with integers only.
        period, start = T_0, 0
        while step >= start + period:
            start += period
            period *= T_mult
        return eta_min + (lr - eta_min) * (1 + math.cos(math.pi * (step - start) / period)) / 2

    return Schedule("cosine_warm_restarts_schedule", schedule, lr=lr, T_0=T_0, T_mult=T_mult, eta_min=eta_min)


def cyclic_schedule(
    base_lr: float,
    max_lr: float,
    step_size_up: int = 2000,
    step_size_down: int | None = None,
    mode: str = "triangular",
    gamma: float = 1.0,
) -> Schedule:
    """A triangle wave between ``base_lr`` and ``max_lr`` (``CyclicLR``, without momentum).

    >>> sched = cyclic_schedule(0.0, 1.0, step_size_up=2)
    >>> [sched(t) for t in range(6)]
    [0.0, 0.5, 1.0, 0.5, 0.0, 0.5]
    """
    if mode not in ("triangular", "triangular2", "exp_range"):
        raise InputError(f"mode must be 'triangular', 'triangular2' or 'exp_range', got {mode!r}")
    up = float(step_size_up)
    total = up + (float(step_size_down) if step_size_down is not None else up)
    ratio = up / total

    def schedule(step: int) -> float:
        cycle = math.floor(1 + step / total)
        x = 1.0 + step / total - cycle
        height = x / ratio if x <= ratio else (x - 1) / (ratio - 1)
        if mode == "triangular":
            scale = 1.0
        elif mode == "triangular2":
            scale = 1 / (2.0 ** (cycle - 1))
        else:
            scale = gamma**step
        return base_lr + (max_lr - base_lr) * height * scale

    return Schedule(
        "cyclic_schedule",
        schedule,
        base_lr=base_lr,
        max_lr=max_lr,
        step_size_up=step_size_up,
        step_size_down=step_size_down,
        mode=mode,
        gamma=gamma,
    )


def one_cycle_schedule(
    max_lr: float,
    total_steps: int,
    pct_start: float = 0.3,
    anneal_strategy: str = "cos",
    div_factor: float = 25.0,
    final_div_factor: float = 1e4,
    three_phase: bool = False,
) -> Schedule:
    """The one-cycle learning rates of ``OneCycleLR`` (without its momentum).

    >>> sched = one_cycle_schedule(1.0, total_steps=10, anneal_strategy="linear")
    >>> sched(0), sched(2), round(sched(9), 12)
    (0.04, 1.0, 4e-06)
    """
    if anneal_strategy not in ("cos", "linear"):
        raise InputError(f"anneal_strategy must be one of 'cos' or 'linear', instead got {anneal_strategy!r}")
    initial_lr = max_lr / div_factor
    min_lr = initial_lr / final_div_factor
    warmup_end = float(pct_start * total_steps) - 1
    if three_phase:
        phases = [
            (warmup_end, initial_lr, max_lr),
            (float(2 * pct_start * total_steps) - 2, max_lr, initial_lr),
            (total_steps - 1, initial_lr, min_lr),
        ]
    else:
        phases = [(warmup_end, initial_lr, max_lr), (total_steps - 1, max_lr, min_lr)]

    def anneal(start: float, end: float, pct: float) -> float:
        if anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def schedule(step: int) -> float:
        phase_start = 0.0
        for i, (end_step, start, end) in enumerate(phases):
            if step <= end_step or i == len(phases) - 1:
                return anneal(start, end, (step - phase_start) / (end_step - phase_start))
            phase_start = end_step
        raise AssertionError("unreachable: the last phase always matches")

    return Schedule(
        "one_cycle_schedule",
        schedule,
        max_lr=max_lr,
        total_steps=total_steps,
        pct_start=pct_start,
        anneal_strategy=anneal_strategy,
        div_factor=div_factor,
        final_div_factor=final_div_factor,
        three_phase=three_phase,
    )


# --------------------------------------------------------------------------
# Specs: a scheduler class (or its name) with options, built on an optimizer.
# --------------------------------------------------------------------------


class _LearningRateHolder:
    """Stands in for an optimizer when only the learning rates are wanted.

    It has ``momentum`` so that schedulers that cycle momentum accept it.
    """

    def __init__(self, lr: float) -> None:
        self.defaults = {"lr": lr, "momentum": 0.0}
        self.param_groups = [{"params": [], "lr": lr, "momentum": 0.0}]


def _scheduler_class(spec) -> type[LRScheduler]:
    if isinstance(spec, str):
        return lr_scheduler.get(spec)
    if isinstance(spec, type) and issubclass(spec, LRScheduler):
        return spec
    raise InputTypeError(
        "a scheduler spec must be a scheduler class (e.g. StepLR), its name (e.g. 'step'), "
        f"or a (spec, options) pair; got {spec!r}"
    )


def climb_length_defaults(spec, options: dict, steps: int, lr: float) -> dict:
    """``options`` with the schedule's length set to the climb's where not given.

    A schedule that lasts a number of steps (``T_max`` of cosine,
    ``total_iters`` of polynomial, ``total_steps`` of one-cycle, unless it
    counts ``epochs``) lasts the whole climb of ``steps`` steps, and a
    one-cycle's peak ``max_lr`` is the climb's ``lr``. The playground and
    ``descend``'s callers use this so a bare ``"cosine"`` means "over the
    whole climb".

    >>> climb_length_defaults("cosine", {}, 100, 0.1)
    {'T_max': 100}
    >>> climb_length_defaults("one_cycle", {"epochs": 2, "steps_per_epoch": 5}, 100, 0.1)
    {'epochs': 2, 'steps_per_epoch': 5, 'max_lr': 0.1}
    """
    from .lr_scheduler import CosineAnnealingLR, OneCycleLR, PolynomialLR

    cls = _scheduler_class(spec)
    length = max(int(steps), 1)
    defaults = {CosineAnnealingLR: {"T_max": length}, PolynomialLR: {"total_iters": length},
                OneCycleLR: {"total_steps": length, "max_lr": lr}}.get(cls, {})
    result = dict(options)
    for option, default in defaults.items():
        counts_epochs = cls is OneCycleLR and option == "total_steps" and "epochs" in result
        if option not in result and not counts_epochs:
            result[option] = default
    return result


def make_scheduler(spec, optimizer, **options) -> LRScheduler:
    """Build the scheduler ``spec`` names on ``optimizer``.

    ``spec`` is a scheduler class, its name (see ``lr_scheduler.names()``), or a
    ``(spec, options)`` pair. For ``SequentialLR`` and ``ChainedScheduler``, the
    ``schedulers`` option lists member specs (or schedulers already built on
    ``optimizer``).

    >>> import downhill as dh
    >>> from downhill.optim import SGD
    >>> opt = SGD([dh.tensor(1.0, requires_grad=True)], lr=1.0)
    >>> scheduler = make_scheduler(
    ...     "sequential", opt, milestones=[2],
    ...     schedulers=[("linear", {"start_factor": 0.5, "total_iters": 2}), ("cosine", {"T_max": 4})])
    >>> type(scheduler).__name__, scheduler.get_last_lr()
    ('SequentialLR', [0.5])
    """
    if isinstance(spec, tuple):
        if len(spec) != 2 or not isinstance(spec[1], dict):
            raise InputTypeError(f"a (spec, options) pair must be (class or name, dict of options), got {spec!r}")
        spec, pair_options = spec
        options = {**pair_options, **options}
    cls = _scheduler_class(spec)
    if cls in (SequentialLR, ChainedScheduler):
        members = options.pop("schedulers", None)
        if not members:
            raise InputError(f"{cls.__name__} needs schedulers=[...]: a list of scheduler specs or schedulers")
        built = [m if isinstance(m, LRScheduler) else make_scheduler(m, optimizer) for m in members]
        if cls is ChainedScheduler:
            return ChainedScheduler(built, optimizer, **options)
        return SequentialLR(optimizer, built, **options)
    return cls(optimizer, **options)


def lr_sequence(schedule, steps: int, lr: float | None = None, **options) -> np.ndarray:
    """The learning rate of each of ``steps`` steps, as a float64 array.

    ``schedule`` may be:

    * ``None``: the constant ``lr``;
    * a callable ``step -> lr`` (such as :func:`cosine_schedule`);
    * a scheduler class, its name, or a ``(spec, options)`` pair: it is run on a
      stand-in optimizer with learning rate ``lr`` exactly as PyTorch would, one
      ``scheduler.step()`` per optimizer step, so element ``t`` is the rate the
      optimizer uses at step ``t``.

    ``ReduceLROnPlateau`` depends on the losses, so it cannot be listed ahead.

    >>> lr_sequence("step", 5, lr=1.0, step_size=2, gamma=0.5)
    array([1.  , 1.  , 0.5 , 0.5 , 0.25])
    >>> lr_sequence(exponential_schedule(1.0, 0.5), 3)
    array([1.  , 0.5 , 0.25])
    """
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise InputError(f"steps must be a non-negative integer, got {steps!r}")
    if schedule is None:
        if lr is None:
            raise InputError("lr_sequence(None, ...) needs lr: the constant learning rate")
        return np.full(steps, float(lr))
    if callable(schedule) and not isinstance(schedule, type):
        if options:
            raise InputTypeError(
                f"options {sorted(options)} only apply to a scheduler class or name, not to a "
                "callable schedule; put them in the callable instead"
            )
        return np.array([float(schedule(t)) for t in range(steps)], dtype=np.float64)

    spec = schedule
    if isinstance(spec, tuple) and len(spec) == 2:
        spec, spec_options = spec
        options = {**spec_options, **options}
    cls = _scheduler_class(spec)
    if cls is ReduceLROnPlateau:
        raise InputError(
            "ReduceLROnPlateau depends on the loss at each step, so its learning rates cannot be "
            "listed in advance; create it on the optimizer and call scheduler.step(loss) in the loop"
        )
    if lr is None:
        # Schedules that set their own rates (one-cycle, cyclic) need no lr.
        lr = options.get("max_lr", options.get("base_lr", None))
        if isinstance(lr, (list, tuple)):
            lr = lr[0]
        if lr is None:
            raise InputError(f"lr_sequence({cls.__name__}, ...) needs lr: the optimizer's initial learning rate")
    holder = _LearningRateHolder(float(lr))
    scheduler = make_scheduler(cls, holder, **options)
    rates = np.empty(steps, dtype=np.float64)
    for t in range(steps):
        rates[t] = scheduler.get_last_lr()[0]
        if t + 1 < steps:
            scheduler.step()
    if not np.all(np.isfinite(rates)):
        raise InputError(f"this {cls.__name__} schedule gives learning rates that are not finite numbers "
                         f"(the first at step {int(np.argmin(np.isfinite(rates)))}); choose options that keep "
                         "them finite")
    return rates
