"""How big one run of a front end may be: every bound stated once, and the checks that enforce them.

The library's functions take any size a caller asks for; a front end that
runs what people type refuses work that would run for hours or fill the
memory of a laptop. These are the bounds of the ``downhill`` command (one
person, on their own machine), stated once so that its ``--help`` and its
errors say the same numbers. The playground is a server a whole class shares,
so its bounds are smaller, set with its cost model in
:mod:`downhill.web.limits`. What no front end accepts at any size (a formula
past the parser's bounds, a name that names nothing, a negative rate or step
count) is the library's own check, the same words and numbers through every
door (``tests/test_front_ends.py``). Each check raises
:class:`~downhill.errors.InputError` for a value that makes no sense and
:class:`~downhill.errors.LimitError` for one past a bound, naming the bound.

>>> whole_number(200, "--steps", 0, MAX_STEPS)
200
>>> try:
...     whole_number(10**7, "--steps", 0, MAX_STEPS)
... except LimitError as error:
...     print(error)
--steps must be at most 1,000,000; got 10,000,000
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from .errors import InputError, LimitError, shorten

__all__ = [
    "LIMITS", "MAX_STEPS", "MAX_EPOCHS", "MAX_HIDDEN_LAYERS", "MAX_HIDDEN_UNITS", "MAX_PARAMETERS",
    "MAX_GRID", "MAX_BASIN_WORK", "MAX_RATES", "MAX_SWEEP_WORK", "MAX_RACERS",
    "whole_number", "work", "hidden_sizes",
]

# One climb: about half a minute of a compiled two-variable climb on a laptop, and
# ~50 MB of recorded path (each step keeps its point, value, slope and rate).
MAX_STEPS = 1_000_000
# Training epochs of the small networks (moons: ~20 ms an epoch with 32,32 hidden units).
MAX_EPOCHS = 100_000
MAX_HIDDEN_LAYERS = 16
MAX_HIDDEN_UNITS = 4_096
# Weights and biases of one network: 40 MB in float64, about four times that with
# gradients and Adam's two moments; 100,000 x 100,000 units would need 75 GB.
MAX_PARAMETERS = 5_000_000
# The largest inputs and classes of the built-in datasets (digits: 64 pixels, 10 classes),
# used to count a network's parameters before knowing which dataset it trains on.
_WIDEST_INPUT, _MOST_CLASSES = 64, 10
MAX_GRID = 1_000  # starts per side of a basin map
MAX_BASIN_WORK = 200_000_000  # starts x steps of one basin map (1000 x 1000 x 200)
MAX_RATES = 1_000  # learning rates of one sweep
MAX_SWEEP_WORK = 20_000_000  # learning rates x steps of one sweep
MAX_RACERS = 20  # optimizers racing in one comparison

#: name -> (bound, what it bounds), for documentation and for front ends to show.
LIMITS: Mapping[str, tuple[Any, str]] = {
    "steps": (MAX_STEPS, "steps of one climb (descend, compare, lr-sweep, basins)"),
    "epochs": (MAX_EPOCHS, "training epochs"),
    "hidden_layers": (MAX_HIDDEN_LAYERS, "hidden layers of a trained network"),
    "hidden_units": (MAX_HIDDEN_UNITS, "units of one hidden layer"),
    "parameters": (MAX_PARAMETERS, "weights and biases of a trained network"),
    "grid": (MAX_GRID, "starts per side of a basin map"),
    "basin_work": (MAX_BASIN_WORK, "starts x steps of one basin map"),
    "rates": (MAX_RATES, "learning rates of one sweep"),
    "sweep_work": (MAX_SWEEP_WORK, "learning rates x steps of one sweep"),
    "racers": (MAX_RACERS, "optimizers in one comparison"),
}


def whole_number(value: Any, what: str, low: int, high: int) -> int:
    """``value`` as a whole number from ``low`` to ``high``: InputError below or not whole, LimitError above.

    >>> whole_number(3.0, "--grid", 2, MAX_GRID)
    3
    >>> try:
    ...     whole_number(-1, "--steps", 0, MAX_STEPS)
    ... except InputError as error:
    ...     print(error)
    --steps must be a whole number from 0 to 1,000,000; got -1
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (
            isinstance(value, float) and not value.is_integer()):
        raise InputError(f"{what} must be a whole number from {low:,} to {high:,}; got {shorten(repr(value))}")
    value = int(value)
    if value > high:
        raise LimitError(f"{what} must be at most {high:,}; got {shorten(f'{value:,}')}")
    if value < low:
        raise InputError(f"{what} must be a whole number from {low:,} to {high:,}; got {value}")
    return value


def work(count: int, steps: int, limit: int, what: str, steps_name: str = "--steps") -> None:
    """Refuse ``count`` climbs of ``steps`` steps when ``count x steps`` is past ``limit``.

    >>> work(12, 200, MAX_SWEEP_WORK, "learning rates")
    >>> try:
    ...     work(1000, 100_000, MAX_SWEEP_WORK, "learning rates")
    ... except LimitError as error:
    ...     print(error)
    1,000 learning rates x 100,000 steps is 100,000,000 steps in all; at most 20,000,000 are allowed, so use --steps 20,000 or fewer
    """
    if count * steps > limit:
        raise LimitError(f"{count:,} {what} x {steps:,} steps is {count * steps:,} steps in all; at most "
                         f"{limit:,} are allowed, so use {steps_name} {limit // max(count, 1):,} or fewer")


def hidden_sizes(sizes: Sequence[float], what: str = "--hidden") -> list[int]:
    """Hidden layer sizes: 1 to MAX_HIDDEN_LAYERS layers of 1 to MAX_HIDDEN_UNITS units, MAX_PARAMETERS in all.

    >>> hidden_sizes([32, 32.0])
    [32, 32]
    >>> try:
    ...     hidden_sizes([100_000, 100_000])
    ... except LimitError as error:
    ...     print(error)
    --hidden: a layer has at most 4,096 units; got 100,000
    """
    sizes = list(sizes)
    if not sizes:
        raise InputError(f"{what} needs at least one hidden layer size, like 32,32")
    if len(sizes) > MAX_HIDDEN_LAYERS:
        raise LimitError(f"{what}: at most {MAX_HIDDEN_LAYERS} hidden layers; got {len(sizes):,}")
    result = []
    for size in sizes:
        if isinstance(size, bool) or not isinstance(size, (int, float)) or not math.isfinite(size) \
                or size <= 0 or not float(size).is_integer():
            raise InputError(f"{what} sizes must be positive whole numbers, like 32,32; got {shorten(repr(size))}")
        if size > MAX_HIDDEN_UNITS:
            raise LimitError(f"{what}: a layer has at most {MAX_HIDDEN_UNITS:,} units; got {int(size):,}")
        result.append(int(size))
    widths = [_WIDEST_INPUT, *result, _MOST_CLASSES]
    parameters = sum((a + 1) * b for a, b in zip(widths, widths[1:]))
    if parameters > MAX_PARAMETERS:
        raise LimitError(f"{what}: a network of hidden sizes {shorten(','.join(map(str, result)), 40)} has up to "
                         f"{parameters:,} weights and biases; at most {MAX_PARAMETERS:,} are allowed")
    return result
