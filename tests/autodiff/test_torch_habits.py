"""PyTorch's habits in downhill, checked against PyTorch itself (2.13.0, CPU) as the oracle.

PyTorch's answers come from the ``oracle`` fixture: recorded in
tests/oracle/data/test_torch_habits.npz, or computed live under ``pytest -m
oracle``; torch is imported only inside the functions that compute them. The
few checks whose point is a PyTorch object handed to downhill (``torch.float32``,
``torch.device("cuda")``) are live only (marked ``oracle``).
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest

import downhill as dh
from downhill.errors import DeviceError, DownhillError, InputTypeError

X = np.random.default_rng(1234).normal(size=(3, 4, 5))


def _ours(array=X, dtype="float64"):
    return dh.tensor(array.astype(dtype), requires_grad=True)


def _torch_result_and_grads(fn, array, seeds):
    """``fn(tensor)``'s value and its gradients for each cotangent in ``seeds``, in PyTorch."""
    import torch  # only in the live oracle run and the recorder

    theirs = torch.tensor(array, requires_grad=True)
    result = fn(torch, theirs)
    grads = []
    for seed in seeds:
        (grad,) = torch.autograd.grad((result * torch.tensor(seed)).sum(), theirs, retain_graph=True)
        grads.append(grad.numpy())
    return result.detach().numpy(), grads


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
def test_casts_match_torch(method, dtype, oracle):
    values = np.array([-1.5, 0.0, 2.7])
    ours = getattr(dh.tensor(values), method)()

    def theirs():
        import torch  # only in the live oracle run and the recorder

        return getattr(torch.tensor(values), method)().numpy()

    expected = oracle(f"{oracle.case}/cast/{method}", theirs)
    assert ours.dtype == np.dtype(dtype) == expected.dtype
    np.testing.assert_array_equal(ours.data, expected)


def test_to_dtype_is_differentiable_and_same_dtype_returns_self():
    x = dh.tensor([1.0, 2.0], requires_grad=True)
    assert x.to(dh.float64) is x and x.to("cpu") is x and x.to("cpu", dh.float64) is x
    y = x.to(dh.float32)
    assert y.dtype == np.float32
    (y * y).sum().backward()
    assert x.grad.dtype == np.float64 and x.grad.tolist() == [2.0, 4.0]
    assert x.to(dh.float64, copy=True) is not x
    assert dh.tensor([1, 2]).to(dh.tensor([0.5])).dtype == np.float64


@pytest.mark.oracle  # the point is a PyTorch object handed to downhill: live only
def test_to_accepts_a_pytorch_dtype():
    import torch

    assert dh.tensor([1.0]).to(torch.float32).dtype == np.float32  # a PyTorch dtype, by name
    assert dh.tensor([1.0], dtype=dh.float32).to(torch.float64).dtype == np.float64


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
        model.to(dh.device("cuda"))
    with pytest.raises(DeviceError, match="to_torch"):
        model.cuda()
    assert model.weight.dtype == np.float32 and np.array_equal(model.weight.data, before)
    assert model.to("cpu") is model and model.cpu() is model
    assert model.to("cpu", dh.float64).weight.dtype == np.float64
    assert model.to(dtype=dh.float32, device=dh.device("cpu")).weight.dtype == np.float32


@pytest.mark.oracle  # the point is a PyTorch object handed to downhill: live only
def test_model_to_a_pytorch_cuda_device_names_to_torch():
    import torch

    model = dh.nn.Linear(2, 3)
    before = model.weight.data.copy()
    with pytest.raises(DeviceError, match="to_torch"):
        model.to(torch.device("cuda"))
    with pytest.raises(DeviceError, match="CPU"):
        dh.tensor([1.0]).to(torch.device("cuda:0"))
    assert np.array_equal(model.weight.data, before)
    assert model.to(torch.device("cpu")) is model


def test_device_and_cuda_answer_like_torch_without_a_gpu():
    assert dh.cuda.is_available() is False and dh.cuda.device_count() == 0
    assert dh.tensor(1.0).device == "cpu" and dh.tensor(1.0).device.type == "cpu"
    assert dh.device("cuda", 0) == "cuda:0"


# ------------------------------------------------------------------ dim= and keepdim=
@pytest.mark.parametrize("name", ["sum", "mean", "prod", "logsumexp", "norm"])
@pytest.mark.parametrize("dim, keepdim", [(0, False), (1, True), (-1, False), ((0, 2), True)])
def test_reductions_take_dim_and_keepdim_with_torch_values_and_gradients(name, dim, keepdim, oracle):
    ours = _ours()
    results = [getattr(dh, name)(ours, dim=dim, keepdim=keepdim)]
    if hasattr(ours, name):
        results.append(getattr(ours, name)(dim=dim, keepdim=keepdim))
    rng = np.random.default_rng(7)
    seeds = [rng.normal(size=results[0].shape) for _ in results]
    theirs = functools.cache(lambda: _torch_result_and_grads(
        lambda torch, t: _torch_reduction(torch, name, t, dim, keepdim), X, seeds))
    expected = oracle(f"{oracle.case}/value", lambda: theirs()[0])
    assert expected.shape == results[0].shape
    for i, (result, seed) in enumerate(zip(results, seeds)):
        np.testing.assert_allclose(result.data, expected, rtol=1e-12)
        ours.grad = None
        (result * dh.tensor(seed)).sum().backward()
        expected_grad = oracle(f"{oracle.case}/grad{i}", lambda i=i: theirs()[1][i])
        np.testing.assert_allclose(ours.grad.data, expected_grad, rtol=1e-10, atol=1e-12)


def _torch_reduction(torch, name, t, dim, keepdim):
    if name == "norm":
        return torch.linalg.vector_norm(t, dim=dim, keepdim=keepdim)
    if name == "prod":
        # torch.prod takes one dim: several are reduced one after another (highest first).
        for d in sorted(dim if isinstance(dim, tuple) else (dim,), key=lambda d: d % t.ndim, reverse=True):
            t = torch.prod(t, dim=d, keepdim=keepdim)
        return t
    return getattr(torch, name)(t, dim=dim, keepdim=keepdim)


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


def test_var_std_softmax_concatenate_squeeze_take_dim(oracle):
    ours = _ours()

    def theirs(fn):
        def compute():
            import torch  # only in the live oracle run and the recorder

            return fn(torch, torch.tensor(X)).numpy()
        return compute

    np.testing.assert_allclose(dh.var(ours, dim=1, ddof=1).data,
                               oracle(f"{oracle.case}/var", theirs(lambda torch, t: torch.var(t, dim=1))))
    np.testing.assert_allclose(ours.std(dim=2, keepdim=True, ddof=1).data,
                               oracle(f"{oracle.case}/std", theirs(lambda torch, t: t.std(dim=2, keepdim=True))))
    np.testing.assert_allclose(dh.softmax(ours, dim=0).data,
                               oracle(f"{oracle.case}/softmax", theirs(lambda torch, t: torch.softmax(t, dim=0))))
    np.testing.assert_array_equal(dh.cat([ours, ours], dim=2).data,
                                  oracle(f"{oracle.case}/cat", theirs(lambda torch, t: torch.cat([t, t], dim=2))))
    np.testing.assert_array_equal(dh.stack([ours, ours], dim=1).data,
                                  oracle(f"{oracle.case}/stack", theirs(lambda torch, t: torch.stack([t, t], dim=1))))
    assert dh.zeros((2, 1, 3)).squeeze(dim=1).shape == (2, 3)


def test_axis_and_dim_together_is_a_clear_error():
    with pytest.raises(InputTypeError, match="not both"):
        dh.sum(dh.ones(3), axis=0, dim=0)


@pytest.mark.parametrize("name", ["max", "min"])
@pytest.mark.parametrize("dim", [0, 1, -1, 2])
@pytest.mark.parametrize("keepdim", [False, True])
def test_max_min_with_dim_return_values_and_indices_like_torch(name, dim, keepdim, oracle):
    array = np.round(X * 2) / 2  # ties, so the index rule and the gradient's target are tested
    ours = _ours(array)
    pairs = [getattr(dh, name)(ours, dim=dim, keepdim=keepdim), getattr(ours, name)(dim=dim, keepdim=keepdim)]
    rng = np.random.default_rng(8)
    seeds = [rng.normal(size=values.shape) for values, _ in pairs]
    theirs = functools.cache(lambda: _torch_result_and_grads(
        lambda torch, t: getattr(torch, name)(t, dim=dim, keepdim=keepdim).values, array, seeds))

    def torch_indices():
        import torch  # only in the live oracle run and the recorder

        return getattr(torch, name)(torch.tensor(array), dim=dim, keepdim=keepdim).indices.numpy()

    expected_values = oracle(f"{oracle.case}/values", lambda: theirs()[0])
    expected_indices = oracle(f"{oracle.case}/indices", torch_indices)
    assert expected_indices.dtype == np.int64
    for i, ((values, indices), seed) in enumerate(zip(pairs, seeds)):
        np.testing.assert_array_equal(values.data, expected_values)
        np.testing.assert_array_equal(indices.data, expected_indices)
        assert indices.dtype == np.int64
        ours.grad = None
        (values * dh.tensor(seed)).sum().backward()
        np.testing.assert_array_equal(ours.grad.data, oracle(f"{oracle.case}/grad{i}", lambda i=i: theirs()[1][i]))


def test_max_with_axis_keeps_numpy_meaning():
    x = dh.tensor([[1.0, 5.0], [7.0, 0.0]])
    result = x.max(axis=1)
    assert isinstance(result, dh.Tensor) and result.tolist() == [5.0, 7.0]
    assert dh.max(x, 0).tolist() == [7.0, 5.0]  # positional: NumPy's meaning
    assert x.max().item() == 7.0


@pytest.mark.parametrize("name", ["argmax", "argmin"])
@pytest.mark.parametrize("dim", [None, 0, 1, -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_argmax_argmin_match_torch(name, dim, keepdim, oracle):
    array = np.round(X * 2) / 2

    def theirs():
        import torch  # only in the live oracle run and the recorder

        return getattr(torch, name)(torch.tensor(array), dim=dim, keepdim=keepdim).numpy()

    expected = oracle(f"{oracle.case}/{name}", theirs)
    assert expected.dtype == np.int64
    for result in (getattr(dh, name)(dh.tensor(array), dim=dim, keepdim=keepdim),
                   getattr(dh.tensor(array), name)(dim=dim, keepdim=keepdim)):
        assert result.dtype == np.int64 and not result.requires_grad
        if dim is None and keepdim:  # PyTorch keeps ndim ones; so does NumPy
            assert result.shape == expected.shape
        np.testing.assert_array_equal(result.data, expected)
    np.testing.assert_array_equal(getattr(dh, name)(dh.tensor(array), axis=dim).data,
                                  getattr(np, name)(array, axis=dim))


# ------------------------------------------------------------------ shape methods
# Each runs unchanged on a downhill tensor and on a PyTorch one.
SHAPE_METHODS = [
    ("view(6, 4)", lambda t: t.view(6, 4)),
    ("view(-1)", lambda t: t.view(-1)),
    ("reshape(4, -1)", lambda t: t.reshape(4, -1)),
    ("unsqueeze(1)", lambda t: t.unsqueeze(1)),
    ("unsqueeze(-1)", lambda t: t.unsqueeze(-1)),
    ("unsqueeze(0).squeeze(0)", lambda t: t.unsqueeze(0).squeeze(0)),
    ("permute(2, 0, 1)", lambda t: t.permute(2, 0, 1)),
    ("transpose(0, 2)", lambda t: t.transpose(0, 2)),
    ("transpose(1, 0)", lambda t: t.transpose(1, 0)),
    ("flatten()", lambda t: t.flatten()),
    ("flatten(1)", lambda t: t.flatten(1)),
    ("flatten(0, 1)", lambda t: t.flatten(0, 1)),
    ("[0].transpose(0, 1)", lambda t: t[0].transpose(0, 1)),
    ("[:, :1].expand(2, 5, 4)", lambda t: t[:, :1].expand(2, 5, 4)),
    ("clone()", lambda t: t.clone()),
]


def test_shape_methods_match_torch(oracle):
    a = np.arange(24.0).reshape(2, 3, 4)
    ours = dh.tensor(a)

    def on_torch(fn):
        def compute():
            import torch  # only in the live oracle run and the recorder

            return fn(torch.tensor(a))
        return compute

    for label, method in SHAPE_METHODS:
        expected = oracle(f"{oracle.case}/{label}", on_torch(lambda t, method=method: method(t).numpy()))
        mine = method(ours)
        assert mine.shape == expected.shape, label
        np.testing.assert_array_equal(mine.data, expected, err_msg=label)
    sizes = tuple(int(n) for n in oracle(f"{oracle.case}/size()", on_torch(lambda t: list(t.size()))))
    size_1 = int(oracle(f"{oracle.case}/size(1)", on_torch(lambda t: t.size(1))))
    numel = int(oracle(f"{oracle.case}/numel()", on_torch(lambda t: t.numel())))
    assert ours.size() == sizes and ours.size(1) == size_1 == 3
    assert ours.size(-1) == 4 and ours.size == 24 == ours.numel() == numel
    assert ours.dim() == 3 and dh.tensor(2.5).item() == 2.5
    with pytest.raises(IndexError):
        ours.size(3)


def test_numpy_transpose_forms_still_work():
    x = dh.zeros((2, 3, 4))
    assert x.transpose().shape == (4, 3, 2) and x.transpose((2, 0, 1)).shape == (4, 2, 3)
    assert x.transpose(1, 2, 0).shape == (3, 4, 2) and x.T.shape == (4, 3, 2)


def test_view_and_permute_differentiate(oracle):
    x = dh.tensor(np.arange(6.0), requires_grad=True)
    (x.view(2, 3).permute(1, 0).unsqueeze(0) * dh.tensor(np.arange(6.0).reshape(1, 3, 2))).sum().backward()

    def theirs():
        import torch  # only in the live oracle run and the recorder

        t = torch.tensor(np.arange(6.0), requires_grad=True)
        (t.view(2, 3).permute(1, 0).unsqueeze(0) * torch.tensor(np.arange(6.0).reshape(1, 3, 2))).sum().backward()
        return t.grad.numpy()

    np.testing.assert_array_equal(x.grad.data, oracle(f"{oracle.case}/grad", theirs))


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
def test_clip_grad_norm_matches_torch(dtype, norm_type, max_norm, oracle):
    rng = np.random.default_rng(5)
    grads = [rng.normal(size=shape).astype(dtype) for shape in [(4, 3), (3,), (2, 2, 2)]]
    ours = [dh.tensor(np.zeros_like(g), requires_grad=True) for g in grads]
    for p, g in zip(ours, grads):
        p.grad = dh.tensor(g.copy())
    no_grad = dh.tensor([1.0], requires_grad=True)  # parameters without a gradient are skipped
    total = dh.nn.utils.clip_grad_norm_(ours + [no_grad], max_norm, norm_type=norm_type)

    @functools.cache
    def theirs():
        import torch  # only in the live oracle run and the recorder

        params = [torch.zeros(g.shape, dtype=getattr(torch, dtype), requires_grad=True) for g in grads]
        for q, g in zip(params, grads):
            q.grad = torch.tensor(g.copy())
        expected = torch.nn.utils.clip_grad_norm_(params, max_norm, norm_type=norm_type)
        return expected.numpy(), [q.grad.numpy() for q in params]

    expected = oracle(f"{oracle.case}/total", lambda: theirs()[0])
    tolerance = 1e-6 if dtype == "float32" else 1e-13
    assert total.dtype == np.dtype(dtype) == expected.dtype
    np.testing.assert_allclose(total.item(), expected.item(), rtol=tolerance)
    for i, p in enumerate(ours):
        expected_grad = oracle(f"{oracle.case}/grad{i}", lambda i=i: theirs()[1][i])
        assert p.grad.dtype == np.dtype(dtype) == expected_grad.dtype
        np.testing.assert_allclose(p.grad.data, expected_grad, rtol=tolerance, atol=0)


def test_clip_grad_norm_nonfinite_and_empty():
    p = dh.tensor([1.0], requires_grad=True)
    p.grad = dh.tensor([math.inf])
    with pytest.raises(DownhillError, match="not finite"):
        dh.nn.utils.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
    assert dh.nn.utils.clip_grad_norm_([dh.tensor([1.0], requires_grad=True)], 1.0).item() == 0.0


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_clip_grad_value_matches_torch(dtype, oracle):
    g = np.random.default_rng(6).normal(size=(5, 4)).astype(dtype) * 3
    p = dh.tensor(np.zeros_like(g), requires_grad=True)
    p.grad = dh.tensor(g.copy())
    dh.nn.utils.clip_grad_value_(p, 1.25)

    def theirs():
        import torch  # only in the live oracle run and the recorder

        q = torch.zeros(g.shape, dtype=getattr(torch, dtype), requires_grad=True)
        q.grad = torch.tensor(g.copy())
        torch.nn.utils.clip_grad_value_(q, 1.25)
        return q.grad.numpy()

    expected = oracle(f"{oracle.case}/grad", theirs)
    assert p.grad.dtype == expected.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(p.grad.data, expected)


def test_from_numpy_shares_memory_and_as_tensor_copies_only_when_needed(oracle):
    a = np.arange(3.0)
    t = dh.from_numpy(a)
    a[1] = 7.0

    def theirs():  # the same writes, seen through PyTorch's tensor
        import torch  # only in the live oracle run and the recorder

        b = np.arange(3.0)
        shared = torch.from_numpy(b)
        b[1] = 7.0
        return shared.tolist()

    assert t.tolist() == oracle(f"{oracle.case}/from_numpy after a write", theirs).tolist() == [0.0, 7.0, 2.0]
    assert dh.as_tensor(a).data is a and dh.as_tensor(a, dtype=dh.float32).dtype == np.float32
    assert dh.as_tensor([1, 2]).dtype == np.int64
    with pytest.raises(InputTypeError):
        dh.from_numpy([1.0])
