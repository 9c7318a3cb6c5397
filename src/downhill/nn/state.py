"""A module's values by name: ``state_dict`` and ``load_state_dict`` (``Module`` calls these).

Names are dotted paths, as in PyTorch (``0.weight``, ``encoder.1.bias``), so
that a ``state_dict`` from one library loads into the same model in the other.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import NamedTuple

import numpy as np

from ..autodiff.tensor import Tensor
from ..errors import InputTypeError, UsageError, shorten

__all__ = ["IncompatibleKeys", "StateDictError", "state_dict", "load_state_dict"]


class StateDictError(UsageError):
    """A state_dict that does not fit the model (PyTorch raises RuntimeError; so does this)."""


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict`` returns: names the model has but the dict lacks, and the reverse."""

    missing_keys: list
    unexpected_keys: list


def state_dict(module, destination=None, prefix: str = "", keep_vars: bool = False):
    """Parameters, then persistent buffers, then each child's, under dotted names.

    >>> import downhill as dh
    >>> list(state_dict(dh.nn.Sequential(dh.nn.Linear(1, 1))))
    ['0.weight', '0.bias']
    """
    if destination is None:
        destination = OrderedDict()
    for name, param in module._parameters.items():
        if param is not None:
            destination[prefix + name] = param if keep_vars else Tensor(param.data)  # a copy
    for name, buffer in module._buffers.items():
        if buffer is not None and name not in module._non_persistent_buffers:
            destination[prefix + name] = buffer if keep_vars else Tensor(buffer.data)
    for name, child in module._modules.items():
        if child is not None:
            child.state_dict(destination, prefix + name + ".", keep_vars)
    return destination


def load_state_dict(module, values, strict: bool = True) -> IncompatibleKeys:
    """Check every key and shape first, then copy all values in place (or nothing, on an error).

    >>> import downhill as dh
    >>> layer = dh.nn.Linear(1, 1)
    >>> load_state_dict(layer, {"weight": [[2.0]], "bias": [0.5]})
    IncompatibleKeys(missing_keys=[], unexpected_keys=[])
    >>> layer.weight.tolist()
    [[2.0]]
    """
    if not hasattr(values, "keys") or not hasattr(values, "__getitem__"):
        raise InputTypeError(f"load_state_dict expects a dict of name -> values, got {type(values).__name__}")
    own = module.state_dict(keep_vars=True)
    missing = [key for key in own if key not in values]
    unexpected = [key for key in values if key not in own]
    errors = []
    if strict:
        if unexpected:
            errors.append("Unexpected key(s) in state_dict: " + ", ".join(f'"{shorten(k)}"' for k in unexpected) + ".")
        if missing:
            errors.append("Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing) + ".")
    # Every value is checked and converted first; only then is anything copied, so
    # an error anywhere leaves every Parameter and buffer as it was.
    arrays = {}
    for key, target in own.items():
        if key not in values:
            continue
        converted = _converted(key, values[key], target.data, errors)
        if converted is not None:
            arrays[key] = converted
    if errors:
        raise StateDictError(f"Error(s) in loading state_dict for {type(module).__name__}:\n\t"
                             + "\n\t".join(errors) + "\nNothing was loaded.")
    for key, array in arrays.items():
        own[key].data[...] = array  # in place: an optimizer holding the Parameter sees the values
    return IncompatibleKeys(missing, unexpected)


def _converted(key: str, value, target: np.ndarray, errors: list):
    """``value`` as an array of ``target``'s shape and dtype, or None after adding to ``errors``."""
    try:
        array = value.data if isinstance(value, Tensor) else np.asarray(value)
    except (ValueError, TypeError) as error:
        errors.append(f"cannot read the value for {key} as an array ({shorten(error)}).")
        return None
    if array.shape != target.shape:
        errors.append(f"size mismatch for {key}: copying a value with shape {array.shape} "
                      f"from the state_dict, the shape in the current model is {target.shape}.")
        return None
    if not np.can_cast(array.dtype, target.dtype, casting="same_kind"):
        errors.append(f"dtype mismatch for {key}: cannot copy values of dtype {array.dtype} into "
                      f"{target.dtype} (numbers of the same kind are converted; text, objects, complex "
                      "into real and floats into integers are not).")
        return None
    with np.errstate(over="raise", invalid="raise"):
        try:
            return array.astype(target.dtype, copy=True)
        except (FloatingPointError, OverflowError, ValueError, TypeError) as error:
            errors.append(f"cannot convert the value for {key} to {target.dtype} ({shorten(error)}).")
            return None
