"""The LR range test: exponential sweep, smoothing, early stop, exact restore, suggestions."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest

import downhill as dh
from downhill import nn
from downhill.data import DataLoader, TensorDataset
from downhill.datasets import blobs, regression_1d
from downhill.nn.lr_range import LRRangeTestResult, lr_range_test, minimum, steep, suggest, valley
from downhill.nn.training import fit


def regression_setup(dtype="float64", optimizer="sgd", warm_steps=0):
    X, y = regression_1d(256, seed=0)
    loader = DataLoader(TensorDataset(X.astype(dtype), y.astype(dtype)), batch_size=32, shuffle=True, seed=0)
    nn.manual_seed(0)
    model = nn.Sequential(nn.Linear(1, 16, dtype=dtype), nn.Tanh(), nn.Dropout(0.1), nn.Linear(16, 1, dtype=dtype))
    if optimizer == "sgd":
        opt = dh.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    else:
        opt = dh.optim.Adam(model.parameters(), lr=0.01)
    if warm_steps:
        fit(model, nn.MSELoss(), opt, loader, epochs=warm_steps, metrics=(), progress=False)
    return model, opt, loader


def snapshot(model, opt, loader):
    return ({k: v.data.tobytes() for k, v in model.state_dict().items()},
            copy.deepcopy(opt.state_dict()), loader.state_dict(), model.training)


def assert_same_state(a, b):
    weights_a, opt_a, loader_a, mode_a = a
    weights_b, opt_b, loader_b, mode_b = b
    assert weights_a == weights_b
    assert loader_a == loader_b and mode_a == mode_b
    assert opt_a["param_groups"] == opt_b["param_groups"]
    assert opt_a["state"].keys() == opt_b["state"].keys()
    for key, values in opt_a["state"].items():
        assert values.keys() == opt_b["state"][key].keys()
        for name, value in values.items():
            other = opt_b["state"][key][name]
            if isinstance(value, np.ndarray):
                assert value.dtype == other.dtype and value.tobytes() == other.tobytes()
            else:
                assert value == other and type(value) is type(other)


@pytest.mark.parametrize("dtype, optimizer", [("float64", "sgd"), ("float32", "adam")])
def test_restores_weights_optimizer_and_loader_exactly(dtype, optimizer):
    model, opt, loader = regression_setup(dtype, optimizer, warm_steps=2)
    model.eval()
    before = snapshot(model, opt, loader)
    result = lr_range_test(model, nn.MSELoss(), opt, loader, num_iter=60)
    assert len(result.lrs) > 10
    assert_same_state(before, snapshot(model, opt, loader))
    assert all(p.grad is None for p in model.parameters())
    # The optimizer still works, from where it was.
    fit(model, nn.MSELoss(), opt, loader, epochs=1, metrics=(), progress=False)


def test_restores_even_when_the_loss_function_fails():
    model, opt, loader = regression_setup(warm_steps=1)
    before = snapshot(model, opt, loader)
    calls = []

    def flaky_loss(output, target):
        calls.append(1)
        if len(calls) == 5:
            raise RuntimeError("boom")
        return ((output - target) ** 2).mean()

    with pytest.raises(RuntimeError, match="boom"):
        lr_range_test(model, flaky_loss, opt, loader, num_iter=20)
    assert_same_state(before, snapshot(model, opt, loader))


def test_exponential_schedule_and_smoothing():
    model, opt, loader = regression_setup()
    result = lr_range_test(model, nn.MSELoss(), opt, loader, start_lr=1e-6, end_lr=1e-3, num_iter=30)
    assert not result.stopped_early and len(result.lrs) == 30  # loader cycled: 8 batches per epoch
    np.testing.assert_allclose(result.lrs, np.logspace(-6, -3, 30), rtol=1e-12)
    assert result.lrs[0] == 1e-6
    # Bias-corrected EMA of the raw losses.
    average, expected = 0.0, []
    for i, loss in enumerate(result.losses):
        average = 0.98 * average + 0.02 * loss
        expected.append(average / (1 - 0.98 ** (i + 1)))
    np.testing.assert_allclose(result.smoothed, expected, rtol=1e-12)
    assert result.smoothed[0] == pytest.approx(result.losses[0], rel=1e-14)
    assert result.best_loss == pytest.approx(min(expected))


def test_stops_early_when_the_loss_diverges():
    model, opt, loader = regression_setup()
    result = lr_range_test(model, nn.MSELoss(), opt, loader, num_iter=100, diverge=4.0)
    assert result.stopped_early
    assert len(result.lrs) < 100
    assert result.smoothed[-1] > 4.0 * result.best_loss
    assert np.all(result.smoothed[:-1] <= 4.0 * result.best_loss)
    assert result.lrs[-1] < 10
    data = result.to_dict()
    assert data["stopped_early"] is True and len(data["lrs"]) == len(result.lrs)
    assert data["suggestion"] == result.suggestions["valley"]
    assert "stopped early" in str(result)


def test_stops_at_a_non_finite_loss_without_warnings():
    X, y = regression_1d(64, seed=0)
    loader = DataLoader(TensorDataset(X * 1e3, y), batch_size=64)
    nn.manual_seed(0)
    model = nn.Sequential(nn.Linear(1, 8, dtype="float64"), nn.ReLU(), nn.Linear(8, 1, dtype="float64"))
    opt = dh.optim.SGD(model.parameters(), lr=0.1)
    before = snapshot(model, opt, loader)
    result = lr_range_test(model, nn.MSELoss(), opt, loader, start_lr=1e-9, end_lr=1e10, num_iter=60,
                           diverge=1e300)
    assert result.stopped_early and not math.isfinite(result.losses[-1])
    assert math.isnan(result.smoothed[-1])
    assert_same_state(before, snapshot(model, opt, loader))
    assert None in result.to_dict()["smoothed"]


def test_suggestion_trains_well():
    X, y = blobs(300, centers=3, cluster_std=1.5, seed=1)
    loader = DataLoader(TensorDataset(X, y), batch_size=32, shuffle=True, seed=0)
    nn.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 16, dtype="float64"), nn.ReLU(), nn.Linear(16, 3, dtype="float64"))
    opt = dh.optim.SGD(model.parameters(), lr=1e-5)
    result = lr_range_test(model, nn.CrossEntropyLoss(), opt, loader, end_lr=100)
    lr = result.suggestion
    assert 1e-3 < lr < 10
    for group in opt.param_groups:
        group["lr"] = lr
    history = fit(model, nn.CrossEntropyLoss(), opt, loader, epochs=5, progress=False)
    assert history["train_accuracy"][-1] > 0.9


# ---------------------------------------------------------------- suggestion rules on synthetic curves


def synthetic_curve(n=100):
    """Flat at 2.3 for small rates, a fall centred at lr = 1e-3, a blow-up past 1e-1."""
    lrs = np.logspace(-7, 1, n)
    x = np.log10(lrs)
    losses = 0.3 + 2.0 / (1 + np.exp(3.0 * (x + 3)))
    losses = np.where(x > -1, losses + 5 * (x + 1) ** 2, losses)
    return lrs, losses


def test_suggestions_on_a_synthetic_curve():
    lrs, losses = synthetic_curve()
    rates = suggest(lrs, losses, num_iter=100)
    # steep: where the fall is fastest, at lr = 1e-3
    assert rates["steep"] == pytest.approx(1e-3, rel=0.25)
    # valley: inside the descent, before the bottom
    assert 1e-4 < rates["valley"] < 1e-1
    bottom = lrs[np.argmin(losses)]
    assert rates["valley"] < bottom
    assert rates["minimum"] == pytest.approx(bottom / 10)


def test_valley_rule_details():
    # A strictly decreasing run of 7 points (indices 1..7) then a rise.
    losses = [2.0, 2.0, 1.9, 1.6, 1.2, 0.8, 0.5, 0.4, 0.45, 1.5, 4.0]
    lrs = np.logspace(-5, 0, len(losses))
    # start 1, end 7, s = 2: 1 + 2 + 1
    assert valley(lrs, losses) == 4
    assert valley(lrs[:3], [3.0, 2.0, 1.0]) == 0  # start 0, end 2, s = 2/3: 0 + 0 + 0
    assert valley(lrs[:7], [6.0, 5.0, 4.0, 3.0, 2.0, 1.0, 0.5]) == 3  # s = 2: 0 + 2 + 1
    assert valley(lrs[:1], [1.0]) == 0
    # Noise that is not a valley does not fool it: a long gentle slope beats a short steep drop.
    noisy = [5.0, 1.0, 4.9, 4.8, 4.7, 4.6, 4.5, 4.4, 4.3, 4.2]
    assert valley(np.logspace(-5, 0, 10), noisy) >= 2


def test_steep_and_minimum_rules():
    lrs = np.logspace(-4, 0, 5)
    assert steep(lrs, [2.0, 1.9, 1.0, 0.8, 3.0]) == 1
    assert minimum(lrs, [2.0, 1.9, 1.0, 0.8, 3.0]) == 3
    with pytest.raises(ValueError):
        steep(lrs[:1], [1.0])


def test_suggest_trims_and_cuts_at_nan():
    lrs, losses = synthetic_curve()
    losses = losses.copy()
    losses[60:] = np.nan
    rates = suggest(lrs, losses, num_iter=100)
    assert all(rate is not None and rate < lrs[60] for rate in rates.values())
    assert suggest(lrs[:12], losses[:12], num_iter=100) == {"valley": None, "steep": None, "minimum": None}


def test_too_few_points_warns_and_gives_none():
    model, opt, loader = regression_setup()
    with pytest.warns(UserWarning, match="too few"):
        result = lr_range_test(model, nn.MSELoss(), opt, loader, start_lr=1e-1, end_lr=1e6, num_iter=100)
    assert result.suggestion is None


@pytest.mark.parametrize("kwargs, message", [
    ({"start_lr": 1.0, "end_lr": 0.1}, "start_lr"),
    ({"num_iter": 5}, "num_iter"),
    ({"smooth": 1.0}, "smooth"),
    ({"diverge": 1.0}, "diverge"),
])
def test_bad_arguments(kwargs, message):
    model, opt, loader = regression_setup()
    with pytest.raises(ValueError, match=message):
        lr_range_test(model, nn.MSELoss(), opt, loader, **kwargs)


def test_result_type():
    result = LRRangeTestResult(np.array([1e-3, 1e-2]), np.array([1.0, 0.5]), np.array([1.0, 0.7]),
                               {"valley": 1e-3}, False, 0.7)
    assert result.suggestion == 1e-3
    assert result.to_dict()["lrs"] == [1e-3, 1e-2]


def test_training_afterwards_is_as_if_the_test_never_ran():
    # regression_setup's model has Dropout, which draws from downhill.nn's generator.
    def train(run_test_first):
        model, opt, loader = regression_setup(warm_steps=1)
        if run_test_first:
            lr_range_test(model, nn.MSELoss(), opt, loader, num_iter=30)
        fit(model, nn.MSELoss(), opt, loader, epochs=2, metrics=(), progress=False)
        return [p.data.tobytes() for p in model.parameters()]

    assert train(True) == train(False)
