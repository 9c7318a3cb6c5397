"""The training loop: ``fit`` a model, keep a ``History``, stop early, checkpoint and resume.

One epoch of :func:`fit` is the loop every PyTorch tutorial writes by hand::

    model.train()
    for *inputs, target in train_loader:
        optimizer.zero_grad()
        loss = loss_fn(model(*inputs), target)
        loss.backward()
        optimizer.step()

followed by an evaluation on ``val_loader`` (in ``eval()`` mode, without
gradients), a scheduler step, the callbacks, and a checkpoint. Each batch is a
tuple whose last entry is the target and whose other entries are the model's
inputs. The :class:`History` it returns and the callbacks live in
:mod:`downhill.nn.callbacks` (re-exported here).

A loss that is NaN or infinite stops training at once with
:class:`TrainingDiverged`, which names the epoch and the batch and says whether
the batch itself held NaN or inf (a data problem) or not (a step too big).

With ``checkpoint=path`` the whole run (model, optimizer, scheduler, loader
epoch, callbacks, history) is saved every ``checkpoint_every`` epochs with
:func:`downhill.checkpoint.save`; ``resume=True`` continues from it, and the
weights come out bit for bit equal to those of a run that was never
interrupted.

>>> import numpy as np
>>> import downhill as dh
>>> from downhill import nn
>>> from downhill.data import TensorDataset, DataLoader
>>> from downhill.datasets import blobs
>>> from downhill.nn.training import fit
>>> X, y = blobs(200, centers=[[-2, 0], [2, 0]], cluster_std=0.5, seed=0)
>>> loader = DataLoader(TensorDataset(X, y), batch_size=32, shuffle=True, seed=0)
>>> _ = nn.manual_seed(0)
>>> model = nn.Sequential(nn.Linear(2, 2, dtype=np.float64))
>>> history = fit(model, nn.CrossEntropyLoss(), dh.optim.SGD(model.parameters(), lr=0.1),
...               loader, epochs=5, progress=False)
>>> len(history), history["train_accuracy"][-1]
(5, 1.0)
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InputError, InputTypeError, UnknownNameError
from ..autodiff.mode import no_grad
from ..autodiff.tensor import Tensor, _wrap
from ..checkpoint import load, save
from .callbacks import Callback, EarlyStopping, History, LambdaCallback, _resolve_callbacks

__all__ = [
    "fit",
    "evaluate",
    "History",
    "Callback",
    "EarlyStopping",
    "LambdaCallback",
    "TrainingDiverged",
    "accuracy",
]

_CHECKPOINT_FORMAT = "downhill.nn.fit"


class TrainingDiverged(FloatingPointError):
    """The loss became NaN or infinite during :func:`fit`.

    Attributes ``epoch`` and ``batch`` are 0-based indices (the message counts
    from 1, as the progress bar does); ``loss`` is the offending value;
    ``bad_data`` tells whether the batch itself held NaN or inf.
    """

    def __init__(self, message: str, epoch: int, batch: int, loss: float, bad_data: bool) -> None:
        super().__init__(message)
        self.epoch = epoch
        self.batch = batch
        self.loss = loss
        self.bad_data = bad_data


# --------------------------------------------------------------------------- metrics


def accuracy(outputs, targets) -> float:
    """The fraction of correct predictions; the default metric of :func:`fit`.

    ``outputs`` are class scores (logits or probabilities) of shape ``(n, C)``
    and ``targets`` class indices ``(n,)`` (or one-hot / soft labels of shape
    ``(n, C)``); or, for two classes with one output, logits of shape ``(n,)``
    or ``(n, 1)`` (predicted class 1 where the logit is > 0, as with
    ``BCEWithLogitsLoss``) and 0/1 targets of the same size.

    >>> import numpy as np
    >>> from downhill.nn.training import accuracy
    >>> accuracy(np.array([[2.0, 1.0], [0.0, 3.0], [1.0, 0.0]]), np.array([0, 1, 1]))
    0.6666666666666666
    >>> accuracy(np.array([[-1.5], [0.3]]), np.array([[0.0], [1.0]]))
    1.0
    """
    outputs = np.asarray(outputs.data if isinstance(outputs, Tensor) else outputs)
    targets = np.asarray(targets.data if isinstance(targets, Tensor) else targets)
    if outputs.ndim >= 2 and outputs.shape[-1] > 1:
        predicted = outputs.argmax(axis=-1)
        if targets.shape == outputs.shape:  # one-hot or soft labels
            return float(np.mean(predicted == targets.argmax(axis=-1)))
        if targets.shape == predicted.shape:
            if targets.dtype.kind == "f" and not np.all(targets == np.round(targets)):
                raise InputError(
                    "accuracy needs class labels as targets, but these are fractional numbers; "
                    "for regression pass metrics=() to fit"
                )
            return float(np.mean(predicted == targets))
    elif outputs.size == targets.size and outputs.size > 0:
        if not np.all((targets == 0) | (targets == 1)):
            raise InputError(
                "accuracy with one output per sample needs 0/1 targets (binary classification); "
                "these targets hold other values, so this looks like regression: pass metrics=() to fit"
            )
        return float(np.mean((outputs.reshape(targets.shape) > 0) == (targets == 1)))
    raise InputError(
        f"accuracy cannot compare outputs of shape {outputs.shape} with targets of shape "
        f"{targets.shape}: give class scores (n, C) with labels (n,), or one logit per sample "
        "with 0/1 targets; for regression pass metrics=() to fit"
    )


_METRICS = {"accuracy": accuracy, "acc": accuracy}


def _resolve_metrics(metrics) -> list[tuple[str, Callable]]:
    if metrics is None:
        return []
    if isinstance(metrics, str) or callable(metrics):
        metrics = (metrics,)
    resolved = []
    for metric in metrics:
        if isinstance(metric, str):
            if metric not in _METRICS:
                raise UnknownNameError(
                    f"unknown metric {metric!r}: use one of {sorted(_METRICS)} or a function "
                    "metric(outputs, targets) -> float taking NumPy arrays"
                )
            resolved.append(("accuracy" if metric == "acc" else metric, _METRICS[metric]))
        elif callable(metric):
            resolved.append((getattr(metric, "__name__", type(metric).__name__), metric))
        else:
            raise InputTypeError(f"a metric must be a name or a function, got {type(metric).__name__}")
    names = [name for name, _ in resolved]
    if len(set(names)) != len(names):
        raise InputError(f"metric names must be distinct, got {names}")
    return resolved


# --------------------------------------------------------------------------- one step


def _array(value) -> np.ndarray:
    return value.data if isinstance(value, Tensor) else np.asarray(value)


def _as_tensor(value):
    if isinstance(value, Tensor):
        return value
    if isinstance(value, np.ndarray):
        return _wrap(value)
    return Tensor(value)


def split_batch(batch) -> tuple[list, Any]:
    """``(inputs, target)`` of a batch ``(input_1, ..., input_k, target)``, as Tensors.

    >>> import numpy as np
    >>> from downhill.nn.training import split_batch
    >>> inputs, target = split_batch((np.zeros((4, 2)), np.arange(4)))
    >>> len(inputs), target.shape
    (1, (4,))
    """
    if not isinstance(batch, tuple | list) or len(batch) < 2:
        got = type(batch).__name__ if not isinstance(batch, tuple | list) else f"a {len(batch)}-tuple"
        raise InputTypeError(
            f"each batch must be a tuple (inputs..., target), got {got}; make batches with "
            "DataLoader(TensorDataset(X, y), batch_size=...)"
        )
    *inputs, target = batch
    return [_as_tensor(x) for x in inputs], _as_tensor(target)


def forward_loss(model, loss_fn, batch):
    """Run the model on one batch: ``(output, target, loss)``; the loss must be one number.

    >>> import numpy as np
    >>> import downhill as dh
    >>> from downhill.nn.training import forward_loss
    >>> model = lambda x: x * 2.0
    >>> loss_fn = lambda out, target: ((out - target) ** 2).mean()
    >>> out, target, loss = forward_loss(model, loss_fn, (np.array([1.0, 2.0]), np.array([2.0, 5.0])))
    >>> loss.item()
    0.5
    """
    inputs, target = split_batch(batch)
    output = model(*inputs)
    loss = loss_fn(output, target)
    if not isinstance(loss, Tensor) or loss.size != 1:
        shape = loss.shape if isinstance(loss, Tensor) else type(loss).__name__
        raise InputError(
            f"loss_fn must return a single number (a Tensor of size 1) to call backward() on; got {shape}. "
            "Reduce it with .mean() or use a loss with reduction='mean'"
        )
    return output, target, loss


def _diverged(epoch, epochs, batch, batches, value, fields, lr) -> TrainingDiverged:
    bad = [i for i, field in enumerate(fields)
           if _array(field).dtype.kind in "fc" and not np.all(np.isfinite(_array(field)))]
    where = f"epoch {epoch + 1} of {epochs}, batch {batch + 1}" + (f" of {batches}" if batches else "")
    if bad:
        names = ", ".join("the target" if i == len(fields) - 1 else f"input {i}" for i in bad)
        advice = (f"this batch's data hold NaN or inf ({names}): check the data for NaN "
                  "(e.g. np.isnan(X).any()) and clean or drop those rows")
    else:
        advice = (f"the batch's data are finite, so the steps are probably too big: try a smaller "
                  f"learning rate than {lr:g} (e.g. {lr / 10:g}), or find one with lr_range_test; "
                  "also check the data for NaN")
    message = f"training diverged: the loss is {value} at {where}; {advice}"
    return TrainingDiverged(message, epoch, batch, value, bool(bad))


# --------------------------------------------------------------------------- fit


def _is_plateau(scheduler) -> bool:
    from ..optim.lr_scheduler import ReduceLROnPlateau

    return isinstance(scheduler, ReduceLROnPlateau)


def _steps_per_batch(scheduler) -> bool:
    from ..optim.lr_scheduler import CyclicLR, OneCycleLR

    return isinstance(scheduler, CyclicLR | OneCycleLR)


def evaluate(model, loss_fn, loader, metrics: Sequence = ("accuracy",)) -> dict[str, float]:
    """The mean loss and metrics of ``model`` over ``loader``, in eval mode, without gradients.

    Returns ``{"loss": ..., "<metric>": ...}`` (sample-weighted means over the
    batches); the model's train/eval mode is restored afterwards.

    >>> import numpy as np
    >>> from downhill import nn
    >>> from downhill.data import TensorDataset, DataLoader
    >>> from downhill.nn.training import evaluate
    >>> model = nn.Sequential(nn.Linear(2, 2, dtype="float64", generator=0))
    >>> loader = DataLoader(TensorDataset(np.zeros((6, 2)), np.array([0, 1, 0, 1, 0, 1])), batch_size=4)
    >>> result = evaluate(model, nn.CrossEntropyLoss(), loader)
    >>> sorted(result), result["accuracy"]
    (['accuracy', 'loss'], 0.5)
    """
    was_training = getattr(model, "training", False)
    model.eval()
    try:
        return _evaluate(model, loss_fn, loader, _resolve_metrics(metrics))
    finally:
        if was_training:
            model.train()


class _Totals:
    """Sample-weighted sums of the loss and of each metric over the batches of one pass."""

    def __init__(self, metrics) -> None:
        self.metrics = metrics
        self.loss, self.count = 0.0, 0
        self.sums = {name: 0.0 for name, _ in metrics}

    def add(self, output, target, loss: float) -> None:
        n = len(target)
        self.loss += loss * n
        self.count += n
        out, tgt = _array(output), _array(target)
        for name, metric in self.metrics:
            self.sums[name] += float(metric(out, tgt)) * n

    def means(self, empty: str) -> dict[str, float]:
        """``{"loss": ..., "<metric>": ...}``; ``empty`` is the error when no batch came."""
        if self.count == 0:
            raise InputError(empty)
        return {"loss": self.loss / self.count, **{name: s / self.count for name, s in self.sums.items()}}


def _evaluate(model, loss_fn, loader, metrics) -> dict[str, float]:
    totals = _Totals(metrics)
    with no_grad():
        for batch in loader:
            output, target, loss = forward_loss(model, loss_fn, batch)
            totals.add(output, target, float(loss.item()))
    return totals.means("val_loader yielded no batches")


@dataclass
class _Run:
    """What every epoch of one :func:`fit` call uses, and the four things an epoch does."""

    model: Any
    loss_fn: Callable
    optimizer: Any
    loader: Any
    scheduler: Any
    per_batch: bool  # the scheduler steps after every batch (OneCycleLR, CyclicLR), not every epoch
    metrics: list
    callbacks: list
    epochs: int
    batches: int | None
    bar: Any  # the progress bar, or None

    def lr(self) -> float:
        groups = getattr(self.optimizer, "param_groups", None)
        return float(groups[0]["lr"]) if groups else float("nan")

    def train_epoch(self, epoch: int) -> dict[str, float]:
        """One pass over the training batches: ``{"train_loss", "train_<metric>"}``."""
        self.model.train()
        totals = _Totals(self.metrics)
        for b, batch in enumerate(self.loader):
            self.optimizer.zero_grad()
            output, target, loss = forward_loss(self.model, self.loss_fn, batch)
            value = float(loss.item())
            if not math.isfinite(value):
                raise _diverged(epoch, self.epochs, b, self.batches, value, batch, self.lr())
            loss.backward()
            self.optimizer.step()
            if self.per_batch:
                self.scheduler.step()
            totals.add(output, target, value)
            if self.bar is not None:
                self.bar.update(1)
        means = totals.means("train_loader yielded no batches (is drop_last dropping the only batch?)")
        return {f"train_{name}": value for name, value in means.items()}

    def validate(self, val_loader) -> dict[str, float]:
        """``{"val_loss", "val_<metric>"}`` over ``val_loader``, in eval mode, without gradients."""
        self.model.eval()
        results = _evaluate(self.model, self.loss_fn, val_loader, self.metrics)
        self.model.train()
        return {f"val_{name}": value for name, value in results.items()}

    def step_scheduler(self, logs: dict) -> None:
        if self.scheduler is None or self.per_batch:
            return
        if _is_plateau(self.scheduler):
            self.scheduler.step(logs.get("val_loss", logs["train_loss"]))
        else:
            self.scheduler.step()

    def end_epoch(self, epoch: int, logs: dict) -> bool:
        """Run every callback (even after one says stop) and show the epoch; True to stop."""
        stop = False
        for callback in self.callbacks:
            if callback.on_epoch_end(epoch, dict(logs)):
                stop = True
        if self.bar is not None:
            self.bar.set_postfix_str(_postfix(epoch, self.epochs, logs), refresh=True)
        return stop


def _check_fit_arguments(epochs, optimizer, checkpoint, checkpoint_every, resume, scheduler_step) -> None:
    if isinstance(epochs, bool) or not isinstance(epochs, int | np.integer) or epochs < 0:
        raise InputError(f"epochs must be a non-negative int, got {epochs!r}")
    if not (hasattr(optimizer, "step") and hasattr(optimizer, "zero_grad")):
        raise InputTypeError(
            f"optimizer must be an optimizer such as dh.optim.SGD(model.parameters(), lr=0.1), "
            f"got {type(optimizer).__name__}"
        )
    if resume and checkpoint is None:
        raise InputError("resume=True needs checkpoint=path, the file to resume from")
    if checkpoint_every is not None and (not isinstance(checkpoint_every, int) or checkpoint_every < 1):
        raise InputError(f"checkpoint_every must be a positive int (epochs), got {checkpoint_every!r}")
    if scheduler_step not in (None, "epoch", "batch"):
        raise InputError(f"scheduler_step must be 'epoch', 'batch' or None (automatic), got {scheduler_step!r}")


def fit(model, loss_fn, optimizer, train_loader, epochs: int, val_loader=None, scheduler=None,
        metrics: Sequence = ("accuracy",), callbacks: Sequence = (), progress: bool = True,
        checkpoint=None, checkpoint_every: int | None = None, resume: bool = False,
        scheduler_step: str | None = None) -> History:
    """Train ``model`` for ``epochs`` passes over ``train_loader``; return a :class:`History`.

    Args:
        model: a callable module (``downhill.nn.Module``) with ``train()``,
            ``eval()``, ``state_dict()`` and ``load_state_dict()``.
        loss_fn: ``loss_fn(output, target)`` returning a scalar Tensor, e.g.
            ``nn.CrossEntropyLoss()``.
        optimizer: a ``downhill.optim`` optimizer over the model's parameters.
        train_loader: batches ``(inputs..., target)``, usually a
            :class:`downhill.data.DataLoader`; its ``set_epoch(epoch)`` is
            called before each epoch, so shuffling depends on the epoch only.
        epochs: the total number of epochs (also when resuming).
        val_loader: batches to evaluate on after each epoch (``eval()`` mode,
            no gradients), giving ``val_loss`` and ``val_<metric>``.
        scheduler: a ``downhill.optim.lr_scheduler`` scheduler. It steps once
            per epoch (``ReduceLROnPlateau`` with ``val_loss``, or ``train_loss``
            without validation), or once per batch for ``OneCycleLR`` and
            ``CyclicLR``; ``scheduler_step="epoch"`` or ``"batch"`` overrides.
        metrics: names (``"accuracy"``) or functions ``metric(outputs, targets)``
            of NumPy arrays returning a float. Use ``()`` for regression.
        callbacks: :class:`Callback` objects or functions ``(epoch, logs)``;
            one returning True stops training after that epoch.
        progress: show a tqdm progress bar (on stderr).
        checkpoint: a path to save the run to (atomically), every
            ``checkpoint_every`` epochs (default: every epoch) and at the end.
        resume: continue from ``checkpoint`` if that file exists (start fresh
            if it does not), to exactly the weights an uninterrupted run gives.

    Raises:
        TrainingDiverged: the loss became NaN or infinite; the message names
            the epoch and batch and what to try.

    >>> import numpy as np
    >>> import downhill as dh
    >>> from downhill import nn
    >>> from downhill.data import TensorDataset, DataLoader
    >>> from downhill.datasets import xor
    >>> from downhill.nn.training import fit
    >>> X, y = xor(200, seed=0)
    >>> loader = DataLoader(TensorDataset(X, y), batch_size=20, shuffle=True, seed=0)
    >>> _ = nn.manual_seed(0)
    >>> model = nn.Sequential(nn.Linear(2, 16, dtype="float64"), nn.Tanh(), nn.Linear(16, 2, dtype="float64"))
    >>> optimizer = dh.optim.Adam(model.parameters(), lr=0.05)
    >>> history = fit(model, nn.CrossEntropyLoss(), optimizer, loader, epochs=30, progress=False)
    >>> history["train_accuracy"][-1] > 0.95
    True
    """
    _check_fit_arguments(epochs, optimizer, checkpoint, checkpoint_every, resume, scheduler_step)
    per_batch = scheduler is not None and (
        scheduler_step == "batch" or (scheduler_step is None and _steps_per_batch(scheduler))
    )
    metric_fns = _resolve_metrics(metrics)
    callback_list = _resolve_callbacks(callbacks)
    every = checkpoint_every or 1

    history = History()
    start_epoch = 0
    if resume and os.path.exists(checkpoint):
        state = load(checkpoint)
        _restore_run(state, model, optimizer, scheduler, train_loader, callback_list, checkpoint)
        history = History.from_dict(state["history"])
        start_epoch = int(state["epoch"])
        if state.get("stopped", False):
            start_epoch = max(start_epoch, epochs)

    try:
        batches = len(train_loader)
    except TypeError:
        batches = None
    was_training = getattr(model, "training", True)
    for callback in callback_list:
        if hasattr(callback, "on_train_begin"):
            callback.on_train_begin(model, optimizer)

    run = _Run(model, loss_fn, optimizer, train_loader, scheduler, per_batch, metric_fns, callback_list, epochs,
               batches, _progress_bar(progress, epochs, batches, start_epoch))
    try:
        for epoch in range(start_epoch, epochs):
            if hasattr(train_loader, "set_epoch"):
                train_loader.set_epoch(epoch)
            logs: dict[str, float] = {"lr": run.lr()} if hasattr(optimizer, "param_groups") else {}
            logs.update(run.train_epoch(epoch))
            if val_loader is not None:
                logs.update(run.validate(val_loader))
            run.step_scheduler(logs)
            history.append(epoch, logs)
            stop = run.end_epoch(epoch, logs)
            history.stopped_early = stop
            if checkpoint is not None and ((epoch + 1) % every == 0 or epoch + 1 == epochs or stop):
                save(_run_state(epoch + 1, epochs, stop, model, optimizer, scheduler, train_loader,
                                callback_list, history), checkpoint)
            if stop:
                break
    finally:
        if run.bar is not None:
            run.bar.close()
        if was_training:
            model.train()
        else:
            model.eval()

    for callback in callback_list:
        if hasattr(callback, "on_train_end"):
            callback.on_train_end(history)
    return history


def _progress_bar(progress, epochs, batches, start_epoch):
    if not progress:
        return None
    from tqdm import tqdm

    total = epochs * batches if batches is not None else None
    initial = start_epoch * batches if batches is not None else 0
    return tqdm(total=total, initial=initial, unit="batch", desc="fit", dynamic_ncols=True)


def _postfix(epoch, epochs, logs) -> str:
    shown = [f"epoch {epoch + 1}/{epochs}"]
    shown += [f"{key}={value:.4g}" for key, value in logs.items() if key != "lr"]
    return ", ".join(shown)


# --------------------------------------------------------------------------- checkpoints


def _run_state(epoch, epochs, stopped, model, optimizer, scheduler, loader, callbacks, history) -> dict:
    return {
        "format": _CHECKPOINT_FORMAT,
        "epoch": epoch,
        "epochs": epochs,
        "stopped": stopped,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": None if scheduler is None else scheduler.state_dict(),
        "train_loader": loader.state_dict() if hasattr(loader, "state_dict") else None,
        "callbacks": [c.state_dict() if hasattr(c, "state_dict") else None for c in callbacks],
        "history": history.to_dict(),
        "rng": _rng_states(model),
    }


def _generators(model):
    """``(name, Generator)`` for the global ``downhill.nn`` generator and any a module keeps.

    Dropout draws its masks from one of these; saving their states makes a
    resumed run draw the same masks as an uninterrupted one.
    """
    from . import _rng

    found = [("", _rng._GLOBAL[0])]
    named = model.named_modules() if hasattr(model, "named_modules") else []
    for prefix, module in named:
        for attribute, value in vars(module).items():
            if isinstance(value, np.random.Generator):
                found.append((f"{prefix}:{attribute}", value))
    return found


def _rng_states(model) -> dict:
    return {name: generator.bit_generator.state for name, generator in _generators(model)}


def _restore_rng_states(model, states: dict) -> None:
    # In place: a layer holding a generator object keeps holding the same one.
    for name, generator in _generators(model):
        if name in states:
            generator.bit_generator.state = states[name]


def _restore_run(state, model, optimizer, scheduler, loader, callbacks, path) -> None:
    if not isinstance(state, dict) or state.get("format") != _CHECKPOINT_FORMAT:
        raise InputError(
            f"{path} is a downhill checkpoint but not one written by fit(checkpoint=...); "
            "load it with downhill.load and restore the parts yourself"
        )
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    if scheduler is not None:
        if state["scheduler"] is None:
            raise InputError(f"{path} was saved without a scheduler, but fit was given one; resume as it was run")
        scheduler.load_state_dict(state["scheduler"])
    elif state["scheduler"] is not None:
        raise InputError(f"{path} was saved with a scheduler; pass the same scheduler to fit to resume")
    _restore_rng_states(model, state.get("rng", {}))
    if state["train_loader"] is not None and hasattr(loader, "load_state_dict"):
        loader.load_state_dict(state["train_loader"])
    saved = state["callbacks"]
    if len(saved) != len(callbacks):
        raise InputError(
            f"{path} was saved with {len(saved)} callbacks, but fit was given {len(callbacks)}; "
            "pass the same callbacks to resume"
        )
    for callback, callback_state in zip(callbacks, saved):
        if callback_state is not None and hasattr(callback, "load_state_dict"):
            callback.load_state_dict(callback_state)
