"""basins(): a climber from every grid start, labelled by the minimum it reaches."""

from __future__ import annotations

import json

import numpy as np
import pytest

import downhill as dh
from downhill.optim.basins import DIVERGED, ELSEWHERE, BasinMap, basins


@pytest.fixture(scope="module")
def himmelblau():
    return basins("himmelblau", lr=0.01, grid=(60, 50), steps=300)


def test_the_four_basins_of_himmelblau_are_found(himmelblau):
    assert isinstance(himmelblau, BasinMap)
    assert himmelblau.labels.shape == (50, 60) and himmelblau.final_points.shape == (50, 60, 2)
    assert sorted(himmelblau.counts) == [0, 1, 2, 3]
    assert sum(himmelblau.counts.values()) == 3000
    # Each basin is a real share of the map (roughly a quarter each).
    assert all(0.15 < himmelblau.fraction(k) < 0.35 for k in range(4))


def test_a_start_near_each_minimum_is_labelled_with_it(himmelblau):
    for k, minimum in enumerate(dh.landscapes.get("himmelblau").minima):
        near = np.array(minimum.point) + [0.2, -0.15]
        assert himmelblau.label_at(near) == k


def test_labels_agree_with_lone_climbers(himmelblau):
    rng = np.random.default_rng(0)
    minima = np.array([m.point for m in dh.landscapes.get("himmelblau").minima])
    starts = himmelblau.starts
    for i, j in zip(rng.integers(0, 50, 8), rng.integers(0, 60, 8)):
        walk = dh.descend("himmelblau", starts[i, j], lr=0.01, steps=300)
        distance = np.linalg.norm(minima - walk.final_point, axis=1)
        assert np.allclose(walk.final_point, himmelblau.final_points[i, j])
        assert himmelblau.labels[i, j] == (int(np.argmin(distance)) if distance.min() <= himmelblau.tol
                                           else ELSEWHERE)


def test_grid_axes_cover_the_domain(himmelblau):
    assert himmelblau.xs[0] == -5 and himmelblau.xs[-1] == 5 and len(himmelblau.xs) == 60
    assert np.allclose(himmelblau.starts[3, 7], [himmelblau.xs[7], himmelblau.ys[3]])
    assert himmelblau.domain == ((-5.0, 5.0), (-5.0, 5.0))


def test_too_large_a_learning_rate_marks_starts_diverged():
    result = basins("himmelblau", lr=0.2, grid=12)
    assert result.counts == {DIVERGED: 144}
    assert np.all(result.status == "diverged") and result.fraction(DIVERGED) == 1.0


def test_stopping_away_from_known_minima_is_elsewhere():
    # Rastrigin's many local minima are not in the catalog: most starts end in one of them.
    result = basins("rastrigin", lr=0.001, grid=10, steps=500)
    assert result.counts.get(ELSEWHERE, 0) > 50
    # ... unless we name them: the local minimum nearest (1, 1) is close to (0.995, 0.995).
    named = basins("rastrigin", lr=0.001, grid=10, steps=500, minima=[(0.99495864, 0.99495864)], tol=1e-3)
    assert named.counts.get(0, 0) >= 1


def test_options_reach_the_optimizer_and_a_callable_needs_a_domain():
    result = basins("booth", optimizer="sgd", lr=0.01, grid=5, momentum=0.9, steps=300)
    assert result.counts == {0: 25} and result.options["momentum"] == 0.9
    with pytest.raises(ValueError, match="give domain"):
        basins(lambda p: (p ** 2).sum(-1), grid=4)
    bowl = basins(lambda p: (p ** 2).sum(-1), grid=4, lr=0.1, domain=((-1, 1), (-1, 1)), minima=[(0, 0)])
    assert bowl.counts == {0: 16}


@pytest.mark.parametrize("kwargs, message", [
    (dict(grid=0), "grid"),
    (dict(grid="big"), "grid"),
    (dict(domain=((1, 0), (0, 1))), "low < high"),
    (dict(tol=0), "tol"),
])
def test_bad_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        basins("sphere", **kwargs)


def test_a_landscape_of_one_variable_is_refused():
    with pytest.raises(ValueError, match="two variables"):
        basins(dh.landscapes.from_expression("t**2", variables=["t"]))


def test_summary_repr_and_json(himmelblau):
    text = himmelblau.summary()
    assert text.startswith("3000 starts (sgd, lr=0.01, 300 steps):") and "minimum 0 at (3, 2)" in text
    assert "BasinMap on himmelblau" in repr(himmelblau)
    data = json.loads(json.dumps(himmelblau.to_dict()))
    assert np.array_equal(np.array(data["labels"]), himmelblau.labels)
    assert data["counts"] == {str(k): v for k, v in himmelblau.counts.items()}


def test_diverged_results_serialise():
    data = basins("sphere", lr=1.5, grid=2, steps=200).to_dict()
    json.dumps(data)
    assert data["counts"] == {"-1": 4}


def test_names_do_not_collide_modules_are_modules_and_functions_are_top_level():
    import types

    import downhill as dh

    assert isinstance(dh.optim.basins, types.ModuleType) and isinstance(dh.optim.descend, types.ModuleType)
    assert dh.basins is dh.optim.basins.basins and dh.descend is dh.optim.descend.descend
    assert dh.BasinMap is dh.optim.BasinMap
    assert isinstance(dh.optim.three_rates, types.ModuleType) and dh.three_rates is dh.optim.three_rates.three_rates
