"""The PyTorch-shaped optimizer classes against torch.optim: trajectories with
downhill's own gradients, parameter groups, closures, zero_grad, state dicts
and constructor validation.

PyTorch's side comes from the ``oracle`` fixture: recorded in
tests/oracle/data/test_optim_classes.npz (the default run never imports
torch), or computed live under ``pytest -m oracle``."""

from __future__ import annotations

import copy
import functools
import inspect

import numpy as np
import pytest

import downhill as dh
from downhill import optim
from downhill.optim import SGD, Adagrad, Adam, AdamW, Optimizer, RMSprop

from .problems import TORCH_CLASSES, grid_cases, plain, run_downhill, run_torch

CASES = list(grid_cases())
OURS = {"sgd": SGD, "adam": Adam, "adamw": AdamW, "rmsprop": RMSprop, "adagrad": Adagrad}

# Options that exercise every piece of state each optimizer keeps.
STATEFUL = [
    ("sgd", {"lr": 0.01, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    ("sgd", {"lr": 0.01}),
    ("adam", {"lr": 0.01, "amsgrad": True, "weight_decay": 0.01}),
    ("adamw", {"lr": 0.01, "betas": (0.8, 0.9)}),
    ("rmsprop", {"lr": 0.01, "momentum": 0.5, "centered": True}),
    ("rmsprop", {"lr": 0.01}),
    ("adagrad", {"lr": 0.1, "lr_decay": 0.01, "initial_accumulator_value": 0.1}),
]
STATEFUL_IDS = [f"{name}-{i}" for i, (name, _) in enumerate(STATEFUL)]


@pytest.mark.parametrize(("case", "name", "options", "mountain", "start"), CASES, ids=[c[0] for c in CASES])
def test_trajectory_matches_torch(case, name, options, mountain, start, oracle):
    ours = run_downhill(name, options, mountain, start, steps=200)
    theirs = oracle(f"trajectory/{case}", lambda: run_torch(name, options, mountain, start, steps=200))
    assert theirs.dtype == np.float64 and theirs.shape == (201, 2)
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=0)


# ----------------------------------------------------------------------
# A model with parameters of several shapes (matrix, vector, scalar).
# ----------------------------------------------------------------------


def _regression_data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((8, 3))
    Y = rng.standard_normal((8, 2))
    w0 = rng.standard_normal((3, 2))
    b0 = rng.standard_normal(2)
    return X, Y, w0, b0


def _regression_run(lib, name, options, steps=30):
    X, Y, w0, b0 = _regression_data()
    options = {**options, "lr": options["lr"] / 5}  # this valley is steeper than the others
    if lib == "torch":
        import torch  # only in the live oracle run and the recorder

        make = lambda a: torch.tensor(a, dtype=torch.float64, requires_grad=True)  # noqa: E731
        X, Y = torch.tensor(X), torch.tensor(Y)
        cls = TORCH_CLASSES[name]
    else:
        make = lambda a: dh.tensor(np.array(a, dtype=np.float64), requires_grad=True)  # noqa: E731
        X, Y = dh.tensor(X), dh.tensor(Y)
        cls = OURS[name]
    w, b, s = make(w0), make(b0), make(0.5)
    opt = cls([w, b, s], **options)
    for _ in range(steps):
        opt.zero_grad()
        loss = (((X @ w + b) * s - Y) ** 2).sum()
        loss.backward()
        opt.step()

    def as_np(t):
        return t.detach().numpy() if lib == "torch" else t.data

    return [np.array(as_np(t)) for t in (w, b, s)], opt


@functools.cache
def _torch_regression(name, options_key):
    """PyTorch's side of the regression run, as numbers: the parameters, the saved
    state (its entries per parameter, each value) and the saved groups."""
    params, opt = _regression_run("torch", name, dict(options_key))
    saved = opt.state_dict()
    answer = {f"param/{i}": value for i, value in enumerate(params)}
    answer["state_keys"] = {str(index): sorted(state) for index, state in saved["state"].items()}
    for index, state in saved["state"].items():
        for key, value in state.items():
            answer[f"state/{index}/{key}"] = value.numpy()
    answer["param_groups"] = plain(saved["param_groups"])
    return answer


@pytest.mark.parametrize(("name", "options"), STATEFUL, ids=STATEFUL_IDS)
def test_parameters_of_several_shapes_match_torch(name, options, oracle):
    ours, opt = _regression_run("dh", name, options)
    frozen = tuple(sorted(options.items()))
    case = f"shapes/{name}/{plain(options)}"

    def theirs(part):
        return oracle(f"{case}/{part}", lambda: _torch_regression(name, frozen)[part])

    for i, a in enumerate(ours):
        b = theirs(f"param/{i}")
        assert a.shape == b.shape and b.dtype == np.float64
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-14)
    # The saved state has the same entries as PyTorch's, with the same values.
    ours_sd = opt.state_dict()
    state_keys = theirs("state_keys")
    assert set(ours_sd["state"]) == {int(index) for index in state_keys}
    for index, keys in state_keys.items():
        assert set(ours_sd["state"][int(index)]) == set(keys)
        for key in keys:
            value = theirs(f"state/{index}/{key}")
            if key == "step":
                assert ours_sd["state"][int(index)]["step"] == int(value)
                assert isinstance(ours_sd["state"][int(index)]["step"], int)
            else:
                np.testing.assert_allclose(ours_sd["state"][int(index)][key], value, rtol=1e-9, atol=1e-14)
    torch_only = {"foreach", "differentiable", "fused", "capturable"}
    torch_groups = theirs("param_groups")
    assert len(ours_sd["param_groups"]) == len(torch_groups) == 1
    for ours_group, torch_group in zip(ours_sd["param_groups"], torch_groups):
        assert set(ours_group) == set(torch_group) - torch_only
        for key in ours_group:
            assert plain(ours_group[key]) == torch_group[key], key
    assert ours_sd["param_groups"][0]["params"] == [0, 1, 2]


# ----------------------------------------------------------------------
# state_dict round trip
# ----------------------------------------------------------------------


def _climb(opt, p, steps):
    path = []
    for _ in range(steps):
        opt.zero_grad()
        x, y = p[0], p[1]
        (100 * (y - x**2) ** 2 + (1 - x) ** 2).backward()
        opt.step()
        path.append(p.data.copy())
    return path


@pytest.mark.parametrize(("name", "options"), STATEFUL, ids=STATEFUL_IDS)
def test_state_dict_round_trip_continues_exactly(name, options):
    options = {**options, "lr": options["lr"] / 20}  # stay stable on Rosenbrock
    cls = OURS[name]
    p = dh.tensor([-1.5, 2.0], requires_grad=True)
    straight = _climb(cls([p], **options), p, 100)

    q = dh.tensor([-1.5, 2.0], requires_grad=True)
    first = cls([q], **options)
    before = _climb(first, q, 50)
    saved = first.state_dict()
    snapshot = copy.deepcopy(saved)

    # Fresh parameters with the same values, a fresh optimizer, then load.
    r = dh.tensor(q.data.copy(), requires_grad=True)
    second = cls([r], lr=123.0)  # the loaded groups bring their own options back
    second.load_state_dict(saved)
    assert second.param_groups[0]["lr"] == options["lr"]
    assert second.param_groups[0]["params"][0] is r
    after = _climb(second, r, 50)
    np.testing.assert_array_equal(np.array(before + after), np.array(straight))

    # Copies, not shared: the saved dict did not move while either optimizer stepped.
    _climb(first, q, 5)
    for index, values in snapshot["state"].items():
        for key, value in values.items():
            np.testing.assert_array_equal(saved["state"][index][key], value)
    for key, value in saved["state"].get(0, {}).items():
        if isinstance(value, np.ndarray):
            assert not np.shares_memory(value, second.state[r][key])


def test_state_dict_layout_is_pytorchs():
    a = dh.tensor([1.0, 2.0], requires_grad=True)
    b = dh.tensor(3.0, requires_grad=True)
    c = dh.tensor([4.0], requires_grad=True)
    opt = SGD([{"params": [a, b]}, {"params": [c], "lr": 0.5}], lr=0.1, momentum=0.9)
    (a.sum() + b * c.sum()).backward()
    opt.step()
    saved = opt.state_dict()
    assert list(saved) == ["state", "param_groups"]
    assert sorted(saved["state"]) == [0, 1, 2]
    assert [g["params"] for g in saved["param_groups"]] == [[0, 1], [2]]
    assert [g["lr"] for g in saved["param_groups"]] == [0.1, 0.5]
    np.testing.assert_array_equal(saved["state"][1]["momentum_buffer"], np.array(4.0))


def test_load_state_dict_rejects_mismatched_groups():
    a, b = dh.tensor([1.0], requires_grad=True), dh.tensor([2.0], requires_grad=True)
    saved = SGD([a, b]).state_dict()
    with pytest.raises(ValueError, match="parameter group"):
        SGD([a]).load_state_dict(saved)
    with pytest.raises(ValueError, match="has 1 parameter groups, but this optimizer has 2"):
        SGD([{"params": [a]}, {"params": [b]}]).load_state_dict(saved)


def test_load_state_dict_casts_arrays_to_the_parameters_dtype():
    p = dh.tensor([1.0, 2.0], requires_grad=True)
    opt = Adam([p], lr=0.1)
    (p * p).sum().backward()
    opt.step()
    q = dh.tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    fresh = Adam([q], lr=0.1)
    fresh.load_state_dict(opt.state_dict())
    assert fresh.state[q]["exp_avg"].dtype == np.float32
    assert fresh.state[q]["step"] == 1


def test_adamw_load_keeps_decoupled_decay():
    p = dh.tensor([1.0], requires_grad=True)
    saved = Adam([p]).state_dict()
    adamw = AdamW([dh.tensor([1.0], requires_grad=True)])
    adamw.load_state_dict(saved)
    assert adamw.param_groups[0]["decoupled_weight_decay"] is True


# ----------------------------------------------------------------------
# parameter groups, add_param_group, zero_grad, closure
# ----------------------------------------------------------------------


def _two_group_run(lib, steps=20, add_later=False):
    if lib == "torch":
        import torch  # only in the live oracle run and the recorder

        make = lambda v: torch.tensor(v, dtype=torch.float64, requires_grad=True)  # noqa: E731
        SGDcls = torch.optim.SGD
    else:
        make = lambda v: dh.tensor(np.array(v, dtype=np.float64), requires_grad=True)  # noqa: E731
        SGDcls = SGD
    x, y = make([2.0, -1.0]), make([0.5])
    if add_later:
        opt = SGDcls([x], lr=0.05, momentum=0.9)
    else:
        opt = SGDcls([{"params": [x]}, {"params": [y], "lr": 0.2, "momentum": 0.0}], lr=0.05, momentum=0.9)
    path = []
    for t in range(steps):
        if add_later and t == 5:
            opt.add_param_group({"params": [y], "lr": 0.2, "momentum": 0.0})
        opt.zero_grad()
        ((x**2).sum() * (y**2).sum() + (x**2).sum() + (y**2).sum()).backward()
        opt.step()
        as_np = (lambda t: t.detach().numpy()) if lib == "torch" else (lambda t: t.data)
        path.append(np.concatenate([as_np(x), as_np(y)]))
    return np.array(path), opt


@pytest.mark.parametrize("add_later", [False, True], ids=["groups", "add_param_group"])
def test_param_groups_with_their_own_options_match_torch(add_later, oracle):
    ours, opt = _two_group_run("dh", add_later=add_later)
    theirs = oracle(f"groups/add_later={add_later}", lambda: _two_group_run("torch", add_later=add_later)[0])
    assert theirs.shape == ours.shape == (20, 3)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    assert [g["lr"] for g in opt.param_groups] == [0.05, 0.2]
    assert [g["momentum"] for g in opt.param_groups] == [0.9, 0.0]
    # Options a group did not give come from the defaults.
    assert opt.param_groups[1]["nesterov"] is False and opt.param_groups[1]["dampening"] == 0


def test_add_param_group_validates():
    x, y = dh.tensor([1.0], requires_grad=True), dh.tensor([2.0], requires_grad=True)
    opt = SGD([x], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [x]})
    with pytest.raises(TypeError, match="ordered collections"):
        opt.add_param_group({"params": {y}})
    with pytest.raises(TypeError, match="must be a dict"):
        opt.add_param_group([y])
    with pytest.raises(ValueError, match="Invalid learning rate"):
        opt.add_param_group({"params": [y], "lr": -1.0})
    opt.add_param_group({"params": y})  # a single tensor is accepted, as in PyTorch
    assert len(opt.param_groups[1]["params"]) == 1 and opt.param_groups[1]["params"][0] is y


def test_named_parameters_record_their_names():
    w = dh.tensor([1.0], requires_grad=True)
    opt = SGD([("weight", w)], lr=0.1)
    assert opt.param_groups[0]["param_names"] == ["weight"]
    assert opt.param_groups[0]["params"][0] is w
    assert opt.state_dict()["param_groups"][0]["param_names"] == ["weight"]


def test_zero_grad_sets_to_none_or_zeros():
    x = dh.tensor([1.0, 2.0], requires_grad=True)
    opt = SGD([x], lr=0.1, momentum=0.9)
    (x * x).sum().backward()
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.0])
    opt.zero_grad()
    assert x.grad is None


def test_parameters_without_gradient_are_skipped():
    x, y = dh.tensor([1.0], requires_grad=True), dh.tensor([5.0], requires_grad=True)
    opt = Adam([x, y], lr=0.1)
    (x * x).sum().backward()
    opt.step()
    np.testing.assert_array_equal(y.data, [5.0])
    assert y not in opt.state and x in opt.state
    assert opt.state[x]["step"] == 1


def test_zero_gradient_still_steps_with_momentum():
    # zero_grad(set_to_none=False) keeps the step: momentum carries the climber on.
    x = dh.tensor([1.0], requires_grad=True)
    opt = SGD([x], lr=0.1, momentum=0.9)
    (x * x).sum().backward()
    opt.step()
    moved = x.data.copy()
    opt.zero_grad(set_to_none=False)
    opt.step()
    assert x.data[0] < moved[0]


def test_step_updates_the_same_array_in_place():
    x = dh.tensor([1.0, 2.0], requires_grad=True)
    data = x.data
    opt = SGD([x], lr=0.1)
    (x * x).sum().backward()
    opt.step()
    assert x.data is data
    np.testing.assert_allclose(data, [0.8, 1.6])


@pytest.mark.parametrize(("name", "options"), STATEFUL, ids=STATEFUL_IDS)
def test_closure_returns_the_loss_and_matches_torch(name, options, oracle):
    def run(lib):
        if lib == "torch":
            import torch  # only in the live oracle run and the recorder

            p = torch.tensor([-1.0, 0.5], dtype=torch.float64, requires_grad=True)
            opt = TORCH_CLASSES[name]([p], **options)
        else:
            p = dh.tensor([-1.0, 0.5], requires_grad=True)
            opt = OURS[name]([p], **options)

        def closure():
            opt.zero_grad()
            loss = (p[0] ** 2 + p[1] - 11) ** 2 + (p[0] + p[1] ** 2 - 7) ** 2
            loss.backward()
            return loss

        losses = [opt.step(closure) for _ in range(30)]
        return np.array([float(loss.detach()) if lib == "torch" else float(loss) for loss in losses])

    theirs = oracle(f"closure/{name}/{plain(options)}", lambda: run("torch"))
    assert theirs.shape == (30,)
    np.testing.assert_allclose(run("dh"), theirs, rtol=1e-10)


def test_closure_runs_with_gradients_on_inside_no_grad():
    x = dh.tensor([3.0], requires_grad=True)
    opt = SGD([x], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (x * x).sum()
        loss.backward()
        return loss

    with dh.no_grad():
        loss = opt.step(closure)
    assert float(loss) == 9.0
    np.testing.assert_allclose(x.data, [2.4])


def test_step_without_closure_returns_none():
    x = dh.tensor([1.0], requires_grad=True)
    assert SGD([x]).step() is None


def test_state_is_keyed_by_the_parameter_object():
    x, y = dh.tensor([1.0], requires_grad=True), dh.tensor([1.0], requires_grad=True)
    opt = RMSprop([x, y], lr=0.1, momentum=0.5)
    (x * 2 + y * 3).sum().backward()
    opt.step()
    assert set(opt.state[x]) == {"step", "square_avg", "momentum_buffer"}
    assert len(opt.state) == 2
    # Equal values but different tensors: different state.
    assert not np.array_equal(opt.state[x]["square_avg"], opt.state[y]["square_avg"])


def test_adagrad_state_exists_from_construction():
    x = dh.tensor([1.0, 2.0], requires_grad=True)
    opt = Adagrad([x], initial_accumulator_value=0.3)
    assert opt.state[x]["step"] == 0
    np.testing.assert_array_equal(opt.state[x]["sum"], [0.3, 0.3])
    assert 0 in opt.state_dict()["state"]


def test_repr_lists_the_groups():
    opt = SGD([dh.tensor([1.0], requires_grad=True)], lr=0.1)
    text = repr(opt)
    assert text.startswith("SGD (") and "Parameter Group 0" in text and "lr: 0.1" in text


# ----------------------------------------------------------------------
# Constructor validation
# ----------------------------------------------------------------------


def torch_refusal(cls_name, kwargs):
    """What PyTorch's constructor does with these options: the error's class name, or "accepted"."""
    import torch  # only in the live oracle run and the recorder

    try:
        getattr(torch.optim, cls_name)([torch.zeros(1, requires_grad=True)], **kwargs)
    except Exception as error:  # noqa: BLE001 - the class of the error is the answer
        return type(error).__name__
    return "accepted"


def _p():
    return [dh.tensor([1.0], requires_grad=True)]


@pytest.mark.parametrize(
    ("cls", "kwargs", "message"),
    [
        (SGD, {"lr": -0.1}, r"Invalid learning rate: -0\.1; lr must be >= 0"),
        (SGD, {"lr": float("nan")}, r"Invalid learning rate: nan"),
        (SGD, {"momentum": -0.5}, r"Invalid momentum value: -0\.5"),
        (SGD, {"weight_decay": -1e-4}, r"Invalid weight_decay value"),
        (SGD, {"nesterov": True}, r"Nesterov momentum requires a momentum > 0 and zero dampening"),
        (SGD, {"nesterov": True, "momentum": 0.9, "dampening": 0.1}, r"zero dampening; got momentum=0\.9, dampening=0\.1"),
        (Adam, {"lr": -1.0}, r"Invalid learning rate"),
        (Adam, {"eps": -1e-8}, r"Invalid epsilon value"),
        (Adam, {"betas": (1.0, 0.999)}, r"Invalid beta parameter at index 0: 1\.0; betas must satisfy 0 <= beta < 1"),
        (Adam, {"betas": (0.9, -0.1)}, r"Invalid beta parameter at index 1"),
        (Adam, {"betas": (0.9,)}, r"betas must be a pair"),
        (Adam, {"weight_decay": -0.1}, r"Invalid weight_decay value"),
        (AdamW, {"betas": (0.9, 1.5)}, r"Invalid beta parameter at index 1"),
        (RMSprop, {"alpha": -0.1}, r"Invalid alpha value"),
        (RMSprop, {"eps": -1.0}, r"Invalid epsilon value"),
        (RMSprop, {"momentum": -0.1}, r"Invalid momentum value"),
        (RMSprop, {"weight_decay": -0.1}, r"Invalid weight_decay value"),
        (Adagrad, {"lr_decay": -0.1}, r"Invalid lr_decay value"),
        (Adagrad, {"initial_accumulator_value": -0.1}, r"Invalid initial_accumulator_value value"),
        (Adagrad, {"eps": -0.1}, r"Invalid epsilon value"),
        (Adagrad, {"weight_decay": -0.1}, r"Invalid weight_decay value"),
    ],
)
def test_constructor_rejects_what_torch_rejects(cls, kwargs, message, oracle):
    with pytest.raises(ValueError, match=message):
        cls(_p(), **kwargs)
    # PyTorch rejects the same settings (our messages extend its wording), except
    # where we are stricter: SGD's check `lr < 0` lets NaN through, and a
    # one-element betas fails there with an IndexError.
    theirs = oracle(f"refusal/{cls.__name__}/{plain(kwargs)}", lambda: torch_refusal(cls.__name__, kwargs))
    if cls is SGD and "lr" in kwargs and kwargs["lr"] != kwargs["lr"]:
        assert theirs == "accepted"
    elif kwargs == {"betas": (0.9,)}:
        assert theirs == "IndexError"
    else:
        assert theirs == "ValueError"


def test_constructor_rejects_bad_params():
    x = dh.tensor([1.0], requires_grad=True)
    with pytest.raises(TypeError, match="wrap it in a list"):
        SGD(x)
    with pytest.raises(ValueError, match="empty parameter list"):
        SGD([])
    with pytest.raises(TypeError, match="can only optimize Tensors.*ndarray"):
        SGD([np.zeros(2)])
    with pytest.raises(TypeError, match="must be a real number"):
        SGD([x], lr="fast")
    with pytest.raises(ValueError, match="non-leaf"):
        SGD([x * 2])


def torch_defaults():
    """{optimizer name: {option: PyTorch's default}} for the five classes."""
    answer = {}
    for name in OURS:
        parameters = inspect.signature(TORCH_CLASSES[name].__init__).parameters
        answer[name] = {k: plain(v.default) for k, v in parameters.items() if k not in ("self", "params")}
    return answer


def test_defaults_are_pytorchs(oracle):
    defaults = oracle("defaults", torch_defaults)
    assert set(defaults) == set(OURS)
    for name, cls in OURS.items():
        ours = inspect.signature(cls.__init__).parameters
        theirs = defaults[name]
        for option, parameter in ours.items():
            if option in ("self", "params"):
                continue
            assert plain(parameter.default) == theirs[option], (name, option)


def test_subclass_without_update_must_implement_step():
    class Lazy(Optimizer):
        def __init__(self, params):
            super().__init__(params, {"lr": 0.1})

    with pytest.raises(NotImplementedError, match="must implement step"):
        Lazy([dh.tensor([1.0], requires_grad=True)]).step()


def test_registry_classes_are_these():
    assert [optim.get(n) for n in optim.names()] == [SGD, Adam, AdamW, RMSprop, Adagrad]


def test_options_are_checked_once_per_construction(monkeypatch):
    # Issue 9: SGD's constructor and the base class each ran the same check.
    from downhill.optim import checks

    calls = []

    def counting(**options):
        calls.append(options)
        checks.check_sgd_options(**options)

    monkeypatch.setattr(optim.SGD, "_check_fn", staticmethod(counting))
    x = dh.tensor([1.0], requires_grad=True)
    optim.SGD([x], lr=0.1, momentum=0.9)
    assert len(calls) == 1
    calls.clear()
    y = dh.tensor([1.0], requires_grad=True)
    optim.SGD([{"params": [x]}, {"params": [y], "lr": 0.5}], lr=0.1)
    assert len(calls) == 2  # the defaults, then the group that brings its own lr
    with pytest.raises(ValueError, match="Invalid learning rate"):
        optim.SGD([{"params": [x]}, {"params": [y], "lr": -1.0}], lr=0.1)
