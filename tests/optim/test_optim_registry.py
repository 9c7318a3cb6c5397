"""Looking optimizers up by name, and binding options to the pure functions.

PyTorch's defaults come from the ``oracle`` fixture: recorded in
tests/oracle/data/test_optim_registry.npz, or read live under ``pytest -m oracle``."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from downhill import optim
from downhill.optim import functional as F


def test_names_and_classes():
    assert optim.names() == ["sgd", "adam", "adamw", "rmsprop", "adagrad"]
    assert optim.get("SGD") is optim.SGD
    assert optim.get(" AdamW ") is optim.AdamW


@pytest.mark.parametrize("name", ["momentum", "nesterov", "heavy_ball"])
def test_momentum_is_not_a_separate_optimizer(name):
    with pytest.raises(ValueError, match="is not a separate optimizer: it is SGD with momentum"):
        optim.get(name)
    with pytest.raises(ValueError, match="use 'sgd' with momentum=0.9"):
        optim.get_functional(name)


def test_unknown_names_suggest_a_known_one():
    with pytest.raises(ValueError, match="unknown optimizer 'adamm'.*did you mean 'adam'"):
        optim.get("adamm")
    with pytest.raises(TypeError, match="must be a string"):
        optim.get(optim.SGD)


@pytest.mark.parametrize("name", ["sgd", "adam", "adamw", "rmsprop", "adagrad"])
def test_functional_defaults_are_the_class_defaults(name):
    functional = optim.get_functional(name)
    parameters = inspect.signature(optim.get(name).__init__).parameters
    assert set(functional.defaults) == set(parameters) - {"self", "params"}
    for option, default in functional.defaults.items():
        assert parameters[option].default == default, (name, option)
    assert functional.options == tuple(functional.defaults)


def test_pair_unpacks_and_binds():
    init, update = optim.get_functional("sgd")
    assert init is F.sgd_init and update is F.sgd_update
    init, update = optim.get_functional("rmsprop").bind(lr=0.01, momentum=0.9, centered=True)
    p, state = update(np.ones(3), np.ones(3), init(np.zeros(3)))
    assert state.step == 1
    assert state.momentum_buffer is not None and state.grad_avg is not None


def test_bind_passes_init_options_to_init():
    init, _ = optim.get_functional("adagrad").bind(initial_accumulator_value=0.5)
    np.testing.assert_array_equal(init(np.zeros(2)).sum, [0.5, 0.5])
    init, update = optim.get_functional("adam").bind(amsgrad=True)
    _, state = update(np.zeros(2), np.ones(2), init(np.zeros(2)))
    assert state.max_exp_avg_sq is not None


def test_adamw_pair_has_adamws_defaults():
    adamw = optim.get_functional("adamw")
    assert adamw.defaults["weight_decay"] == 1e-2
    assert "decoupled_weight_decay" not in adamw.defaults


def test_bind_rejects_unknown_and_invalid_options():
    with pytest.raises(TypeError, match="adam got an unknown option 'momentum'; it accepts: lr, betas"):
        optim.get_functional("adam").bind(momentum=0.9)
    with pytest.raises(TypeError, match="did you mean 'weight_decay'"):
        optim.get_functional("sgd").bind(weight_decy=0.1)
    with pytest.raises(ValueError, match="Invalid learning rate"):
        optim.get_functional("sgd").bind(lr=-1)
    with pytest.raises(ValueError, match="Invalid learning rate"):
        optim.get_functional("sgd").bind(lr=np.array([[0.1], [-0.1]]))


TORCH_NAMES = {"sgd": "SGD", "adam": "Adam", "adamw": "AdamW", "rmsprop": "RMSprop", "adagrad": "Adagrad"}


def torch_defaults():
    """PyTorch's version and {optimizer: {option: default}}; tuples as lists, as JSON keeps them."""
    import torch  # only in the live oracle run and the recorder

    defaults = {}
    for name, cls_name in TORCH_NAMES.items():
        parameters = inspect.signature(getattr(torch.optim, cls_name).__init__).parameters
        defaults[name] = {
            k: list(v.default) if isinstance(v.default, tuple) else v.default
            for k, v in parameters.items()
            if k not in ("self", "params")
        }
    return {"version": torch.__version__, "defaults": defaults}


def test_torch_defaults_unchanged(oracle):
    # Our defaults were read from PyTorch 2.13; this pins them against it.
    theirs_all = oracle("torch_defaults", torch_defaults)
    assert theirs_all["version"].startswith("2.13")
    assert set(theirs_all["defaults"]) == set(optim.names())
    for name in optim.names():
        theirs = theirs_all["defaults"][name]
        for option, default in optim.get_functional(name).defaults.items():
            if option in theirs:
                ours = list(default) if isinstance(default, tuple) else default
                assert theirs[option] == ours, (name, option)
