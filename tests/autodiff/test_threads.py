"""Gradient mode, anomaly mode and the transforms' state are per thread, as in PyTorch."""

from __future__ import annotations

import sys
import threading

import numpy as np
import pytest

import downhill as dh


@pytest.fixture
def busy_switching():
    """Switch threads as often as the interpreter allows, to provoke interleaving."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(previous)


def _train(steps, seed=0):
    """A small model trained by SGD; every step's gradients, as NumPy arrays."""
    rng = np.random.default_rng(seed)
    model = dh.nn.Sequential(dh.nn.Linear(3, 8, generator=seed), dh.nn.Tanh(), dh.nn.Linear(8, 1, generator=seed + 1))
    optimizer = dh.optim.SGD(model.parameters(), lr=0.05)
    X = dh.tensor(rng.normal(size=(16, 3)))
    y = dh.tensor(rng.normal(size=(16, 1)))
    loss_fn = dh.nn.MSELoss()
    history = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = loss_fn(model(X), y) + 1e-3 * sum((p * p).sum() for p in model.parameters())
        loss.backward()
        history.append([p.grad.data.copy() for p in model.parameters()])
        optimizer.step()
    return history


def _toggle_no_grad(stop, counter):
    while not stop.is_set():
        with dh.no_grad():
            counter[0] += 1
            dh.tensor(1.0, requires_grad=True) * 2  # an op inside no_grad, in this thread


def test_training_while_another_thread_toggles_no_grad_matches_a_serial_run(busy_switching):
    serial = _train(200)
    stop, counter = threading.Event(), [0]
    other = threading.Thread(target=_toggle_no_grad, args=(stop, counter))
    other.start()
    try:
        threaded = _train(200)
    finally:
        stop.set()
        other.join()
    assert counter[0] > 200  # the other thread really was switching all along
    for step, (a, b) in enumerate(zip(serial, threaded)):
        for ga, gb in zip(a, b):
            np.testing.assert_array_equal(ga, gb, err_msg=f"step {step}")
    assert dh.is_grad_enabled()


def test_two_threads_training_at_once_both_match_serial(busy_switching):
    serial = [_train(60, seed) for seed in (0, 1)]
    results = [None, None]

    def run(i):
        results[i] = _train(60, i)

    threads = [threading.Thread(target=run, args=(i,)) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for expected, got in zip(serial, results):
        for a, b in zip(expected, got):
            for ga, gb in zip(a, b):
                np.testing.assert_array_equal(ga, gb)


def test_overlapping_no_grad_blocks_in_two_threads_leave_recording_on():
    inside = threading.Barrier(2)
    leave_first = threading.Event()

    def hold():
        with dh.no_grad():
            inside.wait()
            leave_first.wait()

    other = threading.Thread(target=hold)
    other.start()
    with dh.no_grad():
        inside.wait()
        # this thread is inside no_grad, and so is the other
        assert not dh.is_grad_enabled()
    # this thread left first; the other is still inside its block
    x = dh.tensor(2.0, requires_grad=True)
    assert (x * x).requires_grad
    leave_first.set()
    other.join()
    assert dh.is_grad_enabled()
    assert (x * x).requires_grad


def test_no_grad_in_one_thread_does_not_stop_recording_in_another():
    entered, release = threading.Event(), threading.Event()

    def hold():
        with dh.no_grad():
            entered.set()
            release.wait()

    other = threading.Thread(target=hold)
    other.start()
    entered.wait()
    try:
        x = dh.tensor(3.0, requires_grad=True)
        y = x * x
        assert y.requires_grad
        y.backward()
        assert x.grad.item() == 6.0
        with dh.no_grad():
            assert not (x * x).requires_grad
        assert (x * x).requires_grad
    finally:
        release.set()
        other.join()


def test_a_new_thread_starts_recording_even_if_its_parent_is_in_no_grad():
    seen = []
    with dh.no_grad():
        t = threading.Thread(target=lambda: seen.append(dh.is_grad_enabled()))
        t.start()
        t.join()
    assert seen == [True]  # PyTorch's rule too: grad mode is not inherited


def test_descend_and_the_transforms_record_for_themselves_inside_no_grad():
    with dh.no_grad():
        result = dh.descend(lambda p: (p ** 2).sum(), np.array([1.0, 2.0]), lr=0.1, steps=500)
        assert dh.grad(lambda x: x ** 3)(2.0) == 12.0
        assert dh.jvp(lambda x: x ** 2, (3.0,), (1.0,)) == (9.0, 6.0)
        assert not dh.is_grad_enabled()
    assert result.status == "converged"
    assert result.steps_taken > 0
    np.testing.assert_allclose(result.final_point, [0.0, 0.0], atol=1e-8)


def test_anomaly_mode_is_per_thread():
    entered, release = threading.Event(), threading.Event()

    def hold():
        with dh.detect_anomaly():
            entered.set()
            release.wait()

    other = threading.Thread(target=hold)
    other.start()
    entered.wait()
    try:
        with np.errstate(invalid="ignore"):
            value = dh.sqrt(dh.tensor(-1.0, requires_grad=True))  # no error here: not in anomaly mode
        assert np.isnan(value.item())
        with dh.detect_anomaly(), pytest.raises(FloatingPointError):
            dh.sqrt(dh.tensor(-1.0, requires_grad=True))
    finally:
        release.set()
        other.join()


def test_nested_transforms_in_two_threads_keep_their_own_depth(busy_switching):
    f = lambda x: x ** 4  # noqa: E731
    results = {}

    def second(key, x):
        results[key] = [dh.grad(dh.grad(f))(x) for _ in range(50)]

    def first(key, x):
        results[key] = [dh.grad(f)(x) for _ in range(50)]

    threads = [threading.Thread(target=second, args=("second", 2.0)),
               threading.Thread(target=first, args=("first", 2.0))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results["second"] == [48.0] * 50
    assert results["first"] == [32.0] * 50
    assert all(type(v) is float for v in results["first"])  # outside any transform: plain floats


def test_a_thread_that_ends_with_recording_off_does_not_pass_it_on():
    def switch_off_and_end():
        dh.set_grad_enabled(False)
        dh.set_grad_enabled(False)  # twice: still off
        assert not dh.is_grad_enabled()

    for _ in range(20):  # thread ids are reused: a later thread must start recording
        t = threading.Thread(target=switch_off_and_end)
        t.start()
        t.join()
        seen = []
        t = threading.Thread(target=lambda: seen.append((dh.tensor(1.0, requires_grad=True) * 2).requires_grad))
        t.start()
        t.join()
        assert seen == [True]
    from downhill.autodiff.mode import NOT_RECORDING

    assert not NOT_RECORDING
