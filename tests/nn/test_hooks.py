"""Forward and backward hooks fire when they should, with the arguments PyTorch gives.

PyTorch's side (its initial weights, what its hooks received, its gradients)
comes from the ``oracle`` fixture: recorded in tests/oracle/data/test_hooks.npz,
or run live under ``pytest -m oracle``.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

import downhill as dh
from downhill import nn


def _twin(seed=0):
    import torch  # only in the live oracle run and the recorder

    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Tanh(), torch.nn.Linear(3, 2)).double()


def _model(oracle, seed=0):
    """Our copy of the network, holding PyTorch's initial weights for ``seed``."""
    state = functools.cache(lambda: {k: v.detach().numpy() for k, v in _twin(seed).state_dict().items()})
    keys = oracle(f"init/seed{seed}/keys", lambda: list(state()))
    model = nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 2)).double()
    model.load_state_dict({k: oracle(f"init/seed{seed}/{k}", lambda k=k: state()[k]) for k in keys})
    return model


def _numpy(grads):
    return tuple(None if g is None else np.asarray(g.detach().numpy() if hasattr(g, "detach") else g.numpy())
                 for g in grads)  # fmt: skip


def _record(model, calls):
    for name, layer in model.named_children():
        layer.register_full_backward_hook(
            lambda m, gin, gout, name=name: calls.append((name, _numpy(gin), _numpy(gout))))


def _torch_hook_calls(x_np, input_requires_grad):
    """What PyTorch's full backward hooks receive, flattened: names, which are None, arrays."""
    import torch

    twin, calls = _twin(), []
    _record(twin, calls)
    twin(torch.tensor(x_np, requires_grad=input_requires_grad)).sum().backward()
    flat = {"names": [name for name, _, _ in calls],
            "layout": [[[g is None for g in gin], [g is None for g in gout]] for _, gin, gout in calls]}
    for i, (_, gin, gout) in enumerate(calls):
        for kind, grads in (("gin", gin), ("gout", gout)):
            for j, g in enumerate(grads):
                if g is not None:
                    flat[f"call{i}/{kind}{j}"] = g
    return flat


@pytest.mark.filterwarnings("ignore:Full backward hook is firing:UserWarning")  # PyTorch's note
@pytest.mark.parametrize("input_requires_grad", [False, True])
def test_full_backward_hooks_get_pytorchs_grad_input_and_grad_output(input_requires_grad, oracle):
    model = _model(oracle)
    x_np = np.random.default_rng(0).normal(size=(5, 4))
    ours = []
    _record(model, ours)
    x = dh.tensor(x_np, requires_grad=input_requires_grad)
    model(x).sum().backward()

    case = f"hooks/{input_requires_grad}"
    theirs = functools.cache(lambda: _torch_hook_calls(x_np, input_requires_grad))
    names = oracle(f"{case}/names", lambda: theirs()["names"])
    layout = oracle(f"{case}/layout", lambda: theirs()["layout"])
    # The error travels back: the last layer's hook fires first.
    assert [c[0] for c in ours] == names == ["2", "1", "0"]
    for i, ((name, gin, gout), (gin_none, gout_none)) in enumerate(zip(ours, layout, strict=True)):
        for kind, mine, none in (("gin", gin, gin_none), ("gout", gout, gout_none)):
            assert len(mine) == len(none)
            for j, (a, b_is_none) in enumerate(zip(mine, none)):
                assert (a is None) == b_is_none, name
                if a is not None:
                    b = oracle(f"{case}/call{i}/{kind}{j}", lambda key=f"call{i}/{kind}{j}": theirs()[key])
                    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15, err_msg=name)
    if not input_requires_grad:
        assert ours[-1][1] == (None,)  # data fed to the first layer needs no gradient


def _torch_replaced_grads(x_np):
    import torch

    twin = _twin(seed=1)
    twin[1].register_full_backward_hook(lambda m, gin, gout: (gin[0] * 3,))
    xt = torch.tensor(x_np, requires_grad=True)
    twin(xt).sum().backward()
    return {"x": xt.grad.numpy(), "weight0": twin[0].weight.grad.numpy()}


def test_a_backward_hook_can_replace_grad_input_like_pytorch(oracle):
    model = _model(oracle, seed=1)
    model[1].register_full_backward_hook(lambda m, gin, gout: (gin[0] * 3,))
    x_np = np.random.default_rng(1).normal(size=(2, 4))
    x = dh.tensor(x_np, requires_grad=True)
    model(x).sum().backward()
    theirs = functools.cache(lambda: _torch_replaced_grads(x_np))
    np.testing.assert_allclose(x.grad.numpy(), oracle("replaced/x_grad", lambda: theirs()["x"]), rtol=1e-12)
    np.testing.assert_allclose(model[0].weight.grad.numpy(), oracle("replaced/weight0_grad", lambda: theirs()["weight0"]),
                               rtol=1e-12)


def test_a_removed_backward_hook_no_longer_fires_and_the_output_is_unchanged():
    model = nn.Sequential(nn.Linear(4, 3, generator=0), nn.Tanh(), nn.Linear(3, 2, generator=1)).double()
    calls = []
    handle = model[2].register_full_backward_hook(lambda m, gin, gout: calls.append(1))
    x = dh.tensor(np.ones((1, 4)))
    with_hook = model(x)
    with_hook.sum().backward()
    handle.remove()
    model(x).sum().backward()
    assert calls == [1]
    np.testing.assert_array_equal(with_hook.numpy(), model(x).numpy())


def test_backward_hooks_stay_out_of_the_way_under_no_grad():
    model = nn.Sequential(nn.Linear(4, 3, generator=0), nn.Tanh(), nn.Linear(3, 2, generator=1)).double()
    model[0].register_full_backward_hook(lambda m, gin, gout: pytest.fail("should not run"))
    with dh.no_grad():
        out = model(dh.tensor(np.ones((1, 4)), requires_grad=True))
    assert not out.requires_grad


def test_forward_hooks_see_the_inputs_and_the_output():
    model = nn.Sequential(nn.Linear(4, 3, generator=0), nn.Tanh(), nn.Linear(3, 2, generator=1)).double()
    seen = []
    for name, layer in model.named_children():
        layer.register_forward_pre_hook(lambda m, args, name=name: seen.append(("pre", name, args[0].shape)))
        layer.register_forward_hook(
            lambda m, args, out, name=name: seen.append(("post", name, args[0].shape, out.shape)))
    model(dh.ones((5, 4)))
    assert seen == [("pre", "0", (5, 4)), ("post", "0", (5, 4), (5, 3)),
                    ("pre", "1", (5, 3)), ("post", "1", (5, 3), (5, 3)),
                    ("pre", "2", (5, 3)), ("post", "2", (5, 3), (5, 2))]


def test_forward_hooks_receive_the_module_and_can_change_inputs_and_outputs():
    layer = nn.Linear(2, 2, generator=0)
    got = []
    layer.register_forward_pre_hook(lambda m, args: got.append(m) or (args[0] * 0,))
    handle = layer.register_forward_hook(lambda m, args, out: out + 100)
    out = layer(dh.ones((1, 2)))
    assert got == [layer]
    np.testing.assert_allclose(out.numpy(), layer.bias.numpy()[None] + 100, rtol=1e-6)
    handle.remove()
    np.testing.assert_allclose(layer(dh.ones((1, 2))).numpy(), layer.bias.numpy()[None], rtol=1e-6)


def test_hooks_fire_in_registration_order_and_handles_work_as_context_managers():
    layer = nn.Identity()
    order = []
    layer.register_forward_hook(lambda m, a, o: order.append("first"))
    with layer.register_forward_hook(lambda m, a, o: order.append("second")):
        layer(dh.ones(1))
    layer(dh.ones(1))
    assert order == ["first", "second", "first"]


def test_backward_hooks_work_through_retain_graph_twice():
    layer = nn.Linear(2, 1, generator=0)
    calls = []
    layer.register_full_backward_hook(lambda m, gin, gout: calls.append(gout[0].numpy().copy()))
    loss = layer(dh.ones((3, 2), requires_grad=True)).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    assert len(calls) == 2
    np.testing.assert_array_equal(calls[0], np.ones((3, 1)))
