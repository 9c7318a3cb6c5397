"""What :func:`downhill.nn.fit` keeps and whom it tells: ``History`` and the callbacks.

A callback is any object with ``on_epoch_end(epoch, logs)`` (returning True
stops training after that epoch), optionally ``on_train_begin(model,
optimizer)``, ``on_train_end(history)`` and, to be saved in checkpoints,
``state_dict()`` / ``load_state_dict()``; or a plain function ``(epoch, logs)``.
:class:`EarlyStopping` is the one most runs want.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from ..errors import InputError, InputKeyError, InputTypeError, shorten
from ..notebook import shows_in_notebook
from ..autodiff.tensor import Tensor
from ..results import Result, jsonable, null_value

__all__ = ["History", "Callback", "LambdaCallback", "EarlyStopping"]


# --------------------------------------------------------------------------- history


@shows_in_notebook
class History(Result):
    """What :func:`fit` measured, one value per epoch for each key.

    Keys: ``"train_loss"``, ``"val_loss"`` (with a validation loader),
    ``"train_<metric>"`` and ``"val_<metric>"`` for each metric, and ``"lr"``
    (the first parameter group's learning rate at the start of the epoch).
    ``history["train_loss"]`` is a list; ``history.epoch`` lists the epoch
    indices (from 0). Losses and metrics of an epoch are sample-weighted
    means over its batches; training ones are measured on the fly, in
    training mode, as Keras does.

    >>> from downhill.nn.callbacks import History
    >>> history = History()
    >>> history.append(0, {"train_loss": 0.9, "lr": 0.1})
    >>> history.append(1, {"train_loss": 0.5, "lr": 0.1})
    >>> history["train_loss"], history.best("train_loss")
    ([0.9, 0.5], (1, 0.5))
    >>> History.from_dict(history.to_dict()).to_dict() == history.to_dict()
    True
    """

    def __init__(self) -> None:
        self.epoch: list[int] = []
        self.history: dict[str, list] = {}
        self.stopped_early: bool = False

    def append(self, epoch: int, logs: dict[str, Any]) -> None:
        """Record the logs of one epoch (keys first seen now are padded with None before).

        >>> from downhill.nn.callbacks import History
        >>> history = History()
        >>> history.append(0, {"train_loss": 1.0})
        >>> history.append(1, {"train_loss": 0.8, "val_loss": 0.9})
        >>> history["val_loss"]
        [None, 0.9]
        """
        for key in logs:
            if key not in self.history:
                self.history[key] = [None] * len(self.epoch)
        for key, values in self.history.items():
            value = logs.get(key)
            values.append(float(value) if isinstance(value, int | float | np.floating) else value)
        self.epoch.append(int(epoch))

    def __getitem__(self, key: str) -> list:
        if key not in self.history:
            raise InputKeyError(f"no {shorten(repr(key))} in this history; it has {sorted(self.history)}")
        return self.history[key]

    def __contains__(self, key) -> bool:
        return key in self.history

    def keys(self):
        return self.history.keys()

    def __len__(self) -> int:
        return len(self.epoch)

    @property
    def train_loss(self) -> list:
        return self.history.get("train_loss", [])

    @property
    def val_loss(self) -> list:
        return self.history.get("val_loss", [])

    @property
    def lr(self) -> list:
        return self.history.get("lr", [])

    def best(self, key: str = "val_loss", mode: str = "auto") -> tuple[int, float]:
        """``(epoch, value)`` where ``key`` was best: lowest, or highest for accuracies (``mode="auto"``).

        >>> from downhill.nn.callbacks import History
        >>> history = History()
        >>> for epoch, acc in enumerate([0.7, 0.9, 0.8]):
        ...     history.append(epoch, {"val_accuracy": acc})
        >>> history.best("val_accuracy")
        (1, 0.9)
        """
        values = self[key]
        mode = _auto_mode(key) if mode == "auto" else mode
        candidates = [(e, v) for e, v in zip(self.epoch, values) if v is not None and not math.isnan(v)]
        if not candidates:
            raise InputError(f"no finite values of {key!r} recorded yet")
        pick = min if mode == "min" else max
        return pick(candidates, key=lambda item: item[1])

    def to_dict(self) -> dict[str, Any]:
        """Plain lists, ready for JSON, a DataFrame or :func:`downhill.checkpoint.save`.

        >>> from downhill.nn.callbacks import History
        >>> history = History()
        >>> history.append(0, {"train_loss": 0.5})
        >>> history.to_dict()
        {'epoch': [0], 'train_loss': [0.5], 'stopped_early': False}
        """
        return jsonable({"epoch": list(self.epoch), **{k: list(v) for k, v in self.history.items()},
                         "stopped_early": self.stopped_early})

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> History:
        """The history :meth:`to_dict` described.

        >>> from downhill.nn.callbacks import History
        >>> History.from_dict({"epoch": [0, 1], "train_loss": [0.5, 0.4]})["train_loss"]
        [0.5, 0.4]
        """
        history = cls()
        notes = data.get("non_finite") or {}
        history.epoch = [int(e) for e in data["epoch"]]
        history.stopped_early = bool(data.get("stopped_early", False))
        history.history = {k: [null_value(data, k) if x is None and k in notes else x for x in v]
                           for k, v in data.items() if k not in ("epoch", "stopped_early", "non_finite")}
        return history

    def table(self) -> str:
        """The history as a plain-text table, one row per epoch (numbered from 1).

        >>> from downhill.nn.callbacks import History
        >>> history = History()
        >>> history.append(0, {"train_loss": 0.693147, "val_loss": 0.7})
        >>> print(history.table())
        epoch   train_loss     val_loss
            1     0.693147          0.7
        """
        keys = list(self.history)
        lines = ["epoch" + "".join(f"{key:>13}" for key in keys)]
        for i, epoch in enumerate(self.epoch):
            cells = "".join(
                f"{'-':>13}" if self.history[k][i] is None else f"{self.history[k][i]:>13.6g}" for k in keys
            )
            lines.append(f"{epoch + 1:>5}" + cells)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()

    def __repr__(self) -> str:
        last = {k: v[-1] for k, v in self.history.items() if v}
        shown = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in last.items())
        return f"History(epochs={len(self)}{', ' if shown else ''}{shown})"


def _auto_mode(key: str) -> str:
    return "max" if "acc" in key else "min"


# --------------------------------------------------------------------------- callbacks


class Callback:
    """Base class of :func:`fit` callbacks; override the methods you need.

    ``on_epoch_end`` returns True to stop training after this epoch. A callback
    with ``state_dict()`` / ``load_state_dict()`` has its state saved in
    checkpoints and restored on resume. A plain function ``f(epoch, logs)`` also
    works as a callback (it acts as ``on_epoch_end``).

    >>> from downhill.nn.callbacks import Callback
    >>> class StopAtLoss(Callback):
    ...     def on_epoch_end(self, epoch, logs):
    ...         return logs["train_loss"] < 0.1
    >>> StopAtLoss().on_epoch_end(3, {"train_loss": 0.05})
    True
    """

    def on_train_begin(self, model, optimizer) -> None:
        """Called once before the first epoch (also when resuming)."""

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> bool | None:
        """Called after each epoch with its logs (the values that go into the History)."""
        return None

    def on_train_end(self, history: History) -> None:
        """Called once after the last epoch (or the early stop)."""


class LambdaCallback(Callback):
    """A callback from functions: ``LambdaCallback(on_epoch_end=lambda epoch, logs: ...)``.

    >>> from downhill.nn.callbacks import LambdaCallback
    >>> seen = []
    >>> callback = LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(epoch))
    >>> callback.on_epoch_end(0, {}); seen
    [0]
    """

    def __init__(self, on_train_begin=None, on_epoch_end=None, on_train_end=None) -> None:
        self._begin, self._epoch_end, self._end = on_train_begin, on_epoch_end, on_train_end

    def on_train_begin(self, model, optimizer) -> None:
        if self._begin is not None:
            self._begin(model, optimizer)

    def on_epoch_end(self, epoch, logs):
        return None if self._epoch_end is None else self._epoch_end(epoch, logs)

    def on_train_end(self, history) -> None:
        if self._end is not None:
            self._end(history)


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience`` epochs.

    ``mode``: ``"min"``, ``"max"`` or ``"auto"`` (max for accuracies, min
    otherwise). With ``restore_best_weights`` the model gets back the weights
    of its best epoch when training ends.

    >>> from downhill.nn.callbacks import EarlyStopping
    >>> stopper = EarlyStopping(monitor="val_loss", patience=2)
    >>> [stopper.on_epoch_end(e, {"val_loss": v}) for e, v in enumerate([1.0, 0.8, 0.9, 0.85])]
    [False, False, False, True]
    >>> stopper.best_epoch, stopper.stopped_epoch
    (1, 3)
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 5, min_delta: float = 0.0,
                 mode: str = "auto", restore_best_weights: bool = False) -> None:
        if mode not in ("auto", "min", "max"):
            raise InputError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
        if patience < 0:
            raise InputError(f"patience must be >= 0, got {patience}")
        self.monitor = monitor
        self.patience = patience
        self.min_delta = abs(min_delta)
        self.mode = _auto_mode(monitor) if mode == "auto" else mode
        self.restore_best_weights = restore_best_weights
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch: int | None = None
        self.stopped_epoch: int | None = None
        self.wait = 0
        self.best_weights = None
        self._model = None

    def on_train_begin(self, model, optimizer) -> None:
        self._model = model

    def _improved(self, value: float) -> bool:
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_epoch_end(self, epoch, logs) -> bool:
        if self.monitor not in logs:
            raise InputKeyError(
                f"EarlyStopping monitors {self.monitor!r}, but the epoch's logs have only "
                f"{sorted(logs)}; pass val_loader to fit, or monitor='train_loss'"
            )
        value = float(logs[self.monitor])
        if self._improved(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights and self._model is not None:
                self.best_weights = {k: np.array(v.data if isinstance(v, Tensor) else v, copy=True) for k, v in self._model.state_dict().items()}
            return False
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            return True
        return False

    def on_train_end(self, history) -> None:
        if self.restore_best_weights and self.best_weights is not None and self._model is not None:
            self._model.load_state_dict(self.best_weights)

    def state_dict(self) -> dict:
        return {"best": self.best, "best_epoch": self.best_epoch, "stopped_epoch": self.stopped_epoch,
                "wait": self.wait, "best_weights": self.best_weights}

    def load_state_dict(self, state: dict) -> None:
        self.best, self.best_epoch = state["best"], state["best_epoch"]
        self.stopped_epoch, self.wait = state["stopped_epoch"], state["wait"]
        self.best_weights = state["best_weights"]


class _FunctionCallback(Callback):
    def __init__(self, function) -> None:
        self.function = function

    def on_epoch_end(self, epoch, logs):
        return self.function(epoch, logs)


def _resolve_callbacks(callbacks) -> list:
    if callbacks is None:
        return []
    if isinstance(callbacks, Callback) or callable(callbacks) and not isinstance(callbacks, Iterable):
        callbacks = [callbacks]
    resolved = []
    for callback in callbacks:
        if hasattr(callback, "on_epoch_end"):
            resolved.append(callback)
        elif callable(callback):
            resolved.append(_FunctionCallback(callback))
        else:
            raise InputTypeError(
                f"a callback needs on_epoch_end(epoch, logs) or must be a function (epoch, logs); "
                f"got {type(callback).__name__}"
            )
    return resolved
