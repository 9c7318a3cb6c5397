"""The pure update functions against torch.optim, and their array contract.

Gradients here are analytic (NumPy), so these tests check the optimizers'
mathematics alone, independent of the autodiff engine. PyTorch's runs come
from the ``oracle`` fixture: recorded in tests/oracle/data/test_optim_functional.npz
(the default run never imports torch), or computed live under ``pytest -m oracle``.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from downhill import optim
from downhill.optim import functional as F

from .problems import HIMMELBLAU, ROSENBROCK, grid_cases, run_functional, run_torch, split_options

CASES = list(grid_cases())


@pytest.mark.parametrize(("case", "name", "options", "mountain", "start"), CASES, ids=[c[0] for c in CASES])
def test_trajectory_matches_torch(case, name, options, mountain, start, oracle):
    ours = run_functional(name, options, mountain, start, steps=200)
    theirs = oracle(f"trajectory/{case}", lambda: run_torch(name, options, mountain, start, steps=200))
    assert theirs.dtype == np.float64 and theirs.shape == (201, 2)
    assert np.all(np.isfinite(theirs))
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=0)
    # The run actually went somewhere (a frozen climber would match trivially).
    assert np.linalg.norm(ours[-1] - ours[0]) > 1e-2


@pytest.mark.parametrize(("name", "options", "mountain", "start"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_grid_is_not_chaotic(name, options, mountain, start):
    # The 1e-10 comparison is only meaningful where rounding is not amplified:
    # moving the start by one ulp must move the whole run by less than 1e-12.
    path = run_functional(name, options, mountain, start, steps=200)
    nudged = run_functional(name, options, mountain, (start[0] * (1 + 2**-52), start[1]), steps=200)
    scale = np.abs(path).max(axis=1, keepdims=True)
    assert np.max(np.abs(path - nudged) / scale) < 1e-12


UPDATES = [
    ("sgd", {"lr": 0.01, "momentum": 0.9, "nesterov": True, "weight_decay": 0.1}),
    ("adam", {"lr": 0.01, "amsgrad": True, "weight_decay": 0.1}),
    ("adamw", {"lr": 0.01}),
    ("rmsprop", {"lr": 0.01, "momentum": 0.9, "centered": True, "weight_decay": 0.1}),
    ("adagrad", {"lr": 0.1, "lr_decay": 0.01, "initial_accumulator_value": 0.1, "weight_decay": 0.1}),
]


def _steps(name, options, p, grads):
    """Apply the pure update once per gradient in ``grads``; return the params and states."""
    init, update = optim.get_functional(name).bind(**options)
    state = init(p)
    out = []
    for g in grads:
        p, state = update(p, g, state)
        out.append((p, state))
    return out


@pytest.mark.parametrize(("name", "options"), UPDATES, ids=[u[0] for u in UPDATES])
def test_batch_of_climbers_equals_one_by_one(name, options):
    # A (n, d) batch moves each row exactly as it would move alone.
    rng = np.random.default_rng(0)
    batch = rng.standard_normal((7, 3))
    grads = [rng.standard_normal((7, 3)) for _ in range(5)]
    together = _steps(name, options, batch, grads)[-1][0]
    for row in range(7):
        alone = _steps(name, options, batch[row], [g[row] for g in grads])[-1][0]
        np.testing.assert_array_equal(together[row], alone)


@pytest.mark.parametrize("shape", [(), (4,), (2, 3), (2, 3, 4)])
@pytest.mark.parametrize(("name", "options"), UPDATES, ids=[u[0] for u in UPDATES])
def test_any_shape_gives_arrays_of_that_shape(name, options, shape):
    rng = np.random.default_rng(1)
    p = rng.standard_normal(shape)
    grads = [rng.standard_normal(shape) for _ in range(3)]
    new_p, state = _steps(name, options, p, grads)[-1]
    assert isinstance(new_p, np.ndarray) and new_p.shape == shape
    for value in state:
        if isinstance(value, np.ndarray):
            assert value.shape == shape
        else:
            assert value is None or isinstance(value, int)


@pytest.mark.parametrize(("name", "options"), UPDATES, ids=[u[0] for u in UPDATES])
def test_inputs_are_never_mutated(name, options):
    rng = np.random.default_rng(2)
    init, update = optim.get_functional(name).bind(**options)
    p = rng.standard_normal(5)
    state = init(p)
    for _ in range(2):  # the second call sees a state with every array present
        g = rng.standard_normal(5)
        before = (p.copy(), g.copy(), [v.copy() if isinstance(v, np.ndarray) else v for v in state])
        new_p, new_state = update(p, g, state)
        np.testing.assert_array_equal(p, before[0])
        np.testing.assert_array_equal(g, before[1])
        for value, old in zip(state, before[2]):
            if isinstance(value, np.ndarray):
                np.testing.assert_array_equal(value, old)
        # And the new state shares no memory with the inputs.
        for value in new_state:
            if isinstance(value, np.ndarray):
                assert not np.shares_memory(value, g) and not np.shares_memory(value, p)
        assert not np.shares_memory(new_p, p)
        p, state = new_p, new_state


@pytest.mark.parametrize(("name", "options"), UPDATES, ids=[u[0] for u in UPDATES])
def test_float32_stays_float32(name, options):
    p = np.array([1.0, -2.0], dtype=np.float32)
    new_p, state = _steps(name, options, p, [np.array([0.5, 0.25], dtype=np.float32)] * 2)[-1]
    assert new_p.dtype == np.float32
    assert all(v.dtype == np.float32 for v in state if isinstance(v, np.ndarray))


@pytest.mark.parametrize(("name", "options"), UPDATES, ids=[u[0] for u in UPDATES])
def test_one_learning_rate_per_climber(name, options):
    # lr of shape (n, 1): row i moves as a lone climber with lr[i].
    rng = np.random.default_rng(3)
    batch = rng.standard_normal((4, 2))
    lrs = np.array([[0.001], [0.01], [0.05], [0.1]])
    grads = [rng.standard_normal((4, 2)) for _ in range(4)]
    together = _steps(name, {**options, "lr": lrs}, batch, grads)[-1][0]
    for row in range(4):
        alone = _steps(name, {**options, "lr": float(lrs[row, 0])}, batch[row], [g[row] for g in grads])[-1][0]
        np.testing.assert_allclose(together[row], alone, rtol=1e-15, atol=0)


def test_sgd_momentum_buffer_starts_from_the_first_gradient():
    # PyTorch: the buffer is a copy of the first gradient, not (1 - dampening) * g.
    p, g = np.array([1.0]), np.array([2.0])
    _, state = F.sgd_update(p, g, F.sgd_init(p), lr=0.1, momentum=0.9, dampening=0.5)
    np.testing.assert_array_equal(state.momentum_buffer, g)
    assert not np.shares_memory(state.momentum_buffer, g)


def test_sgd_without_momentum_keeps_no_state():
    p = np.array([1.0])
    new_p, state = F.sgd_update(p, np.array([2.0]), F.sgd_init(p), lr=0.1)
    assert state.momentum_buffer is None
    np.testing.assert_allclose(new_p, [0.8])


ADAM_STATE_KEYS = ("step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq")


def torch_adam_state(options, start, steps):
    """torch.optim.Adam's state after ``steps`` steps on Rosenbrock: {key: numbers}."""
    import torch  # only in the live oracle run and the recorder

    tp = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    topt = torch.optim.Adam([tp], **options)
    for _ in range(steps):
        topt.zero_grad()
        ROSENBROCK.f(tp[0], tp[1]).backward()
        topt.step()
    return {key: topt.state[tp][key].numpy().copy() for key in ADAM_STATE_KEYS}


def test_adam_state_matches_torch_after_steps(oracle):
    # Not only the parameters: the moments and the step count agree too.
    name, options = "adam", {"lr": 0.05, "amsgrad": True, "weight_decay": 0.1}
    init_options, update_options = split_options(name, options)
    p = np.array([-1.5, 2.0])
    state = F.adam_init(p, **init_options)
    for _ in range(20):
        p, state = F.adam_update(p, ROSENBROCK.grad_array(p), state, **update_options)
    torch_state = functools.cache(lambda: torch_adam_state(options, [-1.5, 2.0], 20))
    tstate = {key: oracle(f"adam_state/{key}", lambda key=key: torch_state()[key]) for key in ADAM_STATE_KEYS}
    assert state.step == int(tstate["step"]) == 20
    for key in ADAM_STATE_KEYS[1:]:
        assert tstate[key].shape == (2,) and tstate[key].dtype == np.float64
        np.testing.assert_allclose(getattr(state, key), tstate[key], rtol=1e-12)


def test_maximize_on_minus_f_is_minimize_on_f():
    # Flipping the sign twice is exact, so the two runs are identical.
    from .problems import negated

    up = run_functional("rmsprop", {"lr": 0.01, "maximize": True}, negated(HIMMELBLAU), (0.0, 0.0), 50)
    down = run_functional("rmsprop", {"lr": 0.01}, HIMMELBLAU, (0.0, 0.0), 50)
    np.testing.assert_array_equal(up, down)


def test_adamw_update_is_adam_with_decoupled_decay():
    p, g = np.array([1.0, 2.0]), np.array([0.3, -0.2])
    a = F.adamw_update(p, g, F.adamw_init(p), lr=0.1, weight_decay=0.2)
    b = F.adam_update(p, g, F.adam_init(p), lr=0.1, weight_decay=0.2, decoupled_weight_decay=True)
    np.testing.assert_array_equal(a[0], b[0])


def test_adagrad_init_fills_the_accumulator():
    state = F.adagrad_init(np.zeros((2, 2)), initial_accumulator_value=0.5)
    assert state.step == 0
    np.testing.assert_array_equal(state.sum, np.full((2, 2), 0.5))


def test_rmsprop_buffers_appear_on_the_first_step_that_needs_them():
    plain = F.rmsprop_init(np.zeros(3))
    assert plain.momentum_buffer is None and plain.grad_avg is None
    _, full = F.rmsprop_update(np.zeros(3), np.ones(3), plain, lr=0.1, momentum=0.9, centered=True)
    assert full.momentum_buffer.shape == (3,) and full.grad_avg.shape == (3,)
    _, light = F.rmsprop_update(np.zeros(3), np.ones(3), plain, lr=0.1)
    assert light.momentum_buffer is None and light.grad_avg is None


@pytest.mark.parametrize(("name", "flags"), [
    ("adam", {"amsgrad": True}),
    ("rmsprop", {"momentum": 0.9}),
    ("rmsprop", {"centered": True}),
    ("rmsprop", {"momentum": 0.9, "centered": True}),
])
def test_flags_are_given_once_to_the_update(name, flags, oracle):
    # Issue 9: adam_update(x, g, adam_init(x), amsgrad=True) raised a TypeError,
    # because the flag had to be given to init as well. Now init takes only the
    # parameter, and the run matches PyTorch with the flag set once.
    init, update = getattr(F, f"{name}_init"), getattr(F, f"{name}_update")
    options = {"lr": 0.01, **flags}
    x = np.array([1.5, -0.5])
    state = init(x)
    for _ in range(30):
        x, state = update(x, ROSENBROCK.grad_array(x), state, **options)
    theirs = oracle(f"flags/{name}/{flags}", lambda: run_torch(name, options, ROSENBROCK, (1.5, -0.5), steps=30))
    assert theirs.shape == (31, 2)
    np.testing.assert_allclose(x, theirs[-1], rtol=1e-10)


INPLACE = [(name, options, getattr(F, f"{name}_update_")) for name, options in UPDATES]


@pytest.mark.parametrize(("name", "options", "update_"), INPLACE, ids=[u[0] for u in UPDATES])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_in_place_form_rounds_exactly_as_the_pure_form(name, options, update_, dtype):
    rng = np.random.default_rng(3)
    p0 = rng.standard_normal((4, 5)).astype(dtype)
    grads = [rng.standard_normal((4, 5)).astype(dtype) for _ in range(6)]
    init, update = optim.get_functional(name).bind(**options)
    pure, state = p0, init(p0)
    for g in grads:
        pure, state = update(pure, g, state)
    own = dict(options)
    own.pop("initial_accumulator_value", None)
    param = p0.copy()
    kept = init(param)
    work = F.Scratch(param)
    for g in grads:
        before = g.copy()
        kept = update_(param, g, kept, scratch=work, **own)
        np.testing.assert_array_equal(g, before)  # the gradient is never written to
    assert param.dtype == dtype
    np.testing.assert_array_equal(param, pure)
    for ours, theirs in zip(kept, state):
        np.testing.assert_array_equal(ours, theirs)


def test_pure_form_leaves_its_inputs_alone():
    p, g = np.array([1.0, 2.0]), np.array([0.5, -0.5])
    state = F.adam_init(p)
    _, new = F.adam_update(p, g, state, lr=0.1, amsgrad=True, weight_decay=0.1)
    np.testing.assert_array_equal(p, [1.0, 2.0])
    np.testing.assert_array_equal(state.exp_avg, [0.0, 0.0])
    assert new.exp_avg is not state.exp_avg


