"""The Tensor API: creation and dtypes, NumPy interplay, indexing, in-place updates, grad mode."""

from __future__ import annotations

import functools

import numpy as np
import pytest

import downhill as dh


# ------------------------------------------------------------- creation, dtypes
def test_python_numbers_become_float64_and_int64_as_in_numpy():
    assert dh.tensor(3.0).dtype == np.float64
    assert dh.tensor([1.0, 2]).dtype == np.float64
    assert dh.tensor(3).dtype == np.int64
    assert dh.tensor([True, False]).dtype == np.bool_
    assert dh.tensor([1, 2], dtype="float32").dtype == np.float32
    assert dh.tensor(np.arange(3, dtype=np.float32)).dtype == np.float32


def test_tensor_copies_its_data():
    source = np.array([1.0, 2.0])
    t = dh.tensor(source)
    source[0] = 100.0
    assert t.tolist() == [1.0, 2.0]


@pytest.mark.parametrize("make, expected, dtype", [
    (lambda: dh.zeros((2, 3)), np.zeros((2, 3)), np.float64),
    (lambda: dh.zeros(2, dtype="float32"), np.zeros(2), np.float32),
    (lambda: dh.ones(3), np.ones(3), np.float64),
    (lambda: dh.full((2,), 7.5), np.full(2, 7.5), np.float64),
    (lambda: dh.full((2,), 7), np.full(2, 7), np.int64),
    (lambda: dh.zeros_like(dh.tensor([1, 2])), np.zeros(2), np.int64),
    (lambda: dh.ones_like(np.ones(2, np.float32)), np.ones(2), np.float32),
    (lambda: dh.zeros_like(dh.tensor([1.0, 2.0]), dtype="float32"), np.zeros(2), np.float32),
    (lambda: dh.arange(4.0), np.arange(4.0), np.float64),
    (lambda: dh.arange(1, 7, 2), np.arange(1, 7, 2), np.int64),
    (lambda: dh.linspace(0, 1, 5), np.linspace(0, 1, 5), np.float64),
    (lambda: dh.eye(2, 3, k=1), np.eye(2, 3, 1), np.float64),
])
def test_creation_functions(make, expected, dtype):
    t = make()
    assert isinstance(t, dh.Tensor) and t.dtype == dtype
    np.testing.assert_array_equal(t.numpy(), expected)
    assert not t.requires_grad and t.is_leaf


def test_creation_with_requires_grad():
    assert dh.zeros(2, requires_grad=True).requires_grad
    assert dh.linspace(0, 1, 3, requires_grad=True).requires_grad
    with pytest.raises(TypeError, match="floating-point"):
        dh.tensor([1, 2], requires_grad=True)


def test_mixed_dtypes_promote_as_numpy_does():
    f32 = dh.tensor([1.0, 2.0], dtype="float32")
    f64 = dh.tensor([1.0, 2.0])
    i64 = dh.tensor([1, 2])
    cases = [
        (f32 * 2.0, np.float32),          # a Python float is weak: float32 stays
        (2 * f32, np.float32),
        (f32 + f64, np.float64),
        (f32 * np.float64(2.0), np.result_type(np.float32, np.float64(2.0))),
        (i64 * 0.5, np.float64),
        (i64 + 1, np.int64),
        (i64 / 2, np.float64),
        (f32 + np.ones(2, np.float32), np.float32),
        (dh.exp(f32), np.float32),
        (dh.sum(f32), np.float32),
        (dh.mean(f32), np.float32),
    ]
    for result, dtype in cases:
        assert result.dtype == dtype


def test_gradients_have_the_dtype_of_their_leaf():
    x = dh.tensor([0.5, 1.5], dtype="float32", requires_grad=True)
    w = dh.tensor([2.0, 3.0], requires_grad=True)
    (dh.sin(x) * w).sum().backward()  # the product is float64
    assert x.grad.dtype == np.float32 and w.grad.dtype == np.float64
    np.testing.assert_allclose(x.grad.numpy(), (np.cos(x.numpy()) * w.numpy()).astype(np.float32), rtol=1e-6)
    assert dh.grad(lambda v: dh.sum(v * v))(np.array([1.0, 2.0], np.float32)).dtype == np.float32


def test_astype_casts_and_gradient_flows_back_in_the_leaf_dtype():
    x = dh.tensor([1.25, 2.5], requires_grad=True)
    y = x.astype("float32")
    assert y.dtype == np.float32 and y.grad_fn is not None
    (y * 2).sum().backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])
    assert dh.tensor([1.5]).astype("int64").tolist() == [1]


# --------------------------------------------------------------- random tensors
def test_random_is_reproducible_from_an_int_seed_or_a_generator():
    a = dh.random.normal((2, 3), seed=7)
    b = dh.random.normal((2, 3), seed=7)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_array_equal(a.numpy(), np.random.default_rng(7).normal(size=(2, 3)))
    assert not np.array_equal(a.numpy(), dh.random.normal((2, 3), seed=8).numpy())

    generator = np.random.default_rng(3)
    first = dh.random.uniform(4, -1.0, 1.0, seed=generator)
    second = dh.random.uniform(4, -1.0, 1.0, seed=generator)  # continues the stream
    reference = np.random.default_rng(3)
    np.testing.assert_array_equal(first.numpy(), reference.uniform(-1.0, 1.0, 4))
    np.testing.assert_array_equal(second.numpy(), reference.uniform(-1.0, 1.0, 4))


def test_random_options():
    x = dh.random.uniform((1000,), 2.0, 3.0, seed=0)
    assert x.shape == (1000,) and x.min().item() >= 2.0 and x.max().item() < 3.0
    y = dh.random.normal(5, mean=10.0, std=0.0, seed=0, dtype="float32", requires_grad=True)
    assert y.dtype == np.float32 and y.requires_grad and y.tolist() == [10.0] * 5
    assert dh.random.normal(seed=1).shape == ()
    with pytest.raises(ValueError, match="std"):
        dh.random.normal(3, std=-1.0, seed=0)
    with pytest.raises(ValueError, match="low <= high"):
        dh.random.uniform(3, 1.0, 0.0, seed=0)
    with pytest.raises(TypeError, match="seed"):
        dh.random.normal(3, seed="nope")


# ------------------------------------------------------------ values out of a Tensor
def test_item_tolist_numpy_and_array_protocol():
    t = dh.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert dh.tensor([[2.5]]).item() == 2.5 and isinstance(dh.tensor(2.5).item(), float)
    assert t.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert isinstance(t.numpy(), np.ndarray) and np.shares_memory(t.numpy(), t.data)
    as_array = np.asarray(t)
    assert isinstance(as_array, np.ndarray) and np.shares_memory(as_array, t.data)
    assert np.asarray(t, dtype=np.float32).dtype == np.float32
    copied = np.array(t)
    copied[0, 0] = 100.0
    assert t.tolist()[0][0] == 1.0
    assert float(dh.tensor(3.5)) == 3.5 and int(dh.tensor(3.0)) == 3
    assert len(t) == 2 and t.shape == (2, 2) and t.ndim == 2 and t.size == 4
    with pytest.raises(ValueError, match="exactly one element"):
        t.item()
    with pytest.raises(ValueError, match="ambiguous"):
        bool(t)


def test_data_is_an_ndarray_even_for_a_0d_tensor():
    for t in (dh.tensor(2.0), dh.tensor([1.0, 2.0]), dh.tensor(2.0, requires_grad=True) * 3):
        assert type(t.data) is np.ndarray and t.data.shape == t.shape


def test_repr_shows_value_grad_fn_and_grad():
    x = dh.tensor([1.0, 2.0], requires_grad=True)
    assert repr(x) == "tensor([1., 2.], requires_grad=True)"
    y = x * 2
    assert repr(y) == "tensor([2., 4.], grad_fn=<multiply>)"
    y.sum().backward()
    assert repr(x) == "tensor([1., 2.], requires_grad=True, grad=tensor([2., 2.]))"
    assert repr(dh.tensor([1.0], dtype="float32")) == "tensor([1.], dtype=float32)"
    assert repr(dh.tensor(3.0)) == "tensor(3.)"


# ----------------------------------------------------------------- operators
def test_reflected_operators_with_numbers_and_ndarrays():
    x = dh.tensor([1.0, 2.0, 4.0], requires_grad=True)
    a = np.array([2.0, 3.0, 5.0])
    expressions = [
        (lambda: 1.0 - x, 1.0 - x.numpy(), [-1, -1, -1]),
        (lambda: 2.0 / x, 2.0 / x.numpy(), -2.0 / x.numpy() ** 2),
        (lambda: 2.0 ** x, 2.0 ** x.numpy(), np.log(2.0) * 2.0 ** x.numpy()),
        (lambda: a + x, a + x.numpy(), [1, 1, 1]),
        (lambda: a * x, a * x.numpy(), a),
        (lambda: a - x, a - x.numpy(), [-1, -1, -1]),
        (lambda: a / x, a / x.numpy(), -a / x.numpy() ** 2),
        (lambda: a ** x, a ** x.numpy(), np.log(a) * a ** x.numpy()),
        (lambda: -x, -x.numpy(), [-1, -1, -1]),
        (lambda: +x, x.numpy(), [1, 1, 1]),
        (lambda: abs(x - 2.0), np.abs(x.numpy() - 2.0), [-1, 0, 1]),
        (lambda: a @ x, a @ x.numpy(), a),
    ]
    for build, value, slope in expressions:
        x.grad = None
        y = build()
        assert isinstance(y, dh.Tensor) and y.requires_grad
        np.testing.assert_allclose(y.numpy(), value, rtol=1e-15)
        y.sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), slope, rtol=1e-15)


def test_comparisons_return_boolean_tensors_outside_the_graph():
    x = dh.tensor([1.0, 2.0, 3.0], requires_grad=True)
    results = {
        "lt": (x < 2.0, [True, False, False]), "le": (x <= 2.0, [True, True, False]),
        "gt": (x > 2.0, [False, False, True]), "ge": (x >= 2.0, [False, True, True]),
        "eq": (x == np.array([1.0, 0.0, 3.0]), [True, False, True]), "ne": (x != 2.0, [True, False, True]),
        "reflected": (2.0 < x, [False, False, True]),
        "and": ((x > 1.0) & (x < 3.0), [False, True, False]), "or": ((x < 1.5) | (x > 2.5), [True, False, True]),
        "reflected and": (np.array([True, True, False]) & (x > 1.0), [False, True, False]),
        "reflected or": (False | (x > 2.5), [False, False, True]),
        "invert": (~(x > 1.5), [True, False, False]),
    }
    for name, (result, expected) in results.items():
        assert isinstance(result, dh.Tensor), name
        assert result.dtype == np.bool_ and not result.requires_grad and result.grad_fn is None, name
        assert result.tolist() == expected, name


def test_tensor_methods_match_the_functions():
    x = dh.tensor([[1.0, -2.0, 3.0], [0.5, 4.0, -1.0]])
    pairs = [
        (x.sum(axis=0), dh.sum(x, axis=0)), (x.mean(), dh.mean(x)), (x.var(ddof=1), dh.var(x, ddof=1)),
        (x.std(axis=1), dh.std(x, axis=1)), (x.max(axis=1), dh.max(x, axis=1)), (x.min(), dh.min(x)),
        (x.prod(axis=0, keepdims=True), dh.prod(x, axis=0, keepdims=True)), (x.reshape(3, 2), dh.reshape(x, (3, 2))),
        (x.reshape((6,)), dh.flatten(x)), (x.T, dh.transpose(x)), (x.transpose(1, 0), dh.transpose(x)),
        (x.swapaxes(0, 1), dh.swapaxes(x, 0, 1)), (x.flatten(), dh.flatten(x)), (x.abs(), dh.abs(x)),
        (x.exp(), dh.exp(x)), (x.abs().log(), dh.log(dh.abs(x))), (x.abs().sqrt(), dh.sqrt(dh.abs(x))),
        (x.tanh(), dh.tanh(x)), (x.sigmoid(), dh.sigmoid(x)), (x.relu(), dh.relu(x)),
        (x.clip(-1, 1), dh.clip(x, -1, 1)), (x.norm(axis=1), dh.norm(x, axis=1)),
        (x.matmul(x.T), dh.matmul(x, dh.transpose(x))), (x[0].dot(x[1]), dh.dot(x[0], x[1])),
        (x[:1].squeeze(), dh.squeeze(x[:1])),
    ]
    for method, function in pairs:
        assert method.shape == function.shape
        np.testing.assert_array_equal(method.numpy(), function.numpy())


# ------------------------------------------------------------------- indexing
@pytest.mark.parametrize("index, expected_grad", [
    ([0, 0, 1], [2.0, 1.0, 0.0, 0.0]),
    (np.array([3, 3, 3]), [0.0, 0.0, 0.0, 3.0]),
    (slice(1, 3), [0.0, 1.0, 1.0, 0.0]),
    (slice(None, None, -1), [1.0, 1.0, 1.0, 1.0]),
    (slice(None, None, -2), [0.0, 1.0, 0.0, 1.0]),
    (np.array([True, False, True, False]), [1.0, 0.0, 1.0, 0.0]),
    (-1, [0.0, 0.0, 0.0, 1.0]),
])
def test_indexing_is_differentiable_and_repeats_accumulate(index, expected_grad):
    x = dh.tensor([10.0, 20.0, 30.0, 40.0], requires_grad=True)
    y = x[index]
    np.testing.assert_array_equal(y.numpy(), x.numpy()[index])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), expected_grad)


def test_repeated_indices_accumulate_as_in_the_issue():
    x = dh.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[[0, 0, 1]].sum().backward()
    assert x.grad.tolist() == [2.0, 1.0, 0.0]


def _torch_masked_indexing(values, weights):
    """PyTorch's value and gradient of the expression in the test below."""
    import torch  # only in the live oracle run and the recorder

    t = torch.tensor(values, requires_grad=True)
    tmask = t > 0.6
    trows = torch.tensor([2, 0, 2])
    ty = (t[tmask] ** 2).sum() + (t[trows, 1:] * torch.tensor(weights[:3, 1:])).sum() + t[..., None, -1].sum()
    ty.backward()
    return {"value": ty.detach().numpy(), "grad": t.grad.numpy()}


def test_indexing_with_a_mask_and_tensors_matches_pytorch(oracle):
    values = np.arange(12.0).reshape(3, 4) / 7
    weights = np.random.default_rng(0).normal(size=values.shape)
    x = dh.tensor(values, requires_grad=True)
    mask = x > 0.6
    rows = dh.tensor([2, 0, 2])
    y = (x[mask] ** 2).sum() + (x[rows, 1:] * weights[:3, 1:]).sum() + x[..., None, -1].sum()
    y.backward()
    theirs = functools.cache(lambda: _torch_masked_indexing(values, weights))
    t_value = oracle("masked_indexing/value", lambda: theirs()["value"])
    t_grad = oracle("masked_indexing/grad", lambda: theirs()["grad"])
    assert y.item() == pytest.approx(t_value.item(), rel=1e-14)
    np.testing.assert_allclose(x.grad.numpy(), t_grad, rtol=1e-14)


def test_iteration_yields_differentiable_rows():
    x = dh.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    total = sum(row.sum() * (i + 1) for i, row in enumerate(x))
    total.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[1.0, 1.0], [2.0, 2.0]])
    with pytest.raises(TypeError, match="0-d"):
        iter(dh.tensor(1.0))


def test_item_assignment_under_no_grad():
    x = dh.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with dh.no_grad():
        x[0] = 5.0
        x[dh.tensor([1, 2])] = dh.tensor([0.0, -1.0])
    assert x.tolist() == [5.0, 0.0, -1.0]


# --------------------------------------------------------------- in-place updates
def test_in_place_arithmetic_under_no_grad():
    x = dh.tensor([1.0, 2.0], requires_grad=True)
    memory = x.data
    with dh.no_grad():
        x += 1.0
        x -= np.array([0.5, 0.5])
        x *= dh.tensor([2.0, 4.0])
        x /= 2.0
    assert x.tolist() == [1.5, 5.0]
    assert x.data is memory and memory.tolist() == [1.5, 5.0]  # .data shares memory with the updates
    assert x.is_leaf and x.requires_grad


def test_in_place_on_a_0d_tensor_updates_the_held_data():
    x = dh.tensor(2.0, requires_grad=True)
    held = x.data
    with dh.no_grad():
        x -= 0.5
        x *= 3.0
    assert x.item() == 4.5 and type(held) is np.ndarray and held.item() == 4.5
    y = dh.tensor(1.0)
    y += 1  # without .data read first, too
    assert y.item() == 2.0 and y.dtype == np.float64


def test_in_place_keeps_the_dtype_and_refuses_to_upcast():
    x = dh.tensor([1.0, 2.0], dtype="float32")
    x += np.array([0.5, 0.5])  # float64 values, stored in float32 ("same_kind")
    assert x.dtype == np.float32 and x.tolist() == [1.5, 2.5]
    n = dh.tensor([1, 2])
    with pytest.raises(ValueError, match="in-place"):
        n += 0.5
    with pytest.raises(ValueError, match="in-place"):
        x += np.ones(3)


def test_gradient_descent_loop_converges_on_a_parabola():
    # f(x) = sum((x - target)^2): the classic update x -= lr * grad under no_grad.
    target = np.array([3.0, -1.0, 0.5])
    x = dh.tensor([0.0, 0.0, 0.0], requires_grad=True)
    learning_rate = 0.1
    for _ in range(200):
        loss = ((x - target) ** 2).sum()
        x.grad = None
        loss.backward()
        with dh.no_grad():
            x -= learning_rate * x.grad
    np.testing.assert_allclose(x.numpy(), target, rtol=0, atol=1e-12)
    assert x.is_leaf and x.requires_grad


# ---------------------------------------------------------- leaves and the graph
def test_is_leaf_detach_requires_grad_and_grad_fn():
    x = dh.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    assert x.is_leaf and not y.is_leaf and x.grad_fn is None and y.grad_fn.name == "multiply"
    d = y.detach()
    assert d.is_leaf and not d.requires_grad and d.grad_fn is None
    assert np.shares_memory(d.numpy(), y.numpy())
    z = dh.zeros(2)
    assert z.requires_grad_() is z and z.requires_grad
    z.requires_grad_(False)
    assert not z.requires_grad
    with pytest.raises(RuntimeError, match="detach"):
        y.requires_grad = False
    c = x.clone()
    assert not np.shares_memory(c.numpy(), x.numpy()) and c.grad_fn is not None


def test_grad_can_be_set_and_cleared():
    x = dh.tensor([1.0, 2.0], requires_grad=True)
    x.grad = np.array([0.5, 0.5])
    assert isinstance(x.grad, dh.Tensor)
    (x * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.5, 2.5])
    x.grad = None
    assert x.grad is None
    with pytest.raises(ValueError, match="shape"):
        x.grad = np.ones(3)


# --------------------------------------------------------------------- grad mode
def test_no_grad_enable_grad_and_is_grad_enabled():
    x = dh.tensor(1.0, requires_grad=True)
    assert dh.is_grad_enabled()
    with dh.no_grad():
        assert not dh.is_grad_enabled()
        y = x * 2
        with dh.enable_grad():
            assert dh.is_grad_enabled()
            z = x * 2
        assert not dh.is_grad_enabled()
    assert dh.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad and z.grad_fn is not None


def test_grad_modes_as_decorators_and_set_grad_enabled():
    x = dh.tensor(1.0, requires_grad=True)

    @dh.no_grad()
    def frozen():
        return x * 2

    @dh.enable_grad()
    def recorded():
        return x * 2

    assert not frozen().requires_grad
    with dh.no_grad():
        assert recorded().requires_grad
    assert dh.is_grad_enabled()
    try:
        dh.set_grad_enabled(False)
        assert not (x * 2).requires_grad
    finally:
        dh.set_grad_enabled(True)
    assert (x * 2).requires_grad


def test_no_grad_restores_the_mode_after_an_exception():
    with pytest.raises(ZeroDivisionError):
        with dh.no_grad():
            1 / 0  # noqa: B018
    assert dh.is_grad_enabled()
