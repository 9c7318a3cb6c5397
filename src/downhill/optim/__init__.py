"""The climber's legs: optimizers, their pure update rules, and learning-rate schedules.

The classes follow ``torch.optim`` (names, signatures, defaults, update rules,
``param_groups``/``state``/``state_dict``); the mathematics of each is a pure
function in :mod:`downhill.optim.functional` that works on NumPy arrays of any
shape, including a batch of many climbers. :func:`get` and
:func:`get_functional` look optimizers up by name.

>>> import downhill as dh
>>> from downhill import optim
>>> x = dh.tensor([-1.5, 2.0], requires_grad=True)
>>> opt = optim.get("adam")([x], lr=0.1)
>>> for _ in range(200):
...     opt.zero_grad()
...     ((x - 1.0) ** 2).sum().backward()
...     opt.step()
>>> x.data.round(3)
array([1., 1.])
"""

from . import checks, functional, lr_scheduler, schedules
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .registry import FunctionalOptimizer, get, get_functional, names
from .rmsprop import RMSprop
from .schedules import (
    Schedule,
    constant_factor_schedule,
    constant_schedule,
    cosine_schedule,
    cosine_warm_restarts_schedule,
    cyclic_schedule,
    exponential_schedule,
    linear_schedule,
    lr_sequence,
    make_scheduler,
    multistep_schedule,
    one_cycle_schedule,
    polynomial_schedule,
    step_schedule,
)
from .sgd import SGD
# The modules descend, basins and three_rates keep their names here; their
# functions are downhill.descend, downhill.basins and downhill.three_rates (a
# function of the same name as its module would hide the module).
from . import basins, three_rates  # noqa: E402  (need descend, which needs the registry)
from .basins import BasinMap  # noqa: E402
from .three_rates import RateChoice, ThreeRates  # noqa: E402

__all__ = [
    "Optimizer",
    "SGD",
    "Adam",
    "AdamW",
    "RMSprop",
    "Adagrad",
    "FunctionalOptimizer",
    "get",
    "get_functional",
    "names",
    *schedules.__all__,
    "checks",
    "functional",
    "lr_scheduler",
    "schedules",
    "basins",
    "BasinMap",
    "three_rates",
    "ThreeRates",
    "RateChoice",
]
