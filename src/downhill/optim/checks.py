"""Validation of optimizer hyperparameters, with plain messages.

PyTorch's constructors reject a negative learning rate, Nesterov momentum
without momentum, betas outside [0, 1), and so on; these functions reject the
same settings with a message that says what was wrong and what is accepted.
The classes call them in their constructors (and for each added parameter
group); ``FunctionalOptimizer.bind`` calls them once before a run.
"""

from __future__ import annotations

import numbers

import numpy as np
from ..errors import InputError, InputTypeError

__all__ = ["check_sgd_options", "check_adam_options", "check_rmsprop_options", "check_adagrad_options"]


def _check_real(name: str, value, what: str = "a real number") -> None:
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.ndarray)):
        raise InputTypeError(f"{name} must be {what}, got {type(value).__name__} {value!r}")


def _check_nonnegative(name: str, value, label: str, hint: str = "") -> None:
    """Raise ``ValueError`` unless ``value >= 0`` (NaN fails too)."""
    _check_real(name, value)
    if not np.all(np.asarray(value) >= 0):
        extra = f" ({hint})" if hint else ""
        raise InputError(f"Invalid {label}: {value!r}; {name} must be >= 0{extra}")


def _check_lr(lr) -> None:
    _check_nonnegative("lr", lr, "learning rate", "typical values are 1e-4 to 1e-1")


def check_sgd_options(
    lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, maximize=False
) -> None:
    """Raise ``ValueError`` (or ``TypeError``) for SGD hyperparameters PyTorch rejects.

    >>> check_sgd_options(lr=0.1, momentum=0.9, nesterov=True)
    >>> check_sgd_options(lr=0.1, nesterov=True)
    Traceback (most recent call last):
    ...
    downhill.errors.InputError: Nesterov momentum requires a momentum > 0 and zero dampening; got momentum=0.0, dampening=0.0
    """
    _check_lr(lr)
    _check_nonnegative("momentum", momentum, "momentum value", "0 turns momentum off; 0.9 is usual")
    _check_real("dampening", dampening)
    _check_nonnegative("weight_decay", weight_decay, "weight_decay value")
    if nesterov and (momentum <= 0 or dampening != 0):
        raise InputError(
            "Nesterov momentum requires a momentum > 0 and zero dampening; "
            f"got momentum={momentum!r}, dampening={dampening!r}"
        )


def _check_eps(eps) -> None:
    _check_nonnegative("eps", eps, "epsilon value", "it only guards a division; 1e-8 is usual")


def check_adam_options(
    lr=1e-3,
    betas=(0.9, 0.999),
    eps=1e-8,
    weight_decay=0.0,
    amsgrad=False,
    maximize=False,
    decoupled_weight_decay=False,
) -> None:
    """Raise ``ValueError`` for Adam/AdamW hyperparameters PyTorch rejects.

    >>> check_adam_options(betas=(0.9, 0.999))
    >>> check_adam_options(betas=(0.9, 1.0))
    Traceback (most recent call last):
    ...
    downhill.errors.InputError: Invalid beta parameter at index 1: 1.0; betas must satisfy 0 <= beta < 1 (e.g. (0.9, 0.999))
    """
    _check_lr(lr)
    _check_eps(eps)
    try:
        beta1, beta2 = betas
    except (TypeError, ValueError):
        raise InputError(f"betas must be a pair (beta1, beta2) such as (0.9, 0.999), got {betas!r}") from None
    for index, beta in enumerate((beta1, beta2)):
        _check_real(f"betas[{index}]", beta)
        if not 0.0 <= beta < 1.0:
            raise InputError(
                f"Invalid beta parameter at index {index}: {beta!r}; "
                "betas must satisfy 0 <= beta < 1 (e.g. (0.9, 0.999))"
            )
    _check_nonnegative("weight_decay", weight_decay, "weight_decay value")


def check_rmsprop_options(
    lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False, maximize=False
) -> None:
    """Raise ``ValueError`` for RMSprop hyperparameters PyTorch rejects.

    >>> check_rmsprop_options(alpha=-0.5)
    Traceback (most recent call last):
    ...
    downhill.errors.InputError: Invalid alpha value: -0.5; alpha must be >= 0 (the decay of the squared-gradient average; 0.99 is usual)
    """
    _check_lr(lr)
    _check_eps(eps)
    _check_nonnegative("momentum", momentum, "momentum value", "0 turns momentum off")
    _check_nonnegative("weight_decay", weight_decay, "weight_decay value")
    _check_nonnegative(
        "alpha", alpha, "alpha value", "the decay of the squared-gradient average; 0.99 is usual"
    )


def check_adagrad_options(
    lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10, maximize=False
) -> None:
    """Raise ``ValueError`` for Adagrad hyperparameters PyTorch rejects.

    >>> check_adagrad_options(lr_decay=-1)
    Traceback (most recent call last):
    ...
    downhill.errors.InputError: Invalid lr_decay value: -1; lr_decay must be >= 0
    """
    _check_lr(lr)
    _check_nonnegative("lr_decay", lr_decay, "lr_decay value")
    _check_nonnegative("weight_decay", weight_decay, "weight_decay value")
    _check_nonnegative(
        "initial_accumulator_value", initial_accumulator_value, "initial_accumulator_value value"
    )
    _check_eps(eps)
