"""three_rates: the too-small, good and too-big rates do what their names say, on every mountain."""

import json
import math

import numpy as np
import pytest

import downhill as dh
from downhill.optim.three_rates import three_rates


def _valley_floor(name, point, lr):
    """Where a long, careful climb from ``point`` settles: the floor of the valley it is in."""
    return dh.descend(name, point, lr=lr, steps=3000, record=False).final_point


@pytest.mark.parametrize("name", dh.landscapes.names())
def test_each_rate_does_what_its_label_says_from_the_default_start(name):
    landscape = dh.landscapes.get(name)
    rates = three_rates(name, steps=100)
    small, good, big = rates.small, rates.good, rates.big
    assert rates.start == list(landscape.start)
    assert small.lr < good.lr < big.lr
    # The rates are the ones shown (3 digits), so a learner who types one in gets this climb.
    assert all(float(f"{c.lr:.3g}") == c.lr for c in (small, good, big))
    assert small.status != "diverged" and math.isfinite(small.final_value)
    assert good.final_value < small.final_value
    lowest = min(m.value for m in landscape.minima)
    # "Arrives at the bottom" only where it does; elsewhere the words say how far it came.
    assert ("arrives at the bottom" in good.words) == (good.final_value - lowest <= 1e-3 * max(1, abs(lowest)))
    assert "falls off" not in small.words + good.words
    alone = {c.kind: dh.descend(name, landscape.start, lr=c.lr, steps=100, record=False)
             for c in (small, good, big)}
    if big.status == "diverged":
        assert "falls off the mountain" in big.words
    else:
        # A mountain where the climber cannot blow up: it fails visibly instead,
        # ending higher than good, out of the valley the start lies in.
        assert big.final_value > good.final_value
        assert "does not blow up" in big.words and "ends higher" in big.words and "falls off" not in big.words
        careful = good.lr / 4
        start_floor = _valley_floor(name, landscape.start, careful)
        big_floor = _valley_floor(name, alone["too big"].final_point, careful)
        assert np.linalg.norm(start_floor - big_floor) > 0.5, (start_floor, big_floor)
    for choice in (small, good, big):
        assert alone[choice.kind].status == choice.status
        assert alone[choice.kind].steps_taken == choice.steps_taken
        if math.isfinite(alone[choice.kind].final_value):
            assert alone[choice.kind].final_value == choice.final_value


def test_ackley_cannot_fall_off_so_too_big_is_said_to_end_higher():
    rates = three_rates("ackley")
    assert rates.big.status != "diverged"
    assert rates.big.final_value > rates.good.final_value
    assert "ends higher" in str(rates)


def test_a_bowl_uses_the_curvature_bound_as_the_edge():
    # On x**2 + y**2 plain descent is stable exactly below 2/L = 1: the chosen
    # too-big rate is past it and the good one below it.
    rates = three_rates("sphere")
    bound = dh.lr_advice("sphere", dh.landscapes.get("sphere").start).max_stable_lr
    assert bound == pytest.approx(1.0)
    assert rates.good.lr < bound < rates.big.lr


def test_a_typed_formula_and_an_explicit_start():
    rates = three_rates(dh.landscapes.from_expression("(x - 1)**2 + 4*y**2"), start=[3.0, 2.0], steps=60)
    assert rates.start == [3.0, 2.0]
    assert rates.big.status == "diverged"
    # Curvature 8 along y: everything past 2/8 falls off.
    assert rates.big.lr > 0.25 and rates.good.lr < 0.25
    # A typed formula has no list of minima: its good rate is not said to reach "the bottom".
    assert "arrives at the bottom" not in rates.good.words and "lowest point" not in rates.good.words


def test_to_dict_is_strict_json_and_str_is_the_sentences():
    rates = three_rates("booth")
    data = json.loads(json.dumps(rates.to_dict(), allow_nan=False))
    assert data["big"]["status"] == "diverged" and data["start"] == [-6.0, -6.0]
    assert [data[k]["kind"] for k in ("small", "good", "big")] == ["too small", "good", "too big"]
    assert str(rates).count(".") >= 3 and "Too small" in str(rates)


def test_bad_starts_are_refused_with_a_reason():
    with pytest.raises(ValueError, match="give a start"):
        three_rates(lambda p: (p ** 2).sum())
    with pytest.raises(ValueError, match="went downhill"):
        three_rates("sphere", start=[0.0, 0.0])
    with pytest.raises(ValueError, match="fell off"):
        three_rates("sphere", lrs=[5.0, 10.0])
