"""Every loss against PyTorch in float64: values and gradients, every reduction and option.

Ordinary logits, and logits of +-1e4 where a naive softmax or sigmoid would
overflow: the losses must stay finite and still equal PyTorch's.

PyTorch's values and gradients come from the ``oracle`` fixture: recorded in
tests/oracle/data/test_loss.npz, or computed live under ``pytest -m oracle``.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

import downhill as dh
from downhill import nn

REDUCTIONS = ("mean", "sum", "none")
VALUE_RTOL, GRAD_RTOL = 1e-12, 1e-10


def _logits(kind, shape, seed=0):
    rng = np.random.default_rng(seed)
    if kind == "ordinary":
        return rng.normal(0, 2, shape)
    # +-1e4, with a few moderate entries so that some rows are not one-sided.
    extreme = rng.choice([-1e4, 1e4], shape) * rng.uniform(0.5, 1.0, shape)
    extreme.flat[::5] = rng.normal(0, 3, extreme.size)[::5]
    return extreme


def _torch_run(spec, input_np, target_np, cotangent):
    """PyTorch's loss value and input gradient; ``spec`` is (class name in torch.nn, options)."""
    import torch  # only in the live oracle run and the recorder

    name, options = spec
    options = {k: torch.as_tensor(v) if isinstance(v, np.ndarray) else v for k, v in options.items()}
    xt = torch.tensor(input_np, requires_grad=True)
    out_t = getattr(torch.nn, name)(**options)(xt, torch.as_tensor(np.asarray(target_np)))
    (out_t * torch.as_tensor(cotangent)).sum().backward()
    return {"value": out_t.detach().numpy(), "grad": xt.grad.numpy()}


def _run(oracle, dh_loss, torch_spec, input_np, target_np, seed=1, part=""):
    """Loss value and input gradient (through a random cotangent when unreduced) in both."""
    x = dh.tensor(input_np, requires_grad=True)
    out = dh_loss(x, dh.tensor(target_np))
    cotangent = np.random.default_rng(seed).normal(size=out.shape)
    (out * cotangent).sum().backward()
    theirs = functools.cache(lambda: _torch_run(torch_spec, input_np, target_np, cotangent))
    case = oracle.case + part
    t_value = oracle(f"{case}/value", lambda: theirs()["value"])
    t_grad = oracle(f"{case}/grad", lambda: theirs()["grad"])
    return out.numpy(), x.grad.numpy(), t_value, t_grad


def _assert_match(value, grad, t_value, t_grad, value_atol=1e-13, grad_atol=1e-15):
    assert value.shape == t_value.shape
    assert np.all(np.isfinite(value)) and np.all(np.isfinite(grad))
    np.testing.assert_allclose(value, t_value, rtol=VALUE_RTOL, atol=value_atol, err_msg="value")
    np.testing.assert_allclose(grad, t_grad, rtol=GRAD_RTOL, atol=grad_atol, err_msg="gradient")


# ---------------------------------------------------------------- cross entropy
CE_OPTIONS = [
    dict(),
    dict(label_smoothing=0.1),
    dict(weight=np.array([0.5, 2.0, 1.0, 0.25])),
    dict(weight=np.array([0.5, 2.0, 1.0, 0.25]), label_smoothing=0.2),
    dict(ignore_index=2),
    dict(ignore_index=2, weight=np.array([0.5, 2.0, 1.0, 0.25]), label_smoothing=0.3),
    dict(ignore_index=-100, with_ignored=True),
    dict(ignore_index=-100, with_ignored=True, label_smoothing=0.1),
]


def _ce_case(options, kind, seed=0):
    options = dict(options)
    with_ignored = options.pop("with_ignored", False)
    logits = _logits(kind, (7, 4), seed)
    targets = np.random.default_rng(seed + 10).integers(0, 4, 7)
    targets[:3] = [2, 0, 2]
    if with_ignored:
        targets[[1, 4]] = -100
    return logits, targets, options


@pytest.mark.parametrize("kind", ["ordinary", "extreme"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", CE_OPTIONS, ids=lambda o: ",".join(f"{k}" for k in o) or "plain")
def test_cross_entropy_matches_pytorch(options, reduction, kind, oracle):
    logits, targets, options = _ce_case(options, kind)
    result = _run(oracle, nn.CrossEntropyLoss(reduction=reduction, **options),
                  ("CrossEntropyLoss", {"reduction": reduction, **options}), logits, targets)
    _assert_match(*result, value_atol=1e-12 if kind == "extreme" else 1e-13)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", [dict(), dict(label_smoothing=0.25),
                                     dict(weight=np.array([1.0, 3.0, 0.5]))], ids=["plain", "smooth", "weight"])
def test_cross_entropy_with_probability_targets(options, reduction, oracle):
    rng = np.random.default_rng(5)
    logits = rng.normal(size=(5, 3)) * np.array([[1.0], [1.0], [1e4], [1.0], [-1e4]])
    probabilities = rng.dirichlet(np.ones(3), size=5)
    result = _run(oracle, nn.CrossEntropyLoss(reduction=reduction, **options),
                  ("CrossEntropyLoss", {"reduction": reduction, **options}), logits, probabilities)
    _assert_match(*result, value_atol=1e-11)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_with_spatial_and_unbatched_inputs(reduction, oracle):
    rng = np.random.default_rng(2)
    logits = rng.normal(size=(2, 4, 3, 5))  # (N, C, d1, d2)
    targets = rng.integers(0, 4, (2, 3, 5))
    targets[0, 0, :2] = -100
    _assert_match(*_run(oracle, nn.CrossEntropyLoss(reduction=reduction, label_smoothing=0.1),
                        ("CrossEntropyLoss", {"reduction": reduction, "label_smoothing": 0.1}),
                        logits, targets, part="/spatial"))
    one = rng.normal(size=4)  # (C,) with a 0-d target
    _assert_match(*_run(oracle, nn.CrossEntropyLoss(reduction=reduction), ("CrossEntropyLoss", {"reduction": reduction}),
                        one, np.int64(3), part="/unbatched"))


def test_cross_entropy_mean_over_no_items_is_nan_like_pytorch(oracle):
    logits = np.zeros((2, 3))
    targets = np.array([-100, -100])
    value = nn.CrossEntropyLoss()(dh.tensor(logits), targets)
    assert np.isnan(value.item())

    def theirs():
        import torch

        return torch.nn.CrossEntropyLoss()(torch.tensor(logits), torch.tensor(targets)).item()

    assert np.isnan(oracle("no_items", theirs))


def test_cross_entropy_errors_teach():
    logits = dh.zeros((2, 3))
    with pytest.raises(IndexError, match="target 3 is out of bounds for 3 classes"):
        nn.CrossEntropyLoss()(logits, [0, 3])
    with pytest.raises(IndexError, match="out of bounds"):
        nn.CrossEntropyLoss()(logits, [-1, 0])
    with pytest.raises(ValueError, match=r"expected targets of shape \(2,\)"):
        nn.CrossEntropyLoss()(logits, [0, 1, 2])
    with pytest.raises(TypeError, match="integer class indices"):
        nn.NLLLoss()(logits, np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        nn.CrossEntropyLoss(reduction="average")
    with pytest.raises(ValueError, match="label_smoothing"):
        nn.CrossEntropyLoss(label_smoothing=1.5)(logits, [0, 1])
    with pytest.raises(ValueError, match="one entry per class"):
        nn.CrossEntropyLoss(weight=np.ones(2))(logits, [0, 1])


# ------------------------------------------------------------------- nll loss
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", [dict(), dict(weight=np.array([2.0, 0.5, 1.0])), dict(ignore_index=1),
                                     dict(weight=np.array([2.0, 0.5, 1.0]), ignore_index=0)],
                         ids=["plain", "weight", "ignore", "weight+ignore"])
def test_nll_loss_matches_pytorch(options, reduction, oracle):
    rng = np.random.default_rng(3)
    log_probabilities = np.log(rng.dirichlet(np.ones(3), size=6))
    targets = rng.integers(0, 3, 6)
    _assert_match(*_run(oracle, nn.NLLLoss(reduction=reduction, **options),
                        ("NLLLoss", {"reduction": reduction, **options}), log_probabilities, targets))


def test_log_softmax_then_nll_equals_cross_entropy():
    rng = np.random.default_rng(4)
    logits, targets = dh.tensor(rng.normal(size=(5, 3))), rng.integers(0, 3, 5)
    a = nn.NLLLoss()(nn.LogSoftmax(dim=1)(logits), targets)
    b = nn.CrossEntropyLoss()(logits, targets)
    assert a.item() == pytest.approx(b.item(), rel=1e-15)


# -------------------------------------------------------------- binary losses
@pytest.mark.parametrize("kind", ["ordinary", "extreme"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", [dict(), dict(pos_weight=np.array([3.0, 0.5, 1.0])),
                                     dict(weight=np.array([0.2, 1.0, 2.0])),
                                     dict(weight=np.array([[2.0], [1.0], [0.5], [1.0]]),
                                          pos_weight=np.array([3.0, 0.5, 1.0]))],
                         ids=["plain", "pos_weight", "weight", "both"])
def test_bce_with_logits_matches_pytorch(options, reduction, kind, oracle):
    logits = _logits(kind, (4, 3), seed=7)
    targets = np.array([[0.0, 1.0, 0.3], [1.0, 0.0, 1.0], [0.7, 1.0, 0.0], [0.0, 0.0, 1.0]])
    _assert_match(*_run(oracle, nn.BCEWithLogitsLoss(reduction=reduction, **options),
                        ("BCEWithLogitsLoss", {"reduction": reduction, **options}), logits, targets),
                  value_atol=1e-11)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_bce_matches_pytorch(reduction, weighted, oracle):
    rng = np.random.default_rng(8)
    probabilities = rng.uniform(0.01, 0.99, (5, 3))
    targets = rng.uniform(0, 1, (5, 3)).round(1)
    weight = rng.uniform(0.5, 2.0, (5, 3)) if weighted else None
    _assert_match(*_run(oracle, nn.BCELoss(weight=weight, reduction=reduction),
                        ("BCELoss", {"weight": weight, "reduction": reduction}), probabilities, targets))


def test_bce_clamps_its_logs_at_minus_100_like_pytorch(oracle):
    probabilities = np.array([0.0, 1.0, 0.0, 1.0, 1e-50, 0.5])
    targets = np.array([1.0, 0.0, 0.0, 1.0, 1.0, 0.5])
    value = nn.BCELoss(reduction="none")(dh.tensor(probabilities), dh.tensor(targets)).numpy()

    def theirs():
        import torch

        return torch.nn.BCELoss(reduction="none")(torch.tensor(probabilities), torch.tensor(targets)).numpy()

    t_value = oracle("bce_clamp", theirs)
    np.testing.assert_allclose(value, t_value, rtol=1e-15)
    assert value[0] == value[1] == 100.0
    x = dh.tensor(probabilities, requires_grad=True)
    nn.BCELoss()(x, dh.tensor(targets)).backward()
    assert np.all(np.isfinite(x.grad.numpy()))


def test_bce_rejects_values_outside_zero_one():
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.BCELoss()(dh.tensor([1.5]), dh.tensor([1.0]))


# ------------------------------------------------------------ regression losses
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("pair", [(nn.MSELoss, "MSELoss"), (nn.L1Loss, "L1Loss")], ids=["mse", "l1"])
def test_regression_losses_match_pytorch(pair, reduction, oracle):
    rng = np.random.default_rng(9)
    prediction = rng.normal(size=(4, 3))
    target = rng.normal(size=(4, 3))
    target[0, 0] = prediction[0, 0]  # a tie: L1's slope there is 0 in both
    ours, theirs = pair
    _assert_match(*_run(oracle, ours(reduction=reduction), (theirs, {"reduction": reduction}), prediction, target))


def test_regression_losses_warn_about_broadcasting_like_pytorch():
    with pytest.warns(UserWarning, match="differs from input shape"):
        nn.MSELoss()(dh.zeros((4, 1)), dh.zeros(4))


def test_float32_losses_stay_float32():
    logits = dh.tensor(np.zeros((3, 2), dtype=np.float32))
    assert nn.CrossEntropyLoss(label_smoothing=0.1, weight=[1.0, 2.0])(logits, [0, 1, 1]).dtype == np.float32
    assert nn.MSELoss()(logits, [[1.0, 2.0]] * 3).dtype == np.float32
    assert nn.BCEWithLogitsLoss(pos_weight=[2.0, 1.0])(logits, np.ones((3, 2))).dtype == np.float32


LOSS_NAMES = ("MSELoss", "L1Loss", "CrossEntropyLoss", "NLLLoss", "BCELoss", "BCEWithLogitsLoss")


def _torch_loss_facts():
    import torch

    return {
        "weighted_state_dict": list(torch.nn.CrossEntropyLoss(weight=torch.ones(2)).state_dict()),
        "reprs": {name: repr(getattr(torch.nn, name)()) for name in LOSS_NAMES},
    }


def test_loss_weights_are_buffers_and_reprs_match_pytorch(oracle):
    theirs = oracle("buffers_and_reprs", _torch_loss_facts)
    loss = nn.CrossEntropyLoss(weight=np.array([1.0, 2.0]))
    assert list(loss.state_dict()) == theirs["weighted_state_dict"]
    for name in LOSS_NAMES:
        assert repr(getattr(nn, name)()) == theirs["reprs"][name]
