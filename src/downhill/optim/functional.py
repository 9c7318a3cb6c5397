"""The mathematics of each optimizer, as pure functions on NumPy arrays.

Every optimizer here is two functions, in the manner of optax and
``torch.optim._functional``:

* ``<name>_init(param, ...) -> state`` builds the optimizer's memory for one
  parameter array (a small ``NamedTuple`` of arrays and a step count);
* ``<name>_update(param, grad, state, *, lr, ...) -> (new_param, new_state)``
  takes one step downhill.

Nothing is mutated: the arrays passed in are left as they were and the results
are new arrays. The functions work elementwise on arrays of any shape, so one
call can move a single climber of shape ``(d,)`` or a million climbers at once
stacked as ``(n, d)``. ``lr`` may be a float or an array that broadcasts against
``param`` (for example shape ``(n, 1)``: one learning rate per climber), which is
what a learning-rate sweep needs. The other hyperparameters are plain numbers.

The update rules, the order of the floating-point operations and the defaults
are PyTorch's (``torch.optim``, single-tensor path), so a trajectory matches
PyTorch's to rounding. PyTorch keeps ``step`` as a float32 tensor; here it is a
Python ``int``.

>>> import numpy as np
>>> x = np.array([3.0, -4.0])
>>> state = adam_init(x)
>>> for _ in range(3):
...     x, state = adam_update(x, 2 * x, state, lr=0.1)   # f(x) = |x|^2
>>> x.round(2), state.step     # Adam moves each coordinate by about lr per step
(array([ 2.7, -3.7]), 3)

The update functions do not validate their hyperparameters (they sit in the
hot loop); :mod:`downhill.optim.checks` does that once, with plain messages.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = [
    "SGDState",
    "AdamState",
    "RMSpropState",
    "AdagradState",
    "sgd_init",
    "sgd_update",
    "adam_init",
    "adam_update",
    "adamw_init",
    "adamw_update",
    "rmsprop_init",
    "rmsprop_update",
    "adagrad_init",
    "adagrad_update",
]


# --------------------------------------------------------------------------
# Small array helpers. Each returns a fresh array and never writes into its
# arguments; the in-place operators act only on the temporary just created,
# which saves one full-size temporary per call on large batches.
# --------------------------------------------------------------------------


def _scaled_add(base, scale, x):
    """``base + scale * x`` with a single new array (``torch.add(base, x, alpha=scale)``)."""
    out = x * scale
    out += base
    return out


def _lerp(start, end, weight: float):
    """``start + weight * (end - start)``, computed as ``torch.lerp`` does.

    PyTorch switches formula at ``weight = 0.5`` so that the result is exact at
    both ends; using the same switch keeps our rounding equal to theirs.
    """
    diff = end - start
    if abs(weight) < 0.5:
        diff *= weight
        diff += start
        return diff
    diff *= 1.0 - weight
    return end - diff


def _ema_of_square(avg, g, decay: float):
    """``decay * avg + (1 - decay) * g * g`` (``avg.mul_(decay).addcmul_(g, g, value=1 - decay)``)."""
    out = avg * decay
    square = g * (1.0 - decay)
    square *= g
    out += square
    return out


def _direction(grad, param, weight_decay: float, maximize: bool):
    """The gradient the rule follows: sign-flipped to maximize, plus L2 weight decay."""
    g = -grad if maximize else grad
    if weight_decay != 0:
        # A new array: the caller's gradient is never touched.
        g = _scaled_add(g, weight_decay, param)
    return g


def _as_array(x):
    """NumPy turns results on 0-d arrays into scalars; give arrays back."""
    return x if isinstance(x, np.ndarray) else np.asarray(x)


# --------------------------------------------------------------------------
# SGD
# --------------------------------------------------------------------------


class SGDState(NamedTuple):
    """SGD's memory: the momentum buffer, ``None`` until the first step with momentum.

    >>> import numpy as np
    >>> _, state = sgd_update(np.zeros(2), np.ones(2), SGDState(), lr=0.1, momentum=0.9)
    >>> state.momentum_buffer
    array([1., 1.])
    """

    momentum_buffer: np.ndarray | None = None


def sgd_init(param) -> SGDState:
    """SGD's initial state for ``param``.

    PyTorch creates the momentum buffer from the first gradient (not from
    zeros), so the buffer starts as ``None``.

    >>> import numpy as np
    >>> sgd_init(np.zeros(3))
    SGDState(momentum_buffer=None)
    """
    return SGDState()


def sgd_update(
    param,
    grad,
    state: SGDState,
    *,
    lr=1e-3,
    momentum: float = 0.0,
    dampening: float = 0.0,
    weight_decay: float = 0.0,
    nesterov: bool = False,
    maximize: bool = False,
) -> tuple[np.ndarray, SGDState]:
    """One step of stochastic gradient descent, optionally with (Nesterov) momentum.

    With ``g = grad + weight_decay * param`` (``-grad`` when maximizing)::

        b = g                                   on the first step
        b = momentum * b + (1 - dampening) * g  afterwards
        param = param - lr * (g + momentum * b if nesterov else b)

    and ``param = param - lr * g`` when ``momentum == 0``.

    >>> import numpy as np
    >>> x, s = np.array([1.0, -2.0]), sgd_init(None)
    >>> x, s = sgd_update(x, 2 * x, s, lr=0.1, momentum=0.9)
    >>> x, s = sgd_update(x, 2 * x, s, lr=0.1, momentum=0.9)
    >>> x
    array([ 0.46, -0.92])
    """
    g = _direction(grad, param, weight_decay, maximize)
    buffer = state.momentum_buffer
    if momentum != 0:
        if buffer is None:
            buffer = np.array(g, copy=True)  # a copy: never alias the caller's gradient
        else:
            buffer = _scaled_add(buffer * momentum, 1.0 - dampening, g)
        g = _scaled_add(g, momentum, buffer) if nesterov else buffer
    new_param = _scaled_add(param, -lr, g)
    if buffer is not None:
        buffer = _as_array(buffer)
    return _as_array(new_param), SGDState(buffer)


# --------------------------------------------------------------------------
# Adam and AdamW
# --------------------------------------------------------------------------


class AdamState(NamedTuple):
    """Adam's memory: steps taken, moving averages of the gradient and its square.

    ``max_exp_avg_sq`` (the running maximum of ``exp_avg_sq``) exists only with
    ``amsgrad=True``.

    >>> import numpy as np
    >>> _, state = adam_update(np.zeros(2), np.ones(2), adam_init(np.zeros(2)), lr=0.1)
    >>> state.step, state.exp_avg.round(3), state.exp_avg_sq.round(3)
    (1, array([0.1, 0.1]), array([0.001, 0.001]))
    """

    step: int
    exp_avg: np.ndarray
    exp_avg_sq: np.ndarray
    max_exp_avg_sq: np.ndarray | None = None


def adam_init(param, *, amsgrad: bool = False) -> AdamState:
    """Adam's initial state: step 0 and zero averages shaped like ``param``.

    >>> import numpy as np
    >>> adam_init(np.zeros(2), amsgrad=True).max_exp_avg_sq
    array([0., 0.])
    """
    param = np.asarray(param)
    return AdamState(
        step=0,
        exp_avg=np.zeros_like(param),
        exp_avg_sq=np.zeros_like(param),
        max_exp_avg_sq=np.zeros_like(param) if amsgrad else None,
    )


def adam_update(
    param,
    grad,
    state: AdamState,
    *,
    lr=1e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    amsgrad: bool = False,
    maximize: bool = False,
    decoupled_weight_decay: bool = False,
) -> tuple[np.ndarray, AdamState]:
    """One step of Adam (Kingma & Ba), with PyTorch's options.

    With ``t = step + 1`` and ``g`` the gradient (sign-flipped to maximize;
    plus ``weight_decay * param`` unless the decay is decoupled)::

        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        v_max = max(v_max, v)                      amsgrad only
        param = param - lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)

    ``decoupled_weight_decay=True`` is AdamW: it first shrinks the parameter,
    ``param *= 1 - lr * weight_decay``, and leaves the gradient alone.

    >>> import numpy as np
    >>> x, s = np.array([1.0, -2.0]), adam_init(np.zeros(2))
    >>> x, s = adam_update(x, 2 * x, s, lr=0.1)
    >>> x.round(6)    # Adam's first step moves each coordinate by about lr
    array([ 0.9, -1.9])
    """
    beta1, beta2 = betas
    step = state.step + 1
    g = -grad if maximize else grad
    if weight_decay != 0:
        if decoupled_weight_decay:
            param = param * (1 - lr * weight_decay)
        else:
            g = _scaled_add(g, weight_decay, param)

    exp_avg = _lerp(state.exp_avg, g, 1 - beta1)
    exp_avg_sq = _ema_of_square(state.exp_avg_sq, g, beta2)
    max_exp_avg_sq = state.max_exp_avg_sq
    if amsgrad:
        max_exp_avg_sq = np.maximum(max_exp_avg_sq, exp_avg_sq)

    # Bias corrections are scalars: evaluate them in Python floats, as PyTorch does.
    bias_correction1 = 1 - beta1**step
    bias_correction2 = 1 - beta2**step
    step_size = lr / bias_correction1
    bias_correction2_sqrt = bias_correction2**0.5

    denom = np.sqrt(max_exp_avg_sq if amsgrad else exp_avg_sq)
    denom /= bias_correction2_sqrt
    denom += eps
    # param + (-step_size * m) / denom, the association of torch's addcdiv.
    change = exp_avg * -step_size
    change /= denom
    change += param
    if max_exp_avg_sq is not None:
        max_exp_avg_sq = _as_array(max_exp_avg_sq)
    return _as_array(change), AdamState(step, _as_array(exp_avg), _as_array(exp_avg_sq), max_exp_avg_sq)


adamw_init = adam_init


def adamw_update(
    param,
    grad,
    state: AdamState,
    *,
    lr=1e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 1e-2,
    amsgrad: bool = False,
    maximize: bool = False,
) -> tuple[np.ndarray, AdamState]:
    """One step of AdamW: Adam with decoupled weight decay (default 0.01).

    >>> import numpy as np
    >>> x, s = np.array([1.0]), adamw_init(np.zeros(1))
    >>> x, s = adamw_update(x, np.zeros(1), s, lr=0.1, weight_decay=0.5)
    >>> x          # a zero gradient: only the decay acts, x *= 1 - 0.1 * 0.5
    array([0.95])
    """
    return adam_update(
        param,
        grad,
        state,
        lr=lr,
        betas=betas,
        eps=eps,
        weight_decay=weight_decay,
        amsgrad=amsgrad,
        maximize=maximize,
        decoupled_weight_decay=True,
    )


# --------------------------------------------------------------------------
# RMSprop
# --------------------------------------------------------------------------


class RMSpropState(NamedTuple):
    """RMSprop's memory. ``momentum_buffer`` exists only with ``momentum > 0``,
    ``grad_avg`` only with ``centered=True``.

    >>> import numpy as np
    >>> _, state = rmsprop_update(np.zeros(1), np.ones(1), rmsprop_init(np.zeros(1)), lr=0.1)
    >>> state.step, state.square_avg.round(3), state.momentum_buffer
    (1, array([0.01]), None)
    """

    step: int
    square_avg: np.ndarray
    momentum_buffer: np.ndarray | None = None
    grad_avg: np.ndarray | None = None


def rmsprop_init(param, *, momentum: float = 0.0, centered: bool = False) -> RMSpropState:
    """RMSprop's initial state: zeros shaped like ``param``.

    >>> import numpy as np
    >>> rmsprop_init(np.zeros(2), centered=True).grad_avg
    array([0., 0.])
    """
    param = np.asarray(param)
    return RMSpropState(
        step=0,
        square_avg=np.zeros_like(param),
        momentum_buffer=np.zeros_like(param) if momentum > 0 else None,
        grad_avg=np.zeros_like(param) if centered else None,
    )


def rmsprop_update(
    param,
    grad,
    state: RMSpropState,
    *,
    lr=1e-2,
    alpha: float = 0.99,
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    momentum: float = 0.0,
    centered: bool = False,
    maximize: bool = False,
) -> tuple[np.ndarray, RMSpropState]:
    """One step of RMSprop (Hinton), with PyTorch's options.

    With ``g`` the gradient (sign-flipped to maximize, plus ``weight_decay * param``)::

        v = alpha * v + (1 - alpha) * g**2
        a = alpha * a + (1 - alpha) * g            centered only
        d = sqrt(v - a**2) + eps   (centered)   or   sqrt(v) + eps
        b = momentum * b + g / d;  param = param - lr * b     with momentum
        param = param - lr * g / d                            without

    >>> import numpy as np
    >>> x, s = np.array([1.0, -2.0]), rmsprop_init(np.zeros(2))
    >>> x, s = rmsprop_update(x, 2 * x, s, lr=0.01)
    >>> x.round(4)    # the first step is lr / sqrt(1 - alpha) in each coordinate
    array([ 0.9, -1.9])
    """
    step = state.step + 1
    g = _direction(grad, param, weight_decay, maximize)
    square_avg = _ema_of_square(state.square_avg, g, alpha)
    grad_avg = state.grad_avg
    if centered:
        grad_avg = _lerp(grad_avg, g, 1 - alpha)
        # Mathematically v >= a**2 here, but rounding after many steps of a
        # constant gradient can dip below zero; PyTorch then yields NaN too.
        avg = np.sqrt(square_avg - grad_avg * grad_avg)
    else:
        avg = np.sqrt(square_avg)
    avg += eps

    buffer = state.momentum_buffer
    if momentum > 0:
        buffer = buffer * momentum
        buffer += g / avg
        new_param = _scaled_add(param, -lr, buffer)
        buffer = _as_array(buffer)
    else:
        new_param = g * -lr
        new_param /= avg
        new_param += param
    if grad_avg is not None:
        grad_avg = _as_array(grad_avg)
    return _as_array(new_param), RMSpropState(step, _as_array(square_avg), buffer, grad_avg)


# --------------------------------------------------------------------------
# Adagrad
# --------------------------------------------------------------------------


class AdagradState(NamedTuple):
    """Adagrad's memory: steps taken and the running sum of squared gradients.

    >>> import numpy as np
    >>> _, state = adagrad_update(np.zeros(1), np.full(1, 3.0), adagrad_init(np.zeros(1)), lr=0.1)
    >>> state
    AdagradState(step=1, sum=array([9.]))
    """

    step: int
    sum: np.ndarray


def adagrad_init(param, *, initial_accumulator_value: float = 0.0) -> AdagradState:
    """Adagrad's initial state: the sum starts at ``initial_accumulator_value``.

    >>> import numpy as np
    >>> adagrad_init(np.zeros(2), initial_accumulator_value=0.1)
    AdagradState(step=0, sum=array([0.1, 0.1]))
    """
    return AdagradState(step=0, sum=np.full_like(np.asarray(param), initial_accumulator_value))


def adagrad_update(
    param,
    grad,
    state: AdagradState,
    *,
    lr=1e-2,
    lr_decay: float = 0.0,
    weight_decay: float = 0.0,
    eps: float = 1e-10,
    maximize: bool = False,
) -> tuple[np.ndarray, AdagradState]:
    """One step of Adagrad (Duchi et al.), with PyTorch's options.

    With ``t = step + 1`` and ``g`` the gradient (sign-flipped to maximize,
    plus ``weight_decay * param``)::

        s = s + g**2
        param = param - lr / (1 + (t - 1) * lr_decay) * g / (sqrt(s) + eps)

    >>> import numpy as np
    >>> x, s = np.array([1.0, -2.0]), adagrad_init(np.zeros(2))
    >>> x, s = adagrad_update(x, 2 * x, s, lr=0.5)
    >>> x     # the first step moves each coordinate by lr
    array([ 0.5, -1.5])
    """
    step = state.step + 1
    g = _direction(grad, param, weight_decay, maximize)
    current_lr = lr / (1 + (step - 1) * lr_decay)
    total = g * g
    total += state.sum
    std = np.sqrt(total)
    std += eps
    new_param = g * -current_lr
    new_param /= std
    new_param += param
    return _as_array(new_param), AdagradState(step, _as_array(total))
