"""compare_optimizers: a race is exactly its contenders run alone, from the same start.

The reference for each run is ``dh.descend`` called directly with the same
optimizer, options and learning rate; the destinations are the known minima.
"""

from __future__ import annotations

import numpy as np
import pytest

import downhill as dh
from downhill.optim import names as optimizer_names
from downhill.optim.compare import DEFAULT_LRS, Run, compare_optimizers

START = [-1.5, 2.0]


def assert_same_climb(run_trajectory, alone):
    np.testing.assert_array_equal(run_trajectory.points, alone.points)
    np.testing.assert_array_equal(run_trajectory.values, alone.values)
    assert run_trajectory.status == alone.status
    assert run_trajectory.steps_taken == alone.steps_taken


def test_each_run_equals_descend_called_directly():
    contenders = [("sgd", "sgd", {}), ("momentum", "sgd", {"momentum": 0.9}),
                  ("nesterov", "sgd", {"momentum": 0.9, "nesterov": True}), ("adam", "adam", {"betas": (0.8, 0.99)}),
                  ("rmsprop", "rmsprop", {})]
    lrs = [1e-3, 1e-3, 1e-3, 0.05, 0.01]
    runs = compare_optimizers("rosenbrock", START, contenders, lrs=lrs, steps=400)
    assert [r.label for r in runs] == ["sgd", "momentum", "nesterov", "adam", "rmsprop"]
    for run, (label, name, options), lr in zip(runs, contenders, lrs):
        assert isinstance(run, Run)
        assert (run.optimizer, run.options, run.lr) == (name, options, lr)
        assert_same_climb(run.trajectory, dh.descend("rosenbrock", START, optimizer=name, lr=lr, steps=400,
                                                     **options))


def test_names_alone_are_labels_and_get_default_rates():
    runs = compare_optimizers("booth", [0.0, 0.0], list(optimizer_names()), steps=50)
    assert [r.label for r in runs] == [r.optimizer for r in runs] == list(optimizer_names())
    for run in runs:
        assert run.options == {}
        assert run.lr == DEFAULT_LRS[run.optimizer]
        assert_same_climb(run.trajectory, dh.descend("booth", [0.0, 0.0], optimizer=run.optimizer, lr=run.lr,
                                                     steps=50))


def test_one_rate_is_shared_by_every_contender():
    runs = compare_optimizers("booth", [0.0, 0.0], ["sgd", "adam"], lrs=[0.05], steps=30)
    assert [r.lr for r in runs] == [0.05, 0.05]
    assert_same_climb(runs[1].trajectory, dh.descend("booth", [0.0, 0.0], optimizer="adam", lr=0.05, steps=30))
    runs = compare_optimizers("booth", [0.0, 0.0], ["sgd", "adam"], lrs=np.array([0.02, 0.1]), steps=30)
    assert [r.lr for r in runs] == [0.02, 0.1] and all(type(r.lr) is float for r in runs)


def test_the_race_reaches_the_known_minimum():
    runs = compare_optimizers("booth", [0.0, 0.0], ["sgd", "adam"], lrs=[0.05, 0.1], steps=2000)
    for run in runs:
        assert run.trajectory.status == "converged", run.label
        np.testing.assert_allclose(run.trajectory.final_point, [1.0, 3.0], atol=1e-6)


def test_a_diverging_contender_does_not_stop_the_race():
    runs = compare_optimizers("booth", [0.0, 0.0], ["sgd", "sgd"], lrs=[0.5, 0.05], steps=2000)
    assert [r.trajectory.status for r in runs] == ["diverged", "converged"]


def test_steps_and_tol_reach_descend():
    (run,) = compare_optimizers("rosenbrock", START, ["sgd"], lrs=[1e-3], steps=7)
    assert run.trajectory.steps_taken == 7 and run.trajectory.points.shape == (8, 2)
    (loose,) = compare_optimizers("booth", [0.0, 0.0], ["sgd"], lrs=[0.05], steps=2000, tol=1e-2)
    (tight,) = compare_optimizers("booth", [0.0, 0.0], ["sgd"], lrs=[0.05], steps=2000, tol=1e-10)
    assert loose.trajectory.status == tight.trajectory.status == "converged"
    assert loose.trajectory.steps_taken < tight.trajectory.steps_taken
    assert loose.trajectory.final_grad_norm <= 1e-2 and tight.trajectory.final_grad_norm <= 1e-10


def test_the_callers_inputs_are_left_alone():
    start = np.array(START)
    options = {"momentum": 0.9}
    contenders = [("momentum", "sgd", options)]
    (run,) = compare_optimizers("rosenbrock", start, contenders, lrs=[1e-3], steps=20)
    np.testing.assert_array_equal(start, START)
    assert options == {"momentum": 0.9} and run.options == options and run.options is not options


@pytest.mark.parametrize("contenders, lrs, says", [
    ([], None, "at least one contender"),
    (["sgd", "adam"], [0.1, 0.2, 0.3], "one per contender"),
    (["sgd", "adam", "rmsprop"], [0.1, 0.2], r"one per contender \(3\); got 2"),
    (["sgd"], [], "one per contender"),
    (["lbfgs"], None, "lbfgs"),
    (["sgd"], [-0.1], "lr"),
    ([("heavy", "sgd", {"momentum": -1.0})], [0.01], "momentum"),
])
def test_errors(contenders, lrs, says):
    with pytest.raises(ValueError, match=says):
        compare_optimizers("booth", [0.0, 0.0], contenders, lrs=lrs, steps=5)


def test_an_unknown_landscape_is_an_error():
    with pytest.raises(ValueError, match="unknown landscape"):
        compare_optimizers("nowhere", [0.0, 0.0], ["sgd"], steps=5)
