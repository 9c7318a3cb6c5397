"""PyTorch's habits in downhill, checked against PyTorch itself (2.13.0, CPU) as the oracle."""

from __future__ import annotations

import math

import numpy as np
import pytest

import downhill as dh
from downhill.errors import DeviceError, DownhillError, InputTypeError

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(1234)
X = RNG.normal(size=(3, 4, 5))


def _both(array=X, dtype="float64"):
    return (dh.tensor(array.astype(dtype), requires_grad=True),
            torch.tensor(array.astype(dtype), requires_grad=True))


# ------------------------------------------------------------------ dtypes
def test_dtype_objects_are_numpy_dtypes_with_torch_names():
    assert dh.float32 == np.float32 and dh.float64 == np.float64 and dh.int64 == np.int64
    assert dh.bool == np.bool_ and dh.long == dh.int64 and dh.double == dh.float64
    assert dh.tensor([1, 2], dtype=dh.float32).dtype == dh.float32
    # `from downhill import *` must not hide Python's bool
    namespace = {}
    exec("from downhill import *", namespace)
    assert "bool" not in namespace and namespace["float32"] == np.float32


@pytest.mark.parametrize("method, dtype", [("float", "float32"), ("double", "float64"), ("long", "int64"),
                                           ("int", "int32"), ("bool", "bool"), ("half", "float16")])
def test_casts_match_torch(method, dtype):
    values = np.array([-1.5, 0.0, 2.7])
    ours = getattr(dh.tensor(values), method)()
    theirs = getattr(torch.tensor(values), method)()
    assert ours.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(ours.data, theirs.numpy())


def test_to_dtype_is_differentiable_and_same_dtype_returns_self():
    x = dh.tensor([1.0, 2.0], requires_grad=True)
    assert x.to(dh.float64) is x and x.to("cpu") is x and x.to("cpu", dh.float64) is x
    y = x.to(dh.float32)
    assert y.dtype == np.float32
    (y * y).sum().backward()
    assert x.grad.dtype == np.float64 and x.grad.tolist() == [2.0, 4.0]
    assert x.to(dh.float64, copy=True) is not x
    assert dh.tensor([1, 2]).to(dh.tensor([0.5])).dtype == np.float64
    assert dh.tensor([1.0]).to(torch.float32).dtype == np.float32  # a PyTorch dtype, by name


# ------------------------------------------------------------------ devices
@pytest.mark.parametrize("where", ["cuda", "cuda:0", "mps"])
def test_tensor_to_gpu_says_cpu_and_names_the_way_to_pytorch(where):
    x = dh.tensor([1.0])
    with pytest.raises(DeviceError, match="CPU") as info:
        x.to(where)
    assert "torch.from_numpy" in str(info.value) and isinstance(info.value, DownhillError)
    with pytest.raises(DeviceError):
        x.to(device=where)
    with pytest.raises(DeviceError):
        x.cuda()


def test_model_to_cuda_names_to_torch_and_leaves_the_model_alone():
    model = dh.nn.Linear(2, 3)
    before = model.weight.data.copy()
    with pytest.raises(DeviceError, match=r"dh\.nn\.to_torch\(model\)"):
        model.to("cuda")
    with pytest.raises(DeviceError, match="to_torch"):
        model.to(torch.device("cuda"))
    with pytest.raises(DeviceError, match="to_torch"):
        model.cuda()
    assert model.weight.dtype == np.float32 and np.array_equal(model.weight.data, before)
    assert model.to("cpu") is model and model.cpu() is model
    assert model.to("cpu", dh.float64).weight.dtype == np.float64
    assert model.to(dtype=dh.float32, device=dh.device("cpu")).weight.dtype == np.float32


def test_device_and_cuda_answer_like_torch_without_a_gpu():
    assert dh.cuda.is_available() is False and dh.cuda.device_count() == 0
    assert dh.tensor(1.0).device == "cpu" and dh.tensor(1.0).device.type == "cpu"
    assert dh.device("cuda", 0) == "cuda:0"


# ------------------------------------------------------------------ dim= and keepdim=
@pytest.mark.parametrize("name", ["sum", "mean", "prod", "logsumexp", "norm"])
@pytest.mark.parametrize("dim, keepdim", [(0, False), (1, True), (-1, False), ((0, 2), True)])
def test_reductions_take_dim_and_keepdim_with_torch_values_and_gradients(name, dim, keepdim):
    ours, theirs = _both()
    torch_fn = {"norm": lambda t, dim, keepdim: torch.linalg.vector_norm(t, dim=dim, keepdim=keepdim),
                "prod": _torch_prod}.get(name, getattr(torch, name))
    for result in (getattr(dh, name)(ours, dim=dim, keepdim=keepdim),
                   getattr(ours, name)(dim=dim, keepdim=keepdim) if hasattr(ours, name) else None):
        if result is None:
            continue
        expected = torch_fn(theirs, dim=dim, keepdim=keepdim)
        np.testing.assert_allclose(result.data, expected.detach().numpy(), rtol=1e-12)
        seed = RNG.normal(size=expected.shape)
        ours.grad = None
        theirs.grad = None
        (result * dh.tensor(seed)).sum().backward()
        (expected * torch.tensor(seed)).sum().backward()
        np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy(), rtol=1e-10, atol=1e-12)


def _torch_prod(t, dim, keepdim):
    # torch.prod takes one dim: several are reduced one after another (highest first).
    for d in sorted(dim if isinstance(dim, tuple) else (dim,), key=lambda d: d % t.ndim, reverse=True):
        t = torch.prod(t, dim=d, keepdim=keepdim)
    return t


def test_every_function_with_axis_takes_dim():
    import inspect

    with_axis = [name for name in dir(dh) if not name.startswith("_") and callable(getattr(dh, name))
                 and not isinstance(getattr(dh, name), type) and _has_param(getattr(dh, name), "axis")]
    assert len(with_axis) >= 12
    for name in with_axis:
        assert "dim" in inspect.signature(getattr(dh, name)).parameters, name
    for name in ("sum", "mean", "max", "min", "var", "std", "prod", "norm", "squeeze", "argmax", "argmin"):
        assert "dim" in inspect.signature(getattr(dh.Tensor, name)).parameters, name


def _has_param(function, name):
    import inspect

    try:
        return name in inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False


def test_var_std_softmax_concatenate_squeeze_take_dim():
    ours, theirs = _both()
    np.testing.assert_allclose(dh.var(ours, dim=1, ddof=1).data, torch.var(theirs, dim=1).detach().numpy())
    np.testing.assert_allclose(ours.std(dim=2, keepdim=True, ddof=1).data,
                               theirs.std(dim=2, keepdim=True).detach().numpy())
    np.testing.assert_allclose(dh.softmax(ours, dim=0).data, torch.softmax(theirs, dim=0).detach().numpy())
    np.testing.assert_array_equal(dh.cat([ours, ours], dim=2).data, torch.cat([theirs, theirs], dim=2).detach())
    np.testing.assert_array_equal(dh.stack([ours, ours], dim=1).data, torch.stack([theirs, theirs], dim=1).detach())
    assert dh.zeros((2, 1, 3)).squeeze(dim=1).shape == (2, 3)


def test_axis_and_dim_together_is_a_clear_error():
    with pytest.raises(InputTypeError, match="not both"):
        dh.sum(dh.ones(3), axis=0, dim=0)


@pytest.mark.parametrize("name", ["max", "min"])
@pytest.mark.parametrize("dim", [0, 1, -1, 2])
@pytest.mark.parametrize("keepdim", [False, True])
def test_max_min_with_dim_return_values_and_indices_like_torch(name, dim, keepdim):
    array = np.round(X * 2) / 2  # ties, so the index rule and the gradient's target are tested
    ours, theirs = _both(array)
    for values, indices in (getattr(dh, name)(ours, dim=dim, keepdim=keepdim),
                            getattr(ours, name)(dim=dim, keepdim=keepdim)):
        expected = getattr(torch, name)(theirs, dim=dim, keepdim=keepdim)
        np.testing.assert_array_equal(values.data, expected.values.detach().numpy())
        np.testing.assert_array_equal(indices.data, expected.indices.numpy())
        assert indices.dtype == np.int64
        ours.grad = None
        theirs.grad = None
        seed = RNG.normal(size=expected.values.shape)
        (values * dh.tensor(seed)).sum().backward()
        (expected.values * torch.tensor(seed)).sum().backward()
        np.testing.assert_array_equal(ours.grad.data, theirs.grad.numpy())


def test_max_with_axis_keeps_numpy_meaning():
    x = dh.tensor([[1.0, 5.0], [7.0, 0.0]])
    result = x.max(axis=1)
    assert isinstance(result, dh.Tensor) and result.tolist() == [5.0, 7.0]
    assert dh.max(x, 0).tolist() == [7.0, 5.0]  # positional: NumPy's meaning
    assert x.max().item() == 7.0


@pytest.mark.parametrize("name", ["argmax", "argmin"])
@pytest.mark.parametrize("dim", [None, 0, 1, -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_argmax_argmin_match_torch(name, dim, keepdim):
    array = np.round(X * 2) / 2
    expected = getattr(torch, name)(torch.tensor(array), dim=dim, keepdim=keepdim).numpy()
    for result in (getattr(dh, name)(dh.tensor(array), dim=dim, keepdim=keepdim),
                   getattr(dh.tensor(array), name)(dim=dim, keepdim=keepdim)):
        assert result.dtype == np.int64 and not result.requires_grad
        if dim is None and keepdim:  # PyTorch keeps ndim ones; so does NumPy
            assert result.shape == expected.shape
        np.testing.assert_array_equal(result.data, expected)
    np.testing.assert_array_equal(getattr(dh, name)(dh.tensor(array), axis=dim).data,
                                  getattr(np, name)(array, axis=dim))


# ------------------------------------------------------------------ shape methods
def test_shape_methods_match_torch():
    a = np.arange(24.0).reshape(2, 3, 4)
    ours, theirs = dh.tensor(a), torch.tensor(a)
    pairs = [
        (ours.view(6, 4), theirs.view(6, 4)),
        (ours.view(-1), theirs.view(-1)),
        (ours.reshape(4, -1), theirs.reshape(4, -1)),
        (ours.unsqueeze(1), theirs.unsqueeze(1)),
        (ours.unsqueeze(-1), theirs.unsqueeze(-1)),
        (ours.unsqueeze(0).squeeze(0), theirs.unsqueeze(0).squeeze(0)),
        (ours.permute(2, 0, 1), theirs.permute(2, 0, 1)),
        (ours.transpose(0, 2), theirs.transpose(0, 2)),
        (ours.transpose(1, 0), theirs.transpose(1, 0)),
        (ours.flatten(), theirs.flatten()),
        (ours.flatten(1), theirs.flatten(1)),
        (ours.flatten(0, 1), theirs.flatten(0, 1)),
        (ours[0].transpose(0, 1), theirs[0].transpose(0, 1)),
        (ours[:, :1].expand(2, 5, 4), theirs[:, :1].expand(2, 5, 4)),
        (ours.clone(), theirs.clone()),
    ]
    for mine, expected in pairs:
        np.testing.assert_array_equal(mine.data, expected.numpy())
    assert ours.size() == tuple(theirs.size()) and ours.size(1) == theirs.size(1) == 3
    assert ours.size(-1) == 4 and ours.size == 24 == ours.numel() == theirs.numel()
    assert ours.dim() == 3 and dh.tensor(2.5).item() == 2.5
    with pytest.raises(IndexError):
        ours.size(3)


def test_numpy_transpose_forms_still_work():
    x = dh.zeros((2, 3, 4))
    assert x.transpose().shape == (4, 3, 2) and x.transpose((2, 0, 1)).shape == (4, 2, 3)
    assert x.transpose(1, 2, 0).shape == (3, 4, 2) and x.T.shape == (4, 3, 2)


def test_view_and_permute_differentiate():
    x = dh.tensor(np.arange(6.0), requires_grad=True)
    (x.view(2, 3).permute(1, 0).unsqueeze(0) * dh.tensor(np.arange(6.0).reshape(1, 3, 2))).sum().backward()
    t = torch.tensor(np.arange(6.0), requires_grad=True)
    (t.view(2, 3).permute(1, 0).unsqueeze(0) * torch.tensor(np.arange(6.0).reshape(1, 3, 2))).sum().backward()
    np.testing.assert_array_equal(x.grad.data, t.grad.numpy())


def test_in_place_methods():
    x = dh.ones((2, 2))
    assert x.zero_() is x and x.tolist() == [[0.0, 0.0], [0.0, 0.0]]
    assert x.fill_(3.5) is x and x.tolist() == [[3.5, 3.5], [3.5, 3.5]]
    scalar = dh.tensor(2.0)
    assert scalar.zero_().item() == 0.0
    w = dh.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="no_grad"):
        w.zero_()
    with dh.no_grad():
        w.fill_(4.0)
    assert w.item() == 4.0
    (w * w).sum().backward()
    w.grad.zero_()
    assert w.grad.tolist() == [0.0]


# ------------------------------------------------------------------ random and cat
def test_manual_seed_randn_rand_randint():
    dh.manual_seed(7)
    a, b, c = dh.randn(2, 3), dh.rand((4,)), dh.randint(0, 10, (5,))
    dh.manual_seed(7)
    assert np.array_equal(dh.randn(2, 3).data, a.data) and np.array_equal(dh.rand(4).data, b.data)
    assert np.array_equal(dh.randint(0, 10, (5,)).data, c.data)
    assert a.dtype == np.float32 and b.dtype == np.float32 and c.dtype == np.int64
    assert dh.randn(3, dtype=dh.float64, requires_grad=True).requires_grad
    # one generator for everything, as in PyTorch: layers are seeded by the same call
    dh.manual_seed(3)
    first = dh.nn.Linear(2, 2).weight.data.copy()
    dh.manual_seed(3)
    assert np.array_equal(dh.nn.Linear(2, 2).weight.data, first)
    big = dh.randn(100_000, generator=0).data
    assert abs(big.mean()) < 0.02 and abs(big.std() - 1) < 0.02
    with pytest.raises(InputTypeError):
        dh.randint(5)


# ------------------------------------------------------------------ clipping
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 1e6])
def test_clip_grad_norm_matches_torch(dtype, norm_type, max_norm):
    rng = np.random.default_rng(5)
    grads = [rng.normal(size=shape).astype(dtype) for shape in [(4, 3), (3,), (2, 2, 2)]]
    ours = [dh.tensor(np.zeros_like(g), requires_grad=True) for g in grads]
    theirs = [torch.zeros(g.shape, dtype=getattr(torch, dtype), requires_grad=True) for g in grads]
    for p, q, g in zip(ours, theirs, grads):
        p.grad = dh.tensor(g.copy())
        q.grad = torch.tensor(g.copy())
    no_grad = dh.tensor([1.0], requires_grad=True)  # parameters without a gradient are skipped
    total = dh.nn.utils.clip_grad_norm_(ours + [no_grad], max_norm, norm_type=norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    tolerance = 1e-6 if dtype == "float32" else 1e-13
    assert total.dtype == np.dtype(dtype)
    np.testing.assert_allclose(total.item(), expected.item(), rtol=tolerance)
    for p, q in zip(ours, theirs):
        assert p.grad.dtype == np.dtype(dtype)
        np.testing.assert_allclose(p.grad.data, q.grad.numpy(), rtol=tolerance, atol=0)


def test_clip_grad_norm_nonfinite_and_empty():
    p = dh.tensor([1.0], requires_grad=True)
    p.grad = dh.tensor([math.inf])
    with pytest.raises(DownhillError, match="not finite"):
        dh.nn.utils.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
    assert dh.nn.utils.clip_grad_norm_([dh.tensor([1.0], requires_grad=True)], 1.0).item() == 0.0


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_clip_grad_value_matches_torch(dtype):
    g = np.random.default_rng(6).normal(size=(5, 4)).astype(dtype) * 3
    p = dh.tensor(np.zeros_like(g), requires_grad=True)
    q = torch.zeros(g.shape, dtype=getattr(torch, dtype), requires_grad=True)
    p.grad, q.grad = dh.tensor(g.copy()), torch.tensor(g.copy())
    dh.nn.utils.clip_grad_value_(p, 1.25)
    torch.nn.utils.clip_grad_value_(q, 1.25)
    np.testing.assert_array_equal(p.grad.data, q.grad.numpy())


def test_from_numpy_shares_memory_and_as_tensor_copies_only_when_needed():
    a = np.arange(3.0)
    t, theirs = dh.from_numpy(a), torch.from_numpy(a)
    a[1] = 7.0
    assert t.tolist() == theirs.tolist() == [0.0, 7.0, 2.0]
    assert dh.as_tensor(a).data is a and dh.as_tensor(a, dtype=dh.float32).dtype == np.float32
    assert dh.as_tensor([1, 2]).dtype == np.int64
    with pytest.raises(InputTypeError):
        dh.from_numpy([1.0])
