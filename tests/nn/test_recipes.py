"""train_classifier and chain_snapshots: the ready-made lessons, checked.

chain_snapshots is checked against an independent re-run of the same
full-batch SGD written with PyTorch in float64 from the same initial weights:
the loss curve to rtol 1e-9, the recorded weights and gradients to the six
decimals the snapshots keep, and one sample's backward pass link by link.
PyTorch's numbers come from the ``oracle`` fixture: recorded in
tests/oracle/data/test_recipes.npz (the default run never imports torch), or
computed live under ``pytest -m oracle``.
"""

from __future__ import annotations

import functools
import json

import numpy as np
import pytest

import downhill.datasets as datasets
from downhill import nn
from downhill.nn.recipes import DATASETS, TrainResult, chain_snapshots, train_classifier

ROUNDED = 5.1e-7  # the snapshots keep six decimals


# ------------------------------------------------------------ train_classifier
@pytest.fixture(scope="module")
def moons_result():
    return train_classifier("moons", progress=False)  # the defaults of `downhill train moons`


def test_train_classifier_separates_the_moons(moons_result):
    assert isinstance(moons_result, TrainResult)
    assert moons_result.sizes == [2, 32, 32, 2]
    assert moons_result.test_accuracy >= 0.97
    assert moons_result.train_accuracy >= 0.97
    losses = moons_result.history.train_loss
    assert len(losses) == 100 and losses[-1] < 0.1 * losses[0]


def test_train_classifier_summary_and_json(moons_result):
    data = json.loads(json.dumps(moons_result.to_dict()))
    assert data["dataset"] == "moons" and data["sizes"] == [2, 32, 32, 2]
    assert data["test_accuracy"] == moons_result.test_accuracy
    assert data["history"]["train_loss"] == list(moons_result.history.train_loss)
    summary = moons_result.summary()
    assert summary.startswith("moons: network 2-32-32-2, 100 epochs in ")
    assert f"{moons_result.test_accuracy:.1%} on held-out data" in summary


def test_train_classifier_is_deterministic_for_a_seed():
    first = train_classifier("xor", hidden=[8], epochs=5, progress=False, seed=3)
    again = train_classifier("xor", hidden=[8], epochs=5, progress=False, seed=3)
    other = train_classifier("xor", hidden=[8], epochs=5, progress=False, seed=4)
    assert first.history.train_loss == again.history.train_loss
    assert first.history.train_loss != other.history.train_loss


def test_train_classifier_on_digits_has_ten_outputs():
    result = train_classifier("digits", hidden=[16], epochs=2, progress=False)
    assert result.sizes == [64, 16, 10]
    assert 0.5 < result.test_accuracy <= 1.0


@pytest.mark.parametrize("kwargs, says", [
    ({"dataset": "mnist"}, "unknown dataset 'mnist'"),
    ({"hidden": []}, "hidden sizes"),
    ({"hidden": [0]}, "hidden sizes"),
    ({"hidden": [16, -2]}, "hidden sizes"),
    ({"activation": "swish"}, "unknown activation"),
    ({"epochs": 0}, "epochs"),
])
def test_train_classifier_errors(kwargs, says):
    kwargs = {"dataset": "moons", "epochs": 1, "progress": False, **kwargs}
    with pytest.raises(ValueError, match=says):
        train_classifier(**kwargs)


def test_the_datasets_are_the_ones_the_command_offers():
    assert list(DATASETS) == ["moons", "circles", "spirals", "xor", "blobs", "digits"]


# ------------------------------------------------------------ chain_snapshots
SETTINGS = {"dataset": "moons", "hidden": [4, 4], "steps": 60, "lr": 0.5, "seed": 0, "snapshot_every": 20,
            "n_samples": 120, "grid": 9, "sample": 7}


@pytest.fixture(scope="module")
def run():
    return chain_snapshots(**SETTINGS)


def lesson_data(settings):
    X, y = getattr(datasets, settings["dataset"])(settings["n_samples"], seed=settings["seed"])
    return X, y


def boundary_mesh(X, grid):
    xs = np.linspace(X[:, 0].min() - 0.5, X[:, 0].max() + 0.5, grid)
    ys = np.linspace(X[:, 1].min() - 0.5, X[:, 1].max() + 0.5, grid)
    return np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)


@functools.cache
def torch_rerun(settings_key, activation="tanh"):
    """The same lesson written with PyTorch: full-batch SGD, BCE with logits, float64.

    Returns PyTorch's numbers by name: the loss ``curve``; at each snapshot step
    ``s``, ``{s}/weight/{k}``, ``{s}/bias/{k}``, ``{s}/weight_grad/{k}``,
    ``{s}/bias_grad/{k}`` and the boundary grid ``{s}/boundary``; and one sample's
    backward pass through the final network (``backprop/...``)."""
    import torch  # only in the live oracle run and the recorder

    settings = dict(settings_key)
    X, y = lesson_data(settings)
    nn.manual_seed(settings["seed"])
    sizes = [2, *settings["hidden"], 1]
    initial = [nn.Linear(a, b, dtype=np.float64) for a, b in zip(sizes[:-1], sizes[1:])]
    weights = [torch.tensor(layer.weight.data, dtype=torch.float64, requires_grad=True) for layer in initial]
    biases = [torch.tensor(layer.bias.data, dtype=torch.float64, requires_grad=True) for layer in initial]
    act = torch.tanh if activation == "tanh" else torch.relu
    params = [p for pair in zip(weights, biases) for p in pair]
    optimizer = torch.optim.SGD(params, lr=settings["lr"])

    def forward(inputs, weights=weights, biases=biases):
        h = inputs
        for k, (w, b) in enumerate(zip(weights, biases)):
            h = h @ w.T + b
            if k < len(weights) - 1:
                h = act(h)
        return h

    inputs = torch.tensor(X, dtype=torch.float64)
    targets = torch.tensor(y, dtype=torch.float64).reshape(-1, 1)
    mesh = torch.tensor(boundary_mesh(X, settings["grid"]), dtype=torch.float64)
    every = settings["snapshot_every"]
    snapshot_steps = {*range(0, settings["steps"] + 1, every), settings["steps"]}
    curve, answer = [], {}
    for step in range(settings["steps"] + 1):
        optimizer.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(forward(inputs), targets)
        loss.backward()
        curve.append(loss.item())
        if step in snapshot_steps:
            for k, (w, b) in enumerate(zip(weights, biases)):
                answer[f"{step}/weight/{k}"] = w.detach().numpy().copy()
                answer[f"{step}/bias/{k}"] = b.detach().numpy().copy()
                answer[f"{step}/weight_grad/{k}"] = w.grad.numpy().copy()
                answer[f"{step}/bias_grad/{k}"] = b.grad.numpy().copy()
            with torch.no_grad():
                answer[f"{step}/boundary"] = torch.sigmoid(forward(mesh)).numpy().reshape(settings["grid"], -1)
        if step < settings["steps"]:
            optimizer.step()
    answer["curve"] = np.array(curve)

    # One sample's backward pass through the final network, link by link.
    sample = settings["sample"]
    x = torch.tensor(X[sample:sample + 1], dtype=torch.float64)
    final_weights = [w.detach().clone().requires_grad_(True) for w in weights]
    final_biases = [b.detach().clone() for b in biases]
    pre, h = [], x
    for k, (w, b) in enumerate(zip(final_weights, final_biases)):
        z = h @ w.T + b
        z.retain_grad()
        pre.append(z)
        h = act(z) if k < len(final_weights) - 1 else z
    target = torch.tensor([[float(y[sample])]], dtype=torch.float64)
    loss = torch.nn.functional.binary_cross_entropy_with_logits(pre[-1], target)
    loss.backward()
    answer["backprop/loss"] = loss.item()
    for k in range(len(final_weights)):
        answer[f"backprop/z/{k}"] = pre[k].detach().numpy()[0]
        answer[f"backprop/delta/{k}"] = pre[k].grad.numpy()[0]
        answer[f"backprop/weight_grad/{k}"] = final_weights[k].grad.numpy()
    return answer


def frozen(settings):
    return tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in sorted(settings.items()))


@pytest.fixture
def reference(oracle):
    """``reference(key)``: PyTorch's number ``key`` for the lesson with SETTINGS (see torch_rerun)."""
    return lambda key: torch_value(oracle, "moons", SETTINGS, key)


def torch_value(oracle, label, settings, key, activation="tanh"):
    return oracle(f"{label}/{key}", lambda: torch_rerun(frozen(settings), activation)[key])


def test_structure(run):
    assert set(run) == {"dataset", "sizes", "activation", "lr", "seed", "data", "snapshots", "loss_curve",
                        "diverged_at", "boundary", "backprop"}
    assert run["sizes"] == [2, 4, 4, 1] and run["activation"] == "tanh" and run["lr"] == 0.5
    assert np.asarray(run["data"]["X"]).shape == (120, 2) and set(run["data"]["y"]) == {0, 1}
    assert [s["step"] for s in run["snapshots"]] == [0, 20, 40, 60]
    assert len(run["loss_curve"]) == 61
    for snapshot in run["snapshots"]:
        assert [np.shape(w) for w in snapshot["weights"]] == [(4, 2), (4, 4), (1, 4)]
        assert [np.shape(w) for w in snapshot["weight_grads"]] == [(4, 2), (4, 4), (1, 4)]
        assert [np.shape(b) for b in snapshot["biases"]] == [(4,), (4,), (1,)]
        assert [np.shape(b) for b in snapshot["bias_grads"]] == [(4,), (4,), (1,)]
        assert snapshot["loss"] == run["loss_curve"][snapshot["step"]]
    json.dumps(run, allow_nan=False)  # ready for the playground as it is


def test_snapshot_steps_include_the_last_step():
    run = chain_snapshots("xor", hidden=[3], steps=25, snapshot_every=10, grid=3, n_samples=40)
    assert [s["step"] for s in run["snapshots"]] == [0, 10, 20, 25]
    assert [s["step"] for s in chain_snapshots("xor", hidden=[3], steps=0, grid=3, n_samples=40)["snapshots"]] == [0]


def test_the_loss_curve_decreases(run):
    curve = np.array(run["loss_curve"])
    assert np.all(np.diff(curve) <= 1e-12), "full-batch SGD at this rate goes downhill every step"
    assert curve[-1] < 0.6 * curve[0]


def test_the_data_are_the_dataset(run):
    X, y = lesson_data(SETTINGS)
    np.testing.assert_allclose(run["data"]["X"], X, atol=ROUNDED)
    assert run["data"]["y"] == y.astype(int).tolist()


def test_loss_curve_equals_plain_sgd_in_torch(run, reference):
    curve = reference("curve")
    assert curve.shape == (SETTINGS["steps"] + 1,) and curve.dtype == np.float64
    np.testing.assert_allclose(run["loss_curve"], curve, rtol=1e-9)


def test_weights_and_gradients_at_each_snapshot_equal_torch(run, reference):
    for snapshot in run["snapshots"]:
        step = snapshot["step"]
        for k in range(3):
            for ours, theirs in [("weights", "weight"), ("biases", "bias"), ("weight_grads", "weight_grad"),
                                 ("bias_grads", "bias_grad")]:
                expected = reference(f"{step}/{theirs}/{k}")
                assert expected.dtype == np.float64 and np.shape(snapshot[ours][k]) == expected.shape
                np.testing.assert_allclose(snapshot[ours][k], expected, atol=ROUNDED)
    # and training moved them
    assert not np.allclose(run["snapshots"][0]["weights"][0], run["snapshots"][-1]["weights"][0])


def test_backprop_links_follow_the_chain_rule(run):
    backprop = run["backprop"]
    assert backprop["target"] == run["data"]["y"][SETTINGS["sample"]]
    assert [link["layer"] for link in backprop["links"]] == [3, 2, 1]
    assert backprop["links"][0]["local"] == [1.0]  # the output layer has no activation
    for link in backprop["links"]:
        delta, upstream, local = (np.array(link[k]) for k in ("delta", "upstream", "local"))
        np.testing.assert_allclose(delta, upstream * local, atol=2 * ROUNDED)
        np.testing.assert_allclose(delta, link["delta_engine"], atol=2 * ROUNDED)
        np.testing.assert_allclose(link["weight_grad"], np.outer(delta, link["input"]), atol=2 * ROUNDED)
    for link in backprop["links"][1:]:  # hidden layers: tanh' = 1 - tanh²
        np.testing.assert_allclose(link["local"], 1 - np.tanh(link["z"]) ** 2, atol=2 * ROUNDED)
    # what arrives at a layer's activations is the next layer's delta sent back through its weights
    weights = run["snapshots"][-1]["weights"]
    for above, below in zip(backprop["links"][:-1], backprop["links"][1:]):
        np.testing.assert_allclose(below["upstream"], np.array(weights[above["layer"] - 1]).T @ above["delta"],
                                   atol=1e-5)


def test_backprop_equals_torch_on_the_final_network(run, reference):
    assert run["backprop"]["loss"] == pytest.approx(float(reference("backprop/loss")), rel=1e-9)
    assert len(run["backprop"]["links"]) == 3
    for link in run["backprop"]["links"]:
        k = link["layer"] - 1
        np.testing.assert_allclose(link["z"], reference(f"backprop/z/{k}"), atol=ROUNDED)
        np.testing.assert_allclose(link["delta"], reference(f"backprop/delta/{k}"), atol=ROUNDED)
        np.testing.assert_allclose(link["weight_grad"], reference(f"backprop/weight_grad/{k}"), atol=2 * ROUNDED)


def test_boundary_grid(run, reference):
    boundary = run["boundary"]
    grid = SETTINGS["grid"]
    assert len(boundary["x"]) == len(boundary["y"]) == grid and np.shape(boundary["p"]) == (grid, grid)
    X, _ = lesson_data(SETTINGS)
    np.testing.assert_allclose([boundary["x"][0], boundary["x"][-1]], [X[:, 0].min() - 0.5, X[:, 0].max() + 0.5],
                               atol=ROUNDED)
    np.testing.assert_allclose([boundary["y"][0], boundary["y"][-1]], [X[:, 1].min() - 0.5, X[:, 1].max() + 0.5],
                               atol=ROUNDED)
    # PyTorch's sigmoid(network) on the same mesh, from the final weights; rows along y.
    expected = reference(f"{SETTINGS['steps']}/boundary")
    assert expected.shape == (grid, grid)
    np.testing.assert_allclose(boundary["p"], expected, atol=ROUNDED)
    assert 0.0 <= np.min(boundary["p"]) and np.max(boundary["p"]) <= 1.0


def test_each_snapshot_has_its_own_boundary_equal_to_torch(run, reference):
    # The boundary at every snapshot, from that step's weights: the page shows it learning.
    grid = SETTINGS["grid"]
    for snapshot in run["snapshots"]:
        expected = reference(f"{snapshot['step']}/boundary")
        assert expected.shape == (grid, grid)
        np.testing.assert_allclose(snapshot["boundary"], expected, atol=1e-4)
    assert run["snapshots"][-1]["boundary"] == pytest.approx(np.asarray(run["boundary"]["p"]), abs=1e-4)
    assert not np.allclose(run["snapshots"][0]["boundary"], run["snapshots"][-1]["boundary"], atol=0.05)


def test_training_that_goes_downhill_did_not_diverge(run):
    assert run["diverged_at"] is None


def test_too_big_a_rate_is_reported_as_diverged(oracle):
    # lr = 20 on the moons: the loss jumps above its start and never comes back (checked in PyTorch).
    settings = {**SETTINGS, "lr": 20.0}
    curve = torch_value(oracle, "moons-lr20", settings, "curve")
    assert curve.shape == (settings["steps"] + 1,)
    assert curve[-1] > curve[0]
    run = chain_snapshots(**settings)
    k = run["diverged_at"]
    assert k is not None and k >= 1
    assert np.all(curve[k:] > curve[0]) and curve[k - 1] <= curve[0]
    # A spike that comes back down is no divergence: lr = 5 rises above the start, then learns.
    spiky = chain_snapshots(**{**SETTINGS, "lr": 5.0, "steps": 200})
    assert max(spiky["loss_curve"]) > spiky["loss_curve"][0] and spiky["diverged_at"] is None


def test_relu_chain_equals_torch(oracle):
    settings = {**SETTINGS, "dataset": "circles", "hidden": [5], "steps": 15, "lr": 0.3}
    run = chain_snapshots(**settings, activation="relu")
    curve = torch_value(oracle, "circles-relu", settings, "curve", activation="relu")
    assert curve.shape == (16,)
    np.testing.assert_allclose(run["loss_curve"], curve, rtol=1e-9)
    hidden_link = run["backprop"]["links"][1]
    np.testing.assert_array_equal(hidden_link["local"], (np.array(hidden_link["z"]) > 0).astype(float))


@pytest.mark.parametrize("kwargs, says", [
    ({"dataset": "mnist"}, "unknown dataset"),
    ({"dataset": "digits"}, "two-class toys"),
    ({"dataset": "blobs"}, "two-class toys"),
    ({"hidden": [0]}, "hidden sizes"),
    ({"hidden": []}, "hidden sizes"),
    ({"activation": "swish"}, "unknown activation"),
    ({"steps": -1}, "steps"),
    ({"snapshot_every": 0}, "snapshot_every"),
    ({"grid": 1}, "grid"),
    ({"sample": 500}, "sample"),
    ({"sample": -1}, "sample"),
    ({"lr": -0.5}, "learning rate"),
])
def test_chain_snapshots_errors(kwargs, says):
    with pytest.raises(ValueError, match=says):
        chain_snapshots(**{"steps": 2, "grid": 3, "n_samples": 40, **kwargs})
