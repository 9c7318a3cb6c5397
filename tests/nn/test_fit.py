"""fit: learns real problems, stops on divergence, calls back, checkpoints and resumes bit for bit."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

import downhill as dh
from downhill import nn
from downhill.checkpoint import load
from downhill.data import DataLoader, TensorDataset
from downhill.datasets import digits, moons, regression_1d, spirals, train_test_split, xor
from downhill.optim import lr_scheduler
from downhill.nn.training import (
    Callback, EarlyStopping, History, LambdaCallback, TrainingDiverged, accuracy, evaluate, fit,
)

F64 = "float64"


def mlp(sizes, activation=nn.Tanh, dtype=F64, seed=0):
    nn.manual_seed(seed)
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out, dtype=dtype))
        if i < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


def loaders(X, y, batch_size=32, seed=0, test_fraction=0.25):
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_fraction=test_fraction, seed=seed,
                                                        stratify=True)
    train = DataLoader(TensorDataset(X_train, y_train), batch_size=batch_size, shuffle=True, seed=seed)
    test = DataLoader(TensorDataset(X_test, y_test), batch_size=256)
    return train, test


def test_digits_mlp_reaches_95_percent():
    X, y = digits(dtype=np.float32)
    train, test = loaders(X, y, batch_size=32, test_fraction=0.2)
    model = mlp([64, 64, 10], activation=nn.ReLU, dtype="float32")
    optimizer = dh.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    start = time.perf_counter()
    history = fit(model, nn.CrossEntropyLoss(), optimizer, train, epochs=40, val_loader=test, progress=False)
    seconds = time.perf_counter() - start
    result = evaluate(model, nn.CrossEntropyLoss(), test)
    print(f"\ndigits 64-64-10 float32: {len(history)} epochs in {seconds:.2f} s, "
          f"test accuracy {result['accuracy']:.4f}")
    assert result["accuracy"] >= 0.95
    assert result["accuracy"] == pytest.approx(history["val_accuracy"][-1])
    assert model[0].weight.dtype == np.float32
    assert seconds < 30


@pytest.mark.parametrize("name", ["moons", "spirals", "xor"])
def test_small_mlps_learn_toy_problems(name):
    if name == "moons":
        X, y = moons(400, noise=0.1, seed=0)
        model, epochs, lr = mlp([2, 16, 2]), 60, 0.03
    elif name == "spirals":
        X, y = spirals(600, noise=0.05, seed=0)
        model, epochs, lr = mlp([2, 32, 32, 2]), 120, 0.02
    else:
        X, y = xor(400, noise=0.05, seed=0)
        model, epochs, lr = mlp([2, 8, 2]), 40, 0.05
    train, test = loaders(X, y, batch_size=32)
    fit(model, nn.CrossEntropyLoss(), dh.optim.Adam(model.parameters(), lr=lr), train, epochs=epochs,
        progress=False)
    test_accuracy = evaluate(model, nn.CrossEntropyLoss(), test)["accuracy"]
    print(f"\n{name}: test accuracy {test_accuracy:.4f}")
    assert test_accuracy >= 0.97


def test_regression_with_mse_and_no_metrics():
    X, y = regression_1d(200, noise=0.05, seed=0)
    loader = DataLoader(TensorDataset(X, y), batch_size=20, shuffle=True, seed=0)
    model = mlp([1, 32, 1])
    history = fit(model, nn.MSELoss(), dh.optim.Adam(model.parameters(), lr=0.02), loader, epochs=60,
                  metrics=(), progress=False)
    assert history["train_loss"][-1] < 0.02
    assert set(history.keys()) == {"lr", "train_loss"}
    with pytest.raises(ValueError, match=r"metrics=\(\)"):
        fit(model, nn.MSELoss(), dh.optim.SGD(model.parameters(), lr=0.01), loader, epochs=1, progress=False)


# ---------------------------------------------------------------- divergence


def nan_data_setup(shuffle):
    X, y = moons(100, seed=0)
    X[37, 1] = np.nan
    loader = DataLoader(TensorDataset(X, y), batch_size=16, shuffle=shuffle, seed=0)
    model = mlp([2, 8, 2])
    return X, y, loader, model


def test_nan_in_the_data_stops_with_epoch_and_batch():
    _, _, loader, model = nan_data_setup(shuffle=False)
    optimizer = dh.optim.SGD(model.parameters(), lr=0.1)
    before = {k: v.data.copy() for k, v in model.state_dict().items()}
    with pytest.raises(TrainingDiverged) as info:
        fit(model, nn.CrossEntropyLoss(), optimizer, loader, epochs=3, progress=False)
    error = info.value
    message = str(error)
    assert isinstance(error, FloatingPointError)
    assert "epoch 1 of 3, batch 3 of 7" in message
    assert "nan" in message.lower() and "input 0" in message and "check the data" in message
    assert (error.epoch, error.batch, error.bad_data) == (0, 2, True)
    assert math.isnan(error.loss)
    # The bad batch never reached the weights.
    assert all(np.all(np.isfinite(p.data)) for p in model.parameters())
    assert any(not np.array_equal(before[k], v.data) for k, v in model.state_dict().items())


def test_nan_in_shuffled_data_names_the_batch_that_holds_it():
    X, _, loader, model = nan_data_setup(shuffle=True)
    with pytest.raises(TrainingDiverged) as info:
        fit(model, nn.CrossEntropyLoss(), dh.optim.SGD(model.parameters(), lr=0.1), loader, epochs=2,
            progress=False)
    order = loader.order(0)
    expected_batch = int(np.flatnonzero(order == 37)[0]) // 16
    assert info.value.epoch == 0 and info.value.batch == expected_batch
    assert f"batch {expected_batch + 1} of 7" in str(info.value)


def test_too_big_a_learning_rate_says_so():
    X, y = moons(200, seed=0)
    loader = DataLoader(TensorDataset(X * 100, y), batch_size=50)
    model = mlp([2, 16, 2], activation=nn.ReLU)
    with np.errstate(over="ignore", invalid="ignore"), pytest.raises(TrainingDiverged) as info:
        fit(model, nn.CrossEntropyLoss(), dh.optim.SGD(model.parameters(), lr=1e6), loader, epochs=20,
            progress=False)
    message = str(info.value)
    assert "smaller learning rate than 1e+06" in message and "lr_range_test" in message
    assert info.value.bad_data is False


# ---------------------------------------------------------------- history, schedulers, callbacks


def small_problem(batch_size=20, seed=0, n=120):
    X, y = moons(n, noise=0.15, seed=seed)
    X_train, X_val, y_train, y_val = train_test_split(X, y, test_fraction=0.25, seed=seed)
    train = DataLoader(TensorDataset(X_train, y_train), batch_size=batch_size, shuffle=True, seed=seed)
    val = DataLoader(TensorDataset(X_val, y_val), batch_size=64)
    return train, val


def test_history_records_every_epoch():
    train, val = small_problem()
    model = mlp([2, 8, 2])
    optimizer = dh.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
    scheduler = lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)

    def error_rate(outputs, targets):
        return float(np.mean(outputs.argmax(axis=1) != targets))

    history = fit(model, nn.CrossEntropyLoss(), optimizer, train, epochs=5, val_loader=val,
                  scheduler=scheduler, metrics=("accuracy", error_rate), progress=False)
    assert isinstance(history, History) and len(history) == 5
    assert history.epoch == [0, 1, 2, 3, 4]
    assert set(history.keys()) == {"lr", "train_loss", "train_accuracy", "train_error_rate", "val_loss",
                                   "val_accuracy", "val_error_rate"}
    assert history["lr"] == [0.5, 0.5, 0.25, 0.25, 0.125]
    for a, e in zip(history["val_accuracy"], history["val_error_rate"]):
        assert a + e == pytest.approx(1.0)
    assert history.train_loss[-1] < history.train_loss[0]
    data = history.to_dict()
    assert data["epoch"] == [0, 1, 2, 3, 4] and data["stopped_early"] is False
    assert History.from_dict(data).to_dict() == data
    assert "val_loss" in history.table() and "History(epochs=5" in repr(history)
    assert history.best("val_accuracy")[1] == max(history["val_accuracy"])


def test_per_batch_and_plateau_schedulers():
    train, val = small_problem()
    model = mlp([2, 8, 2])
    optimizer = dh.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    one_cycle = lr_scheduler.OneCycleLR(optimizer, max_lr=0.5, epochs=3, steps_per_epoch=len(train))
    fit(model, nn.CrossEntropyLoss(), optimizer, train, epochs=3, scheduler=one_cycle, progress=False)
    assert one_cycle.last_epoch == 3 * len(train)

    optimizer = dh.optim.SGD(model.parameters(), lr=0.1)
    plateau = lr_scheduler.ReduceLROnPlateau(optimizer, patience=0, factor=0.5, threshold=10.0)
    history = fit(model, nn.CrossEntropyLoss(), optimizer, train, epochs=3, val_loader=val,
                  scheduler=plateau, progress=False)
    assert history["lr"] == [0.1, 0.05, 0.025]  # never "better" by 1000%: halved each epoch
    assert plateau.last_epoch == 3


def test_callbacks_stop_and_see_logs():
    train, val = small_problem()
    model = mlp([2, 8, 2])
    seen = []

    class Recorder(Callback):
        def on_train_begin(self, model_, optimizer):
            seen.append(("begin", model_ is model))

        def on_epoch_end(self, epoch, logs):
            seen.append((epoch, sorted(logs)))

        def on_train_end(self, history):
            seen.append(("end", len(history)))

    history = fit(model, nn.CrossEntropyLoss(), dh.optim.SGD(model.parameters(), lr=0.1), train, epochs=10,
                  val_loader=val, callbacks=[Recorder(), lambda epoch, logs: epoch == 2], progress=False)
    assert len(history) == 3 and history.stopped_early
    assert seen[0] == ("begin", True) and seen[-1] == ("end", 3)
    assert seen[1] == (0, ["lr", "train_accuracy", "train_loss", "val_accuracy", "val_loss"])
    calls = []
    fit(model, nn.CrossEntropyLoss(), dh.optim.SGD(model.parameters(), lr=0.1), train, epochs=2,
        callbacks=LambdaCallback(on_epoch_end=lambda e, logs: calls.append(e)), progress=False)
    assert calls == [0, 1]


def test_early_stopping_restores_best_weights():
    train, val = small_problem()
    model = mlp([2, 8, 2])
    stopper = EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    # A learning rate that makes the validation loss climb after a while.
    optimizer = dh.optim.SGD(model.parameters(), lr=3.0, momentum=0.9)
    history = fit(model, nn.CrossEntropyLoss(), optimizer, train, epochs=40, val_loader=val,
                  callbacks=[stopper], progress=False)
    assert history.stopped_early and len(history) < 40
    assert stopper.stopped_epoch == len(history) - 1
    best_epoch, best_value = history.best("val_loss")
    assert stopper.best_epoch == best_epoch
    assert evaluate(model, nn.CrossEntropyLoss(), val)["loss"] == pytest.approx(best_value, rel=1e-12)
    with pytest.raises(KeyError, match="pass val_loader"):
        fit(model, nn.CrossEntropyLoss(), optimizer, train, epochs=1, callbacks=[EarlyStopping()], progress=False)


def test_fit_restores_mode_and_uses_train_and_eval():
    train, val = small_problem()
    nn.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 8, dtype=F64), nn.Dropout(0.5), nn.Tanh(), nn.Linear(8, 2, dtype=F64))
    modes = []
    model.register_forward_pre_hook(lambda module, args: modes.append(module.training))
    model.eval()
    fit(model, nn.CrossEntropyLoss(), dh.optim.SGD(model.parameters(), lr=0.1), train, epochs=1,
        val_loader=val, progress=False)
    assert model.training is False
    assert modes == [True] * len(train) + [False] * len(val)


def test_progress_bar_goes_to_stderr(capsys):
    train, _ = small_problem()
    model = mlp([2, 4, 2])
    fit(model, nn.CrossEntropyLoss(), dh.optim.SGD(model.parameters(), lr=0.1), train, epochs=2, progress=True)
    captured = capsys.readouterr()
    assert "fit" in captured.err and "epoch 2/2" in captured.err
    assert captured.out == ""
    fit(model, nn.CrossEntropyLoss(), dh.optim.SGD(model.parameters(), lr=0.1), train, epochs=1, progress=False)
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("kwargs, error, message", [
    ({"epochs": -1}, ValueError, "epochs"),
    ({"resume": True}, ValueError, "checkpoint=path"),
    ({"metrics": ("f1",)}, ValueError, "unknown metric"),
    ({"checkpoint_every": 0}, ValueError, "checkpoint_every"),
    ({"optimizer": "sgd"}, TypeError, "optimizer must be"),
    ({"train_loader": [np.zeros((4, 2))]}, TypeError, r"tuple \(inputs..., target\)"),
    ({"loss_fn": nn.CrossEntropyLoss(reduction="none")}, ValueError, "single number"),
])
def test_bad_arguments(kwargs, error, message):
    train, _ = small_problem()
    model = mlp([2, 4, 2])
    arguments = dict(model=model, loss_fn=nn.CrossEntropyLoss(), optimizer=dh.optim.SGD(model.parameters()),
                     train_loader=train, epochs=1, progress=False)
    arguments.update(kwargs)
    with pytest.raises(error, match=message):
        fit(**arguments)


def test_accuracy_metric_shapes():
    assert accuracy(np.array([[0.1, 0.9], [0.8, 0.2]]), np.array([1, 1])) == 0.5
    assert accuracy(np.array([[0.1, 0.9]]), np.array([[0.0, 1.0]])) == 1.0
    assert accuracy(np.array([0.5, -0.5]), np.array([1.0, 1.0])) == 0.5
    with pytest.raises(ValueError, match="regression"):
        accuracy(np.array([[0.3], [0.2]]), np.array([[0.31], [0.25]]))
    with pytest.raises(ValueError, match="cannot compare"):
        accuracy(np.zeros((4, 3)), np.zeros(5))


# ---------------------------------------------------------------- checkpoints and resume


class Crash(Exception):
    pass


def resumable_run(tmp_path, crash_at=None, resume=False, init_seed=0, epochs=7, dropout=False):
    """A run with shuffling, SGD with momentum, a MultiStepLR schedule and early stopping."""
    train, val = small_problem(batch_size=16)
    nn.manual_seed(init_seed)
    layers = [nn.Linear(2, 12, dtype=F64), nn.Tanh()]
    if dropout:
        layers.append(nn.Dropout(0.2))
    model = nn.Sequential(*layers, nn.Linear(12, 2, dtype=F64))
    optimizer = dh.optim.SGD(model.parameters(), lr=0.3, momentum=0.9, nesterov=True)
    scheduler = lr_scheduler.MultiStepLR(optimizer, milestones=[2, 4], gamma=0.5)

    def maybe_crash(epoch, logs):
        if epoch == crash_at:
            raise Crash(f"killed at the end of epoch {epoch}")

    callbacks = [EarlyStopping(patience=100), maybe_crash]
    history = fit(model, nn.CrossEntropyLoss(), optimizer, train, epochs=epochs, val_loader=val,
                  scheduler=scheduler, callbacks=callbacks, progress=False,
                  checkpoint=tmp_path / "run.ckpt", checkpoint_every=2, resume=resume)
    return model, optimizer, scheduler, history


@pytest.mark.parametrize("dropout", [False, True])
def test_resume_is_bit_identical_to_an_uninterrupted_run(tmp_path, dropout):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    model, optimizer, scheduler, history = resumable_run(tmp_path / "a", dropout=dropout)

    with pytest.raises(Crash):
        resumable_run(tmp_path / "b", crash_at=4, dropout=dropout)
    assert load(tmp_path / "b" / "run.ckpt")["epoch"] == 4  # saved after epochs 2 and 4 (indices 1, 3)

    # A new process would build everything afresh, even with other initial weights.
    resumed, resumed_optimizer, resumed_scheduler, resumed_history = resumable_run(
        tmp_path / "b", resume=True, init_seed=123, dropout=dropout)
    for (name, a), (_, b) in zip(model.state_dict().items(), resumed.state_dict().items()):
        assert a.data.tobytes() == b.data.tobytes(), name
    buffers = optimizer.state_dict()["state"]
    resumed_buffers = resumed_optimizer.state_dict()["state"]
    for key in buffers:
        assert buffers[key]["momentum_buffer"].tobytes() == resumed_buffers[key]["momentum_buffer"].tobytes()
    assert scheduler.get_last_lr() == resumed_scheduler.get_last_lr()
    assert history.to_dict() == resumed_history.to_dict()


def test_resume_without_a_file_starts_fresh_and_a_finished_run_stays_finished(tmp_path):
    model, _, _, history = resumable_run(tmp_path, resume=True, epochs=3)
    assert len(history) == 3
    weights = [p.data.copy() for p in model.parameters()]
    again, _, _, history_again = resumable_run(tmp_path, resume=True, epochs=3, init_seed=5)
    assert history_again.to_dict() == history.to_dict()
    assert all(np.array_equal(a, p.data) for a, p in zip(weights, again.parameters()))


def test_resume_with_a_mismatched_setup_is_refused(tmp_path):
    resumable_run(tmp_path, epochs=2)
    train, _ = small_problem()
    model = mlp([2, 12, 2])
    with pytest.raises(ValueError, match="scheduler"):
        fit(model, nn.CrossEntropyLoss(), dh.optim.SGD(model.parameters(), lr=0.1, momentum=0.9), train,
            epochs=3, callbacks=[EarlyStopping(), lambda e, l: None], progress=False,
            checkpoint=tmp_path / "run.ckpt", resume=True)
