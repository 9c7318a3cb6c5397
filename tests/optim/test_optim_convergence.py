"""Every optimizer gets down the test mountains to their known minima.

Settings are "suitable", not defaults, and say so: the adaptive methods
(Adam, AdamW, RMSprop) hover around a minimum at a distance set by the
learning rate, so they anneal it to zero with a cosine schedule; SGD and
Adagrad (whose steps shrink by themselves) keep it constant. AdamW runs with
weight_decay=0, since decoupled decay moves the minimum towards the origin.
The minima of Himmelblau's function are published to 6 decimals, which is why
the tolerance on the point is 1e-4 and not tighter.
"""

from __future__ import annotations

import numpy as np
import pytest

import downhill as dh
from downhill import optim
from downhill.optim import lr_scheduler, lr_sequence

from .problems import (
    BEALE,
    BOOTH,
    GRID,
    HIMMELBLAU,
    HIMMELBLAU_MINIMA,
    MATYAS,
    PARABOLA,
    ROSENBROCK,
    negated,
    run_functional,
)

# Each climber of Himmelblau starts 20% closer to the origin than its minimum:
# inside that minimum's basin. All four climb at once, as one (4, 2) batch.
HIMMELBLAU_STARTS = [tuple(0.8 * np.array(m)) for m in HIMMELBLAU_MINIMA]
MOUNTAINS = {
    "rosenbrock": (ROSENBROCK, [(-1.5, 2.0)], [(1.0, 1.0)]),
    "booth": (BOOTH, [(-4.0, 5.0)], [(1.0, 3.0)]),
    "matyas": (MATYAS, [(4.0, -3.0)], [(0.0, 0.0)]),
    "beale": (BEALE, [(1.5, 1.5)], [(3.0, 0.5)]),
    "himmelblau": (HIMMELBLAU, HIMMELBLAU_STARTS, HIMMELBLAU_MINIMA),
}

# (optimizer, mountain): (options, steps, cosine-annealed?)
SETTINGS = {
    ("sgd", "rosenbrock"): ({"lr": 1e-3, "momentum": 0.9}, 3000, False),
    ("sgd", "booth"): ({"lr": 0.01, "momentum": 0.9}, 1000, False),
    ("sgd", "matyas"): ({"lr": 0.1, "momentum": 0.9}, 1000, False),
    ("sgd", "beale"): ({"lr": 1e-3, "momentum": 0.9}, 5000, False),
    ("sgd", "himmelblau"): ({"lr": 0.01, "momentum": 0.9}, 1000, False),
    ("adam", "rosenbrock"): ({"lr": 0.1}, 3000, True),
    ("adam", "booth"): ({"lr": 0.1}, 1000, True),
    ("adam", "matyas"): ({"lr": 0.1}, 3000, True),
    ("adam", "beale"): ({"lr": 0.1}, 3000, True),
    ("adam", "himmelblau"): ({"lr": 0.01}, 1000, True),
    ("adamw", "rosenbrock"): ({"lr": 0.1, "weight_decay": 0.0}, 3000, True),
    ("adamw", "booth"): ({"lr": 0.1, "weight_decay": 0.0}, 1000, True),
    ("adamw", "matyas"): ({"lr": 0.1, "weight_decay": 0.0}, 3000, True),
    ("adamw", "beale"): ({"lr": 0.1, "weight_decay": 0.0}, 3000, True),
    ("adamw", "himmelblau"): ({"lr": 0.01, "weight_decay": 0.0}, 1000, True),
    # Plain RMSprop zigzags across Rosenbrock's valley; momentum carries it along.
    ("rmsprop", "rosenbrock"): ({"lr": 0.01, "momentum": 0.9}, 3000, True),
    ("rmsprop", "booth"): ({"lr": 0.01}, 3000, True),
    ("rmsprop", "matyas"): ({"lr": 0.01}, 3000, True),
    ("rmsprop", "beale"): ({"lr": 0.01}, 3000, True),
    ("rmsprop", "himmelblau"): ({"lr": 0.01}, 1000, True),
    # Adagrad's steps shrink fast on Rosenbrock (large early gradients): it needs many.
    ("adagrad", "rosenbrock"): ({"lr": 1.0}, 20000, False),
    ("adagrad", "booth"): ({"lr": 1.0}, 1000, False),
    ("adagrad", "matyas"): ({"lr": 1.0}, 3000, False),
    ("adagrad", "beale"): ({"lr": 1.0}, 3000, False),
    ("adagrad", "himmelblau"): ({"lr": 0.1}, 1000, False),
}


@pytest.mark.parametrize(("name", "mountain_name"), list(SETTINGS), ids=[f"{n}-{m}" for n, m in SETTINGS])
def test_finds_the_known_minimum(name, mountain_name):
    options, steps, anneal = SETTINGS[name, mountain_name]
    mountain, starts, minima = MOUNTAINS[mountain_name]
    lrs = lr_sequence("cosine", steps, lr=options["lr"], T_max=steps) if anneal else None
    path = run_functional(name, options, mountain, starts, steps, lrs=lrs)
    end, minima = path[-1], np.array(minima)
    assert np.all(np.isfinite(path))
    np.testing.assert_allclose(end, minima, rtol=0, atol=1e-4)
    # Each climber is where the slope vanishes, not merely near the published point.
    assert np.max(np.abs(mountain.grad_array(end))) < 1e-3


# The parabola x^2 + 10 y^2: every option set of the trajectory grid gets to
# the bottom (weight decay keeps the minimum at 0 here).
PARABOLA_LR = {"sgd": 0.02, "adam": 0.05, "adamw": 0.05, "rmsprop": 0.01, "adagrad": 2.0}


@pytest.mark.parametrize(("name", "options"), GRID, ids=[f"{n}-{i}" for i, (n, _) in enumerate(GRID)])
def test_every_option_set_converges_on_a_parabola(name, options):
    options = {"lr": PARABOLA_LR[name], **options}
    mountain = negated(PARABOLA) if options.get("maximize") else PARABOLA
    steps = 2000
    path = run_functional(name, options, mountain, (3.0, -2.0), steps, lrs=lr_sequence("cosine", steps, lr=options["lr"], T_max=steps))
    assert np.max(np.abs(path[-1])) < 1e-6


def test_a_batch_of_many_climbers_all_reach_the_bottom():
    # A thousand climbers on the parabola in one array, one update call per step.
    starts = np.random.default_rng(0).uniform(-5, 5, size=(1000, 2))
    path = run_functional("adam", {"lr": 0.05}, PARABOLA, starts, 1000, lrs=lr_sequence("cosine", 1000, lr=0.05, T_max=1000))
    assert path.shape == (1001, 1000, 2)
    assert np.max(np.abs(path[-1])) < 1e-6


@pytest.mark.parametrize("name", optim.names())
def test_class_with_a_scheduler_is_the_pure_function_with_its_lr_sequence(name):
    # Optimizer class + scheduler object (the PyTorch loop) and pure function +
    # lr_sequence (the descend() loop) take the very same steps.
    lr, steps = PARABOLA_LR[name], 1000
    options = {"lr": lr, **({"weight_decay": 0.0} if name == "adamw" else {})}
    p = dh.tensor([3.0, -2.0], requires_grad=True)
    opt = optim.get(name)([p], **options)
    scheduler = lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    path = [p.data.copy()]
    for _ in range(steps):
        opt.zero_grad()
        PARABOLA.f(p[0], p[1]).backward()
        opt.step()
        scheduler.step()
        path.append(p.data.copy())
    pure = run_functional(name, options, PARABOLA, (3.0, -2.0), steps, lrs=lr_sequence("cosine", steps, lr=lr, T_max=steps))
    np.testing.assert_allclose(np.array(path), pure, rtol=1e-12, atol=1e-300)
    assert np.max(np.abs(path[-1])) < 1e-3
