"""Trajectory: what a climb recorded, its plain-language summary, and its JSON round trip."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import downhill as dh
from downhill.optim.trajectory import STATUSES

FLOAT_ARRAYS = ("points", "values", "grad_norms", "lrs", "final_point")


def round_trip(trajectory):
    """Through JSON text and back, as a saved file would go (strict JSON: no NaN)."""
    text = json.dumps(trajectory.to_dict(), allow_nan=False)
    return dh.Trajectory.from_dict(json.loads(text))


def as_json_sees_it(x):
    """JSON has no NaN and no infinity: both travel as None, noted in "non_finite" per array.

    An array whose only non-finite kind is inf (or -inf) comes back exactly;
    one that mixed kinds comes back with NaN in their places.
    """
    x = np.asarray(x, dtype=float)
    kinds = {k for k, present in (("nan", np.isnan(x).any()), ("inf", np.isposinf(x).any()),
                                  ("-inf", np.isneginf(x).any())) if present}
    return x if len(kinds) <= 1 and "nan" not in kinds else np.where(np.isfinite(x), x, np.nan)


def assert_same(a, b):
    for name in (*FLOAT_ARRAYS, "final_value", "final_grad_norm"):
        x, y = getattr(a, name), getattr(b, name)
        if x is None:
            assert y is None, name
        else:
            assert np.array_equal(as_json_sees_it(x), np.asarray(y, dtype=float), equal_nan=True), name
    assert np.array_equal(np.asarray(a.status), np.asarray(b.status))
    assert np.array_equal(np.asarray(a.steps_taken), np.asarray(b.steps_taken))
    assert a.optimizer == b.optimizer and a.landscape == b.landscape


# The climbs to round-trip: every status, one climber and many, recorded or not.
CLIMBS = {
    "converged": lambda: dh.descend("booth", [0.0, 0.0], lr=0.05, steps=1000),
    "max_steps": lambda: dh.descend("rosenbrock", [-1.2, 1.0], optimizer="adam", lr=0.01, steps=50,
                                    betas=(0.8, 0.99)),
    "diverged": lambda: dh.descend("sphere", [1.0, 2.0], lr=1.5, steps=100),
    "diverged-to-nan": lambda: dh.descend(dh.landscapes.from_expression("sqrt(x) + y**2"), [1.0, 1.0], lr=1.0),
    "diverged-to-inf": lambda: dh.descend("sphere", [1.0, 2.0], lr=1.5, steps=5000, max_value=np.inf),
    "bare": lambda: dh.descend("booth", [0.0, 0.0], lr=0.05, steps=10, record=False),
    "batch": lambda: dh.descend("sphere", [[0.0, 0.0], [1.0, 2.0], [3.0, -4.0], [0.5, 0.5]], lr=1.01,
                                steps=300, tol=1e-6),
    "batch-nan": lambda: dh.descend(dh.landscapes.from_expression("sqrt(x) + y**2"),
                                    [[1.0, 1.0], [4.0, 0.5]], lr=0.1, steps=40),
    "batch-bare": lambda: dh.descend("himmelblau", [[0.0, 0.0], [4.0, 4.0], [-1.0, 1.0]], lr=0.06, steps=200,
                                     record=False),
}


@pytest.mark.parametrize("climb", list(CLIMBS))
def test_to_dict_is_json_ready_and_from_dict_restores_it(climb):
    trajectory = CLIMBS[climb]()
    data = trajectory.to_dict()
    text = json.dumps(data, allow_nan=False)  # raises on NaN or inf anywhere
    assert "NaN" not in text and "Infinity" not in text
    back = round_trip(trajectory)
    assert_same(trajectory, back)
    assert back.batched == trajectory.batched
    assert back.summary() == trajectory.summary()
    assert repr(back).startswith("<Trajectory")
    # A second trip changes nothing.
    assert json.dumps(back.to_dict(), allow_nan=False) == text


def test_non_finite_numbers_become_none():
    t = CLIMBS["diverged-to-nan"]()
    assert t.status == "diverged" and math.isnan(t.final_value)
    data = t.to_dict()
    assert data["final_value"] is None and data["values"][-1] is None
    assert data["diverged_at"] == t.diverged_at and isinstance(data["diverged_at"], int)
    assert math.isnan(dh.Trajectory.from_dict(data).final_value)
    assert data["non_finite"]["final_value"] == "nan" and data["non_finite"]["values"] == "nan"


def test_infinities_are_noted_and_come_back():
    t = CLIMBS["diverged-to-inf"]()
    data = json.loads(json.dumps(t.to_dict(), allow_nan=False))
    assert data["options"]["max_value"] is None and data["non_finite"]["options.max_value"] == "inf"
    back = dh.Trajectory.from_dict(data)
    assert back.options["max_value"] == math.inf and back.grad_norms[-1] == t.grad_norms[-1]
    # Infinity, too, is None (and comes back as NaN: JSON has neither).
    inf_run = CLIMBS["diverged-to-inf"]()
    inf_data = inf_run.to_dict()
    assert not math.isfinite(inf_run.final_grad_norm) and inf_data["final_grad_norm"] is None


def test_a_batch_to_dict_has_one_entry_per_climber():
    t = CLIMBS["batch"]()
    data = t.to_dict()
    n = 4
    assert len(data["status"]) == len(data["steps_taken"]) == len(data["diverged_at"]) == n
    assert all(s in STATUSES for s in data["status"])
    # Climbers that did not fall off have no divergence step (None, not -1).
    for status, at in zip(data["status"], data["diverged_at"]):
        assert (at is None) == (status != "diverged")
    assert np.asarray(data["points"]).shape == (t.steps_taken.max() + 1, n, 2)
    back = dh.Trajectory.from_dict(data)
    np.testing.assert_array_equal(back.diverged_at, t.diverged_at)


def test_options_and_names_travel_along():
    t = CLIMBS["max_steps"]()
    data = json.loads(json.dumps(t.to_dict()))
    assert data["optimizer"] == "adam" and data["landscape"] == "rosenbrock"
    assert data["options"]["lr"] == 0.01 and data["options"]["steps"] == 50
    assert data["options"]["betas"] == [0.8, 0.99]
    assert dh.Trajectory.from_dict(data).options["betas"] == [0.8, 0.99]


def test_properties_say_what_happened():
    converged, diverged, ran_out = CLIMBS["converged"](), CLIMBS["diverged"](), CLIMBS["max_steps"]()
    assert converged.converged and not converged.diverged and not converged.batched
    assert diverged.diverged and not diverged.converged
    assert not ran_out.converged and not ran_out.diverged
    batch = CLIMBS["batch"]()
    assert batch.batched
    np.testing.assert_array_equal(batch.converged, batch.status == "converged")
    np.testing.assert_array_equal(batch.diverged, batch.status == "diverged")


def test_summaries_are_plain_sentences():
    converged = CLIMBS["converged"]()
    assert converged.summary().startswith(f"converged after {converged.steps_taken} steps")
    diverged = CLIMBS["diverged"]()
    assert f"diverged at step {diverged.diverged_at}" in diverged.summary()
    assert "too big" in diverged.summary()
    assert "the value became NaN or infinite" in CLIMBS["diverged-to-nan"]().summary()
    # With no limit on the value, the slope's length overflows first (|grad|^2 > 1.8e308).
    assert "the slope became NaN or infinite" in CLIMBS["diverged-to-inf"]().summary()
    assert CLIMBS["max_steps"]().summary().startswith("ran out of steps after 50")
    batch = CLIMBS["batch"]()
    counts = {s: int(np.sum(batch.status == s)) for s in STATUSES}
    assert batch.summary() == (f"{counts['converged']} converged, {counts['diverged']} diverged, "
                               f"{counts['max_steps']} max_steps out of 4 climbers")
    assert "booth" in repr(converged) and "sgd" in repr(converged)


def test_the_recorded_shapes():
    single = CLIMBS["max_steps"]()
    assert single.points.shape == (51, 2) and single.values.shape == (51,) and single.lrs.shape == (50,)
    batch = CLIMBS["batch"]()
    taken = batch.steps_taken.max()
    assert batch.points.shape == (taken + 1, 4, 2)
    assert batch.values.shape == batch.grad_norms.shape == (taken + 1, 4)
    assert batch.lrs.shape == (taken,)
    assert batch.final_point.shape == (4, 2)


def test_a_start_already_off_the_mountain_is_reported_as_such():
    """Not 'the steps were too big': no step was taken (issue 14)."""
    infinite = dh.descend(dh.landscapes.resolve("exp(x)"), [1000.0])
    huge = dh.descend(dh.landscapes.resolve("x**2"), [1e7])
    for trajectory, why in ((infinite, "the value is NaN or infinite"), (huge, "the value is already past 1e+12")):
        assert trajectory.status == "diverged" and trajectory.diverged_at == 0
        assert trajectory.summary().startswith(f"diverged at step 0: {why} at the start, before any step")
        assert "too big" not in trajectory.summary()


def test_a_one_variable_formula_that_is_x_itself_descends():
    """``descend "x"`` was refused with a message about shapes (issue 14): x goes down at slope 1."""
    trajectory = dh.descend(dh.landscapes.resolve("x"), [1.0], lr=0.5, steps=4)
    assert trajectory.status == "max_steps"
    np.testing.assert_array_equal(trajectory.points[:, 0], [1.0, 0.5, 0.0, -0.5, -1.0])
    np.testing.assert_array_equal(trajectory.values, [1.0, 0.5, 0.0, -0.5, -1.0])
