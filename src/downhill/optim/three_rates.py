"""Three learning rates that do what their names say: too small, good, too big.

The curvature's bound 2/L tells when plain gradient descent is stable on a
bowl, but most mountains are not bowls: on Himmelblau or Rosenbrock a rate a
little past 2/L (measured at the start) often still arrives, and on Ackley no
rate ever blows up. So the three rates a learner is shown are chosen from a
sweep, by what each climb actually did:

- **good**: among the climbs that reached the bottom (all but a millionth of
  the way from the start to the best climb), the one in the middle (on a log
  scale) of that band of rates;
- **too small**: the largest rate below the good band whose climb is still
  clearly short of the bottom after the same number of steps;
- **too big**: the smallest rate above the good band whose climb fell off
  (diverged); where none falls off (a bounded mountain), the rate above the
  good band that ends highest: it overshoots out of the valley instead.

Each choice carries the sentence that says what happened, so a label never
claims what the picture does not show.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..results import Result, jsonable
from .lr_tools import lr_sweep

__all__ = ["three_rates", "ThreeRates", "RateChoice", "DEFAULT_SWEEP"]

# 41 rates, 5 per decade, from 1e-7 to 10: wide enough for every catalogue
# landscape's curvature at its default start (Goldstein-Price's is 1e5). Each
# is rounded to the 3 digits a learner is shown, so that the rate shown (and
# typed back in) is the rate that was climbed.
DEFAULT_SWEEP = tuple(float(f"{v:.3g}") for v in np.logspace(-7, 1, 41))

# A climb "arrived" when it closed all but 0.1% of the gap between the start
# and the best climb; it is "clearly short" when more than 10% of the gap is left.
_ARRIVED, _SHORT = 1e-3, 0.1
_BOTTOM = 1e-6
# "Arrives at the bottom" is said within 0.001 of the mountain's lowest value (a
# share of the drop would call Goldstein-Price's 31 the bottom, 3).
_AT_THE_BOTTOM = 1e-3


@dataclass
class RateChoice(Result):
    """One of the three rates: its kind, the rate, what its climb did, and that in words."""

    kind: str
    lr: float
    final_value: float
    status: str
    steps_taken: int
    words: str

    def __str__(self) -> str:
        return self.words

    def to_dict(self) -> dict:
        """Strict JSON (a non-finite final value becomes None, noted in ``non_finite``)."""
        return jsonable(dict(kind=self.kind, lr=self.lr, final_value=self.final_value, status=self.status,
                             steps_taken=self.steps_taken, words=self.words))


@dataclass
class ThreeRates(Result):
    """The result of :func:`three_rates`: the three choices, the sweep behind them, a message."""

    small: RateChoice
    good: RateChoice
    big: RateChoice | None
    start: list
    start_value: float
    steps: int
    optimizer: str
    landscape: str | None
    sweep: object
    message: str

    @property
    def rates(self) -> list[float]:
        """[too small, good, too big] (too big is NaN where no rate in the sweep fails)."""
        return [self.small.lr, self.good.lr, self.big.lr if self.big else math.nan]

    def __str__(self) -> str:
        return self.message

    def to_dict(self) -> dict:
        """JSON-ready: the three choices, the start, and the sweep's rows."""
        return jsonable({
            "small": self.small, "good": self.good, "big": self.big, "start": list(self.start),
            "start_value": self.start_value, "steps": self.steps, "optimizer": self.optimizer,
            "landscape": self.landscape, "sweep": self.sweep, "message": self.message,
        })


def _words(kind: str, row, best: float, gap: float, start_value: float, fell_off: bool,
           lowest: float | None = None, good_value: float | None = None) -> str:
    """What a chosen rate's climb did, in a sentence that the numbers bear out.

    ``lowest``: the mountain's lowest known value (None for a typed formula),
    so that "arrives at the bottom" is said only where it is true; elsewhere a
    good rate "settles in a valley" (a flat place, not the lowest) or "comes
    furthest down" (still walking when the steps ran out).
    """
    rate = f"lr = {row.lr:.3g}"
    value = f"f = {row.final_value:.4g}"
    if kind == "good":
        floor = f" (the lowest point of this mountain is f = {lowest:.4g})" if lowest is not None else ""
        if lowest is not None and row.final_value - lowest <= _AT_THE_BOTTOM * max(1.0, abs(lowest)):
            return f"good ({rate}): arrives at the bottom, {value}"
        if row.status == "converged":
            return f"good ({rate}): settles at the bottom of a valley, at {value}{floor}"
        return (f"good ({rate}): comes furthest down of the rates tried, to {value} in {row.steps_taken} "
                f"steps{floor}")
    if kind == "too small":
        done = (start_value - row.final_value) / gap if gap > 0 else 0.0
        if done < 0.9 or good_value is None:
            return (f"too small ({rate}): after {row.steps_taken} steps it has come only {100 * done:.0f}% "
                    f"of the way down ({value})")
        # Nearly all the way on a linear scale can still be decades above good.
        return (f"too small ({rate}): after {row.steps_taken} steps it is still on the slope, at {value} "
                f"(good gets to f = {good_value:.4g})")
    if fell_off:
        return f"too big ({rate}): overshoots further each step and falls off the mountain at step {row.steps_taken}"
    higher = "than it started" if row.final_value > start_value else "than good"
    return (f"too big ({rate}): it does not blow up here, but it overshoots out of the valley "
            f"and ends higher {higher}, at {value}")


def three_rates(f, start=None, optimizer="sgd", steps=100, lrs=DEFAULT_SWEEP, **optimizer_options):
    """Pick a too-small, a good and a too-big learning rate from a sweep of real climbs.

    ``f`` is anything :func:`downhill.descend` takes; ``start`` defaults to the
    landscape's default start. Every candidate rate in ``lrs`` is climbed for
    ``steps`` steps with ``optimizer``; the choices follow what the climbs did
    (see the module's text), and each carries a sentence saying so.

    >>> import downhill as dh
    >>> rates = dh.three_rates("booth", steps=100)
    >>> [choice.status for choice in (rates.small, rates.good, rates.big)]
    ['max_steps', 'max_steps', 'diverged']
    >>> rates.small.lr < rates.good.lr < rates.big.lr
    True
    """
    from ..landscapes import Landscape, get

    landscape = get(f) if isinstance(f, str) else f if isinstance(f, Landscape) else None
    if start is None:
        if landscape is None:
            raise InputError("three_rates: give a start point (a plain function has no default start)")
        start = landscape.start
    sweep = lr_sweep(f, start, lrs, optimizer=optimizer, steps=steps, **optimizer_options)
    rows = sorted(sweep.rows, key=lambda row: row.lr)
    healthy = [row for row in rows if row.status != "diverged" and math.isfinite(row.final_value)]
    if not healthy:
        raise InputError(f"three_rates: every rate in the sweep ({rows[0].lr:.3g} to {rows[-1].lr:.3g}) "
                         "fell off the mountain; try smaller rates")
    best = min(row.final_value for row in healthy)
    gap = sweep.start_value - best
    if not gap > 0:
        raise InputError("three_rates: no rate in the sweep went downhill from this start "
                         "(it may be a minimum, a hilltop or a flat place); choose another start")
    band = [row for row in healthy if row.final_value - best <= _ARRIVED * gap]
    low, high = band[0].lr, band[-1].lr
    # "Good" is shown reaching the bottom: the middle of the rates that got
    # all the way down (to a millionth of the gap), not merely close.
    bottom = [row for row in band if row.final_value - best <= _BOTTOM * gap] or band
    middle = math.sqrt(bottom[0].lr * bottom[-1].lr)
    good = min(bottom, key=lambda row: abs(math.log(row.lr / middle)))

    # Still walking when the steps ran out: a climb that settled in another
    # valley is not "too small", it is somewhere else.
    shorts = [row for row in healthy
              if row.lr < low and row.status == "max_steps" and row.final_value - best > _SHORT * gap]
    small = shorts[-1] if shorts else rows[0]

    above = [row for row in rows if row.lr > high]
    fallen = [row for row in above if row.status == "diverged" or not math.isfinite(row.final_value)]
    if fallen:
        big, fell_off = fallen[0], True
    else:
        failing = [row for row in above if row.final_value - best > _SHORT * gap]
        big = max(failing, key=lambda row: (row.final_value, -row.lr)) if failing else None
        fell_off = False

    known = landscape.minima if landscape is not None else ()
    lowest = min(float(m.value) for m in known) if known else None

    def choice(kind, row, fell=False):
        return RateChoice(kind, float(row.lr), float(row.final_value), row.status, int(row.steps_taken),
                          _words(kind, row, best, gap, sweep.start_value, fell, lowest, good.final_value))

    chosen_small, chosen_good = choice("too small", small), choice("good", good)
    chosen_big = None if big is None else choice("too big", big, fell_off)
    sentences = [chosen_small.words, chosen_good.words]
    sentences.append(chosen_big.words if chosen_big else
                     f"too big: no rate up to {rows[-1].lr:.3g} failed within {steps} steps")
    return ThreeRates(chosen_small, chosen_good, chosen_big, [float(v) for v in np.ravel(start)],
                      float(sweep.start_value), int(steps), optimizer, sweep.landscape, sweep,
                      ". ".join(s[0].upper() + s[1:] for s in sentences) + ".")
