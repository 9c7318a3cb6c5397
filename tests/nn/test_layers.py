"""Every layer against its PyTorch twin in float64 (forward and backward), plus the containers.

PyTorch's side comes from the ``oracle`` fixture: recorded in
tests/oracle/data/test_layers.npz, or computed live under ``pytest -m oracle``.
A twin is written ``lambda torch: torch.nn.ReLU()`` so that torch is imported
only when it runs.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest

import downhill as dh
from downhill import nn

VALUE_RTOL, GRAD_RTOL = 1e-12, 1e-10


def _torch():
    import torch  # only in the live oracle run and the recorder

    return torch


def _torch_compare(twin_factory, x_np, seed):
    """PyTorch's output, input gradient and parameter gradients (same cotangent rule)."""
    torch = _torch()
    twin = twin_factory(torch)
    xt = torch.tensor(x_np, requires_grad=True)
    out_t = twin(xt)
    cotangent = np.random.default_rng(seed).normal(size=tuple(out_t.shape))
    (out_t * torch.as_tensor(cotangent)).sum().backward()
    result = {"out": out_t.detach().numpy(), "grad": xt.grad.numpy()}
    for name, p in twin.named_parameters():
        result[f"param_grad/{name}"] = p.grad.numpy()
    return result


def _compare(oracle, layer, twin_factory, x_np, value_atol=1e-15, grad_atol=1e-15, seed=0, part=""):
    """Forward values, input gradient and parameter gradients through a random cotangent."""
    case = oracle.case + part
    theirs = functools.cache(lambda: _torch_compare(twin_factory, x_np, seed))
    x = dh.tensor(x_np, requires_grad=True)
    out = layer(x)
    t_out = oracle(f"{case}/out", lambda: theirs()["out"])
    assert out.shape == t_out.shape
    np.testing.assert_allclose(out.numpy(), t_out, rtol=VALUE_RTOL, atol=value_atol)
    cotangent = np.random.default_rng(seed).normal(size=out.shape)
    (out * cotangent).sum().backward()
    t_grad = oracle(f"{case}/grad", lambda: theirs()["grad"])
    np.testing.assert_allclose(x.grad.numpy(), t_grad, rtol=GRAD_RTOL, atol=grad_atol)
    for name, p in layer.named_parameters():
        t_param_grad = oracle(f"{case}/param_grad/{name}", lambda name=name: theirs()[f"param_grad/{name}"])
        np.testing.assert_allclose(p.grad.numpy(), t_param_grad, rtol=GRAD_RTOL, atol=grad_atol, err_msg=name)


def _inputs(shape, seed=0, scale=2.0):
    return np.random.default_rng(seed).normal(0, scale, shape)


def _linear_twin(n_in, n_out, bias=True):
    """PyTorch's Linear, initialized by PyTorch from a seed made of its sizes."""

    def factory(torch):
        torch.manual_seed(n_in * 100 + n_out)
        return torch.nn.Linear(n_in, n_out, bias=bias, dtype=torch.float64)

    return factory


def _linear_pair(oracle, n_in, n_out, bias=True):
    """Our Linear holding PyTorch's initial weights, and the factory of its twin."""
    factory = _linear_twin(n_in, n_out, bias)
    state = functools.cache(lambda: {k: v.detach().numpy() for k, v in factory(_torch()).state_dict().items()})
    case = f"linear_init/{n_in}-{n_out}-{bias}"
    keys = oracle(f"{case}/keys", lambda: list(state()))
    layer = nn.Linear(n_in, n_out, bias=bias, dtype="float64")
    layer.load_state_dict({k: oracle(f"{case}/{k}", lambda k=k: state()[k]) for k in keys})
    return layer, factory


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(5, 3), (3,), (2, 4, 3)])
def test_linear_matches_pytorch(shape, bias, oracle):
    layer, twin = _linear_pair(oracle, 3, 4, bias)
    _compare(oracle, layer, twin, _inputs(shape))


ELEMENTWISE = [
    (nn.ReLU(), lambda torch: torch.nn.ReLU()),
    (nn.LeakyReLU(), lambda torch: torch.nn.LeakyReLU()),
    (nn.LeakyReLU(0.2), lambda torch: torch.nn.LeakyReLU(0.2)),
    (nn.Tanh(), lambda torch: torch.nn.Tanh()),
    (nn.Sigmoid(), lambda torch: torch.nn.Sigmoid()),
    (nn.GELU(), lambda torch: torch.nn.GELU()),
    (nn.GELU(approximate="tanh"), lambda torch: torch.nn.GELU(approximate="tanh")),
    (nn.Identity(), lambda torch: torch.nn.Identity()),
]


@pytest.mark.parametrize("pair", ELEMENTWISE, ids=lambda p: repr(p[0]))
@pytest.mark.parametrize("shape", [(), (7,), (4, 5)])
def test_elementwise_layers_match_pytorch(pair, shape, oracle):
    layer, twin = pair
    x = _inputs(shape, seed=len(shape))
    if x.ndim:
        x.flat[0] = 0.0  # the kink of ReLU and LeakyReLU: PyTorch's slopes there
    _compare(oracle, layer, twin, x)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_matches_pytorch_over_a_wide_range(approximate, oracle):
    x = np.concatenate([np.linspace(-10, 10, 2001), [-40.0, -6.5, 6.5, 40.0, 1e-300, -1e-300]])
    # Far left, 1 + erf(x/sqrt 2) and 1 + tanh(...) cancel (in both libraries): compare
    # absolutely there, at a few units of rounding of the O(1) values elsewhere.
    _compare(oracle, nn.GELU(approximate), lambda torch: torch.nn.GELU(approximate), x,
             value_atol=1e-14, grad_atol=1e-13)


def test_gelu_float32_matches_pytorch(oracle):
    x = np.linspace(-6, 6, 101, dtype=np.float32)
    for approximate in ("none", "tanh"):
        ours = nn.GELU(approximate)(dh.tensor(x))
        assert ours.dtype == np.float32
        theirs = oracle(f"gelu_float32/{approximate}",
                        lambda: _torch().nn.GELU(approximate)(_torch().from_numpy(x)).numpy())
        assert theirs.dtype == np.float32
        np.testing.assert_allclose(ours.numpy(), theirs, rtol=2e-6, atol=1e-6)


@pytest.mark.parametrize("dim", [0, 1, -1, 2])
@pytest.mark.parametrize("name", ["Softmax", "LogSoftmax"])
def test_softmax_layers_match_pytorch(name, dim, oracle):
    x = _inputs((3, 4, 5), seed=4, scale=3.0)
    x[0, 0, 0] = 1e4  # one huge score: still finite
    _compare(oracle, getattr(nn, name)(dim=dim), lambda torch: getattr(torch.nn, name)(dim=dim), x,
             value_atol=1e-15, grad_atol=1e-14)


def _torch_legacy_softmax(x):
    torch = _torch()
    with pytest.warns(UserWarning):
        theirs = torch.nn.Softmax()(torch.tensor(x)).numpy()
    return theirs


def test_softmax_without_dim_warns_and_picks_pytorchs_legacy_axis(oracle):
    x = _inputs((2, 3))
    with pytest.warns(UserWarning, match="Implicit dimension"):
        ours = nn.Softmax()(dh.tensor(x)).numpy()
    theirs = oracle("softmax_legacy_axis", lambda: _torch_legacy_softmax(x))
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)


@pytest.mark.parametrize("dims", [(1, -1), (0, -1), (1, 2), (0, 1), (-2, -1)])
def test_flatten_matches_pytorch(dims, oracle):
    _compare(oracle, nn.Flatten(*dims), lambda torch: torch.nn.Flatten(*dims), _inputs((2, 3, 4, 2)))


def test_flatten_rejects_dimensions_out_of_range():
    with pytest.raises(IndexError, match="out of range"):
        nn.Flatten(start_dim=3)(dh.zeros((2, 3)))
    with pytest.raises(ValueError, match="cannot come after"):
        nn.Flatten(2, 1)(dh.zeros((2, 3, 4)))


# ------------------------------------------------------------------ Linear init
@pytest.mark.parametrize("n_in, n_out", [(1, 1), (3, 2), (64, 48), (1000, 30)])
def test_linear_default_init_follows_pytorchs_bound(n_in, n_out):
    layer = nn.Linear(n_in, n_out, generator=n_in)
    bound = 1 / math.sqrt(n_in)  # kaiming_uniform_(a=sqrt(5)) gives exactly this
    assert layer.weight.shape == (n_out, n_in) and layer.bias.shape == (n_out,)
    assert layer.weight.dtype == layer.bias.dtype == np.float32
    assert np.abs(layer.weight.numpy()).max() <= bound
    assert np.abs(layer.bias.numpy()).max() <= bound
    assert layer.weight.requires_grad and layer.bias.requires_grad


def _torch_linear_weight():
    torch = _torch()
    torch.manual_seed(0)
    return torch.nn.Linear(400, 300).weight.detach().numpy()


def test_linear_init_distribution_matches_pytorchs(oracle):
    theirs = oracle("linear_init_400_300", _torch_linear_weight)
    ours = nn.Linear(400, 300, generator=0).weight.numpy()
    bound = 1 / 20
    for w in (ours, theirs):
        assert w.min() >= -bound and w.max() <= bound
        assert w.max() > 0.99 * bound and w.min() < -0.99 * bound
    assert ours.std() == pytest.approx(theirs.std(), rel=0.01)
    assert ours.std() == pytest.approx(bound / math.sqrt(3), rel=0.01)  # uniform on [-b, b]
    assert abs(ours.mean()) < 3 * bound / math.sqrt(3) / math.sqrt(ours.size)


def test_linear_is_reproducible_from_a_seed_or_the_global_generator():
    assert np.array_equal(nn.Linear(5, 4, generator=3).weight.numpy(), nn.Linear(5, 4, generator=3).weight.numpy())
    assert not np.array_equal(nn.Linear(5, 4, generator=3).weight.numpy(), nn.Linear(5, 4, generator=4).weight.numpy())
    nn.manual_seed(11)
    first = [nn.Linear(5, 4).weight.numpy().copy() for _ in range(2)]
    nn.manual_seed(11)
    second = [nn.Linear(5, 4).weight.numpy().copy() for _ in range(2)]
    assert all(np.array_equal(a, b) for a, b in zip(first, second))
    assert not np.array_equal(first[0], first[1])


def test_linear_options_and_errors(oracle):
    layer = nn.Linear(3, 2, bias=False, dtype=np.float64)
    assert layer.bias is None and [n for n, _ in layer.named_parameters()] == ["weight"]
    assert repr(layer) == oracle("linear_repr", lambda: repr(_torch().nn.Linear(3, 2, bias=False)))
    with pytest.warns(UserWarning, match="zero-element"):  # PyTorch warns too
        empty = nn.Linear(0, 2)
    assert empty.bias.numpy().tolist() == [0.0, 0.0]  # fan_in 0: bound 0, as in PyTorch
    with pytest.raises(ValueError, match="in_features"):
        nn.Linear(-1, 2)
    with pytest.raises(ValueError, match="CPU"):
        nn.Linear(2, 2, device="cuda")


# ---------------------------------------------------------------------- Dropout
def test_dropout_scales_kept_values_and_drops_about_p():
    p = 0.3
    x = dh.ones(200_000)
    y = nn.Dropout(p, generator=0)(x).numpy()
    kept = y != 0
    assert np.allclose(y[kept], 1 / (1 - p), rtol=1e-15)
    assert abs((~kept).mean() - p) < 4 * math.sqrt(p * (1 - p) / y.size)


def test_dropout_gradient_is_the_scaled_mask():
    x = dh.tensor(np.random.default_rng(0).normal(size=(50, 4)), requires_grad=True)
    y = nn.Dropout(0.5, generator=1)(x)
    y.sum().backward()
    mask = (y.numpy() != 0)
    np.testing.assert_array_equal(x.grad.numpy(), mask * 2.0)


def test_dropout_is_reproducible_and_moves_on_between_calls():
    def masks(seed):
        layer = nn.Dropout(0.5, generator=seed)
        return [layer(dh.ones(64)).numpy() for _ in range(3)]

    a, b = masks(7), masks(7)
    assert all(np.array_equal(u, v) for u, v in zip(a, b))
    assert not np.array_equal(a[0], a[1])
    nn.manual_seed(5)
    g1 = nn.Dropout()(dh.ones(64)).numpy()
    nn.manual_seed(5)
    assert np.array_equal(g1, nn.Dropout()(dh.ones(64)).numpy())


def test_dropout_is_the_identity_in_eval_and_for_p_zero():
    x = dh.tensor(np.arange(6.0))
    layer = nn.Dropout(0.9, generator=0).eval()
    assert layer(x) is x
    assert nn.Dropout(0.0)(x) is x
    assert not nn.Dropout(1.0)(x).numpy().any()
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)


def test_dropout_in_a_model_follows_train_and_eval():
    model = nn.Sequential(nn.Identity(), nn.Dropout(0.5, generator=0))
    x = dh.ones(1000)
    assert (model(x).numpy() == 0).any()
    model.eval()
    assert (model(x).numpy() == 1).all()
    model.train()
    assert (model(x).numpy() == 0).any()


# ---------------------------------------------------------------------- reprs
def _torch_layers_repr():
    torch = _torch()
    return repr(torch.nn.Sequential(
        torch.nn.Linear(2, 4), torch.nn.ReLU(), torch.nn.LeakyReLU(), torch.nn.LeakyReLU(0.2, inplace=True),
        torch.nn.Tanh(), torch.nn.Sigmoid(), torch.nn.GELU(), torch.nn.GELU(approximate="tanh"),
        torch.nn.Softmax(dim=1), torch.nn.LogSoftmax(dim=-1), torch.nn.Flatten(), torch.nn.Flatten(0, 2),
        torch.nn.Dropout(), torch.nn.Dropout(p=0.1), torch.nn.Identity(), torch.nn.ReLU(inplace=True),
        torch.nn.Sequential(torch.nn.Linear(4, 4, bias=False),
                            torch.nn.ModuleList([torch.nn.Tanh(), torch.nn.Tanh(), torch.nn.ReLU()])),
    ))


def test_every_layer_prints_like_pytorch(oracle):
    ours = nn.Sequential(
        nn.Linear(2, 4), nn.ReLU(), nn.LeakyReLU(), nn.LeakyReLU(0.2, inplace=True), nn.Tanh(),
        nn.Sigmoid(), nn.GELU(), nn.GELU(approximate="tanh"), nn.Softmax(dim=1), nn.LogSoftmax(dim=-1),
        nn.Flatten(), nn.Flatten(0, 2), nn.Dropout(), nn.Dropout(p=0.1), nn.Identity(), nn.ReLU(inplace=True),
        nn.Sequential(nn.Linear(4, 4, bias=False), nn.ModuleList([nn.Tanh(), nn.Tanh(), nn.ReLU()])),
    )
    assert repr(ours) == oracle("layers_repr", _torch_layers_repr)


# ------------------------------------------------------------------ containers
def test_sequential_indexing_length_iteration_and_append():
    layers = [nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1)]
    net = nn.Sequential(*layers)
    assert len(net) == 3 and list(net) == layers
    assert net[0] is layers[0] and net[-1] is layers[2]
    head = net[:2]
    assert isinstance(head, nn.Sequential) and list(head) == layers[:2]
    assert list(head.state_dict()) == ["0.weight", "0.bias"]
    net.append(nn.Sigmoid())
    assert len(net) == 4 and isinstance(net[3], nn.Sigmoid)
    net[1] = nn.ReLU()
    assert isinstance(net[1], nn.ReLU)
    del net[1]
    assert [name for name, _ in net.named_children()] == ["0", "1", "2"]
    assert list(net.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias"]
    net.insert(1, nn.Tanh())
    assert isinstance(net[1], nn.Tanh) and len(net) == 4
    with pytest.raises(IndexError, match="out of range"):
        net[10]


def _torch_named_sequential():
    from collections import OrderedDict

    torch = _torch()
    twin = torch.nn.Sequential(OrderedDict([("hidden", torch.nn.Linear(2, 3)), ("act", torch.nn.ReLU())]))
    return {"keys": list(twin.state_dict()), "repr": repr(twin)}


def test_sequential_from_an_ordered_dict_keeps_names(oracle):
    from collections import OrderedDict

    net = nn.Sequential(OrderedDict([("hidden", nn.Linear(2, 3)), ("act", nn.ReLU())]))
    twin = oracle("named_sequential", _torch_named_sequential)
    assert list(net.state_dict()) == twin["keys"]
    assert repr(net) == twin["repr"]
    assert net.hidden is net[0]


def test_sequential_forward_equals_calling_the_layers_in_turn():
    net = nn.Sequential(nn.Linear(3, 4, generator=0), nn.Tanh(), nn.Linear(4, 2, generator=1))
    x = dh.tensor(_inputs((5, 3)))
    np.testing.assert_array_equal(net(x).numpy(), net[2](net[1](net[0](x))).numpy())


def test_module_list_registers_its_modules(oracle):
    class Tower(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.ModuleList([nn.Linear(3, 3, generator=i) for i in range(3)])

        def forward(self, x):
            for block in self.blocks:
                x = dh.tanh(block(x))
            return x

    tower = Tower()
    assert len(list(tower.parameters())) == 6
    assert list(tower.state_dict())[:2] == ["blocks.0.weight", "blocks.0.bias"]
    assert tower(dh.ones((2, 3))).shape == (2, 3)
    blocks = tower.blocks
    assert len(blocks[1:]) == 2 and blocks[-1] is list(blocks)[2]
    blocks.append(nn.ReLU())
    blocks += [nn.Tanh()]
    assert len(blocks) == 5
    del blocks[0]
    assert [n for n, _ in blocks.named_children()] == ["0", "1", "2", "3"]
    with pytest.raises(NotImplementedError, match="no forward"):
        blocks(dh.ones(3))
    assert repr(nn.ModuleList()) == oracle("empty_module_list_repr", lambda: repr(_torch().nn.ModuleList()))
