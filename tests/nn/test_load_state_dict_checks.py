"""load_state_dict checks every value before copying any: an error leaves the model exactly as it was."""

from __future__ import annotations

import re

import numpy as np
import pytest

import downhill as dh
from downhill import nn
from downhill.errors import DownhillError
from downhill.nn.state import StateDictError


class Counted(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = nn.Linear(3, 2, generator=0)
        self.register_buffer("seen", dh.tensor(np.int64(5)))

    def forward(self, x):
        return self.layer(x)


def snapshot(model):
    return {key: value.data.copy() for key, value in model.state_dict().items()}


# The state_dict's order is seen, layer.weight, layer.bias: every other value is fine (and different
# from the model's), the one named is not, in a different way each time.
BAD_LATER_VALUES = [
    ("layer.bias", np.array(["1.5", "2.5"]), "dtype mismatch for layer.bias"),
    ("layer.bias", np.array([1 + 2j, 3 + 0j]), "dtype mismatch for layer.bias"),
    ("layer.bias", np.array([{"x": 1}, None], dtype=object), "dtype mismatch for layer.bias"),
    ("layer.bias", np.array([1e300, 0.0]), "cannot convert the value for layer.bias to float32"),
    ("layer.bias", [[1.0], [2.0, 3.0]], "cannot read the value for layer.bias"),
    ("seen", np.float64(2.5), "dtype mismatch for seen"),
]


@pytest.mark.parametrize("key, bad, message", BAD_LATER_VALUES, ids=[m for _, _, m in BAD_LATER_VALUES])
def test_a_bad_later_value_loads_nothing(key, bad, message):
    model = Counted()
    before = snapshot(model)
    state = {name: value.copy() + 1 for name, value in before.items()}
    state[key] = bad
    with pytest.raises(Exception) as caught:  # noqa: PT011 - which error is checked below, after the model
        model.load_state_dict(state)
    after = snapshot(model)  # first: whatever was raised, nothing was copied (not even the good values)
    for name in before:
        assert after[name].dtype == before[name].dtype
        np.testing.assert_array_equal(after[name], before[name], err_msg=name)
    assert isinstance(caught.value, StateDictError), repr(caught.value)
    assert isinstance(caught.value, RuntimeError) and isinstance(caught.value, DownhillError)
    assert re.search(message, str(caught.value)) and "Nothing was loaded" in str(caught.value)


def test_values_of_the_same_kind_are_converted_and_loaded():
    model = Counted()
    model.load_state_dict({"layer.weight": np.ones((2, 3)), "layer.bias": [1, 2], "seen": np.int32(9)})
    assert model.layer.weight.dtype == np.float32 and model.layer.weight.tolist() == [[1.0] * 3] * 2
    assert model.layer.bias.tolist() == [1.0, 2.0] and int(model.seen.data) == 9
