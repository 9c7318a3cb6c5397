"""nn.init: PyTorch's gains and fans, the bounds and spreads of each scheme, and seeding.

PyTorch's numbers come from the ``oracle`` fixture: recorded in
tests/oracle/data/test_init.npz, or computed live under ``pytest -m oracle``.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest

import downhill as dh
from downhill import nn
from downhill.nn import init


@pytest.mark.parametrize("nonlinearity, param", [
    ("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None), ("relu", None),
    ("leaky_relu", None), ("leaky_relu", 0.2), ("leaky_relu", math.sqrt(5)), ("selu", None),
])
def test_calculate_gain_equals_pytorchs(nonlinearity, param, oracle):
    def theirs():
        import torch  # only in the live oracle run and the recorder

        return torch.nn.init.calculate_gain(nonlinearity, param)

    assert init.calculate_gain(nonlinearity, param) == oracle(f"gain/{nonlinearity}/{param!r}", theirs)


def test_calculate_gain_rejects_unknown_names():
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        init.calculate_gain("swish")


@pytest.mark.parametrize("shape", [(3, 4), (7, 2), (5, 3, 2, 2), (4, 6, 3)])
def test_fans_equal_pytorchs(shape, oracle):
    def theirs():
        import torch

        return list(torch.nn.init._calculate_fan_in_and_fan_out(torch.zeros(shape)))

    fans = oracle(f"fans/{shape}", theirs)
    assert init._calculate_fan_in_and_fan_out(dh.zeros(shape)) == tuple(int(v) for v in fans)


def test_fans_need_two_dimensions():
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(dh.zeros(5))


def _big(shape=(300, 200), dtype=np.float64):
    return nn.Parameter(np.zeros(shape, dtype=dtype))


def test_uniform_and_normal_fill_in_place_with_the_right_statistics():
    w = _big()
    data = w.data
    assert init.uniform_(w, -2.0, 3.0, generator=0) is w and w.data is data
    assert w.numpy().min() >= -2.0 and w.numpy().max() < 3.0
    assert w.numpy().mean() == pytest.approx(0.5, abs=0.05)
    init.normal_(w, mean=1.0, std=0.5, generator=0)
    assert w.numpy().mean() == pytest.approx(1.0, abs=0.01)
    assert w.numpy().std() == pytest.approx(0.5, rel=0.02)
    assert init.constant_(w, 0.25).numpy().tolist()[0][:2] == [0.25, 0.25]
    assert not init.zeros_(w).numpy().any()
    assert (init.ones_(w).numpy() == 1).all()
    assert w.requires_grad and w.grad is None and w.is_leaf


def test_xavier_bounds_and_spread():
    fan_in, fan_out = 200, 300
    gain = init.calculate_gain("tanh")
    w = init.xavier_uniform_(_big(), gain=gain, generator=1).numpy()
    bound = gain * math.sqrt(6 / (fan_in + fan_out))
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    w = init.xavier_normal_(_big(), generator=1).numpy()
    assert w.std() == pytest.approx(math.sqrt(2 / (fan_in + fan_out)), rel=0.02)


@pytest.mark.parametrize("mode, fan", [("fan_in", 200), ("fan_out", 300)])
def test_kaiming_bounds_and_spread(mode, fan):
    w = init.kaiming_uniform_(_big(), a=0.1, mode=mode, generator=2).numpy()
    bound = math.sqrt(3) * init.calculate_gain("leaky_relu", 0.1) / math.sqrt(fan)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    w = init.kaiming_normal_(_big(), mode=mode, nonlinearity="relu", generator=2).numpy()
    assert w.std() == pytest.approx(math.sqrt(2 / fan), rel=0.02)
    with pytest.raises(ValueError, match="fan_in, fan_out"):
        init.kaiming_normal_(_big(), mode="fan_middle")


SPREAD_CASES = [
    ("xavier_uniform_", {}),
    ("xavier_normal_", {}),
    ("kaiming_uniform_", {"a": math.sqrt(5)}),
    ("kaiming_normal_", {"nonlinearity": "relu"}),
]


def _torch_spreads():
    """The standard deviation of a 300x200 tensor filled by each of PyTorch's schemes, in turn."""
    import torch

    torch.manual_seed(0)
    return {
        name: float(getattr(torch.nn.init, name)(torch.zeros(300, 200, dtype=torch.float64), **kwargs).numpy().std())
        for name, kwargs in SPREAD_CASES
    }


def test_the_spread_of_each_scheme_matches_pytorchs(oracle):
    spreads = functools.cache(_torch_spreads)
    for name, kwargs in SPREAD_CASES:
        a = getattr(init, name)(_big(), generator=0, **kwargs).numpy()
        b_std = oracle(f"spread/{name}", lambda name=name: spreads()[name])
        assert a.std() == pytest.approx(float(b_std), rel=0.02), name


def test_seeding_int_generator_and_global():
    a = init.normal_(_big((20, 5)), generator=3).numpy().copy()
    assert np.array_equal(a, init.normal_(_big((20, 5)), generator=3).numpy())
    rng = np.random.default_rng(3)
    first = init.normal_(_big((20, 5)), generator=rng).numpy().copy()
    second = init.normal_(_big((20, 5)), generator=rng).numpy().copy()
    assert np.array_equal(first, a) and not np.array_equal(first, second)  # the stream moves on
    init.manual_seed(9)
    x = init.uniform_(_big((4, 4))).numpy().copy()
    nn.manual_seed(9)  # the same global generator
    assert np.array_equal(x, init.uniform_(_big((4, 4))).numpy())
    with pytest.raises(TypeError, match="generator must be"):
        init.uniform_(_big((2, 2)), generator="seed")
    with pytest.raises(TypeError, match="manual_seed needs an int"):
        nn.manual_seed(1.5)


def test_dtype_is_kept_and_zero_element_tensors_warn():
    w = init.kaiming_uniform_(_big((3, 4), dtype=np.float32), generator=0)
    assert w.dtype == np.float32
    with pytest.warns(UserWarning, match="zero-element"):
        init.kaiming_normal_(nn.Parameter(np.zeros((0, 3))))


def test_init_functions_need_a_tensor():
    with pytest.raises(TypeError, match="in place"):
        init.zeros_(np.ones(3))
