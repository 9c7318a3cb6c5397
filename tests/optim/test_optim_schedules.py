"""Pure schedules (step -> lr), lr_sequence and make_scheduler, against PyTorch's sequences.

PyTorch's sequences come from the ``oracle`` fixture: recorded in
tests/oracle/data/test_optim_schedules.npz, or live under ``pytest -m oracle``."""

from __future__ import annotations

import numpy as np
import pytest

import downhill as dh
from downhill import optim
from downhill.optim import lr_scheduler, lr_sequence, make_scheduler, schedules



def decay(epoch):
    return 0.95**epoch


def constant_factor(epoch):
    return 0.98


def case(cls_name: str, steps: int = 100, **kwargs) -> str:
    """A stable case id: the class, the steps and the arguments (functions by name)."""
    args = ", ".join(f"{k}={getattr(v, '__name__', v)!r}" for k, v in sorted(kwargs.items()))
    return f"{cls_name}/{steps}({args})"


def torch_sequence(cls_name: str, steps: int, lr: float = 0.1, kind: str = "sgd", **kwargs) -> np.ndarray:
    import torch  # only in the live oracle run and the recorder

    p = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([p], lr=lr, momentum=0.9) if kind == "sgd" else torch.optim.Adam([p], lr=lr)
    scheduler = getattr(torch.optim.lr_scheduler, cls_name)(optimizer, **kwargs)
    out = []
    for _ in range(steps):
        out.append(scheduler.get_last_lr()[0])
        optimizer.step()
        scheduler.step()
    return np.array(out)


# (pure schedule, torch scheduler class, shared kwargs)
PAIRS = [
    (schedules.step_schedule, "StepLR", {"step_size": 7, "gamma": 0.5}),
    (schedules.multistep_schedule, "MultiStepLR", {"milestones": [10, 30, 30, 60], "gamma": 0.3}),
    (schedules.exponential_schedule, "ExponentialLR", {"gamma": 0.97}),
    (schedules.linear_schedule, "LinearLR", {"start_factor": 0.1, "end_factor": 0.9, "total_iters": 20}),
    (schedules.linear_schedule, "LinearLR", {}),
    (schedules.constant_factor_schedule, "ConstantLR", {"factor": 0.5, "total_iters": 10}),
    (schedules.polynomial_schedule, "PolynomialLR", {"total_iters": 40, "power": 2.0}),
    (schedules.cosine_schedule, "CosineAnnealingLR", {"T_max": 20}),
    (schedules.cosine_schedule, "CosineAnnealingLR", {"T_max": 30, "eta_min": 0.01}),
    (schedules.cosine_warm_restarts_schedule, "CosineAnnealingWarmRestarts", {"T_0": 10}),
    (schedules.cosine_warm_restarts_schedule, "CosineAnnealingWarmRestarts", {"T_0": 5, "T_mult": 2, "eta_min": 1e-3}),
]


@pytest.mark.parametrize(("schedule", "cls_name", "kwargs"), PAIRS, ids=[f"{c}-{i}" for i, (_, c, _) in enumerate(PAIRS)])
def test_pure_schedule_matches_torch(schedule, cls_name, kwargs, oracle):
    sched = schedule(0.1, **kwargs)
    ours = np.array([sched(t) for t in range(100)])
    theirs = oracle(case(cls_name, **kwargs), lambda: torch_sequence(cls_name, 100, **kwargs))
    # Closed forms against PyTorch's recursive updates: equal to rounding.
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-16)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"step_size_up": 10},
        {"step_size_up": 5, "step_size_down": 15, "mode": "triangular2"},
        {"step_size_up": 8, "mode": "exp_range", "gamma": 0.99},
    ],
)
def test_cyclic_schedule_matches_torch(kwargs, oracle):
    sched = schedules.cyclic_schedule(0.01, 0.1, **kwargs)
    args = {"base_lr": 0.01, "max_lr": 0.1, **kwargs}
    theirs = oracle(case("CyclicLR", **args), lambda: torch_sequence("CyclicLR", 100, **args))
    np.testing.assert_array_equal([sched(t) for t in range(100)], theirs)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"anneal_strategy": "linear", "three_phase": True},
        {"pct_start": 0.25, "div_factor": 10.0, "final_div_factor": 100.0},
    ],
)
def test_one_cycle_schedule_matches_torch(kwargs, oracle):
    sched = schedules.one_cycle_schedule(0.3, total_steps=100, **kwargs)
    args = {"max_lr": 0.3, "total_steps": 100, **kwargs}
    theirs = oracle(case("OneCycleLR", **args), lambda: torch_sequence("OneCycleLR", 100, **args))
    np.testing.assert_array_equal([sched(t) for t in range(100)], theirs)


def test_constant_schedule_and_repr():
    sched = schedules.constant_schedule(0.3)
    assert sched(0) == sched(1000) == 0.3
    assert repr(schedules.cosine_schedule(0.1, T_max=5)) == "cosine_schedule(lr=0.1, T_max=5, eta_min=0.0)"


# ----------------------------------------------------------------------
# lr_sequence
# ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "kwargs"),
    [
        ("StepLR", {"step_size": 7, "gamma": 0.5}),
        ("CosineAnnealingLR", {"T_max": 30}),
        ("CosineAnnealingWarmRestarts", {"T_0": 5, "T_mult": 2}),
        ("LambdaLR", {"lr_lambda": decay}),
        ("MultiplicativeLR", {"lr_lambda": constant_factor}),
        ("PolynomialLR", {"total_iters": 50, "power": 3.0}),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_lr_sequence_of_a_scheduler_is_torchs_sequence(spec, kwargs, oracle):
    theirs = oracle(case(spec, **kwargs), lambda: torch_sequence(spec, 100, **kwargs))
    np.testing.assert_array_equal(lr_sequence(spec, 100, lr=0.1, **kwargs), theirs)
    np.testing.assert_array_equal(lr_sequence(getattr(lr_scheduler, spec), 100, lr=0.1, **kwargs), theirs)
    np.testing.assert_array_equal(lr_sequence((spec, kwargs), 100, lr=0.1), theirs)


def test_lr_sequence_of_short_names(oracle):
    theirs = oracle(case("CosineAnnealingLR", 50, T_max=50), lambda: torch_sequence("CosineAnnealingLR", 50, T_max=50))
    np.testing.assert_array_equal(lr_sequence("cosine", 50, lr=0.1, T_max=50), theirs)


def test_lr_sequence_of_schedules_that_set_their_own_rate(oracle):
    one_cycle = {"max_lr": 0.3, "total_steps": 100}
    theirs = oracle(case("OneCycleLR", **one_cycle), lambda: torch_sequence("OneCycleLR", 100, **one_cycle))
    np.testing.assert_array_equal(lr_sequence("one_cycle", 100, **one_cycle), theirs)
    cyclic = {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 10}
    theirs = oracle(case("CyclicLR", 60, **cyclic), lambda: torch_sequence("CyclicLR", 60, **cyclic))
    np.testing.assert_array_equal(lr_sequence("cyclic", 60, **cyclic), theirs)


def torch_sequential() -> list[float]:
    import torch

    p = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([p], lr=0.1)
    S = torch.optim.lr_scheduler
    scheduler = S.SequentialLR(
        optimizer, [S.LinearLR(optimizer, start_factor=0.1, total_iters=10), S.CosineAnnealingLR(optimizer, T_max=90)], [10]
    )
    theirs = []
    for _ in range(100):
        theirs.append(scheduler.get_last_lr()[0])
        optimizer.step()
        scheduler.step()
    return theirs


def test_lr_sequence_of_a_sequential_spec(oracle):
    members = [("linear", {"start_factor": 0.1, "total_iters": 10}), ("cosine", {"T_max": 90})]
    ours = lr_sequence("sequential", 100, lr=0.1, schedulers=members, milestones=[10])
    np.testing.assert_array_equal(ours, oracle("SequentialLR/linear-cosine", torch_sequential))


def test_lr_sequence_of_a_callable_and_of_none():
    np.testing.assert_array_equal(lr_sequence(lambda t: 1.0 / (t + 1), 4), [1.0, 0.5, 1 / 3, 0.25])
    np.testing.assert_array_equal(lr_sequence(None, 3, lr=0.2), [0.2, 0.2, 0.2])
    sched = schedules.exponential_schedule(0.1, 0.9)
    assert lr_sequence(sched, 10).dtype == np.float64
    assert lr_sequence(sched, 0).shape == (0,)


def test_lr_sequence_errors_say_what_to_do():
    with pytest.raises(ValueError, match="cannot be listed in advance"):
        lr_sequence("plateau", 10, lr=0.1)
    with pytest.raises(ValueError, match="needs lr"):
        lr_sequence("step", 10, step_size=2)
    with pytest.raises(ValueError, match="needs lr"):
        lr_sequence(None, 10)
    with pytest.raises(TypeError, match="only apply to a scheduler class"):
        lr_sequence(lambda t: 0.1, 10, gamma=0.5)
    with pytest.raises(ValueError, match="non-negative integer"):
        lr_sequence("step", -1, lr=0.1, step_size=2)
    with pytest.raises(ValueError, match="unknown learning-rate scheduler"):
        lr_sequence("warp", 10, lr=0.1)
    with pytest.raises(TypeError, match="scheduler spec"):
        lr_sequence(3.5, 10, lr=0.1)


# ----------------------------------------------------------------------
# make_scheduler
# ----------------------------------------------------------------------


def test_make_scheduler_builds_on_the_optimizer():
    x = dh.tensor([1.0], requires_grad=True)
    opt = optim.SGD([x], lr=1.0, momentum=0.9)
    scheduler = make_scheduler("step", opt, step_size=2, gamma=0.5)
    assert isinstance(scheduler, lr_scheduler.StepLR) and scheduler.optimizer is opt

    chained = make_scheduler(
        ("chained", {"schedulers": [("constant", {"factor": 0.5, "total_iters": 2}), lr_scheduler.ExponentialLR(opt, 0.9)]}),
        opt,
    )
    assert isinstance(chained, lr_scheduler.ChainedScheduler)
    with pytest.raises(ValueError, match="needs schedulers"):
        make_scheduler("sequential", opt, milestones=[2])
