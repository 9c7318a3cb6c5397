"""Progress bars for long work: climbs of many steps, sweeps, basin maps.

One rule for every long computation that takes ``progress=True`` (``descend``,
``lr_sweep``, ``compare_optimizers``, ``basins``): a tqdm bar on stderr, drawn
only when stderr is a terminal (never in a pipe, a log or ``--json`` output)
and only once the work has gone on for :data:`DELAY` seconds (0.5; the
environment variable ``DOWNHILL_PROGRESS_DELAY`` sets another), so a quick
command prints nothing more than its answer. Training (``fit``) keeps its own
bar, which also shows in notebooks.

>>> from downhill.progress import bar
>>> with bar(True, total=3, desc="demo", unit="run") as shown:
...     for _ in range(3):
...         shown.update()
>>> bar(False, total=3, desc="demo", unit="run").update()  # no bar: nothing drawn, nothing kept
"""

from __future__ import annotations

import os
import sys

__all__ = ["bar", "counting", "DELAY"]

# Seconds of work before a bar appears: below this a bar would only flash.
DELAY = 0.5
DELAY_VARIABLE = "DOWNHILL_PROGRESS_DELAY"


def _delay() -> float:
    text = os.environ.get(DELAY_VARIABLE)
    if text is None:
        return DELAY
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0:  # NaN too: a bad setting is ignored, it never stops the work
        return DELAY
    return seconds


class _NoBar:
    """Stands in for a bar when none is wanted: every call does nothing."""

    def update(self, n=1):
        pass

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def bar(progress: bool, total: int | None, desc: str, unit: str):
    """A tqdm bar on stderr (terminal only, after :data:`DELAY` s), or one that draws nothing."""
    if not progress:
        return _NoBar()
    from tqdm import tqdm

    # disable=None: drawn on a terminal, silent in pipes, logs and tests;
    # leave=False: the bar goes away when the answer is printed.
    return tqdm(total=total, desc=desc, unit=unit, disable=None, delay=_delay(), leave=False,
                dynamic_ncols=True, file=sys.stderr)


def counting(function, shown, every: int = 1000):
    """``function``, counting its calls onto ``shown`` in lumps of ``every``
    (one climb step is one call of its slope: a few microseconds, too short to
    touch the bar each time). ``counted.flush()`` adds what is left."""
    count = 0

    def counted(*args):
        nonlocal count
        count += 1
        if count >= every:
            shown.update(count)
            count = 0
        return function(*args)

    def flush():
        nonlocal count
        if count:
            shown.update(count)
            count = 0

    counted.flush = flush
    return counted
