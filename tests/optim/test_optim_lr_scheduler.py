"""The learning-rate schedulers against torch.optim.lr_scheduler: the same
sequences (to the last bit), state_dict round trips, resuming, validation.

PyTorch's sequences come from the ``oracle`` fixture: recorded in
tests/oracle/data/test_optim_lr_scheduler.npz (the default run never imports
torch), or computed live under ``pytest -m oracle``."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import downhill as dh
from downhill import optim
from downhill.optim import lr_scheduler as ours_module


def scheduler_module(lib: str):
    if lib == "torch":
        import torch  # only in the live oracle run and the recorder

        return torch.optim.lr_scheduler
    return ours_module


def make_optimizer(lib: str, kind: str = "sgd", groups: int = 2):
    """An optimizer with one or two groups (lrs 0.1 and 0.05)."""
    if lib == "torch":
        import torch

        params = [torch.zeros(2, dtype=torch.float64, requires_grad=True) for _ in range(groups)]
        classes = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adagrad": torch.optim.Adagrad}
    else:
        params = [dh.tensor([0.0, 0.0], requires_grad=True) for _ in range(groups)]
        classes = {"sgd": optim.SGD, "adam": optim.Adam, "adagrad": optim.Adagrad}
    param_groups = [{"params": [params[0]]}] + [{"params": [p], "lr": 0.05} for p in params[1:]]
    options = {"sgd": {"lr": 0.1, "momentum": 0.9}, "adam": {"lr": 0.1}, "adagrad": {"lr": 0.1}}[kind]
    return classes[kind](param_groups, **options)


def build(lib: str, optimizer, spec):
    """Build ``(class name, kwargs)``; nested specs in ``schedulers`` are built first."""
    name, kwargs = spec
    kwargs = dict(kwargs)
    if "schedulers" in kwargs:
        kwargs["schedulers"] = [build(lib, optimizer, s) for s in kwargs["schedulers"]]
    cls = getattr(scheduler_module(lib), name)
    if name == "ChainedScheduler":
        return cls(kwargs.pop("schedulers"), optimizer=optimizer, **kwargs)
    return cls(optimizer, **kwargs)


def snapshot(scheduler, optimizer) -> list[float]:
    row = [float(v) for v in scheduler.get_last_lr()]
    for group in optimizer.param_groups:
        row.append(float(group["lr"]))
        if "betas" in group:
            row.append(float(group["betas"][0]))
        elif "momentum" in group:
            row.append(float(group["momentum"]))
    return row


def record(lib: str, spec, steps: int = 100, kind: str = "sgd", groups: int = 2, metrics=None):
    optimizer = make_optimizer(lib, kind, groups)
    scheduler = build(lib, optimizer, spec)
    rows = []
    for t in range(steps):
        rows.append(snapshot(scheduler, optimizer))
        optimizer.step()
        if metrics is None:
            scheduler.step()
        else:
            scheduler.step(metrics[t])
    return np.array(rows)


def decay(epoch):
    return 0.95**epoch


def slow_decay(epoch):
    return 1.0 / (1.0 + 0.05 * epoch)


def constant_factor(epoch):
    return 0.97


def shrinking_factor(epoch):
    return 1 - 0.001 * epoch


class Warmup:
    """A callable object (its __dict__ is saved by state_dict, unlike a function)."""

    def __init__(self, epochs):
        self.epochs = epochs

    def __call__(self, epoch):
        return min(1.0, (epoch + 1) / self.epochs)


SPECS = [
    ("LambdaLR", {"lr_lambda": decay}),
    ("LambdaLR", {"lr_lambda": [slow_decay, Warmup(10)]}),
    ("MultiplicativeLR", {"lr_lambda": constant_factor}),
    ("MultiplicativeLR", {"lr_lambda": [shrinking_factor, constant_factor]}),
    ("StepLR", {"step_size": 7, "gamma": 0.5}),
    ("StepLR", {"step_size": 1, "gamma": 0.9}),
    ("MultiStepLR", {"milestones": [10, 30, 30, 60], "gamma": 0.3}),
    ("MultiStepLR", {"milestones": [50, 20]}),
    ("ConstantLR", {}),
    ("ConstantLR", {"factor": 0.5, "total_iters": 10}),
    ("LinearLR", {}),
    ("LinearLR", {"start_factor": 0.1, "end_factor": 0.9, "total_iters": 20}),
    ("LinearLR", {"start_factor": 1.0, "end_factor": 0.0, "total_iters": 50}),
    ("ExponentialLR", {"gamma": 0.97}),
    ("PolynomialLR", {}),
    ("PolynomialLR", {"total_iters": 40, "power": 2.0}),
    ("PolynomialLR", {"total_iters": 60, "power": 0.5}),
    ("CosineAnnealingLR", {"T_max": 20}),
    ("CosineAnnealingLR", {"T_max": 30, "eta_min": 0.01}),
    ("CosineAnnealingLR", {"T_max": 100}),
    ("CosineAnnealingWarmRestarts", {"T_0": 10}),
    ("CosineAnnealingWarmRestarts", {"T_0": 5, "T_mult": 2, "eta_min": 1e-3}),
    ("CyclicLR", {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 10}),
    ("CyclicLR", {"base_lr": [0.01, 0.02], "max_lr": 0.1, "step_size_up": 5, "step_size_down": 15, "mode": "triangular2"}),
    ("CyclicLR", {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 8, "mode": "exp_range", "gamma": 0.99}),
    ("CyclicLR", {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 8, "cycle_momentum": False}),
    ("OneCycleLR", {"max_lr": 0.1, "total_steps": 100}),
    ("OneCycleLR", {"max_lr": [0.1, 0.3], "epochs": 10, "steps_per_epoch": 10, "anneal_strategy": "linear", "three_phase": True}),
    ("OneCycleLR", {"max_lr": 0.2, "total_steps": 120, "pct_start": 0.25, "div_factor": 10.0, "cycle_momentum": False}),
    ("SequentialLR", {"schedulers": [("LinearLR", {"start_factor": 0.1, "total_iters": 10}),
                                     ("CosineAnnealingLR", {"T_max": 90})], "milestones": [10]}),
    ("SequentialLR", {"schedulers": [("ConstantLR", {"factor": 0.2, "total_iters": 5}),
                                     ("ExponentialLR", {"gamma": 0.9}),
                                     ("StepLR", {"step_size": 10, "gamma": 0.5})], "milestones": [5, 30]}),
    ("SequentialLR", {"schedulers": [("ExponentialLR", {"gamma": 0.9}),
                                     ("LambdaLR", {"lr_lambda": decay})], "milestones": [20]}),
    ("ChainedScheduler", {"schedulers": [("ConstantLR", {"factor": 0.1, "total_iters": 4}),
                                         ("ExponentialLR", {"gamma": 0.9})]}),
    ("ChainedScheduler", {"schedulers": [("StepLR", {"step_size": 10, "gamma": 0.5}),
                                         ("LinearLR", {"start_factor": 0.5, "total_iters": 15}),
                                         ("CosineAnnealingLR", {"T_max": 25})]}),
]  # fmt: skip
SPEC_IDS = [f"{name}-{i}" for i, (name, _) in enumerate(SPECS)]


@pytest.mark.parametrize(("spec_id", "spec"), list(zip(SPEC_IDS, SPECS)), ids=SPEC_IDS)
def test_sequence_matches_torch(spec_id, spec, oracle):
    ours = record("dh", spec)
    theirs = oracle(f"sequence/{spec_id}", lambda: record("torch", spec))
    # The same formulas in the same order: equal to the last bit.
    np.testing.assert_array_equal(ours, theirs)
    assert len(np.unique(ours[:, 0])) > 1  # the schedule did change the rate


@pytest.mark.parametrize(
    "spec",
    [
        ("CyclicLR", {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 10, "base_momentum": 0.85, "max_momentum": 0.95}),
        ("OneCycleLR", {"max_lr": 0.1, "total_steps": 100, "three_phase": True}),
        ("CosineAnnealingLR", {"T_max": 15}),
    ],
    ids=["cyclic", "one_cycle", "cosine"],
)
def test_sequence_matches_torch_with_adam_betas(spec, oracle):
    # With Adam the momentum that cycles is beta1.
    theirs = oracle(f"adam/{spec[0]}", lambda: record("torch", spec, kind="adam"))
    np.testing.assert_array_equal(record("dh", spec, kind="adam"), theirs)


METRICS = np.round(
    np.concatenate([np.linspace(10, 5, 20), np.full(15, 5.0), np.linspace(5, 4.99, 15), np.full(20, 4.99),
                    5 + np.sin(np.arange(30))]),  # fmt: skip
    6,
)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"patience": 3, "factor": 0.5},
        {"patience": 2, "cooldown": 4, "factor": 0.5, "min_lr": 0.01},
        {"patience": 1, "threshold": 0.01, "threshold_mode": "abs", "min_lr": [0.02, 0.001]},
        {"mode": "max", "patience": 2, "factor": 0.3},
        {"mode": "max", "threshold_mode": "abs", "threshold": 0.5, "patience": 0},
        {"patience": 0, "factor": 0.5, "eps": 0.01},
    ],
)
def test_reduce_on_plateau_matches_torch(kwargs, oracle):
    spec = ("ReduceLROnPlateau", kwargs)
    ours = record("dh", spec, steps=len(METRICS), metrics=METRICS)
    theirs = oracle(f"plateau/{sorted(kwargs.items())}", lambda: record("torch", spec, steps=len(METRICS), metrics=METRICS))
    np.testing.assert_array_equal(ours, theirs)
    assert len(np.unique(ours[:, 0])) > 1


# ----------------------------------------------------------------------
# state_dict round trips
# ----------------------------------------------------------------------


ROUND_TRIP = SPECS + [("ReduceLROnPlateau", {"patience": 2, "cooldown": 3, "factor": 0.5})]


@pytest.mark.parametrize("spec", ROUND_TRIP, ids=[*SPEC_IDS, "ReduceLROnPlateau"])
def test_state_dict_round_trip_continues_the_sequence(spec):
    plateau = spec[0] == "ReduceLROnPlateau"
    metrics = METRICS if plateau else None
    straight = record("dh", spec, steps=100, metrics=metrics)

    optimizer = make_optimizer("dh")
    scheduler = build("dh", optimizer, spec)
    rows = []
    for t in range(37):
        rows.append(snapshot(scheduler, optimizer))
        optimizer.step()
        scheduler.step(*([metrics[t]] if plateau else []))
    saved_optimizer, saved_scheduler = optimizer.state_dict(), scheduler.state_dict()
    assert "optimizer" not in saved_scheduler

    fresh_optimizer = make_optimizer("dh")
    fresh = build("dh", fresh_optimizer, spec)
    fresh_optimizer.load_state_dict(saved_optimizer)
    fresh.load_state_dict(saved_scheduler)
    for t in range(37, 100):
        rows.append(snapshot(fresh, fresh_optimizer))
        fresh_optimizer.step()
        fresh.step(*([metrics[t]] if plateau else []))
    np.testing.assert_array_equal(np.array(rows), straight)


def test_callable_object_lambdas_are_saved_and_functions_are_not():
    optimizer = make_optimizer("dh")
    warmup = Warmup(10)
    scheduler = ours_module.LambdaLR(optimizer, lr_lambda=[decay, warmup])
    saved = scheduler.state_dict()
    assert saved["lr_lambdas"] == [None, {"epochs": 10}]
    other = Warmup(3)
    ours_module.LambdaLR(make_optimizer("dh"), lr_lambda=[decay, other]).load_state_dict(saved)
    assert other.epochs == 10


def public_state(spec) -> dict:
    state = build("torch", make_optimizer("torch"), spec).state_dict()
    return {k: v for k, v in state.items() if not k.startswith("_")}


def test_scheduler_state_dict_matches_torchs_keys(oracle):
    for spec in [("StepLR", {"step_size": 3}), ("CosineAnnealingLR", {"T_max": 10}), ("OneCycleLR", {"max_lr": 0.1, "total_steps": 10})]:
        ours = build("dh", make_optimizer("dh"), spec).state_dict()
        theirs = oracle(f"state_dict/{spec[0]}", lambda: public_state(spec))
        public = set(theirs)
        assert public <= set(ours), spec[0]
        for key in public:
            assert ours[key] == theirs[key], (spec[0], key)


# ----------------------------------------------------------------------
# initial_lr, resuming with last_epoch, step(epoch), get_lr outside step
# ----------------------------------------------------------------------


def test_initial_lr_is_put_in_the_groups():
    optimizer = make_optimizer("dh")
    scheduler = ours_module.ExponentialLR(optimizer, gamma=0.5)
    assert [g["initial_lr"] for g in optimizer.param_groups] == [0.1, 0.05]
    assert scheduler.base_lrs == [0.1, 0.05]
    assert scheduler.last_epoch == 0
    # A second scheduler on the same optimizer keeps the first initial_lr.
    scheduler.step()
    assert ours_module.StepLR(optimizer, step_size=2).base_lrs == [0.1, 0.05]


@pytest.mark.parametrize(
    "spec",
    [("StepLR", {"step_size": 3, "gamma": 0.5}), ("CosineAnnealingLR", {"T_max": 10}),
     ("ExponentialLR", {"gamma": 0.9}), ("LinearLR", {"total_iters": 8}), ("PolynomialLR", {"total_iters": 8}),
     ("MultiStepLR", {"milestones": [2, 6]}), ("ConstantLR", {"total_iters": 6}),
     ("CosineAnnealingWarmRestarts", {"T_0": 4, "T_mult": 2})],
    ids=lambda s: s[0] if isinstance(s, tuple) else str(s),
)  # fmt: skip
def test_resuming_with_last_epoch_matches_torch(spec, oracle):
    def run(lib):
        optimizer = make_optimizer(lib)
        for group in optimizer.param_groups:
            group["initial_lr"] = group["lr"]
        scheduler = build(lib, optimizer, (spec[0], {**spec[1], "last_epoch": 4}))
        rows = []
        for _ in range(20):
            rows.append(snapshot(scheduler, optimizer))
            optimizer.step()
            scheduler.step()
        return np.array(rows)

    np.testing.assert_array_equal(run("dh"), oracle(f"resume/{spec[0]}", lambda: run("torch")))


def test_resuming_without_initial_lr_is_a_key_error():
    with pytest.raises(KeyError, match="initial_lr"):
        ours_module.StepLR(make_optimizer("dh"), step_size=2, last_epoch=3)


@pytest.mark.parametrize(
    "spec",
    [("StepLR", {"step_size": 3, "gamma": 0.5}), ("MultiStepLR", {"milestones": [2, 5]}),
     ("ExponentialLR", {"gamma": 0.9}), ("CosineAnnealingLR", {"T_max": 10}), ("LambdaLR", {"lr_lambda": decay})],
    ids=lambda s: s[0],
)  # fmt: skip
def test_step_with_an_epoch_uses_the_closed_form_like_torch(spec, oracle):
    def run(lib):
        optimizer = make_optimizer(lib)
        scheduler = build(lib, optimizer, spec)
        rows = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            for epoch in [3, 7, 1, 12, 12, 20]:
                optimizer.step()
                scheduler.step(epoch)
                rows.append(snapshot(scheduler, optimizer))
        return np.array(rows)

    np.testing.assert_array_equal(run("dh"), oracle(f"step_epoch/{spec[0]}", lambda: run("torch")))
    with pytest.warns(UserWarning, match="deprecated"):
        build("dh", make_optimizer("dh"), spec).step(2)


def test_cosine_warm_restarts_accepts_fractional_epochs_like_torch(oracle):
    def run(lib):
        optimizer = make_optimizer(lib)
        scheduler = build(lib, optimizer, ("CosineAnnealingWarmRestarts", {"T_0": 3, "T_mult": 2}))
        rows = []
        for epoch in np.arange(0, 20, 0.25):
            optimizer.step()
            scheduler.step(float(epoch))
            rows.append(snapshot(scheduler, optimizer))
        return np.array(rows)

    np.testing.assert_array_equal(run("dh"), oracle("fractional_epochs", lambda: run("torch")))


def test_get_lr_outside_step_warns():
    scheduler = ours_module.StepLR(make_optimizer("dh"), step_size=2)
    with pytest.warns(UserWarning, match="get_last_lr"):
        scheduler.get_lr()


def test_get_last_lr_follows_the_optimizer_groups():
    optimizer = make_optimizer("dh")
    scheduler = ours_module.MultiStepLR(optimizer, milestones=[1], gamma=0.1)
    optimizer.step()
    scheduler.step()
    assert scheduler.get_last_lr() == [g["lr"] for g in optimizer.param_groups]
    assert math.isclose(scheduler.get_last_lr()[0], 0.01)


# ----------------------------------------------------------------------
# validation
# ----------------------------------------------------------------------


def torch_refusal(spec) -> list:
    """[where PyTorch raised ("build" or "step"), the error's class name], or [] when it did not."""
    optimizer = make_optimizer("torch")
    try:
        scheduler = build("torch", optimizer, spec)
    except Exception as error:  # noqa: BLE001 - which error PyTorch raises is the answer
        return ["build", type(error).__name__]
    optimizer.step()
    try:
        scheduler.step()
    except Exception as error:  # noqa: BLE001
        return ["step", type(error).__name__]
    return []


@pytest.mark.parametrize(
    ("spec", "error", "message"),
    [
        (("ConstantLR", {"factor": 1.5}), ValueError, "between 0 and 1"),
        (("LinearLR", {"start_factor": 0.0}), ValueError, "greater than 0"),
        (("LinearLR", {"end_factor": 2.0}), ValueError, "between 0 and 1"),
        (("StepLR", {"step_size": 0}), ValueError, "step_size must be a positive integer"),
        (("CosineAnnealingLR", {"T_max": 0}), ValueError, "T_max"),
        (("CosineAnnealingWarmRestarts", {"T_0": 0}), ValueError, "positive integer T_0"),
        (("CosineAnnealingWarmRestarts", {"T_0": 2, "T_mult": 0}), ValueError, "T_mult >= 1"),
        (("OneCycleLR", {"max_lr": 0.1}), ValueError, "total_steps OR"),
        (("OneCycleLR", {"max_lr": 0.1, "total_steps": 10, "pct_start": 1.5}), ValueError, "pct_start"),
        (("OneCycleLR", {"max_lr": 0.1, "total_steps": 10, "anneal_strategy": "cubic"}), ValueError, "anneal_strategy"),
        (("OneCycleLR", {"max_lr": [0.1, 0.2, 0.3], "total_steps": 10}), ValueError, "same length"),
        (("CyclicLR", {"base_lr": 0.01, "max_lr": 0.1, "mode": "square"}), ValueError, "mode is invalid"),
        (("ReduceLROnPlateau", {"factor": 1.0}), ValueError, "Factor should be < 1.0"),
        (("ReduceLROnPlateau", {"mode": "lowest"}), ValueError, "mode 'lowest' is unknown"),
        (("ReduceLROnPlateau", {"threshold_mode": "pct"}), ValueError, "threshold mode"),
        (("ReduceLROnPlateau", {"min_lr": [0.1]}), ValueError, "expected 2 min_lrs"),
        (("LambdaLR", {"lr_lambda": [decay]}), ValueError, "Expected 2 lr_lambdas"),
        (("SequentialLR", {"schedulers": [("ExponentialLR", {"gamma": 0.9})], "milestones": [3]}), ValueError,
         "one more than the number of milestone"),
        (("SequentialLR", {"schedulers": [], "milestones": []}), ValueError, "at least one scheduler"),
    ],
    ids=lambda v: v[0] if isinstance(v, tuple) else None,
)  # fmt: skip
def test_constructor_validation(spec, error, message, oracle):
    with pytest.raises(error, match=message):
        build("dh", make_optimizer("dh"), spec)
    theirs = oracle(f"refusal/{spec[0]}/{message}", lambda: torch_refusal(spec))
    if spec[0] in ("StepLR", "CosineAnnealingLR"):
        # Stricter than PyTorch, which accepts these and fails with a
        # ZeroDivisionError at the first step().
        assert theirs == ["step", "ZeroDivisionError"]
    else:
        assert theirs[:1] == ["build"]  # PyTorch refuses it too (possibly with another error)


def test_schedulers_need_an_optimizer():
    with pytest.raises(TypeError, match="is not an Optimizer"):
        ours_module.StepLR(object(), step_size=2)


def test_cycling_momentum_needs_an_optimizer_with_momentum():
    with pytest.raises(ValueError, match="momentum or beta1"):
        build("dh", make_optimizer("dh", "adagrad"), ("OneCycleLR", {"max_lr": 0.1, "total_steps": 10}))
    with pytest.raises(ValueError, match="momentum or beta1"):
        build("dh", make_optimizer("dh", "adagrad"), ("CyclicLR", {"base_lr": 0.01, "max_lr": 0.1}))


def test_one_cycle_refuses_to_step_past_the_end():
    optimizer = make_optimizer("dh")
    scheduler = ours_module.OneCycleLR(optimizer, max_lr=0.1, total_steps=5)
    for _ in range(5):
        scheduler.step()
    with pytest.raises(ValueError, match="Tried to step 6 times"):
        scheduler.step()


def test_composites_refuse_plateau_and_foreign_optimizers():
    optimizer, other = make_optimizer("dh"), make_optimizer("dh")
    plateau = ours_module.ReduceLROnPlateau(optimizer)
    with pytest.raises(ValueError, match="does not support `ReduceLROnPlateau`"):
        ours_module.ChainedScheduler([plateau])
    with pytest.raises(ValueError, match="same optimizer"):
        ours_module.SequentialLR(optimizer, [ours_module.StepLR(other, 2), ours_module.StepLR(optimizer, 2)], [3])


def test_reduce_on_plateau_added_group_without_min_lrs_is_a_clear_error():
    optimizer = make_optimizer("dh", groups=1)
    scheduler = ours_module.ReduceLROnPlateau(optimizer, patience=0, min_lr=[0.0])
    optimizer.add_param_group({"params": [dh.tensor([1.0], requires_grad=True)]})
    scheduler.step(1.0)
    with pytest.raises(RuntimeError, match="param groups"):
        scheduler.step(2.0)


def torch_scheduler_names() -> list[str]:
    import torch

    return sorted(name for name in dir(torch.optim.lr_scheduler) if not name.startswith("_"))


def test_registry_names_and_aliases(oracle):
    theirs = oracle("scheduler_names", torch_scheduler_names)
    assert ours_module.get("step") is ours_module.StepLR
    assert ours_module.get("StepLR") is ours_module.StepLR
    assert ours_module.get("one-cycle") is ours_module.OneCycleLR
    assert ours_module.get("ReduceLROnPlateau") is ours_module.ReduceLROnPlateau
    assert set(ours_module.names()) >= {"cosine", "plateau", "sequential"}
    with pytest.raises(ValueError, match="did you mean 'cosine'"):
        ours_module.get("cosin")
    for name in ours_module.names():
        assert issubclass(ours_module.get(name), ours_module.LRScheduler)
        assert ours_module.get(name).__name__ in theirs
