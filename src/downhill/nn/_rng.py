"""The random numbers of ``downhill.nn``: one seedable generator, or your own.

Everything random in ``downhill.nn`` (a layer's first weights, the init
functions, dropout's masks) takes a ``generator`` argument:

* ``None`` (the default): draw from the module-wide generator, which
  :func:`manual_seed` resets, like ``torch.manual_seed``;
* an ``int``: a fresh ``numpy.random.Generator`` seeded with it, so the same
  int gives the same numbers;
* a ``numpy.random.Generator``: draw from it (its state moves on).
"""

from __future__ import annotations

import numpy as np
from ..errors import InputTypeError

_GLOBAL = [np.random.default_rng(0)]


def manual_seed(seed: int) -> np.random.Generator:
    """Reset the generator that ``downhill.nn`` draws from when no ``generator`` is given.

    Returns the new generator. The same seed gives the same layers and masks.

    >>> import downhill as dh
    >>> _ = dh.nn.manual_seed(0)
    >>> a = dh.nn.Linear(3, 2).weight.data.copy()
    >>> _ = dh.nn.manual_seed(0)
    >>> bool((dh.nn.Linear(3, 2).weight.data == a).all())
    True
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise InputTypeError(f"manual_seed needs an int, got {type(seed).__name__}")
    _GLOBAL[0] = np.random.default_rng(int(seed))
    return _GLOBAL[0]


def resolve(generator=None) -> np.random.Generator:
    """The NumPy Generator meant by ``generator`` (None, an int seed, or a Generator)."""
    if generator is None:
        return _GLOBAL[0]
    if isinstance(generator, np.random.Generator):
        return generator
    if isinstance(generator, (int, np.integer)) and not isinstance(generator, bool):
        return np.random.default_rng(int(generator))
    raise InputTypeError(
        "generator must be None (the global one, see dh.nn.manual_seed), an int seed, "
        f"or a numpy.random.Generator; got {type(generator).__name__}"
    )
