"""descend(): the climber, checked against mathematics and against PyTorch.

References are independent of the code under test: closed forms of gradient
descent on quadratics (sphere, Booth), hand-written gradients, and the same
loop written with torch.optim in float64. Many climbers at once must give,
bit for bit, what each climber gives alone.

PyTorch's climbs come from the ``oracle`` fixture: recorded in
tests/oracle/data/test_descend.npz, or run live under ``pytest -m oracle``.
"""

from __future__ import annotations

import functools
import importlib
import json
import math
import warnings
import zlib

import numpy as np
import pytest

import downhill as dh
from downhill.optim.trajectory import STATUSES

descend_module = importlib.import_module("downhill.optim.descend")

BOOTH_HESSIAN = np.array([[10.0, 8.0], [8.0, 10.0]])
BOOTH_MINIMUM = np.array([1.0, 3.0])


def rosenbrock_np(p):
    x, y = p[..., 0], p[..., 1]
    return 100 * (y - x**2) ** 2 + (1 - x) ** 2


def rosenbrock_grad_np(p):
    x, y = p[..., 0], p[..., 1]
    return np.stack([-400 * x * (y - x**2) - 2 * (1 - x), 200 * (y - x**2)], axis=-1)


def domain_starts(name, n, rng):
    """n random points spread over a landscape's recommended window."""
    landscape = dh.landscapes.get(name)
    low = np.array([d[0] for d in landscape.domain])
    high = np.array([d[1] for d in landscape.domain])
    return rng.uniform(low, high, size=(n, len(low)))


# --------------------------------------------------------------------------
# What a Trajectory holds
# --------------------------------------------------------------------------


def test_a_single_climb_records_every_step():
    t = dh.descend("rosenbrock", [-1.2, 1.0], lr=1e-3, steps=40)
    assert isinstance(t, dh.Trajectory)
    assert t.status == "max_steps" and t.steps_taken == 40 and t.diverged_at is None
    assert t.points.shape == (41, 2)
    assert t.values.shape == t.grad_norms.shape == (41,)
    assert t.lrs.shape == (40,) and np.all(t.lrs == 1e-3)
    np.testing.assert_array_equal(t.points[0], [-1.2, 1.0])
    np.testing.assert_array_equal(t.final_point, t.points[-1])
    assert t.final_value == t.values[-1] and t.final_grad_norm == t.grad_norms[-1]
    # Values and slopes are the mountain's, by hand-written formulas.
    np.testing.assert_allclose(t.values, rosenbrock_np(t.points), rtol=1e-13)
    np.testing.assert_allclose(t.grad_norms, np.linalg.norm(rosenbrock_grad_np(t.points), axis=-1), rtol=1e-12)
    # And each step is plain gradient descent with those slopes.
    np.testing.assert_allclose(t.points[1:], t.points[:-1] - 1e-3 * rosenbrock_grad_np(t.points[:-1]),
                               rtol=1e-13, atol=1e-15)
    assert t.landscape == "rosenbrock" and t.optimizer == "sgd"
    assert t.options["lr"] == 1e-3 and t.options["steps"] == 40


def test_a_name_a_landscape_and_a_callable_climb_alike():
    start = [-1.2, 1.0]
    by_name = dh.descend("rosenbrock", start, lr=1e-3, steps=60)
    by_landscape = dh.descend(dh.landscapes.get("rosenbrock"), start, lr=1e-3, steps=60)
    by_callable = dh.descend(rosenbrock_np, start, lr=1e-3, steps=60)
    np.testing.assert_array_equal(by_name.points, by_landscape.points)
    np.testing.assert_array_equal(by_name.values, by_landscape.values)
    # The engine and the traced program may order the chain rule's sums differently.
    np.testing.assert_allclose(by_callable.points, by_name.points, rtol=1e-12)
    np.testing.assert_allclose(by_callable.values, by_name.values, rtol=1e-12)
    assert by_callable.landscape == "rosenbrock_np"


def test_every_entry_point_reads_a_typed_formula():
    # x**2 + 3y**2 with lr 0.1: each coordinate shrinks by (1 - 2 lr c) per step, c = 1 or 3.
    t = dh.descend("x**2 + 3*y**2", [1.0, 1.0], lr=0.1, steps=5)
    k = np.arange(6)[:, None]
    np.testing.assert_allclose(t.points, np.array([0.8, 0.4]) ** k, rtol=1e-13)
    assert dh.lr_sweep("x**2 + y**2", [1.0, 1.0], [0.1], steps=5).rows[0].status == "max_steps"
    assert dh.lr_advice("x**2 + 3*y**2", [0.0, 0.0]).curvature == pytest.approx(6.0)
    assert dh.viz.inputs.as_landscape("x*y", "mountain").formula == "x*y"


@pytest.mark.parametrize("alias, options", [("momentum", {"momentum": 0.9}),
                                            ("nesterov", {"momentum": 0.9, "nesterov": True})])
def test_descend_takes_the_optimizer_aliases(alias, options):
    by_alias = dh.descend("booth", [0.0, 0.0], optimizer=alias, lr=0.01, steps=30)
    by_options = dh.descend("booth", [0.0, 0.0], optimizer="sgd", lr=0.01, steps=30, **options)
    np.testing.assert_array_equal(by_alias.points, by_options.points)
    assert by_alias.optimizer == "sgd" and by_alias.options["momentum"] == 0.9


# --------------------------------------------------------------------------
# Exact mathematics: gradient descent on quadratics
# --------------------------------------------------------------------------


@pytest.mark.parametrize("lr", [0.05, 0.1, 0.3, 0.45, 0.6, 0.9])
def test_sgd_on_the_sphere_is_the_closed_form(lr):
    # f = |x|^2, gradient 2x: x_t = (1 - 2 lr)^t x_0.
    x0 = np.array([3.0, -4.0])
    t = dh.descend("sphere", x0, lr=lr, steps=1000, tol=1e-8)
    k = np.arange(t.steps_taken + 1)[:, None]
    np.testing.assert_allclose(t.points, (1 - 2 * lr) ** k * x0, rtol=1e-12, atol=1e-300)
    # Converged means: the first slope of length <= tol, and none before.
    assert t.status == "converged"
    assert t.grad_norms[-1] <= 1e-8 < t.grad_norms[:-1].min()
    np.testing.assert_allclose(t.grad_norms, 10 * np.abs(1 - 2 * lr) ** k[:, 0], rtol=1e-12)


@pytest.mark.parametrize(("lr", "factor"), [(0.25, 0.5), (0.75, -0.5), (0.5, 0.0)])
def test_sgd_on_the_sphere_is_exact_when_the_factor_is_a_power_of_two(lr, factor):
    x0 = np.array([3.0, -4.0])
    t = dh.descend("sphere", x0, lr=lr, steps=1000, tol=1e-8)
    # |grad| = 10 |factor|^t <= 1e-8 first at this step (exact powers of two).
    expected_steps = 1 if factor == 0 else next(s for s in range(200) if 10 * abs(factor) ** s <= 1e-8)
    assert (t.status, t.steps_taken) == ("converged", expected_steps)
    k = np.arange(expected_steps + 1)[:, None]
    np.testing.assert_array_equal(t.points, factor**k * x0)


def test_sgd_on_booth_is_the_closed_form():
    # Booth is a quadratic with constant Hessian H: x_t - x* = (I - lr H)^t (x_0 - x*).
    lr, x0 = 0.05, np.array([-4.0, 7.5])
    t = dh.descend("booth", x0, lr=lr, steps=80, tol=0)
    step = np.eye(2) - lr * BOOTH_HESSIAN
    expected = np.array([BOOTH_MINIMUM + np.linalg.matrix_power(step, k) @ (x0 - BOOTH_MINIMUM) for k in range(81)])
    np.testing.assert_allclose(t.points, expected, rtol=1e-11, atol=1e-13)


def test_start_at_the_minimum_or_zero_steps():
    at_bottom = dh.descend("sphere", [0.0, 0.0], lr=0.1)
    assert (at_bottom.status, at_bottom.steps_taken) == ("converged", 0)
    assert at_bottom.points.shape == (1, 2) and at_bottom.lrs.shape == (0,)
    no_steps = dh.descend("sphere", [1.0, 1.0], lr=0.1, steps=0)
    assert (no_steps.status, no_steps.steps_taken) == ("max_steps", 0)
    np.testing.assert_array_equal(no_steps.final_point, [1.0, 1.0])
    assert no_steps.final_value == 2.0


# --------------------------------------------------------------------------
# Falling off the mountain: a result, never an exception or a warning
# --------------------------------------------------------------------------


@pytest.mark.parametrize("max_value", [1e12, 1e3, 77.0])
def test_divergence_on_the_sphere_is_reported_at_the_exact_step(max_value):
    # lr = 1.5: x_t = (-2)^t x_0, f = 5 * 4^t, all exact in floating point.
    t = dh.descend("sphere", [1.0, 2.0], lr=1.5, steps=1000, max_value=max_value)
    expected = next(s for s in range(100) if 5 * 4**s > max_value)
    assert t.status == "diverged"
    assert t.diverged_at == t.steps_taken == expected
    assert t.diverged and not t.converged
    k = np.arange(expected + 1)[:, None]
    np.testing.assert_array_equal(t.points, (-2.0) ** k * np.array([1.0, 2.0]))
    assert t.final_value == 5 * 4**expected
    assert "diverged at step" in t.summary()


def test_overflow_to_infinity_is_divergence_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        t = dh.descend("sphere", [1.0, 2.0], lr=1.5, steps=5000, max_value=np.inf)
    assert t.status == "diverged" and t.diverged_at == t.steps_taken < 5000
    # The value or the slope's squared length overflowed.
    assert not (np.isfinite(t.final_value) and np.isfinite(t.final_grad_norm))
    assert np.all(np.isfinite(t.points))


def test_nan_is_divergence_traced_and_engine_alike():
    # sqrt(x) + y^2 with lr 1: x goes 1 -> 0.5 -> 0.5 - 1/(2 sqrt 0.5) < 0, where sqrt is NaN.
    sqrt_landscape = dh.landscapes.from_expression("sqrt(x) + y**2")

    def sqrt_callable(p):
        return dh.sqrt(p[..., 0]) + p[..., 1] ** 2

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        runs = [dh.descend(f, [1.0, 1.0], lr=1.0, steps=50) for f in (sqrt_landscape, sqrt_callable)]
    for t in runs:
        x = [1.0, 0.5, 0.5 - 0.5 / math.sqrt(0.5)]
        assert t.status == "diverged" and t.diverged_at == 2
        np.testing.assert_allclose(t.points[:, 0], x, rtol=1e-15)
        assert np.isnan(t.final_value) and np.isnan(t.values[-1])
        np.testing.assert_allclose(t.values[:2], [2.0, math.sqrt(0.5) + 1.0], rtol=1e-15)
        json.dumps(t.to_dict(), allow_nan=False)


def test_a_batch_mixing_every_outcome_raises_no_warning():
    # lr = 1.5 on the sphere: x_t = (-2)^t x_0 and f_t = 4^t f_0, exactly.
    starts = np.array([[0.0, 0.0], [1.0, 2.0], [1e-20, 1e-20], [3.0, -4.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        t = dh.descend("sphere", starts, lr=1.5, steps=30, max_value=1e3, tol=0)
    # f_0 = 5: 5 * 4^t > 1e3 first at t = 4; f_0 = 25: first at t = 3;
    # f_0 = 2e-40 stays below 1e3 for 30 steps.
    assert t.status.tolist() == ["converged", "diverged", "max_steps", "diverged"]
    assert t.steps_taken.tolist() == [0, 4, 30, 3]
    assert t.diverged_at.tolist() == [-1, 4, -1, 3]
    assert t.converged.tolist() == [True, False, False, False]
    assert t.diverged.tolist() == [False, True, False, True]
    np.testing.assert_array_equal(t.final_value, [0.0, 5 * 4.0**4, 2e-40 * 4.0**30, 25 * 4.0**3])


# --------------------------------------------------------------------------
# The same loop in PyTorch (float64): every point, every value, every slope
# --------------------------------------------------------------------------

TORCH_OPTIMIZERS = {"sgd": "SGD", "adam": "Adam", "adamw": "AdamW", "rmsprop": "RMSprop", "adagrad": "Adagrad"}

TORCH_CASES = {
    "sgd": ("sgd", 2e-4, {}),
    "momentum": ("sgd", 1e-3, {"momentum": 0.9}),
    "nesterov": ("sgd", 1e-3, {"momentum": 0.9, "nesterov": True}),
    "adam": ("adam", 0.02, {}),
    "adam-amsgrad": ("adam", 0.02, {"amsgrad": True, "betas": (0.8, 0.99)}),
    "adamw": ("adamw", 0.02, {"weight_decay": 0.1}),
    "rmsprop": ("rmsprop", 1e-3, {"momentum": 0.5, "centered": True}),
    "adagrad": ("adagrad", 0.5, {"lr_decay": 0.01}),
}


def decaying(lr):
    return lambda step: lr / (1 + 0.05 * step)


SCHEDULES = {
    "constant": (None, None),
    "step": (("step", {"step_size": 10, "gamma": 0.5}), ("StepLR", {"step_size": 10, "gamma": 0.5})),
    "cosine": (("cosine", {"T_max": 150}), ("CosineAnnealingLR", {"T_max": 150})),
    "callable": ("callable", None),
}


def torch_climb(name, lr, options, start, steps, scheduler=None, lr_of_step=None):
    """Points, values, slope lengths and rates of the same climb in torch.optim."""
    import torch  # only in the live oracle run and the recorder

    x = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    opt = getattr(torch.optim, TORCH_OPTIMIZERS[name])([x], lr=lr, **options)
    sched = None
    if scheduler is not None:
        scheduler_name, scheduler_options = scheduler
        sched = getattr(torch.optim.lr_scheduler, scheduler_name)(opt, **scheduler_options)
    points, values, norms, rates = [x.detach().numpy().copy()], [], [], []
    for t in range(steps + 1):
        opt.zero_grad()
        value = 100 * (x[1] - x[0] ** 2) ** 2 + (1 - x[0]) ** 2
        value.backward()
        values.append(value.item())
        norms.append(torch.linalg.vector_norm(x.grad).item())
        if t == steps:
            break
        if lr_of_step is not None:
            opt.param_groups[0]["lr"] = lr_of_step(t)
        rates.append(opt.param_groups[0]["lr"])
        opt.step()
        if sched is not None:
            sched.step()
        points.append(x.detach().numpy().copy())
    return np.array(points), np.array(values), np.array(norms), np.array(rates)


@pytest.mark.parametrize("schedule", list(SCHEDULES))
@pytest.mark.parametrize("case", list(TORCH_CASES))
def test_descend_on_rosenbrock_matches_torch_optim(case, schedule, oracle):
    name, lr, options = TORCH_CASES[case]
    spec, torch_scheduler = SCHEDULES[schedule]
    lr_of_step = decaying(lr) if spec == "callable" else None
    if spec == "callable":
        spec = lr_of_step
    steps, start = 150, [-1.5, 2.0]
    t = dh.descend("rosenbrock", start, optimizer=name, lr=lr, steps=steps, tol=0, schedule=spec, **options)
    climb = functools.cache(lambda: torch_climb(name, lr, options, start, steps, torch_scheduler, lr_of_step))
    points, values, norms, rates = (
        oracle(f"rosenbrock/{case}/{schedule}/{field}", lambda i=i: climb()[i])
        for i, field in enumerate(["points", "values", "grad_norms", "lrs"])
    )
    assert t.status == "max_steps" and t.points.shape == points.shape
    np.testing.assert_allclose(t.lrs, rates, rtol=1e-13)
    np.testing.assert_allclose(t.points, points, rtol=1e-10)
    np.testing.assert_allclose(t.values, values, rtol=1e-10)
    np.testing.assert_allclose(t.grad_norms, norms, rtol=1e-10)


# --------------------------------------------------------------------------
# Many climbers at once: each exactly as it would be alone
# --------------------------------------------------------------------------


def assert_same_as_alone(batch, f, starts, record=True, **kwargs):
    for i, start in enumerate(starts):
        alone = dh.descend(f, start, record=record, **kwargs)
        k = alone.steps_taken
        assert batch.status[i] == alone.status
        assert batch.steps_taken[i] == k
        assert batch.diverged_at[i] == (-1 if alone.diverged_at is None else alone.diverged_at)
        assert np.array_equal(batch.final_point[i], alone.final_point, equal_nan=True)
        assert np.array_equal(batch.final_value[i], alone.final_value, equal_nan=True)
        assert np.array_equal(batch.final_grad_norm[i], alone.final_grad_norm, equal_nan=True)
        if record:
            assert np.array_equal(batch.points[: k + 1, i], alone.points, equal_nan=True)
            assert np.array_equal(batch.values[: k + 1, i], alone.values, equal_nan=True)
            assert np.array_equal(batch.grad_norms[: k + 1, i], alone.grad_norms, equal_nan=True)
            # A climber that stopped stays where it stopped.
            assert np.array_equal(batch.points[k:, i], np.broadcast_to(alone.points[-1], batch.points[k:, i].shape),
                                  equal_nan=True)


BATCH_RUNS = [
    ("sgd", 1e-3, {}),
    ("sgd", 0.3, {}),  # too big on most mountains: many climbers fall off
    ("sgd", 3.0, {}),  # too big even for the gentle bowls (sphere, Matyas: 2/L = 1, 2)
    ("sgd", 0.01, {"momentum": 0.9, "nesterov": True}),
    ("adam", 0.05, {}),
    ("rmsprop", 0.02, {"momentum": 0.5}),
]


@pytest.mark.parametrize("name", dh.landscapes.names())
def test_many_climbers_are_bit_identical_to_lone_climbers_on_every_landscape(name):
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    landscape = dh.landscapes.get(name)
    minimum = np.array(landscape.minima[0].point)
    starts = np.vstack([domain_starts(name, 8, rng), minimum, minimum + 0.25])
    statuses = set()
    for optimizer, lr, options in BATCH_RUNS:
        kwargs = dict(optimizer=optimizer, lr=lr, steps=120, **options)
        batch = dh.descend(name, starts, **kwargs)
        n = len(starts)
        assert batch.points.shape == (batch.steps_taken.max() + 1, n, 2)
        assert batch.values.shape == batch.grad_norms.shape == (batch.steps_taken.max() + 1, n)
        assert batch.status.shape == batch.steps_taken.shape == batch.diverged_at.shape == (n,)
        assert set(batch.status) <= set(STATUSES)
        assert_same_as_alone(batch, name, starts, **kwargs)
        statuses.update(batch.status.tolist())
    # Easom is bounded (|f| <= 1) and smooth: nothing there can fall off.
    assert len(statuses) >= 2 and ("diverged" in statuses or name == "easom"), statuses


def test_each_climber_stops_on_its_own():
    # Sphere with lr 0.25 halves every coordinate: a climber starting 2^k times
    # farther needs k more steps to converge; a far one at lr 0.25 never diverges.
    starts = np.array([[1.0, 0.0], [8.0, 0.0], [0.0, 0.0], [1024.0, 0.0]])
    t = dh.descend("sphere", starts, lr=0.25, steps=1000, tol=1e-8)
    # |grad| = 2 |x_0| 2^-t <= 1e-8
    expected = [next(s for s in range(200) if 2 * x * 0.5**s <= 1e-8) for x in starts[:, 0]]
    assert t.steps_taken.tolist() == expected
    assert t.status.tolist() == ["converged"] * 4
    assert t.points.shape == (max(expected) + 1, 4, 2)
    assert t.lrs.shape == (max(expected),)


@pytest.mark.parametrize("small", [0, 1000])
def test_the_stopping_test_decides_alike_for_few_and_many_climbers(monkeypatch, small):
    # A few climbers read the step's stopping test as Python numbers, many as
    # NumPy reductions: the same climbers stop at the same step either way,
    # converged (one starts at the bottom), diverged to a huge value, to
    # infinity, to NaN (sqrt of a negative x), or at the last step.
    monkeypatch.setattr(descend_module, "SMALL", small)
    cases = [
        ("sqrt(x) + y**2", [[1.0, 0.0], [4.0, 3.0], [0.01, 0.5], [9.0, 1e-3]], 0.1, 1e12),  # NaN value and slope
        ("sqrt(x) + y**2", [[1.0, 1.0], [9.0, 1e-3]], 1.5, np.inf),
        ("0*log(x) + y**2", [[2.0, 1.0], [-1.0, 1.0]], 0.1, 1e12),  # a NaN value, a finite slope
        ("sqrt(x**2) + y**2", [[1.0, 1.0], [0.0, 1.0]], 0.1, 1e12),  # a finite value, a NaN slope (0/0)
        ("-(x**2) - y**2", [[3.0, 0.0], [0.5, 0.5], [0.0, 0.0]], 0.1, 10.0),  # far below -max_value
        ("x**2 + y**2", [[0.0, 0.0], [1.0, 2.0], [1e5, 1.0]], 1.2, 1e12),  # converged at once; far above
        ("x**2 + y**2", [[0.0, 1e-9], [1.0, 2.0]], 0.25, 1e12),  # converged later; ran out of steps
    ]
    seen = set()
    for formula, starts, lr, max_value in cases:
        landscape = dh.landscapes.from_expression(formula)
        batch = dh.descend(landscape, starts, lr=lr, steps=25, max_value=max_value)
        assert_same_as_alone(batch, landscape, starts, lr=lr, steps=25, max_value=max_value)
        seen.update(zip(batch.status.tolist(), np.isnan(batch.final_value).tolist()))
    assert seen == {("converged", False), ("diverged", False), ("diverged", True), ("max_steps", False)}


TRAJECTORY_FIELDS = ("points", "values", "grad_norms", "lrs", "status", "steps_taken", "diverged_at",
                     "final_point", "final_value", "final_grad_norm", "optimizer", "options", "landscape")


@pytest.mark.parametrize("record", [True, False])
def test_a_batch_of_one_or_two_climbed_one_by_one_is_the_batch_bit_for_bit(monkeypatch, record):
    # One or two climbers climb as lone climbers (cheaper on NumPy scalars);
    # the Trajectory must be the batch path's, field by field, dtypes included.
    monkeypatch.setenv("DOWNHILL_FUSED", "0")  # record=False batches: the NumPy path on both sides
    cases = [
        ("himmelblau", [[0.0, 0.0], [-3.0, 3.0]], {"lr": 1e-3, "steps": 300}),
        ("ackley", [[1.3, -0.7]], {"lr": 1e-2, "steps": 80, "optimizer": "adam"}),
        ("x**2 + y**2", [[0.0, 0.0], [1e5, 1.0]], {"lr": 1.2, "steps": 100}),  # converged at once; diverged
        ("sqrt(x**2) + y**2", [[1.0, 1.0], [0.0, 1.0]], {"lr": 0.1, "steps": 30}),  # a NaN slope
        ("sqrt(x) + y**2", [[4.0, 3.0]], {"lr": 1.5, "steps": 30, "max_value": np.inf}),
        ("rosenbrock", [[-1.5, 2.0], [0.5, 0.5]],
         {"lr": 1e-3, "steps": 60, "optimizer": "sgd", "momentum": 0.9, "schedule": ("step", {"step_size": 10})}),
    ]
    for formula, starts, kwargs in cases:
        monkeypatch.setattr(descend_module, "FEW", 0)
        batch = dh.descend(formula, starts, record=record, **kwargs)
        monkeypatch.setattr(descend_module, "FEW", 2)
        few = dh.descend(formula, starts, record=record, **kwargs)
        for field in TRAJECTORY_FIELDS:
            want, got = getattr(batch, field), getattr(few, field)
            if isinstance(want, np.ndarray):
                assert got.dtype == want.dtype and got.shape == want.shape, (formula, field)
                nan = want.dtype.kind == "f"
                assert np.array_equal(got, want, equal_nan=nan), (formula, field)
            else:
                assert got == want, (formula, field)


@pytest.mark.parametrize("workers", [1, 2])
def test_chunks_and_threads_change_nothing(monkeypatch, workers):
    monkeypatch.setattr(descend_module, "CHUNK", 16)
    monkeypatch.setattr(descend_module, "WORKERS", workers)
    rng = np.random.default_rng(11)
    starts = domain_starts("himmelblau", 53, rng)  # three full chunks and a partial one
    kwargs = dict(optimizer="sgd", lr=0.03, steps=150, momentum=0.5)
    loose = dh.descend("himmelblau", starts, record=False, **kwargs)
    assert loose.points is None and loose.values is None and loose.grad_norms is None
    assert set(loose.status) == {"converged", "diverged", "max_steps"}
    assert_same_as_alone(loose, "himmelblau", starts, record=False, **kwargs)
    recorded = dh.descend("himmelblau", starts, record=True, **kwargs)
    assert_same_as_alone(recorded, "himmelblau", starts, **kwargs)  # the record is kept chunk by chunk too
    for field in ("status", "steps_taken", "diverged_at"):
        assert np.array_equal(getattr(loose, field), getattr(recorded, field)), field
    for field in ("final_point", "final_value", "final_grad_norm"):
        assert np.array_equal(getattr(loose, field), getattr(recorded, field), equal_nan=True), field


def test_chunks_with_a_schedule_and_adam(monkeypatch):
    monkeypatch.setattr(descend_module, "CHUNK", 8)
    monkeypatch.setattr(descend_module, "WORKERS", 2)
    starts = domain_starts("rosenbrock", 30, np.random.default_rng(5))
    kwargs = dict(optimizer="adam", lr=0.05, steps=80, schedule=("step", {"step_size": 10, "gamma": 0.5}))
    batch = dh.descend("rosenbrock", starts, record=False, **kwargs)
    assert_same_as_alone(batch, "rosenbrock", starts, record=False, **kwargs)
    np.testing.assert_array_equal(batch.lrs, 0.05 * 0.5 ** (np.arange(80) // 10))


@pytest.mark.parametrize(("formula", "start"), [
    ("x**4 - 3*x**2 + x", [[-2.0], [0.1], [1.5], [40.0]]),
    ("(x - 1)**2 + 3*(y + z)**2 + x*y*z/10 + sqrt(1 + z**2)", [[1.0, 2.0, -0.5], [3.0, -1.0, 0.25], [0.0, 0.0, 0.0]]),
])
@pytest.mark.parametrize(("optimizer", "options"), [
    ("sgd", {"lr": 0.02, "momentum": 0.9, "weight_decay": 0.01}),
    ("sgd", {"lr": 0.01, "maximize": True}),
    ("adagrad", {"lr": 0.3}),
    ("adamw", {"lr": 0.05, "amsgrad": True}),
    ("rmsprop", {"lr": 0.01, "centered": True}),
])
def test_the_buffered_path_matches_lone_climbers_in_one_and_three_dimensions(monkeypatch, formula, start, optimizer,
                                                                           options):
    # The plain chunk must not run: this checks the path with kept buffers.
    monkeypatch.setattr(descend_module, "_climb_chunk", None)
    monkeypatch.setattr(descend_module, "CHUNK", 2)
    monkeypatch.setenv("DOWNHILL_FUSED", "0")
    starts = np.array(start)
    kwargs = dict(optimizer=optimizer, steps=60, **options)
    for record in (True, False):
        batch = dh.descend(formula, starts, record=record, **kwargs)
        assert_same_as_alone(batch, formula, starts, record=record, **kwargs)


def test_an_empty_batch_is_an_empty_result():
    for record in (True, False):
        t = dh.descend("sphere", np.zeros((0, 2)), steps=5, record=record)
        assert t.status.shape == (0,) and t.final_point.shape == (0, 2)


# --------------------------------------------------------------------------
# record=False
# --------------------------------------------------------------------------


def test_record_false_keeps_only_the_end():
    full = dh.descend("beale", [1.0, 1.0], optimizer="adam", lr=0.05, steps=300)
    bare = dh.descend("beale", [1.0, 1.0], optimizer="adam", lr=0.05, steps=300, record=False)
    assert bare.points is None and bare.values is None and bare.grad_norms is None
    assert (bare.status, bare.steps_taken, bare.diverged_at) == (full.status, full.steps_taken, full.diverged_at)
    np.testing.assert_array_equal(bare.final_point, full.final_point)
    assert bare.final_value == full.final_value and bare.final_grad_norm == full.final_grad_norm
    np.testing.assert_array_equal(bare.lrs, full.lrs)


# --------------------------------------------------------------------------
# A function the user wrote (the ordinary engine, not the tracer)
# --------------------------------------------------------------------------


def test_a_user_callable_sees_points_and_batches():
    shapes = []

    def bowl(p):
        shapes.append(p.shape)
        assert isinstance(p, dh.Tensor)
        return (p**2).sum(-1)

    single = dh.descend(bowl, [1.3, -0.7], lr=0.1, steps=50)
    assert set(shapes) == {(2,)}
    shapes.clear()
    starts = np.array([[1.3, -0.7], [2.0, 5.0], [0.0, 0.0]])
    batch = dh.descend(bowl, starts, lr=0.1, steps=50)
    assert set(shapes) <= {(3, 2), (2, 2)} and (3, 2) in shapes
    # The traced landscape with the same formula gives the very same climb.
    traced = dh.descend("sphere", [1.3, -0.7], lr=0.1, steps=50)
    np.testing.assert_array_equal(single.points, traced.points)
    np.testing.assert_array_equal(single.values, traced.values)
    np.testing.assert_array_equal(single.grad_norms, traced.grad_norms)
    traced_batch = dh.descend("sphere", starts, lr=0.1, steps=50)
    np.testing.assert_array_equal(batch.points, traced_batch.points)
    assert batch.status.tolist() == traced_batch.status.tolist()
    assert_same_as_alone(batch, bowl, starts, lr=0.1, steps=50)


def test_a_user_callable_in_three_dimensions():
    # f = sum_i (i+1) x_i^2, minimum at 0; with lr 0.1 each coordinate shrinks by 1 - 0.2 (i+1).
    weights = np.array([1.0, 2.0, 3.0])

    def valley(p):
        return (dh.tensor(weights) * p**2).sum(-1)

    t = dh.descend(valley, [1.0, 1.0, 1.0], lr=0.1, steps=30, tol=0)
    k = np.arange(31)[:, None]
    np.testing.assert_allclose(t.points, (1 - 0.2 * weights) ** k, rtol=1e-12, atol=1e-300)


def test_a_where_landscape_falls_back_to_the_engine():
    # relu's branch cannot be baked into a traced program; descend must still be right.
    ramp = dh.landscapes.from_expression("relu(x) + y**2")
    t = dh.descend(ramp, [-2.0, 1.0], lr=0.1, steps=5, tol=0)
    np.testing.assert_allclose(t.points[:, 0], -2.0)  # flat in x where x < 0
    np.testing.assert_allclose(t.points[:, 1], 0.8 ** np.arange(6), rtol=1e-14)
    np.testing.assert_allclose(t.values, ramp(t.points), rtol=1e-14)
    right = dh.descend(ramp, [2.0, 1.0], lr=0.1, steps=5, tol=0)
    np.testing.assert_allclose(right.points[:, 0], 2.0 - 0.1 * np.arange(6), rtol=1e-14)


# --------------------------------------------------------------------------
# Bad input: clear errors
# --------------------------------------------------------------------------


def test_unknown_landscape_lists_the_names():
    with pytest.raises(ValueError) as error:
        dh.descend("no_such_mountain", [0.0, 0.0])
    for name in ("sphere", "rosenbrock", "himmelblau"):
        assert name in str(error.value)


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"start": [0.0, 0.0, 0.0]}, ValueError, "variable"),
        ({"start": [[0.0, 0.0, 0.0]]}, ValueError, "variable"),
        ({"start": np.zeros((2, 2, 2))}, ValueError, "shape"),
        ({"start": [np.nan, 0.0]}, ValueError, "finite"),
        ({"steps": -1}, ValueError, "steps"),
        ({"steps": 2.5}, ValueError, "steps"),
        ({"lr": -0.1}, ValueError, "lr"),
        ({"lr": np.nan}, ValueError, "lr"),
        ({"tol": -1.0}, ValueError, "tol"),
        ({"max_value": 0.0}, ValueError, "max_value"),
        ({"optimizer": "adamm"}, ValueError, "adam"),
        ({"optimizer": "adam", "momentum": 0.9}, TypeError, "momentum"),
        ({"optimizer": "sgd", "nesterov": True}, ValueError, "Nesterov"),
    ],
)
def test_bad_settings_raise_clear_errors(kwargs, error, words):
    kwargs = {"start": [1.0, 1.0], **kwargs}
    start = kwargs.pop("start")
    with pytest.raises(error, match=words):
        dh.descend("sphere", start, **kwargs)


def test_bad_functions_raise_clear_errors():
    with pytest.raises(TypeError, match="landscape name"):
        dh.descend(42, [0.0, 0.0])
    with pytest.raises(ValueError, match="one number per point"):
        dh.descend(lambda p: p**2, [1.0, 2.0])


# --------------------------------------------------------------------------
# Every optimizer finds the known minima
# --------------------------------------------------------------------------

HIMMELBLAU_MINIMA = np.array([m.point for m in dh.landscapes.get("himmelblau").minima])
MOUNTAINS = {
    "rosenbrock": ([-1.5, 2.0], [1.0, 1.0]),
    "booth": ([-4.0, 5.0], [1.0, 3.0]),
    "matyas": ([4.0, -3.0], [0.0, 0.0]),
    "beale": ([1.5, 1.5], [3.0, 0.5]),
    # Each climber starts 20% closer to the origin than its minimum: inside its basin.
    "himmelblau": (0.8 * HIMMELBLAU_MINIMA, HIMMELBLAU_MINIMA),
}
OPTIMIZERS = {
    "sgd": ("sgd", {}),
    "momentum": ("sgd", {"momentum": 0.9}),
    "nesterov": ("sgd", {"momentum": 0.9, "nesterov": True}),
    "adam": ("adam", {}),
    "adamw": ("adamw", {"weight_decay": 0.0}),  # decoupled decay would move the minimum
    "rmsprop": ("rmsprop", {}),
    "adagrad": ("adagrad", {}),
}
# Learning rates per (optimizer, mountain). Adam, AdamW and RMSprop hover at a
# distance set by the rate, so they anneal it (cosine over the run).
LEARNING_RATES = {
    "sgd": {"rosenbrock": 1.5e-3, "booth": 0.05, "matyas": 1.0, "beale": 0.01, "himmelblau": 0.01},
    "momentum": {"rosenbrock": 1e-3, "booth": 0.01, "matyas": 0.1, "beale": 1e-3, "himmelblau": 0.01},
    "nesterov": {"rosenbrock": 1e-3, "booth": 0.01, "matyas": 0.1, "beale": 1e-3, "himmelblau": 0.01},
    "adam": {"rosenbrock": 0.1, "booth": 0.1, "matyas": 0.1, "beale": 0.1, "himmelblau": 0.01},
    "adamw": {"rosenbrock": 0.1, "booth": 0.1, "matyas": 0.1, "beale": 0.1, "himmelblau": 0.01},
    "rmsprop": {"rosenbrock": 0.01, "booth": 0.01, "matyas": 0.01, "beale": 0.01, "himmelblau": 0.01},
    "adagrad": {"rosenbrock": 1.0, "booth": 1.0, "matyas": 1.0, "beale": 1.0, "himmelblau": 0.1},
}
STEPS = 20000


@pytest.mark.parametrize("mountain", list(MOUNTAINS))
@pytest.mark.parametrize("key", list(OPTIMIZERS))
def test_every_optimizer_finds_the_known_minimum(key, mountain):
    optimizer, options = OPTIMIZERS[key]
    options = dict(options)
    if key == "rmsprop" and mountain == "rosenbrock":
        options["momentum"] = 0.9  # plain RMSprop zigzags across the curved valley
    start, minimum = (np.asarray(a, dtype=np.float64) for a in MOUNTAINS[mountain])
    anneal = optimizer in ("adam", "adamw", "rmsprop")
    t = dh.descend(mountain, start, optimizer=optimizer, lr=LEARNING_RATES[key][mountain], steps=STEPS,
                   tol=1e-9, schedule=("cosine", {"T_max": STEPS}) if anneal else None, record=False, **options)
    np.testing.assert_allclose(t.final_point, minimum, rtol=0, atol=1e-4)
    assert not np.any(t.diverged)
    assert np.all(np.asarray(t.final_grad_norm) < 1e-3)


@pytest.mark.parametrize("key", list(OPTIMIZERS))
def test_every_optimizer_converges_on_the_sphere(key):
    optimizer, options = OPTIMIZERS[key]
    lr = {"sgd": 0.1, "adagrad": 1.0}.get(optimizer, 0.05)
    steps = 5000
    anneal = optimizer in ("adam", "adamw", "rmsprop")
    t = dh.descend("sphere", [3.0, -4.0], optimizer=optimizer, lr=lr, steps=steps, tol=1e-8,
                   schedule=("cosine", {"T_max": steps}) if anneal else None, **options)
    assert t.status == "converged", t.summary()
    assert t.grad_norms[-1] <= 1e-8 and np.max(np.abs(t.final_point)) <= 1e-8


def test_a_formula_that_divides_by_zero_falls_off_instead_of_raising():
    # The traced program seeds the chain rule with a NumPy number: 1/0 is inf there, as on the engine.
    t = dh.descend("x/0", [1.0], lr=0.1, steps=10)
    assert t.status == "diverged" and t.diverged_at == 0
    batch = dh.descend("x/0 + y", [[1.0, 1.0], [2.0, 0.0]], lr=0.1, steps=10)
    assert (np.asarray(batch.status) == "diverged").all()


@pytest.mark.parametrize("shape", [(2,), (1, 2), (2, 2), (40, 2)])
def test_the_callers_starts_are_neither_changed_nor_kept(shape):
    # descend reads a float64 array in place (no copy for the fused kernel); the
    # other paths copy it, so the caller's array and the record never share memory.
    given = np.full(shape, 0.5)
    t = dh.descend("booth", given, lr=0.01, steps=5)
    assert (given == 0.5).all()
    first = t.points[0].copy()
    given[...] = 9.0
    np.testing.assert_array_equal(t.points[0], first)
