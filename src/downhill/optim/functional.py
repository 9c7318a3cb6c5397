"""The mathematics of each optimizer, as pure functions on NumPy arrays.

Every optimizer here is two functions, in the manner of optax and
``torch.optim._functional``:

* ``<name>_init(param, ...) -> state`` builds the optimizer's memory for one
  parameter array (a small ``NamedTuple`` of arrays and a step count);
* ``<name>_update(param, grad, state, *, lr, ...) -> (new_param, new_state)``
  takes one step downhill. Nothing is mutated: the arrays passed in are left
  as they were and the results are new arrays.

Flags (``amsgrad``, ``momentum``, ``centered``) are given once, to the update;
the state grows the buffer a flag needs on the first step that uses it (as
PyTorch's state does), so ``init`` takes only the parameter.

Each rule is written once, as ``<name>_update_(param, grad, state, *, lr, ...,
scratch=None) -> new_state``: the same arithmetic, in the same order, done in
place into ``param`` and the state's arrays, with temporaries kept in
``scratch`` (a :class:`Scratch`) from step to step. The optimizer classes call
that form on each parameter's own buffer, as ``torch.optim`` does; the pure
form copies its inputs and calls it, so both round alike, bit for bit.

The functions work elementwise on arrays of any shape, so one call can move a single climber of shape ``(d,)`` or a million climbers at once
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
    "sgd_update_",
    "adam_update_",
    "adamw_update_",
    "rmsprop_update_",
    "adagrad_update_",
    "Scratch",
]


# --------------------------------------------------------------------------
# Helpers shared by the rules
# --------------------------------------------------------------------------


class Scratch:
    """Work arrays shaped like one parameter, made on first use and kept for the next step.

    Large fresh arrays cost page faults on every step; an optimizer keeps one
    ``Scratch`` per parameter so that a step allocates nothing.

    >>> import numpy as np
    >>> work = Scratch(np.zeros((2, 3), dtype=np.float32))
    >>> work[1].shape, work[1].dtype, work[1] is work[1]
    ((2, 3), dtype('float32'), True)
    """

    __slots__ = ("shape", "dtype", "_arrays")

    def __init__(self, like):
        self.shape, self.dtype = np.shape(like), np.asarray(like).dtype
        self._arrays = []

    def fits(self, like) -> bool:
        return self.shape == like.shape and self.dtype == like.dtype

    def __getitem__(self, k):
        while len(self._arrays) <= k:
            self._arrays.append(np.empty(self.shape, self.dtype))
        return self._arrays[k]


def _other(work, g):
    """A scratch array that is not ``g``."""
    return work[2] if g is work[0] else work[0]


def _direction_(grad, param, weight_decay, maximize, work):
    """The gradient the rule follows (``-grad`` to maximize, plus ``weight_decay * param``).

    ``grad`` itself when nothing changes; otherwise ``work[0]``. The caller's
    gradient is never written to.
    """
    if weight_decay != 0:
        g = np.multiply(param, weight_decay, out=work[0])
        # param * wd + (-grad) and param * wd - grad are the same IEEE number.
        return np.subtract(g, grad, out=g) if maximize else np.add(g, grad, out=g)
    if maximize:
        return np.negative(grad, out=work[0])
    return grad


def _lerp_(start, end, weight, work):
    """``start += weight * (end - start)`` in place, as ``torch.lerp`` rounds it.

    PyTorch switches formula at ``weight = 0.5`` so that the result is exact at
    both ends; the same switch keeps our rounding equal to theirs.
    """
    diff = np.subtract(end, start, out=work)
    if abs(weight) < 0.5:
        diff *= weight
        start += diff
    else:
        diff *= 1.0 - weight
        np.subtract(end, diff, out=start)


def _ema_of_square_(avg, g, decay, work):
    """``avg = decay * avg + (1 - decay) * g * g`` in place (``avg.mul_(decay).addcmul_(g, g, value=1 - decay)``)."""
    avg *= decay
    square = np.multiply(g, 1.0 - decay, out=work)
    square *= g
    avg += square


def _zeros(param):
    param = np.asarray(param)
    return np.zeros(param.shape, param.dtype if param.dtype.kind in "fc" else np.float64)


def _fresh(param, grad, lr, state):
    """Private copies of ``param`` and the state's arrays, broadcast to the step's shape.

    The pure updates run their in-place form on these, so nothing the caller
    holds is written to.
    """
    if (type(param) is np.ndarray and type(grad) is np.ndarray and param.dtype == np.float64
            and grad.dtype == np.float64 and param.shape == grad.shape and not isinstance(lr, np.ndarray)):
        # The usual case (a climber's float64 point, a number for lr) without
        # the general broadcasting below: it is most of a lone climber's step.
        arrays = [x for x in state if isinstance(x, np.ndarray)]
        if all(x.dtype == np.float64 and x.shape == param.shape for x in arrays):
            return param.copy(), type(state)(*[x.copy() if isinstance(x, np.ndarray) else x for x in state])
    shape = np.broadcast_shapes(np.shape(param), np.shape(grad), np.shape(lr))
    dtype = np.result_type(param, grad, *([lr] if isinstance(lr, np.ndarray) else []), 1.0)
    new = np.empty(shape, dtype)
    new[...] = param
    arrays = [np.array(np.broadcast_to(x, shape), dtype=np.result_type(x, dtype))
              if isinstance(x, np.ndarray) else x for x in state]
    return new, type(state)(*arrays)


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


def sgd_update_(param, grad, state: SGDState, *, lr=1e-3, momentum: float = 0.0, dampening: float = 0.0,
                weight_decay: float = 0.0, nesterov: bool = False, maximize: bool = False,
                scratch: Scratch | None = None) -> SGDState:
    """:func:`sgd_update` done in place: ``param`` and the momentum buffer are overwritten.

    >>> import numpy as np
    >>> x = np.array([1.0, -2.0])
    >>> state = sgd_update_(x, 2 * x, sgd_init(x), lr=0.1)
    >>> x
    array([ 0.8, -1.6])
    """
    work = scratch if scratch is not None else Scratch(param)
    g = _direction_(grad, param, weight_decay, maximize, work)
    buffer = state.momentum_buffer
    if momentum != 0:
        if buffer is None:
            buffer = np.array(g, copy=True)  # a copy: never alias the caller's gradient
        else:
            buffer *= momentum
            # (1 - 0) * g is g exactly: no temporary in the usual case.
            buffer += g if dampening == 0 else g * (1.0 - dampening)
        if nesterov:
            ahead = np.multiply(buffer, momentum, out=work[1])
            ahead += g
            g = ahead
        else:
            g = buffer
    change = g if g is not grad and g is not buffer else work[0]  # write over our own scratch only
    np.multiply(g, -lr, out=change)
    param += change
    return SGDState(buffer)


def sgd_update(param, grad, state: SGDState, *, lr=1e-3, momentum: float = 0.0, dampening: float = 0.0,
               weight_decay: float = 0.0, nesterov: bool = False,
               maximize: bool = False) -> tuple[np.ndarray, SGDState]:
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
    param, state = _fresh(param, grad, lr, state)
    state = sgd_update_(param, grad, state, lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize)
    return param, state


# --------------------------------------------------------------------------
# Adam and AdamW
# --------------------------------------------------------------------------


class AdamState(NamedTuple):
    """Adam's memory: steps taken, moving averages of the gradient and its square.

    ``max_exp_avg_sq`` (the running maximum of ``exp_avg_sq``) appears on the
    first step with ``amsgrad=True``.

    >>> import numpy as np
    >>> _, state = adam_update(np.zeros(2), np.ones(2), adam_init(np.zeros(2)), lr=0.1)
    >>> state.step, state.exp_avg.round(3), state.exp_avg_sq.round(3)
    (1, array([0.1, 0.1]), array([0.001, 0.001]))
    """

    step: int
    exp_avg: np.ndarray
    exp_avg_sq: np.ndarray
    max_exp_avg_sq: np.ndarray | None = None


def adam_init(param) -> AdamState:
    """Adam's initial state: step 0 and zero averages shaped like ``param``.

    >>> import numpy as np
    >>> adam_init(np.zeros(2))
    AdamState(step=0, exp_avg=array([0., 0.]), exp_avg_sq=array([0., 0.]), max_exp_avg_sq=None)
    """
    return AdamState(step=0, exp_avg=_zeros(param), exp_avg_sq=_zeros(param))


def adam_update_(param, grad, state: AdamState, *, lr=1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False, maximize: bool = False,
                 decoupled_weight_decay: bool = False, scratch: Scratch | None = None) -> AdamState:
    """:func:`adam_update` done in place: ``param`` and the moving averages are overwritten.

    >>> import numpy as np
    >>> x = np.array([1.0, -2.0])
    >>> state = adam_update_(x, 2 * x, adam_init(x), lr=0.1, amsgrad=True)
    >>> x.round(6), state.max_exp_avg_sq is not None
    (array([ 0.9, -1.9]), True)
    """
    work = scratch if scratch is not None else Scratch(param)
    beta1, beta2 = betas
    step = state.step + 1
    if weight_decay != 0 and decoupled_weight_decay:
        param *= 1 - lr * weight_decay
        g = _direction_(grad, param, 0, maximize, work)
    else:
        g = _direction_(grad, param, weight_decay, maximize, work)
    exp_avg, exp_avg_sq, max_exp_avg_sq = state.exp_avg, state.exp_avg_sq, state.max_exp_avg_sq
    _lerp_(exp_avg, g, 1 - beta1, work[1])
    _ema_of_square_(exp_avg_sq, g, beta2, work[1])
    if amsgrad:
        if max_exp_avg_sq is None:
            max_exp_avg_sq = np.zeros_like(exp_avg_sq)
        np.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)

    # Bias corrections are scalars: evaluate them in Python floats, as PyTorch does.
    step_size = lr / (1 - beta1**step)
    bias_correction2_sqrt = (1 - beta2**step) ** 0.5
    denom = np.sqrt(max_exp_avg_sq if amsgrad else exp_avg_sq, out=work[1])
    denom /= bias_correction2_sqrt
    denom += eps
    # param + (-step_size * m) / denom, the association of torch's addcdiv;
    # g is no longer needed, so its scratch can hold the change.
    change = np.multiply(exp_avg, -step_size, out=work[0])
    change /= denom
    param += change
    return AdamState(step, exp_avg, exp_avg_sq, max_exp_avg_sq)


def adam_update(param, grad, state: AdamState, *, lr=1e-3, betas: tuple[float, float] = (0.9, 0.999),
                eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False, maximize: bool = False,
                decoupled_weight_decay: bool = False) -> tuple[np.ndarray, AdamState]:
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
    param, state = _fresh(param, grad, lr, state)
    state = adam_update_(param, grad, state, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, maximize=maximize, decoupled_weight_decay=decoupled_weight_decay)
    return param, state


adamw_init = adam_init


def adamw_update_(param, grad, state: AdamState, *, lr=1e-3, betas: tuple[float, float] = (0.9, 0.999),
                  eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, maximize: bool = False,
                  scratch: Scratch | None = None) -> AdamState:
    """:func:`adamw_update` done in place.

    >>> import numpy as np
    >>> x = np.array([1.0])
    >>> _ = adamw_update_(x, np.zeros(1), adamw_init(x), lr=0.1, weight_decay=0.5)
    >>> x
    array([0.95])
    """
    return adam_update_(param, grad, state, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize, decoupled_weight_decay=True, scratch=scratch)


def adamw_update(param, grad, state: AdamState, *, lr=1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False,
                 maximize: bool = False) -> tuple[np.ndarray, AdamState]:
    """One step of AdamW: Adam with decoupled weight decay (default 0.01).

    >>> import numpy as np
    >>> x, s = np.array([1.0]), adamw_init(np.zeros(1))
    >>> x, s = adamw_update(x, np.zeros(1), s, lr=0.1, weight_decay=0.5)
    >>> x          # a zero gradient: only the decay acts, x *= 1 - 0.1 * 0.5
    array([0.95])
    """
    return adam_update(param, grad, state, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                       amsgrad=amsgrad, maximize=maximize, decoupled_weight_decay=True)


# --------------------------------------------------------------------------
# RMSprop
# --------------------------------------------------------------------------


class RMSpropState(NamedTuple):
    """RMSprop's memory. ``momentum_buffer`` appears on the first step with
    ``momentum > 0``, ``grad_avg`` on the first with ``centered=True``.

    >>> import numpy as np
    >>> _, state = rmsprop_update(np.zeros(1), np.ones(1), rmsprop_init(np.zeros(1)), lr=0.1)
    >>> state.step, state.square_avg.round(3), state.momentum_buffer
    (1, array([0.01]), None)
    """

    step: int
    square_avg: np.ndarray
    momentum_buffer: np.ndarray | None = None
    grad_avg: np.ndarray | None = None


def rmsprop_init(param) -> RMSpropState:
    """RMSprop's initial state: step 0 and a zero average of squares shaped like ``param``.

    >>> import numpy as np
    >>> rmsprop_init(np.zeros(2))
    RMSpropState(step=0, square_avg=array([0., 0.]), momentum_buffer=None, grad_avg=None)
    """
    return RMSpropState(step=0, square_avg=_zeros(param))


def rmsprop_update_(param, grad, state: RMSpropState, *, lr=1e-2, alpha: float = 0.99, eps: float = 1e-8,
                    weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False,
                    maximize: bool = False, scratch: Scratch | None = None) -> RMSpropState:
    """:func:`rmsprop_update` done in place: ``param`` and the averages are overwritten.

    >>> import numpy as np
    >>> x = np.array([1.0, -2.0])
    >>> state = rmsprop_update_(x, 2 * x, rmsprop_init(x), lr=0.01, momentum=0.9, centered=True)
    >>> state.momentum_buffer is not None and state.grad_avg is not None
    True
    """
    work = scratch if scratch is not None else Scratch(param)
    step = state.step + 1
    g = _direction_(grad, param, weight_decay, maximize, work)
    square_avg, grad_avg, buffer = state.square_avg, state.grad_avg, state.momentum_buffer
    _ema_of_square_(square_avg, g, alpha, work[1])
    if centered:
        if grad_avg is None:
            grad_avg = np.zeros_like(square_avg)
        _lerp_(grad_avg, g, 1 - alpha, work[1])
        # Mathematically v >= a**2 here, but rounding after many steps of a
        # constant gradient can dip below zero; PyTorch then yields NaN too.
        avg = np.multiply(grad_avg, grad_avg, out=work[1])
        np.subtract(square_avg, avg, out=avg)
        np.sqrt(avg, out=avg)
    else:
        avg = np.sqrt(square_avg, out=work[1])
    avg += eps
    change = _other(work, g)
    if momentum > 0:
        if buffer is None:
            buffer = np.zeros_like(square_avg)
        buffer *= momentum
        buffer += np.divide(g, avg, out=change)
        np.multiply(buffer, -lr, out=change)
    else:
        np.multiply(g, -lr, out=change)
        change /= avg
    param += change
    return RMSpropState(step, square_avg, buffer, grad_avg)


def rmsprop_update(param, grad, state: RMSpropState, *, lr=1e-2, alpha: float = 0.99, eps: float = 1e-8,
                   weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False,
                   maximize: bool = False) -> tuple[np.ndarray, RMSpropState]:
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
    param, state = _fresh(param, grad, lr, state)
    state = rmsprop_update_(param, grad, state, lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                            momentum=momentum, centered=centered, maximize=maximize)
    return param, state


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
    total = _zeros(param)
    total += initial_accumulator_value
    return AdagradState(step=0, sum=total)


def adagrad_update_(param, grad, state: AdagradState, *, lr=1e-2, lr_decay: float = 0.0,
                    weight_decay: float = 0.0, eps: float = 1e-10, maximize: bool = False,
                    scratch: Scratch | None = None) -> AdagradState:
    """:func:`adagrad_update` done in place: ``param`` and the sum are overwritten.

    >>> import numpy as np
    >>> x = np.array([1.0, -2.0])
    >>> state = adagrad_update_(x, 2 * x, adagrad_init(x), lr=0.5)
    >>> x, state.step
    (array([ 0.5, -1.5]), 1)
    """
    work = scratch if scratch is not None else Scratch(param)
    step = state.step + 1
    g = _direction_(grad, param, weight_decay, maximize, work)
    current_lr = lr / (1 + (step - 1) * lr_decay)
    total = state.sum
    total += np.multiply(g, g, out=work[1])
    std = np.sqrt(total, out=work[1])
    std += eps
    change = np.multiply(g, -current_lr, out=_other(work, g))
    change /= std
    param += change
    return AdagradState(step, total)


def adagrad_update(param, grad, state: AdagradState, *, lr=1e-2, lr_decay: float = 0.0,
                   weight_decay: float = 0.0, eps: float = 1e-10,
                   maximize: bool = False) -> tuple[np.ndarray, AdagradState]:
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
    param, state = _fresh(param, grad, lr, state)
    state = adagrad_update_(param, grad, state, lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                            eps=eps, maximize=maximize)
    return param, state
