"""The way out to PyTorch and back: ``to_torch`` and ``from_torch``.

A model built from downhill's layers converts to the same PyTorch model, with
the weights copied exactly (same dtype, same bits), and back. Layer names and
weight layouts are PyTorch's already (``Linear.weight`` has shape
``(out_features, in_features)``), so the state dict keys match too.

Supported: ``Sequential`` (nested too) of ``Linear``, ``ReLU``, ``LeakyReLU``,
``Tanh``, ``Sigmoid``, ``GELU``, ``Softmax``, ``LogSoftmax``, ``Flatten``,
``Dropout`` and ``Identity``. PyTorch is an optional extra
(``pip install "downhill[torch]"``), imported only when these functions run.

>>> import numpy as np
>>> import downhill as dh
>>> from downhill import nn
>>> from downhill.nn.bridge import to_torch, from_torch
>>> model = nn.Sequential(nn.Linear(3, 4, dtype="float64", generator=0), nn.Tanh(), nn.Linear(4, 2, dtype="float64", generator=1))
>>> torch_model = to_torch(model)
>>> x = np.random.default_rng(0).normal(size=(5, 3))
>>> import torch
>>> expected = model(dh.tensor(x)).data
>>> bool(np.allclose(torch_model(torch.from_numpy(x)).detach().numpy(), expected, rtol=1e-12, atol=0))
True
>>> back = from_torch(torch_model)
>>> bool(np.array_equal(back[0].weight.data, model[0].weight.data))
True
"""

from __future__ import annotations

import numpy as np
from ..errors import InputTypeError

__all__ = ["to_torch", "from_torch", "SUPPORTED"]

SUPPORTED = ("Sequential", "Linear", "ReLU", "LeakyReLU", "Tanh", "Sigmoid", "GELU", "Softmax",
             "LogSoftmax", "Flatten", "Dropout", "Identity")

_INSTALL_HINT = (
    "to_torch/from_torch need PyTorch, which is not installed; install it with: "
    'pip install "downhill[torch]"'
)


def _torch():
    try:
        import torch
    except ImportError as error:
        raise ImportError(_INSTALL_HINT) from error
    return torch


def _unsupported(layer, direction: str) -> InputTypeError:
    return InputTypeError(
        f"{direction} cannot convert a {type(layer).__name__}: supported are "
        f"{', '.join(SUPPORTED)}. Convert the supported parts, or copy the weights by "
        "state_dict() (the keys are PyTorch's)"
    )


# --------------------------------------------------------------------------- downhill -> torch


def to_torch(model):
    """The same network as a ``torch.nn.Module``, weights copied exactly (dtype kept).

    The PyTorch model is in the same train/eval mode and shares no memory with
    the downhill one.

    >>> import numpy as np
    >>> from downhill import nn
    >>> from downhill.nn.bridge import to_torch
    >>> net = to_torch(nn.Sequential(nn.Linear(2, 3, generator=0), nn.ReLU()))
    >>> net
    Sequential(
      (0): Linear(in_features=2, out_features=3, bias=True)
      (1): ReLU()
    )
    >>> net[0].weight.dtype
    torch.float32
    """
    torch = _torch()
    converted = _to_torch(model, torch)
    converted.train(bool(getattr(model, "training", True)))
    return converted


def _param(torch, tensor):
    return torch.nn.Parameter(torch.from_numpy(np.array(tensor.data, copy=True)),
                              requires_grad=bool(tensor.requires_grad))


def _to_torch(layer, torch):
    from . import Sequential  # the nn package: imported late, as it imports this module

    tnn = torch.nn
    name = type(layer).__name__
    if isinstance(layer, Sequential):
        from collections import OrderedDict

        return tnn.Sequential(OrderedDict((key, _to_torch(child, torch)) for key, child in layer._modules.items()))
    if name == "Linear":
        weight = layer.weight
        out = tnn.Linear(layer.in_features, layer.out_features, bias=layer.bias is not None,
                         dtype=getattr(torch, str(weight.dtype)))
        out.weight = _param(torch, weight)
        if layer.bias is not None:
            out.bias = _param(torch, layer.bias)
        return out
    simple = {"ReLU": tnn.ReLU, "Tanh": tnn.Tanh, "Sigmoid": tnn.Sigmoid, "Identity": tnn.Identity}
    if name in simple:
        return simple[name]()
    if name == "LeakyReLU":
        return tnn.LeakyReLU(negative_slope=layer.negative_slope)
    if name == "GELU":
        return tnn.GELU(approximate=getattr(layer, "approximate", "none"))
    if name == "Softmax":
        return tnn.Softmax(dim=layer.dim)
    if name == "LogSoftmax":
        return tnn.LogSoftmax(dim=layer.dim)
    if name == "Flatten":
        return tnn.Flatten(start_dim=layer.start_dim, end_dim=layer.end_dim)
    if name == "Dropout":
        return tnn.Dropout(p=layer.p)
    raise _unsupported(layer, "to_torch")


# --------------------------------------------------------------------------- torch -> downhill


def from_torch(module):
    """The same network as a downhill model, weights copied exactly (dtype kept).

    >>> import torch
    >>> from downhill.nn.bridge import from_torch
    >>> _ = torch.manual_seed(0)
    >>> net = from_torch(torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.GELU()))
    >>> net
    Sequential(
      (0): Linear(in_features=2, out_features=3, bias=True)
      (1): GELU(approximate='none')
    )
    """
    torch = _torch()
    if not isinstance(module, torch.nn.Module):
        raise InputTypeError(f"from_torch needs a torch.nn.Module, got {type(module).__name__}")
    converted = _from_torch(module, torch)
    if module.training:
        converted.train()
    else:
        converted.eval()
    return converted


def _array(tensor) -> np.ndarray:
    return tensor.detach().cpu().numpy().copy()


def _from_torch(module, torch):
    from collections import OrderedDict

    from . import (GELU, Dropout, Flatten, Identity, LeakyReLU, Linear, LogSoftmax, Parameter, ReLU,
                   Sequential, Sigmoid, Softmax, Tanh)

    tnn = torch.nn
    if isinstance(module, tnn.Sequential):
        return Sequential(OrderedDict((key, _from_torch(child, torch)) for key, child in module._modules.items()))
    if type(module) is tnn.Linear:
        weight = _array(module.weight)
        layer = Linear(module.in_features, module.out_features, bias=module.bias is not None, dtype=weight.dtype)
        layer.weight = Parameter(weight, requires_grad=module.weight.requires_grad)
        if module.bias is not None:
            layer.bias = Parameter(_array(module.bias), requires_grad=module.bias.requires_grad)
        return layer
    simple = {tnn.ReLU: ReLU, tnn.Tanh: Tanh, tnn.Sigmoid: Sigmoid, tnn.Identity: Identity}
    if type(module) in simple:
        return simple[type(module)]()
    if type(module) is tnn.LeakyReLU:
        return LeakyReLU(negative_slope=module.negative_slope)
    if type(module) is tnn.GELU:
        return GELU(approximate=module.approximate)
    if type(module) is tnn.Softmax:
        return Softmax(dim=module.dim)
    if type(module) is tnn.LogSoftmax:
        return LogSoftmax(dim=module.dim)
    if type(module) is tnn.Flatten:
        return Flatten(start_dim=module.start_dim, end_dim=module.end_dim)
    if type(module) is tnn.Dropout:
        return Dropout(p=module.p)
    raise _unsupported(module, "from_torch")
