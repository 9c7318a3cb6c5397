"""Rows of the op table for fmod and floor_divide (the remainders beside mod, issue 10).

Imported by ``cases.py``, which adds ``MOD_TABLE`` to its table. The oracle
is JAX in 64-bit floats (``jax_fn``): PyTorch has no derivative for
floor_divide, and new rows do not add live PyTorch comparisons. Central
differences (``gradcheck``) check both too, and ``test_remainders.py``
checks them against exact arithmetic.
"""

from __future__ import annotations

import numpy as np

import downhill as dh

from .cases import BINARY, UNARY, Spec, nonzero
from .cases_more import mod_valid


def wide_remainders(rng, shape):
    return rng.uniform(-6.0, 6.0, shape)


def j_fmod(x, y):
    import jax.numpy as jnp

    return jnp.fmod(x, y)


def j_floor_divide(x, y):
    import jax.numpy as jnp

    return jnp.floor_divide(x, y)


def j_floor_divide_reflected(x, c):
    import jax.numpy as jnp

    return jnp.floor_divide(c, x)


def _away_from_jumps(xs, params):
    # x / y at least MARGIN from a whole number: both one-sided derivatives agree there.
    return mod_valid(xs, params)


MOD_TABLE = [
    Spec("fmod", dh.fmod, None, (wide_remainders, nonzero), BINARY, valid=_away_from_jumps, jax_fn=j_fmod),
    Spec("floor_divide", dh.floor_divide, None, (wide_remainders, nonzero), BINARY, valid=_away_from_jumps,
         jax_fn=j_floor_divide),
    Spec("floor_divide", lambda x, c: c // x, None, (nonzero,), UNARY, [dict(c=2.5)], tag="operator",
         valid=lambda xs, p: mod_valid([np.full_like(xs[0], 2.5), xs[0]], p), jax_fn=j_floor_divide_reflected),
]
