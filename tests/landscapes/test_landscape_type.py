"""The Landscape type and from_expression: construction, shapes, errors, gradients."""

import dataclasses

import numpy as np
import pytest

import downhill as dh
from downhill.landscapes import ExpressionError, KnownPoint, Landscape, from_expression, get


def test_a_landscape_from_its_parts():
    bowl = Landscape("bowl", "x**2 + 3*y**2", minima=[((0, 0), 0)], smooth=True)
    assert bowl.variables == ("x", "y")
    assert bowl.domain == ((-5.0, 5.0), (-5.0, 5.0))
    assert bowl.minima == (KnownPoint((0.0, 0.0), 0.0),)
    assert all(type(c) is float for c in bowl.minima[0].point)
    assert bowl.local_maxima == ()
    assert bowl.many_local_minima is None
    assert repr(bowl) == "Landscape('bowl', 'x**2 + 3*y**2')"
    assert float(bowl([1, 2])) == 13.0  # integers are read as floats


def test_landscapes_are_frozen_values():
    bowl = Landscape("bowl", "x**2 + y**2")
    with pytest.raises(dataclasses.FrozenInstanceError):
        bowl.formula = "x"
    assert bowl == Landscape("bowl", "x**2 + y**2")
    assert hash(bowl) == hash(Landscape("bowl", "x**2 + y**2"))
    assert bowl != Landscape("bowl", "x**2 + y**2", smooth=True)


def test_explicit_variables_fix_the_coordinate_order():
    tilted = Landscape("tilted", "x - 2*y", variables=("y", "x"))
    assert float(tilted([1.0, 5.0])) == 5.0 - 2.0


def test_wrong_point_shapes_are_refused_with_the_shape_named():
    rosenbrock = get("rosenbrock")
    for bad in (np.zeros(3), np.zeros((4, 3)), np.float64(1.0)):
        with pytest.raises(ValueError, match=r"shape \(2,\) or \(n, 2\).*got shape"):
            rosenbrock(bad)


@pytest.mark.parametrize(
    "domain",
    [((-1, 1),), ((1, -1), (0, 1)), ((0, np.inf), (0, 1)), ((0, 0), (0, 1))],
)
def test_bad_domains_are_refused(domain):
    with pytest.raises(ValueError, match="domain"):
        Landscape("bowl", "x**2 + y**2", domain=domain)


def test_minima_need_one_coordinate_per_variable():
    with pytest.raises(ValueError, match="needs 2 coordinate"):
        Landscape("bowl", "x**2 + y**2", minima=[((0, 0, 0), 0)])


def test_a_bad_formula_is_refused_when_the_landscape_is_made():
    with pytest.raises(ExpressionError):
        Landscape("bad", "x.__class__")


def test_from_expression_defaults():
    hill = from_expression("sin(x)*cos(y) + exp(-x)/2")
    assert hill.variables == ("x", "y")
    assert hill.name == "sin(x)*cos(y) + exp(-x)/2"
    assert hill.domain == ((-5.0, 5.0), (-5.0, 5.0))
    assert hill.minima == () and hill.smooth is None and hill.many_local_minima is None
    assert float(hill([0.0, 0.0])) == 0.5


def test_from_expression_variables_are_the_sorted_free_names():
    assert from_expression("z*y + x").variables == ("x", "y", "z")
    assert from_expression("y**2").variables == ("y",)


def test_from_expression_name_domain_and_variables():
    wave = from_expression("sin(t) * u", variables=("u", "t"), name="wave", domain=[(0, 1), (0, 6)])
    assert wave.name == "wave" and wave.variables == ("u", "t")
    assert wave.domain == ((0.0, 1.0), (0.0, 6.0))
    assert float(wave([2.0, np.pi / 2])) == 2.0


def test_from_expression_reads_caret_as_power():
    assert float(from_expression("x^2 + y^3")([2.0, 2.0])) == 12.0


def test_from_expression_errors_are_value_errors():
    with pytest.raises(ValueError, match="unknown name 't'"):
        from_expression("t**2")


def test_one_variable_landscapes_take_any_shape():
    speed = from_expression("x**3 - x")
    assert speed.variables == ("x",)
    assert np.shape(speed(2.0)) == ()
    assert float(speed(2.0)) == 6.0
    np.testing.assert_array_equal(speed(np.array([0.0, 1.0, 2.0])), [0.0, 0.0, 6.0])
    np.testing.assert_array_equal(dh.derivative(speed)(np.array([0.0, 2.0])), [-1.0, 11.0])
    assert dh.grad(speed)(2.0) == 11.0


def test_gradients_flow_through_a_typed_formula():
    hill = from_expression("x^2 + 3*y^2 + sin(x*y)")
    point = np.array([0.5, -1.5])
    slope = dh.grad(hill)(point)
    assert isinstance(slope, np.ndarray)
    expected = [2 * 0.5 + np.cos(-0.75) * -1.5, 6 * -1.5 + np.cos(-0.75) * 0.5]
    np.testing.assert_allclose(slope, expected, rtol=1e-14)


def test_a_constant_formula_keeps_the_batch_shape_and_a_zero_gradient():
    flat = from_expression("2*pi", variables=("x", "y"))
    np.testing.assert_array_equal(flat(np.zeros((3, 2))), np.full(3, 2 * np.pi))
    np.testing.assert_array_equal(dh.grad(flat)(np.array([1.0, 2.0])), [0.0, 0.0])


def test_a_formula_without_variables_is_refused_unless_they_are_named():
    with pytest.raises(ExpressionError, match="no variable"):
        from_expression("2 + 3")


def test_climbers_in_a_batch_each_get_their_own_gradient():
    himmelblau = get("himmelblau")
    points = np.array([[0.0, 0.0], [1.0, -2.0], [3.0, 2.0]])
    together = dh.grad(lambda p: himmelblau(p).sum())(points)
    one_by_one = np.array([dh.grad(himmelblau)(p) for p in points])
    np.testing.assert_allclose(together, one_by_one, rtol=1e-15)


def torch_relu(x):
    import torch  # only in the live oracle run and the recorder

    return torch.relu(torch.from_numpy(x)).numpy()


def test_relu_in_a_formula_is_the_engine_s_relu_nan_included(oracle):
    x = np.array([np.nan, -np.inf, -1.5, -0.0, 0.0, 2.5, np.inf])
    hill = from_expression("relu(x)")
    on_numpy = hill(x)
    on_tensor = hill(dh.tensor(x)).data
    np.testing.assert_array_equal(on_numpy, dh.relu(dh.tensor(x)).data)
    np.testing.assert_array_equal(on_numpy, on_tensor)
    theirs = oracle("relu", lambda: torch_relu(x))  # PyTorch's, recorded in tests/oracle/data
    assert theirs.dtype == np.float64
    np.testing.assert_array_equal(on_numpy, theirs)  # NaN in, NaN out
    assert np.isnan(on_numpy[0])
