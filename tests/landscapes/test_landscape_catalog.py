"""The catalog of test mountains against what is known about them.

Each formula is checked against NumPy code written here, independently, from the
table in REFERENCE.md (Wikipedia, SFU), so a typo in a formula string cannot hide.
"""

import math

import numpy as np
import pytest

import downhill as dh
from downhill.landscapes import KnownPoint, get, names, parse_expression

PI = math.pi

# f(x, y) as the REFERENCE.md table writes it, in plain NumPy.
REFERENCE_FUNCTIONS = {
    "sphere": lambda x, y: x**2 + y**2,
    "booth": lambda x, y: (x + 2 * y - 7) ** 2 + (2 * x + y - 5) ** 2,
    "matyas": lambda x, y: 0.26 * (x**2 + y**2) - 0.48 * x * y,
    "rosenbrock": lambda x, y: 100 * (y - x**2) ** 2 + (1 - x) ** 2,
    "himmelblau": lambda x, y: (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2,
    "beale": lambda x, y: (1.5 - x + x * y) ** 2
    + (2.25 - x + x * y**2) ** 2
    + (2.625 - x + x * y**3) ** 2,
    "three_hump_camel": lambda x, y: 2 * x**2 - 1.05 * x**4 + x**6 / 6 + x * y + y**2,
    "six_hump_camel": lambda x, y: (4 - 2.1 * x**2 + x**4 / 3) * x**2
    + x * y
    + (-4 + 4 * y**2) * y**2,
    "goldstein_price": lambda x, y: (
        1 + (x + y + 1) ** 2 * (19 - 14 * x + 3 * x**2 - 14 * y + 6 * x * y + 3 * y**2)
    )
    * (30 + (2 * x - 3 * y) ** 2 * (18 - 32 * x + 12 * x**2 + 48 * y - 36 * x * y + 27 * y**2)),
    "mccormick": lambda x, y: np.sin(x + y) + (x - y) ** 2 - 1.5 * x + 2.5 * y + 1,
    "styblinski_tang": lambda x, y: 0.5 * ((x**4 - 16 * x**2 + 5 * x) + (y**4 - 16 * y**2 + 5 * y)),
    "rastrigin": lambda x, y: 10 * 2
    + (x**2 - 10 * np.cos(2 * PI * x))
    + (y**2 - 10 * np.cos(2 * PI * y)),
    "ackley": lambda x, y: -20 * np.exp(-0.2 * np.sqrt(0.5 * (x**2 + y**2)))
    - np.exp(0.5 * (np.cos(2 * PI * x) + np.cos(2 * PI * y)))
    + np.e
    + 20,
    "levi13": lambda x, y: np.sin(3 * PI * x) ** 2
    + (x - 1) ** 2 * (1 + np.sin(3 * PI * y) ** 2)
    + (y - 1) ** 2 * (1 + np.sin(2 * PI * y) ** 2),
    "easom": lambda x, y: -np.cos(x) * np.cos(y) * np.exp(-((x - PI) ** 2 + (y - PI) ** 2)),
    "bukin6": lambda x, y: 100 * np.sqrt(np.abs(y - 0.01 * x**2)) + 0.01 * np.abs(x + 10),
}

# The minimizers and values as REFERENCE.md prints them, with one unit in the
# last printed digit as tolerance (the sources truncate as often as they round:
# Wikipedia's -0.7126 is -0.712656..., its -1.9133 is -1.913223...).
REFERENCE_MINIMA = {
    "sphere": ([(0, 0)], 0, 0),
    "booth": ([(1, 3)], 0, 0),
    "matyas": ([(0, 0)], 0, 0),
    "rosenbrock": ([(1, 1)], 0, 0),
    "himmelblau": (
        [(3, 2), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126)],
        0,
        1e-6,
    ),
    "beale": ([(3, 0.5)], 0, 0),
    "three_hump_camel": ([(0, 0)], 0, 0),
    "six_hump_camel": ([(0.0898, -0.7126), (-0.0898, 0.7126)], -1.0316, 1e-4),
    "goldstein_price": ([(0, -1)], 3, 0),
    "mccormick": ([(-0.54719, -1.54719)], -1.9133, 1e-4),
    "styblinski_tang": ([(-2.903534, -2.903534)], -39.16617 * 2, 1e-5 * 2),
    "rastrigin": ([(0, 0)], 0, 0),
    "ackley": ([(0, 0)], 0, 0),
    "levi13": ([(1, 1)], 0, 0),
    "easom": ([(PI, PI)], -1, 0),
    "bukin6": ([(-10, 1)], 0, 0),
}

NON_SMOOTH = {"ackley", "bukin6"}
MANY_LOCAL_MINIMA = {"rastrigin", "ackley", "levi13", "easom", "bukin6"}
SMOOTH_NAMES = [name for name in REFERENCE_FUNCTIONS if name not in NON_SMOOTH]


def random_points(landscape, count, seed=0):
    rng = np.random.default_rng(seed)
    low = np.array([low for low, _ in landscape.domain])
    high = np.array([high for _, high in landscape.domain])
    return low + (high - low) * rng.random((count, len(landscape.variables)))


def scale(value):
    return max(1.0, abs(value))


def test_the_catalog_has_every_reference_function_in_order():
    assert names() == tuple(REFERENCE_FUNCTIONS)
    assert all(get(name).name == name for name in names())


@pytest.mark.parametrize("name", names())
def test_value_at_each_known_minimum(name):
    landscape = get(name)
    assert landscape.minima
    for point, value in landscape.minima:
        assert abs(float(landscape(np.array(point))) - value) <= 1e-12 * scale(value)


@pytest.mark.parametrize("name", names())
def test_known_minima_agree_with_the_reference_table(name):
    points, value, tolerance = REFERENCE_MINIMA[name]
    landscape = get(name)
    assert len(landscape.minima) == len(points)
    for known, printed in zip(landscape.minima, points):
        assert isinstance(known, KnownPoint)
        np.testing.assert_allclose(known.point, printed, rtol=0, atol=tolerance + 1e-15)
        assert abs(known.value - value) <= tolerance + 1e-15


@pytest.mark.parametrize("name", names())
def test_minima_lie_inside_the_domain(name):
    landscape = get(name)
    for point, _ in landscape.minima:
        for coordinate, (low, high) in zip(point, landscape.domain):
            assert low <= coordinate <= high


@pytest.mark.parametrize("name", names())
def test_known_minima_are_lowest_nearby(name):
    # Every point on a small circle around a minimum is at least as high.
    landscape = get(name)
    angles = np.linspace(0, 2 * np.pi, 32, endpoint=False)
    circle = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    for point, value in landscape.minima:
        for radius in (1e-3, 1e-5):
            around = landscape(np.array(point) + radius * circle)
            assert np.all(around >= value - 1e-12 * scale(value))


@pytest.mark.parametrize("name", SMOOTH_NAMES)
def test_smooth_minima_are_flat(name):
    # Measured by central differences, with NumPy alone.
    landscape = get(name)
    for point, value in landscape.minima:
        slope = dh.numerical_grad(landscape, np.array(point))
        assert np.linalg.norm(slope) <= 1e-6 * scale(value)


@pytest.mark.parametrize("name", names())
def test_no_grid_point_is_below_the_minimum(name):
    landscape = get(name)
    (x_low, x_high), (y_low, y_high) = landscape.domain
    x, y = np.meshgrid(np.linspace(x_low, x_high, 301), np.linspace(y_low, y_high, 301))
    grid = np.stack([x, y], axis=-1)
    # Overflow or invalid values anywhere in the domain would be a bug, so they
    # raise; underflow (Easom far from its hole) is harmless and allowed.
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        heights = landscape(grid)
    assert heights.shape == (301, 301)
    lowest = min(value for _, value in landscape.minima)
    assert heights.min() >= lowest - 1e-9 * scale(lowest)


@pytest.mark.parametrize("name", names())
def test_batches_match_point_by_point(name):
    landscape = get(name)
    points = random_points(landscape, 12, seed=1)
    batch = landscape(points)
    assert batch.shape == (12,)
    singles = np.array([landscape(point) for point in points])
    assert all(np.shape(landscape(point)) == () for point in points)
    np.testing.assert_array_equal(batch, singles)
    grid_batch = landscape(points.reshape(3, 4, 2))
    np.testing.assert_array_equal(grid_batch, batch.reshape(3, 4))


@pytest.mark.parametrize("name", names())
def test_formula_matches_independent_numpy_code(name):
    landscape = get(name)
    points = random_points(landscape, 200, seed=2)
    expected = REFERENCE_FUNCTIONS[name](points[:, 0], points[:, 1])
    np.testing.assert_allclose(landscape(points), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", names())
def test_formula_text_compiled_again_gives_the_same_function(name):
    landscape = get(name)
    points = random_points(landscape, 50, seed=3)
    expression = parse_expression(landscape.formula, landscape.variables)
    again = expression.evaluate([points[:, 0], points[:, 1]])
    np.testing.assert_array_equal(again, landscape(points))
    assert landscape.f(points).tolist() == landscape(points).tolist()


@pytest.mark.parametrize("name", names())
def test_tensor_in_gives_tensor_out_with_the_same_numbers(name):
    landscape = get(name)
    points = random_points(landscape, 20, seed=4)
    out = landscape(dh.tensor(points))
    assert isinstance(out, dh.Tensor)
    np.testing.assert_array_equal(out.numpy(), landscape(points))


@pytest.mark.parametrize("name", names())
def test_flags_and_description(name):
    landscape = get(name)
    assert landscape.variables == ("x", "y")
    assert landscape.smooth is (name not in NON_SMOOTH)
    assert landscape.many_local_minima is (name in MANY_LOCAL_MINIMA)
    assert landscape.description.endswith(".") and landscape.description.count(". ") == 0


def test_himmelblau_local_maximum():
    himmelblau = get("himmelblau")
    (point, value), = himmelblau.local_maxima
    np.testing.assert_allclose(point, (-0.270845, -0.923039), atol=0.5e-6)
    assert abs(value - 181.617) <= 0.5e-3
    assert abs(float(himmelblau(np.array(point))) - value) <= 1e-12 * value
    assert np.linalg.norm(dh.numerical_grad(himmelblau, np.array(point))) <= 1e-6 * value
    angles = np.linspace(0, 2 * np.pi, 16, endpoint=False)
    around = np.array(point) + 1e-3 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    assert np.all(himmelblau(around) < value)


@pytest.mark.parametrize("typed", ["Rosenbrock", " rosenbrock ", "ROSENBROCK"])
def test_get_ignores_case_and_spaces(typed):
    assert get(typed) is get("rosenbrock")


def test_get_reads_hyphens_and_spaces_as_underscores():
    assert get("Goldstein-Price") is get("goldstein_price")
    assert get("six hump camel") is get("six_hump_camel")


def test_get_suggests_close_names_and_lists_all():
    with pytest.raises(ValueError) as caught:
        get("rosenbrok")
    message = str(caught.value)
    assert "'rosenbrok'" in message and "did you mean 'rosenbrock'" in message
    assert all(name in message for name in names())


def test_get_without_a_close_name_still_lists_all():
    with pytest.raises(ValueError, match="unknown landscape 'qqq'. The landscapes are: sphere, "):
        get("qqq")
