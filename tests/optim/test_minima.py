"""find_minima / basins on formulas with no list of minima: the climbers' end points, clustered."""

import json
import math

import numpy as np
import pytest

import downhill as dh
from downhill.optim.basins import ELSEWHERE, basins
from downhill.optim.minima import cluster_points, find_minima

# Each formula with its true minima inside or next to the (-5, 5) square, worked out by hand.
SIN_VALLEYS = "(x-3)**2 + 10*sin(y)**2"  # minima (3, k*pi), value 0
TRUE_MINIMA = {
    SIN_VALLEYS: [(3.0, k * math.pi) for k in (-2, -1, 0, 1, 2)],
    # Himmelblau typed by hand: its four known minima (REFERENCE.md).
    "(x**2 + y - 11)**2 + (x + y**2 - 7)**2": [p.point for p in dh.landscapes.get("himmelblau").minima],
    "(x - 1)**2 + 2*(y + 0.5)**2": [(1.0, -0.5)],
}


@pytest.mark.parametrize("formula", list(TRUE_MINIMA))
def test_basins_of_a_typed_formula_find_the_true_minima(formula):
    result = basins(dh.landscapes.from_expression(formula), grid=60, lr=0.01, steps=200)
    assert result.found
    found = sorted(m.point for m in result.minima)
    truth = sorted(TRUE_MINIMA[formula])
    assert len(found) == len(truth)
    np.testing.assert_allclose(found, truth, atol=1e-3)
    assert all(abs(m.value) < 1e-9 for m in result.minima)
    assert result.fraction(ELSEWHERE) <= 0.01
    # Each climber is labelled with the minimum of its own valley: check a few
    # starts against a long climb of their own.
    starts = result.starts.reshape(-1, 2)[::397]
    labels = result.labels.ravel()[::397]
    for start, label in zip(starts, labels):
        alone = dh.descend(dh.landscapes.from_expression(formula), start, lr=0.01, steps=5000, record=False)
        nearest = np.argmin([np.linalg.norm(alone.final_point - np.array(m.point)) for m in result.minima])
        assert label == nearest


def test_a_catalogue_landscape_keeps_its_known_minima():
    result = basins("himmelblau", grid=20, lr=0.01, steps=300)
    assert not result.found
    assert result.minima == dh.landscapes.get("himmelblau").minima


def test_a_plain_function_with_a_domain_gets_its_minima_found():
    def two_wells(p):
        x, y = p[..., 0], p[..., 1]
        return (x ** 2 - 1) ** 2 + y ** 2

    result = basins(two_wells, grid=30, lr=0.02, steps=400, domain=((-2, 2), (-1, 1)))
    np.testing.assert_allclose(sorted(m.point for m in result.minima), [(-1.0, 0.0), (1.0, 0.0)], atol=1e-3)
    # Left half of the grid rolls to x = -1, right half to x = +1.
    left = result.labels[:, result.xs < -0.2]
    right = result.labels[:, result.xs > 0.2]
    assert np.all(left == 0) and np.all(right == 1)


def test_clusters_chain_close_points_and_skip_non_finite_ones():
    points = np.array([[0.0, 0.0], [0.09, 0.0], [0.18, 0.0], [1.0, 1.0], [np.inf, 0.0], [1.05, 1.02]])
    assert cluster_points(points, 0.1).tolist() == [0, 0, 0, 1, -1, 1]
    assert cluster_points(np.empty((0, 2)), 0.1).tolist() == []


def test_a_group_that_is_not_at_a_flat_point_is_not_called_a_minimum():
    # A tilted plane has no minimum: climbers that stop anywhere on it are not one.
    plane = dh.landscapes.from_expression("x + y")
    found = find_minima(plane, np.array([[0.0, 0.0], [0.01, 0.0]]), tol=0.1, polish_steps=50)
    assert found.minima == () and found.labels.tolist() == [-1, -1]


def test_found_minima_are_in_the_json_and_the_picture(tmp_path):
    result = basins(dh.landscapes.from_expression(SIN_VALLEYS), grid=30)
    data = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert data["found"] is True and len(data["minima"]) == 5
    fig = dh.viz.basins_plot(result, save=tmp_path / "b.png")
    from PIL import Image

    # The map is coloured by valley, not a blank grey: at least 5 colours cover
    # most of the plot area.
    ax = fig.axes[0]
    box = ax.get_window_extent()
    with Image.open(tmp_path / "b.png") as image:
        rgb = np.asarray(image.convert("RGB"))
    height = rgb.shape[0]
    area = rgb[int(height - box.y1) + 3:int(height - box.y0) - 3, int(box.x0) + 3:int(box.x1) - 3]
    colours, counts = np.unique(area.reshape(-1, 3), axis=0, return_counts=True)
    big = counts[counts > 0.01 * counts.sum()]
    assert len(big) >= 5


def test_bad_arguments_say_what_is_wrong():
    with pytest.raises(ValueError, match="shape"):
        find_minima("sphere", np.zeros(3), tol=0.1)
    with pytest.raises(ValueError, match="tol"):
        find_minima("sphere", np.zeros((3, 2)), tol=0)
