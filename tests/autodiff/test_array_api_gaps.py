"""Array API names and products on the shapes NumPy refuses: the same refusals, said clearly."""

from __future__ import annotations

import numpy as np
import pytest

import downhill as dh


def test_permute_dims_reverses_the_axes_by_default_as_numpy_2():
    x = np.arange(24.0).reshape(2, 3, 4)
    assert dh.permute_dims(dh.tensor(x)).shape == np.permute_dims(x).shape == (4, 3, 2)
    np.testing.assert_array_equal(dh.permute_dims(dh.tensor(x)).numpy(), np.permute_dims(x))
    np.testing.assert_array_equal(dh.permute_dims(dh.tensor(x), (2, 0, 1)).numpy(), np.permute_dims(x, (2, 0, 1)))


@pytest.mark.parametrize("a, b", [((), ()), ((3,), ()), ((2, 3), (2,)), ((2, 3), (1, 2))])
def test_vecdot_refuses_what_numpy_refuses(a, b):
    with pytest.raises(ValueError):
        np.vecdot(np.ones(a), np.ones(b))
    with pytest.raises(dh.errors.InputError, match="vecdot"):
        dh.vecdot(dh.ones(a), dh.ones(b))


def test_vecdot_contracts_the_axis_counted_from_the_end():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(4, 2, 3)), rng.normal(size=(2, 3))
    for axis in (-1, -2):
        np.testing.assert_allclose(dh.vecdot(dh.tensor(x), y, axis=axis).numpy(), np.vecdot(x, y, axis=axis),
                                   rtol=1e-14)
    # a positive axis counts in each input's own shape, as NumPy's (here 2 and 3 components)
    with pytest.raises(ValueError):
        np.vecdot(x, y, axis=1)
    with pytest.raises(dh.errors.InputError, match="have 2 and 3 components"):
        dh.vecdot(dh.tensor(x), y, axis=1)


def test_cross_of_numbers_says_it_needs_vectors():
    with pytest.raises(ValueError):
        np.cross(np.float64(1.0), np.float64(2.0))
    with pytest.raises(dh.errors.InputError, match="cross needs vectors"):
        dh.cross(1.0, 2.0)
