"""Gradients of the catalog through downhill's engine.

The landscapes are compiled from formula text into downhill's differentiable
functions, so dh.grad must match central differences everywhere smooth, vanish
at every smooth landscape's known minima, and curve upwards there.
"""

import numpy as np
import pytest

import downhill as dh
from downhill.landscapes import get, names

SMOOTH = [name for name in names() if get(name).smooth]
NON_SMOOTH = [name for name in names() if not get(name).smooth]


def points_inside(landscape, count, seed):
    rng = np.random.default_rng(seed)
    low = np.array([low for low, _ in landscape.domain])
    high = np.array([high for _, high in landscape.domain])
    points = low + (high - low) * rng.random((count, 2))
    if landscape.name == "bukin6":
        # Stay off its crease (y = 0.01 x^2) and off x = -10, where differences
        # taken across the kink would measure nothing meaningful.
        x, y = points[:, 0], points[:, 1]
        points = points[(np.abs(y - 0.01 * x**2) > 0.05) & (np.abs(x + 10) > 0.05)]
    return points


@pytest.mark.parametrize("name", names())
def test_gradient_matches_central_differences(name):
    landscape = get(name)
    for point in points_inside(landscape, 8, seed=5):
        exact = dh.grad(landscape)(point)
        measured = dh.numerical_grad(landscape, point)
        size = max(1.0, np.linalg.norm(exact))
        np.testing.assert_allclose(exact, measured, rtol=1e-6, atol=1e-6 * size)


@pytest.mark.parametrize("name", names())
def test_gradient_of_a_batch_is_each_points_gradient(name):
    landscape = get(name)
    points = points_inside(landscape, 6, seed=6)
    together = dh.grad(lambda p: landscape(p).sum())(points)
    one_by_one = np.array([dh.grad(landscape)(point) for point in points])
    np.testing.assert_allclose(together, one_by_one, rtol=1e-14, atol=0)


@pytest.mark.parametrize("name", SMOOTH)
def test_gradient_vanishes_at_smooth_minima(name):
    landscape = get(name)
    for point, value in landscape.minima:
        slope = dh.grad(landscape)(np.array(point))
        assert np.linalg.norm(slope) <= 1e-10 * max(1.0, abs(value)), slope


@pytest.mark.parametrize("name", SMOOTH)
def test_smooth_minima_curve_upwards(name):
    landscape = get(name)
    for point, _ in landscape.minima:
        curvature = np.linalg.eigvalsh(dh.hessian(landscape)(np.array(point)))
        assert curvature.min() > -1e-8 * max(1.0, abs(curvature).max())


def test_himmelblau_local_maximum_is_flat_and_curves_downwards():
    himmelblau = get("himmelblau")
    (point, _), = himmelblau.local_maxima
    point = np.array(point)
    assert np.linalg.norm(dh.grad(himmelblau)(point)) <= 1e-10
    assert np.linalg.eigvalsh(dh.hessian(himmelblau)(point)).max() < 0


@pytest.mark.parametrize("name", NON_SMOOTH)
def test_non_smooth_landscapes_have_no_gradient_at_their_minimum(name):
    # What smooth=False warns about: the chain rule meets sqrt at 0 there.
    landscape = get(name)
    (point, _), = landscape.minima
    with np.errstate(all="ignore"):
        slope = dh.grad(landscape)(np.array(point))
    assert not np.all(np.isfinite(slope))
