"""Layers that learn: modules, layers, losses and initializations with PyTorch's names.

``downhill.nn`` follows ``torch.nn``: a model is a :class:`Module` whose
:class:`Parameter` s an optimizer from :mod:`downhill.optim` changes;
``Sequential`` chains layers; ``CrossEntropyLoss`` and friends measure the
error; ``loss.backward()`` runs the chain rule back through every layer (the
bicycle chain: the last link's pull turns the first); :func:`gradient_report`
shows what arrived where. Layers are float32 by default, as in PyTorch.
Everything random is seeded by :func:`manual_seed` or a ``generator=`` argument.

>>> import downhill as dh
>>> from downhill import nn
>>> _ = nn.manual_seed(0)
>>> model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 2)).double()
>>> x = dh.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
>>> y = dh.tensor([0, 1, 1, 0])  # XOR
>>> opt = dh.optim.Adam(model.parameters(), lr=0.05)
>>> loss_fn = nn.CrossEntropyLoss()
>>> for step in range(300):
...     opt.zero_grad()
...     loss = loss_fn(model(x), y)
...     loss.backward()
...     opt.step()
>>> model(x).data.argmax(axis=1).tolist()
[0, 1, 1, 0]
"""

from . import functional, init, utils
from ._rng import manual_seed
from .activation import GELU, LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from .container import ModuleList, Sequential
from .dropout import Dropout
from .flatten import Flatten
from .hooks import RemovableHandle
from .linear import Identity, Linear
from .loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss, NLLLoss
from .module import Module
from .parameter import Parameter
from .report import GradientReport, GradientRow, gradient_report
from .training import TrainingDiverged, evaluate, fit
from .callbacks import Callback, EarlyStopping, History, LambdaCallback
from .lr_range import LRRangeTestResult, lr_range_test
from .bridge import from_torch, to_torch
from .loss_landscape import LossLandscape, PathRecorder, loss_landscape

__all__ = [
    "loss_landscape",
    "LossLandscape",
    "PathRecorder",
    "Module", "Parameter", "Sequential", "ModuleList", "Linear", "Identity", "Flatten", "Dropout",
    "ReLU", "LeakyReLU", "Tanh", "Sigmoid", "GELU", "Softmax", "LogSoftmax",
    "MSELoss", "L1Loss", "CrossEntropyLoss", "NLLLoss", "BCELoss", "BCEWithLogitsLoss",
    "gradient_report", "GradientReport", "GradientRow", "RemovableHandle",
    "manual_seed", "functional", "init", "utils",
    "fit", "evaluate", "TrainingDiverged", "History", "Callback", "EarlyStopping", "LambdaCallback",
    "lr_range_test", "LRRangeTestResult", "to_torch", "from_torch",
]
