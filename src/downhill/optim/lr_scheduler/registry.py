"""Look learning-rate schedulers up by name, for ``descend(schedule="cosine", ...)``."""

from __future__ import annotations

import difflib

from ...errors import InputTypeError, UnknownNameError
from .base import LRScheduler
from .combine import ChainedScheduler, SequentialLR
from .cyclical import CosineAnnealingLR, CosineAnnealingWarmRestarts, CyclicLR, OneCycleLR
from .decay import ConstantLR, ExponentialLR, LambdaLR, LinearLR, MultiplicativeLR, MultiStepLR, PolynomialLR, StepLR
from .plateau import ReduceLROnPlateau

__all__ = ["get", "names"]

_SCHEDULERS: dict[str, type[LRScheduler]] = {
    "lambda": LambdaLR,
    "multiplicative": MultiplicativeLR,
    "step": StepLR,
    "multistep": MultiStepLR,
    "constant": ConstantLR,
    "linear": LinearLR,
    "exponential": ExponentialLR,
    "polynomial": PolynomialLR,
    "cosine": CosineAnnealingLR,
    "cosine_warm_restarts": CosineAnnealingWarmRestarts,
    "cyclic": CyclicLR,
    "one_cycle": OneCycleLR,
    "plateau": ReduceLROnPlateau,
    "sequential": SequentialLR,
    "chained": ChainedScheduler,
}
# The PyTorch class names work too, in any case: "StepLR", "steplr".
_ALIASES = {cls.__name__.lower(): name for name, cls in _SCHEDULERS.items()}


def names() -> list[str]:
    """The short names :func:`get` accepts (class names such as ``"StepLR"`` work too).

    >>> from downhill.optim import lr_scheduler
    >>> lr_scheduler.names()[:4]
    ['lambda', 'multiplicative', 'step', 'multistep']
    """
    return list(_SCHEDULERS)


def get(name: str) -> type[LRScheduler]:
    """The scheduler class called ``name``: a short name or the PyTorch class name.

    >>> from downhill.optim import lr_scheduler
    >>> lr_scheduler.get("cosine").__name__, lr_scheduler.get("OneCycleLR").__name__
    ('CosineAnnealingLR', 'OneCycleLR')
    """
    if not isinstance(name, str):
        raise InputTypeError(f"a scheduler name must be a string such as 'cosine', got {type(name).__name__}")
    key = name.strip().lower().replace("-", "_")
    key = _ALIASES.get(key, key)
    if key in _SCHEDULERS:
        return _SCHEDULERS[key]
    close = difflib.get_close_matches(key, [*_SCHEDULERS, *_ALIASES], n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise UnknownNameError(f"unknown learning-rate scheduler {name!r}; known: {', '.join(_SCHEDULERS)}{hint}")
