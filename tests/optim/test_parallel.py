"""Sweeps on executors: a ProcessPoolExecutor and a dask.distributed cluster of 2 worker processes.

Every result must equal the serial run's exactly (bit for bit, NaNs in the
same places). The problems are small, so each test takes seconds; the pools
are started once per module.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import pytest

import downhill as dh
from downhill.errors import InputTypeError
from downhill.optim.basins import basins
from downhill.optim.compare import compare_optimizers


def _same(a, b):
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        assert a.shape == b.shape and a.dtype == b.dtype
        assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
    else:
        assert a == b


@pytest.fixture(scope="module")
def process_pool():
    # spawn: fresh interpreters, so everything really travels by pickle.
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        yield pool


@pytest.fixture(scope="module")
def dask_executor():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=50) as cluster, distributed.Client(cluster) as client:
        yield client.get_executor()


@pytest.fixture(params=["process_pool", "dask_executor"])
def executor(request):
    return request.getfixturevalue(request.param)


def sphere_plus(p):
    """A module-level callable: it pickles by reference."""
    return (p * p).sum(axis=-1) + p[..., 0]


def test_lr_sweep_on_an_executor_equals_the_serial_sweep(executor):
    lrs = [1e-4, 1e-3, 0.01, 0.05, 0.12, 0.2, 0.5]
    serial = dh.lr_sweep("booth", [0.0, 0.0], lrs, steps=300)
    spread = dh.lr_sweep("booth", [0.0, 0.0], lrs, steps=300, executor=executor)
    assert spread.rows == serial.rows and spread.best_lr == serial.best_lr
    assert spread.to_dict() == serial.to_dict()
    assert {row.label for row in serial.rows} == {"too small", "good", "too big"}


def test_lr_sweep_with_options_and_a_landscape_object(executor):
    landscape = dh.landscapes.from_expression("x**2 + 10*y**2 + x*y")
    kwargs = dict(optimizer="sgd", momentum=0.9, steps=200)
    serial = dh.lr_sweep(landscape, [1.0, -1.0], [0.001, 0.02, 0.2], **kwargs)
    assert dh.lr_sweep(landscape, [1.0, -1.0], [0.001, 0.02, 0.2], executor=executor, **kwargs).rows == serial.rows


def test_compare_optimizers_on_an_executor_equals_serial(executor):
    contenders = ["sgd", ("momentum", "sgd", {"momentum": 0.9}), "adam", "rmsprop"]
    serial = compare_optimizers("rosenbrock", [-1.5, 2.0], contenders, lrs=[1e-3, 1e-3, 0.05, 0.01], steps=400)
    spread = compare_optimizers("rosenbrock", [-1.5, 2.0], contenders, lrs=[1e-3, 1e-3, 0.05, 0.01], steps=400,
                                executor=executor)
    for a, b in zip(serial, spread):
        assert (a.label, a.optimizer, a.options, a.lr) == (b.label, b.optimizer, b.options, b.lr)
        for name in ("points", "values", "grad_norms", "lrs"):
            _same(getattr(a.trajectory, name), getattr(b.trajectory, name))
        assert a.trajectory.status == b.trajectory.status


def test_basins_on_an_executor_equal_serial_bit_for_bit(executor):
    kwargs = dict(lr=0.01, grid=(37, 29), steps=150)
    serial = basins("himmelblau", **kwargs)
    spread = basins("himmelblau", executor=executor, **kwargs)
    for name in ("xs", "ys", "labels", "final_points", "status", "steps_taken"):
        _same(getattr(serial, name), getattr(spread, name))
    assert serial.counts == spread.counts and serial.to_dict() == spread.to_dict()
    assert sorted(serial.counts) == [-2, 0, 1, 2, 3] or sorted(serial.counts) == [0, 1, 2, 3]


def test_basins_of_a_module_level_callable_with_divergence(executor):
    # lr 0.95 converges (|1 - 2 lr| < 1); lr 1.2 falls off: both maps must travel intact.
    for lr, label in ((0.95, 0), (1.2, -1)):
        kwargs = dict(lr=lr, grid=9, steps=200, domain=((-2, 2), (-2, 2)), minima=[(-0.5, 0.0)])
        serial = basins(sphere_plus, **kwargs)
        spread = basins(sphere_plus, executor=executor, **kwargs)
        assert serial.counts.get(label, 0) >= 80  # (one start sits on the minimum itself)
        _same(serial.labels, spread.labels)
        _same(serial.final_points, spread.final_points)
        _same(serial.steps_taken, spread.steps_taken)


def _range_test_setup():
    from downhill import nn
    from downhill.data import DataLoader, TensorDataset

    X, y = dh.datasets.regression_1d(128, seed=0)
    loader = DataLoader(TensorDataset(X, y), batch_size=16, shuffle=True, seed=0)
    model = nn.Sequential(nn.Linear(1, 8, dtype="float64", generator=0), nn.Tanh(),
                          nn.Linear(8, 1, dtype="float64", generator=1))
    optimizer = dh.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    return model, nn.MSELoss(), optimizer, loader


def test_lr_range_test_on_an_executor_equals_serial(executor):
    from downhill.nn import lr_range_test

    serial = lr_range_test(*_range_test_setup(), num_iter=60)
    model, loss_fn, optimizer, loader = _range_test_setup()
    before = model.state_dict()
    spread = lr_range_test(model, loss_fn, optimizer, loader, num_iter=60, executor=executor)
    for name in ("lrs", "losses", "smoothed"):
        _same(getattr(serial, name), getattr(spread, name))
    assert spread.suggestions == serial.suggestions and spread.stopped_early == serial.stopped_early
    after = model.state_dict()
    assert all(np.array_equal(before[k], after[k]) for k in before)


def test_a_lambda_cannot_travel_to_a_process_pool_and_the_error_says_what_to_pass(process_pool):
    with pytest.raises(InputTypeError, match="by name"):
        dh.lr_sweep(lambda p: (p * p).sum(), [1.0, 1.0], [0.1, 0.2], executor=process_pool)


def test_a_lambda_travels_to_dask(dask_executor):
    bowl = lambda p: (p * p).sum()  # noqa: E731
    serial = dh.lr_sweep(bowl, [1.0, 1.0], [0.1, 0.2, 1.5], steps=50)
    assert dh.lr_sweep(bowl, [1.0, 1.0], [0.1, 0.2, 1.5], steps=50, executor=dask_executor).rows == serial.rows


def test_threads_work_too_and_a_non_executor_is_refused():
    with ThreadPoolExecutor(3) as pool:
        assert dh.lr_sweep("sphere", [1.0, 1.0], [0.01, 0.4], executor=pool).rows == \
            dh.lr_sweep("sphere", [1.0, 1.0], [0.01, 0.4]).rows
    with pytest.raises(InputTypeError, match="concurrent.futures.Executor"):
        dh.lr_sweep("sphere", [1.0, 1.0], [0.1], executor=4)
    with pytest.raises(InputTypeError, match="concurrent.futures.Executor"):
        basins("sphere", grid=3, executor="dask")


def test_progress_changes_nothing_but_the_bar(monkeypatch):
    import io
    import sys

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    screen = Terminal()
    monkeypatch.setattr(sys, "stderr", screen)
    monkeypatch.setenv("DOWNHILL_PROGRESS_DELAY", "0")  # draw at once, however quick the work
    kwargs = dict(lr=0.01, grid=(13, 11), steps=100)
    quiet = basins("himmelblau", **kwargs)
    shown = basins("himmelblau", progress=True, **kwargs)
    _same(quiet.labels, shown.labels)
    _same(quiet.final_points, shown.final_points)
    assert dh.lr_sweep("booth", [0.0, 0.0], [0.01, 0.05], progress=True).rows == \
        dh.lr_sweep("booth", [0.0, 0.0], [0.01, 0.05]).rows
    assert "basins" in screen.getvalue() and "lr_sweep" in screen.getvalue()


def test_every_landscape_travels_by_pickle_with_all_its_fields():
    import pickle

    for name in dh.landscapes.names():
        landscape = dh.landscapes.get(name)
        copy = pickle.loads(pickle.dumps(landscape))
        assert copy == landscape and copy.start == landscape.start and copy.notes == landscape.notes
        point = np.full(len(landscape.variables), 0.3)
        assert np.array_equal(copy(point), landscape(point))
