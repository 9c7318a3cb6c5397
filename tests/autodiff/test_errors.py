"""Errors teach: each mistake is met with a message that says what was wrong and how to fix it."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import downhill as dh


def test_grad_of_a_non_scalar_function_points_to_sum_and_jacobian():
    with pytest.raises(TypeError) as caught:
        dh.grad(lambda x: x ** 2)(np.array([1.0, 2.0]))
    message = str(caught.value)
    assert "shape (2,)" in message and ".sum()" in message and "jacobian" in message
    with pytest.raises(TypeError, match="single number"):
        dh.grad(lambda x: [x, x])(1.0)


@pytest.mark.parametrize("build, op", [
    (lambda a, b: a + b, "add"),
    (lambda a, b: a * b, "multiply"),
    (lambda a, b: dh.subtract(a, b), "subtract"),
    (lambda a, b: dh.maximum(a, b), "maximum"),
    (lambda a, b: dh.where(np.ones((2, 3), bool), a, b), "where"),
])
def test_shape_mismatch_names_both_shapes_and_the_op(build, op):
    a = dh.ones((2, 3), requires_grad=True)
    b = dh.ones(4)
    with pytest.raises(ValueError) as caught:
        build(a, b)
    message = str(caught.value)
    assert message.startswith(op) and "(2, 3)" in message and "(4,)" in message and "broadcast" in message


def test_matmul_mismatch_says_which_axes_must_agree():
    with pytest.raises(ValueError, match=r"matmul: shapes \(2, 3\) and \(4, 2\) do not fit: the last axis"):
        dh.ones((2, 3)) @ dh.ones((4, 2))
    with pytest.raises(ValueError, match="at least one dimension"):
        dh.matmul(dh.tensor(2.0), dh.ones(2))


def test_bad_settings_name_the_function():
    with pytest.raises(ValueError, match=r"sum: axis 2 is out of range for a tensor with 2 dimension"):
        dh.sum(dh.ones((2, 3)), axis=2)
    with pytest.raises(ValueError, match=r"reshape on shapes \(2, 3\)"):
        dh.reshape(dh.ones((2, 3)), (4,))
    with pytest.raises(ValueError, match="squeeze: axis 1 has length 3"):
        dh.squeeze(dh.ones((1, 3)), 1)
    with pytest.raises(ValueError, match="repeated axis"):
        dh.mean(dh.ones((2, 3)), axis=(0, 0))
    with pytest.raises(ValueError, match="degrees of freedom"):
        dh.var(dh.ones(1), ddof=1)
    with pytest.raises(ValueError, match="stack: all tensors must have the same shape"):
        dh.stack([dh.ones(2), dh.ones(3)])
    with pytest.raises(ValueError, match="swapaxes: axis 5 is out of range"):
        dh.swapaxes(dh.ones((2, 3)), 5, 0)
    with pytest.raises(ValueError, match=r"transpose: axes \(0, 5\) out of range"):
        dh.transpose(dh.ones((2, 3)), (0, 5))
    with pytest.raises(ValueError, match="max: axis -2 is out of range for a tensor with 0 dimension"):
        dh.max(dh.tensor(1.0), axis=-2)
    with pytest.raises(ValueError, match="clip: give a_min, a_max, or both"):
        dh.clip(dh.ones(2))


def test_reading_grad_of_a_non_leaf_warns_to_retain_grad():
    x = dh.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.sum().backward()
    with pytest.warns(UserWarning, match=r"retain_grad\(\)"):
        assert y.grad is None
    z = x * 3
    z.retain_grad()
    z.sum().backward()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert z.grad.tolist() == [1.0, 1.0]
        assert x.grad is not None  # a leaf: no warning


def test_backward_twice_without_retain_graph():
    x = dh.tensor(2.0, requires_grad=True)
    y = x * x
    y.backward()
    with pytest.raises(RuntimeError, match="second time") as caught:
        y.backward()
    assert "retain_graph=True" in str(caught.value)
    z = x * x
    z.backward(retain_graph=True)
    z.backward()
    assert x.grad.item() == 4.0 + 2 * 4.0  # the first y, then z twice


def test_backward_on_a_non_scalar_says_to_reduce_or_give_a_gradient():
    y = dh.tensor([1.0, 2.0], requires_grad=True) * 2
    with pytest.raises(RuntimeError) as caught:
        y.backward()
    message = str(caught.value)
    assert "shape (2,)" in message and "y.sum()" in message and "gradient=" in message
    with pytest.raises(ValueError, match=r"gradient has shape \(3,\) but the output has shape \(2,\)"):
        y.backward(gradient=np.ones(3))


def test_backward_on_a_tensor_without_grad_says_requires_grad():
    with pytest.raises(RuntimeError, match="requires_grad=True"):
        (dh.tensor(2.0) * 3).backward()


@pytest.mark.parametrize("update", [
    lambda x: x.__iadd__(1.0), lambda x: x.__isub__(1.0), lambda x: x.__imul__(2.0),
    lambda x: x.__itruediv__(2.0), lambda x: x.__setitem__(0, 1.0),
])
def test_in_place_on_a_requires_grad_leaf_points_to_no_grad(update):
    x = dh.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"dh\.no_grad\(\)"):
        update(x)
    assert x.tolist() == [1.0, 2.0]  # nothing was changed
    with dh.no_grad():
        update(x)


def test_in_place_with_a_requires_grad_value_is_refused_too():
    x = dh.tensor([1.0, 2.0])
    w = dh.tensor([1.0, 1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="no_grad"):
        x += w


def test_transform_argument_errors():
    with pytest.raises(ValueError, match="argnums=2 but the function was called with 2"):
        dh.grad(lambda x, y: x * y, argnums=2)(1.0, 2.0)
    with pytest.raises(TypeError, match="pair"):
        dh.grad(lambda x: x * x, has_aux=True)(1.0)
    with pytest.raises(TypeError, match="floating-point"):
        dh.grad(lambda x: x.sum())(np.array([1j]))
    with pytest.raises(TypeError, match="elementwise"):
        dh.derivative(lambda x: x.sum())(np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="one tangent each"):
        dh.jvp(lambda x, y: x * y, (1.0, 2.0), (1.0,))
    with pytest.raises(ValueError, match="tangent has shape"):
        dh.jvp(lambda x: x, (np.ones(2),), (np.ones(3),))
    _, pullback = dh.vjp(lambda x: x * 2, np.ones(2))
    with pytest.raises(ValueError, match="cotangent has shape"):
        pullback(np.ones(3))


def test_making_tensors_from_unsupported_values():
    with pytest.raises(TypeError, match="nested lists of numbers"):
        dh.tensor({"a": 1})
    with pytest.raises(TypeError, match="only floating-point tensors can require gradients"):
        dh.tensor([1, 2]).requires_grad_()
    with pytest.raises(TypeError, match="0-d"):
        len(dh.tensor(1.0))
