"""detect_anomaly: the first NaN or Inf, forward or backward, is reported with its op and its line."""

from __future__ import annotations

import os

import numpy as np
import pytest

import downhill as dh

THIS_FILE = os.path.basename(__file__)


@pytest.mark.parametrize("make, op, kind", [
    (lambda x: dh.log(x), "log", "nan"),
    (lambda x: dh.sqrt(x), "sqrt", "nan"),
    (lambda x: x / 0.0, "divide", "inf"),
    (lambda x: dh.exp(-1000 * x), "exp", "inf"),
])
def test_nan_or_inf_in_forward_names_the_op_and_the_user_line(make, op, kind):
    x = dh.tensor(-1.0, requires_grad=True)
    with dh.detect_anomaly():
        with pytest.raises(dh.AnomalyError) as caught:
            make(x)
    message = str(caught.value)
    assert message.startswith(f"{op} produced {kind} in the forward pass")
    # The innermost line outside downhill: here, the lambda in the table above.
    assert f"created at {__file__}:" in message and "lambda x:" in message
    assert isinstance(caught.value, FloatingPointError)


def test_plain_numbers_are_checked_too():
    with dh.detect_anomaly():
        with pytest.raises(dh.AnomalyError, match="log produced nan in the forward pass"):
            dh.log(-1)
        with pytest.raises(dh.AnomalyError, match="sqrt produced nan"):
            dh.sqrt(-1.0)


def test_forward_report_points_at_the_line_that_made_the_value():
    x = dh.tensor([1.0, -1.0], requires_grad=True)
    with dh.detect_anomaly():
        with pytest.raises(dh.AnomalyError) as caught:
            y = dh.log(x)  # the line to report  # noqa: F841
    assert f"{THIS_FILE}:" in str(caught.value)
    assert "y = dh.log(x)  # the line to report" in str(caught.value)


def test_inf_in_backward_names_the_op_and_where_it_was_created():
    x = dh.tensor([0.0, 4.0], requires_grad=True)
    with dh.detect_anomaly():
        y = dh.sqrt(x)  # forward is fine: sqrt(0) = 0
        with pytest.raises(dh.AnomalyError) as caught:
            y.sum().backward()  # backward: 1 / (2 * sqrt(0)) = inf
    message = str(caught.value)
    assert message.startswith("the backward of sqrt produced inf in the gradient of its input 0")
    assert "y = dh.sqrt(x)  # forward is fine" in message and THIS_FILE in message


def test_backward_anomaly_names_the_right_input_of_a_binary_op():
    # d(x / y)/dy = -x / y^2 overflows for a tiny y while x / y stays finite.
    x = dh.tensor([1.0, 1.0], requires_grad=True)
    y = dh.tensor([1e-200, 1.0], requires_grad=True)
    with dh.detect_anomaly():
        with pytest.raises(dh.AnomalyError, match="the backward of divide produced inf in the gradient of its input 1"):
            (x / y).sum().backward()


def test_nan_already_in_the_input_is_not_blamed_on_the_op():
    x = dh.tensor([np.nan, 1.0], requires_grad=True)
    with dh.detect_anomaly():
        y = dh.sin(x) * 2  # nan in, nan out: not sin's fault
    assert np.isnan(y.numpy()[0])


def test_outside_detect_anomaly_nothing_is_raised():
    x = dh.tensor([-1.0, 0.0], requires_grad=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        y = dh.sqrt(x)
        y.sum().backward()
    assert np.isnan(y.numpy()[0]) and x.grad.numpy()[1] == np.inf
    with dh.detect_anomaly(enabled=False):
        with np.errstate(invalid="ignore"):
            assert np.isnan(dh.log(dh.tensor(-1.0)).item())


def test_detect_anomaly_restores_the_previous_state():
    from downhill.autodiff.mode import THREAD as STATE  # this thread's switches

    with dh.detect_anomaly():
        assert STATE.anomaly
        with dh.detect_anomaly(enabled=False):
            assert not STATE.anomaly
        assert STATE.anomaly
    assert not STATE.anomaly
    with pytest.raises(dh.AnomalyError):
        with dh.detect_anomaly():
            dh.log(dh.tensor(-1.0))
    assert not STATE.anomaly
    # A clean computation inside passes untouched.
    x = dh.tensor([1.0, 2.0], requires_grad=True)
    with dh.detect_anomaly():
        (dh.log(x) * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.log([1.0, 2.0]) + 1, rtol=1e-15)
