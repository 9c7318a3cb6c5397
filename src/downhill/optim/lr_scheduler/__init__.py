"""Learning-rate schedulers with PyTorch's names, signatures and sequences.

Create one on an optimizer and call ``scheduler.step()`` once per epoch after
``optimizer.step()``; ``get_last_lr()`` gives the current rates. Each class
reproduces ``torch.optim.lr_scheduler``'s sequence (the same recursive or
closed formula, so the same floating-point values). Differences: the
warnings PyTorch gives when ``scheduler.step()`` comes before
``optimizer.step()`` are not raised, and learning rates held as tensors are
not supported.

>>> import downhill as dh
>>> from downhill.optim import SGD, lr_scheduler
>>> opt = SGD([dh.tensor(1.0, requires_grad=True)], lr=0.1)
>>> scheduler = lr_scheduler.MultiStepLR(opt, milestones=[2], gamma=0.1)
>>> for _ in range(3):
...     opt.step(); scheduler.step()
>>> scheduler.get_last_lr()
[0.010000000000000002]
"""

from . import base, combine, cyclical, decay, plateau, registry
from .base import LRScheduler
from .combine import ChainedScheduler, SequentialLR
from .cyclical import CosineAnnealingLR, CosineAnnealingWarmRestarts, CyclicLR, OneCycleLR
from .decay import ConstantLR, ExponentialLR, LambdaLR, LinearLR, MultiplicativeLR, MultiStepLR, PolynomialLR, StepLR
from .plateau import ReduceLROnPlateau
from .registry import get, names

# Each module lists its own schedulers; this package offers them all.
__all__ = [*base.__all__, *decay.__all__, *cyclical.__all__, *plateau.__all__, *combine.__all__, *registry.__all__]
