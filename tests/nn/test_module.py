"""Module's book-keeping: registration, walking the tree, modes, dtypes, saving and loading, repr.

PyTorch's twin network (its names, repr and weights) comes from the ``oracle``
fixture: recorded in tests/oracle/data/test_module.npz, or built live under
``pytest -m oracle``.
"""

from __future__ import annotations

import copy
import functools
import pickle

import numpy as np
import pytest

import downhill as dh
from downhill import nn


class Block(nn.Module):
    def __init__(self, width=3, seed=0):
        super().__init__()
        self.scale = nn.Parameter(dh.ones(width))
        self.inner = nn.Linear(width, width, generator=seed)
        self.register_buffer("count", dh.zeros(1))
        self.register_buffer("scratch", dh.zeros(1), persistent=False)
        self.plain = dh.ones(2)  # a plain Tensor attribute is not a Parameter

    def forward(self, x):
        return self.inner(x) * self.scale


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.first = Block(seed=1)
        self.act = nn.Tanh()
        self.second = Block(seed=2)
        self.head = nn.Linear(3, 1, generator=3)

    def forward(self, x):
        return self.head(self.second(self.act(self.first(x))))


def _torch_net():
    """Net's twin in PyTorch (TorchNet of TorchBlocks), initialized from seed 0."""
    import torch  # only in the live oracle run and the recorder

    class TorchBlock(torch.nn.Module):
        def __init__(self, width=3):
            super().__init__()
            self.scale = torch.nn.Parameter(torch.ones(width))
            self.inner = torch.nn.Linear(width, width)
            self.register_buffer("count", torch.zeros(1))
            self.register_buffer("scratch", torch.zeros(1), persistent=False)

    class TorchNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.first = TorchBlock()
            self.act = torch.nn.Tanh()
            self.second = TorchBlock()
            self.head = torch.nn.Linear(3, 1)

    torch.manual_seed(0)
    return TorchNet()


@functools.cache
def _torch_facts():
    twin = _torch_net()
    return {
        "parameters": [n for n, _ in twin.named_parameters()],
        "buffers": [n for n, _ in twin.named_buffers()],
        "modules": [n for n, _ in twin.named_modules()],
        "children": [n for n, _ in twin.named_children()],
        "state_dict": list(twin.state_dict()),
        "num_parameters": sum(p.numel() for p in twin.parameters()),
        "repr": repr(twin),
    }


def _torch_state(oracle):
    """TorchNet's state_dict (seed 0), as arrays in its order."""
    state = functools.cache(lambda: {k: v.numpy().copy() for k, v in _torch_net().state_dict().items()})
    keys = oracle("twin/state_dict_keys", lambda: list(state()))
    return {k: oracle(f"twin/state/{k}", lambda k=k: state()[k]) for k in keys}


def test_names_and_order_of_parameters_buffers_and_modules_equal_pytorchs(oracle):
    net, twin = Net(), oracle("twin/facts", _torch_facts)
    assert [n for n, _ in net.named_parameters()] == twin["parameters"]
    assert [n for n, _ in net.named_buffers()] == twin["buffers"]
    assert [n for n, _ in net.named_modules()] == twin["modules"]
    assert [n for n, _ in net.named_children()] == twin["children"]
    assert list(net.state_dict()) == twin["state_dict"]  # no "scratch": not persistent
    assert [n for n, _ in net.named_parameters(recurse=False)] == []
    assert [n for n, _ in net.first.named_parameters(prefix="first", recurse=False)] == ["first.scale"]
    assert len(list(net.children())) == 4 and len(list(net.modules())) == 7
    assert net.num_parameters() == twin["num_parameters"]
    assert net.get_submodule("first.inner") is net.first.inner


def test_attribute_access_and_assignment_register_things():
    block = Block()
    assert isinstance(block.scale, nn.Parameter) and isinstance(block.inner, nn.Linear)
    assert "plain" not in dict(block.named_parameters())
    block.extra = nn.Parameter(dh.zeros(2))
    assert "extra" in dict(block.named_parameters())
    block.scale = None  # a parameter slot may be emptied
    assert "scale" not in dict(block.named_parameters())
    with pytest.raises(TypeError, match="as parameter 'extra'"):
        block.extra = dh.zeros(2)
    with pytest.raises(TypeError, match="as buffer 'count'"):
        block.count = [1.0]
    del block.extra
    assert not hasattr(block, "extra")
    with pytest.raises(AttributeError, match="'Block' object has no attribute 'missing'"):
        block.missing
    assert "inner" in dir(block)


def test_forgetting_super_init_is_a_clear_error():
    class Broken(nn.Module):
        def __init__(self):
            self.layer = nn.Linear(2, 2)

    with pytest.raises(AttributeError, match="super\\(\\).__init__\\(\\)"):
        Broken()


def test_a_shared_parameter_is_listed_once():
    shared = nn.Linear(2, 2)
    net = nn.Sequential(shared, nn.Tanh(), shared)
    assert len(list(net.parameters())) == 2
    assert list(net.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_train_and_eval_reach_every_module():
    net = Net()
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    with pytest.raises(ValueError, match="bool"):
        net.train("no")


def test_zero_grad_clears_or_zeroes():
    net = Net()
    net(dh.ones((2, 3))).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.numpy().any() for p in net.parameters())
    net(dh.ones((2, 3))).sum().backward()
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_requires_grad_freezes_parameters():
    net = Net()
    net.first.requires_grad_(False)
    net(dh.ones((2, 3))).sum().backward()
    assert net.first.inner.weight.grad is None and net.head.weight.grad is not None
    assert net.num_parameters(only_trainable=True) == net.num_parameters() - 15


def test_apply_visits_children_first_then_self():
    seen = []
    Net().apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Linear", "Block", "Tanh", "Linear", "Block", "Linear", "Net"]


def test_to_float_and_double_keep_the_parameter_objects():
    net = Net()
    params = list(net.parameters())
    optimizer = dh.optim.SGD(net.parameters(), lr=0.1)
    net.double()
    assert [id(p) for p in net.parameters()] == [id(p) for p in params]
    assert all(p.dtype == np.float64 for p in net.parameters())
    assert net.first.count.dtype == np.float64
    net(dh.ones((2, 3))).sum().backward()
    optimizer.step()  # the optimizer still holds the same, now float64, parameters
    assert net.float().head.weight.dtype == np.float32
    assert net.head.weight.grad.dtype == np.float32
    assert net.to("cpu") is net
    with pytest.raises(TypeError, match="floating point"):
        net.to("int64")


# ---------------------------------------------------------------- state_dict
def test_state_dict_holds_detached_copies():
    net = Net()
    saved = net.state_dict()
    assert all(type(v) is dh.Tensor and not v.requires_grad for v in saved.values())
    with dh.no_grad():
        net.head.weight -= 1.0
    assert not np.array_equal(saved["head.weight"].numpy(), net.head.weight.numpy())
    kept = net.state_dict(keep_vars=True)
    assert kept["head.weight"] is net.head.weight


def test_load_state_dict_round_trip_in_place():
    source, target = Net(), Net()
    for p in source.parameters():
        p.data[...] = np.random.default_rng(p.size).normal(size=p.shape)
    weight = target.head.weight
    result = target.load_state_dict(source.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert target.head.weight is weight  # copied into the same Parameter
    for (k, a), (_, b) in zip(source.state_dict().items(), target.state_dict().items(), strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=k)
    x = dh.ones((2, 3))
    np.testing.assert_array_equal(source(x).numpy(), target(x).numpy())


def test_load_state_dict_accepts_arrays_and_pytorch_values_and_casts(oracle):
    twin_state = _torch_state(oracle)
    assert twin_state["head.weight"].dtype == np.float32
    net = Net()
    net.load_state_dict(twin_state)
    assert net.head.weight.dtype == np.float32
    np.testing.assert_array_equal(net.head.weight.numpy(), twin_state["head.weight"])
    net.load_state_dict({k: v.astype(np.float64).tolist() for k, v in twin_state.items()})
    assert net.head.weight.dtype == np.float32


def test_load_state_dict_strict_errors_name_the_keys():
    net = Net()
    state = net.state_dict()
    del state["head.bias"]
    state["head.extra"] = dh.zeros(1)
    with pytest.raises(RuntimeError) as error:
        net.load_state_dict(state)
    message = str(error.value)
    assert 'Missing key(s) in state_dict: "head.bias"' in message
    assert 'Unexpected key(s) in state_dict: "head.extra"' in message
    result = net.load_state_dict(state, strict=False)
    assert result.missing_keys == ["head.bias"] and result.unexpected_keys == ["head.extra"]


def test_load_state_dict_shape_mismatch_is_always_an_error():
    net = Net()
    state = net.state_dict()
    state["head.weight"] = np.zeros((2, 3))
    before = net.first.scale.numpy().copy()
    state["first.scale"] = np.full(3, 7.0)
    for strict in (True, False):
        with pytest.raises(RuntimeError, match=r"size mismatch for head.weight.*\(2, 3\).*\(1, 3\)"):
            net.load_state_dict(state, strict=strict)
    np.testing.assert_array_equal(net.first.scale.numpy(), before)  # nothing half-loaded


# ---------------------------------------------------------------- copies, repr
def test_deepcopy_and_pickle_give_independent_models():
    net = Net()
    for clone in (copy.deepcopy(net), pickle.loads(pickle.dumps(net))):
        assert isinstance(clone.head.weight, nn.Parameter) and clone.head.weight.requires_grad
        assert clone.head.weight is not net.head.weight
        np.testing.assert_array_equal(clone.head.weight.numpy(), net.head.weight.numpy())
        x = dh.ones((1, 3))
        np.testing.assert_array_equal(clone(x).numpy(), net(x).numpy())


def test_repr_matches_pytorchs_for_nested_modules(oracle):
    theirs = oracle("twin/facts", _torch_facts)["repr"]
    assert repr(Net()).replace("Block", "TorchBlock").replace("Net(", "TorchNet(", 1) == theirs
    assert repr(nn.Sequential(nn.Linear(2, 4), nn.Tanh())) == (
        "Sequential(\n  (0): Linear(in_features=2, out_features=4, bias=True)\n  (1): Tanh()\n)")


def test_parameter_basics():
    p = nn.Parameter(dh.tensor([1.0, 2.0]))
    assert repr(p) == "Parameter containing:\ntensor([1., 2.], requires_grad=True)"
    assert p.is_leaf and p.requires_grad
    assert not nn.Parameter(np.zeros(2), requires_grad=False).requires_grad
    source = dh.tensor([1.0, 2.0])
    nn.Parameter(source).data[0] = 9.0  # shares memory with a Tensor, as torch.nn.Parameter
    assert source.tolist() == [9.0, 2.0]
    assert type(p * 2) is dh.Tensor and type(p.detach()) is dh.Tensor
    with pytest.raises(TypeError, match="floating-point"):
        nn.Parameter(np.array([1, 2]))


def test_missing_forward_is_a_clear_error():
    with pytest.raises(NotImplementedError, match='missing the required "forward"'):
        nn.Module()(dh.ones(1))
