"""Helpers for the modules that add primitives to the rule table.

A vjp rule computes with ``F``: plain NumPy (``ops.NP``) in a first-order
backward pass, downhill itself (``ops.DH``) under ``create_graph=True``. A rule
may only call names present in both namespaces; :func:`provide` adds one.
"""

from __future__ import annotations

import numpy as np

from .ops import DH, NP
from .tensor import Tensor


def provide(name, numpy_version, downhill_version):
    """Make ``F.<name>`` available to rules, in both namespaces.

    ``numpy_version`` computes on NumPy values (a first-order backward pass);
    ``downhill_version`` records the graph (``create_graph=True``). The two
    must compute the same thing.
    """
    setattr(NP, name, numpy_version)
    setattr(DH, name, downhill_version)


def value(x):
    """The NumPy value of a rule's input or output, for masks and constants.

    For shapes, and for constants that do not depend on the example. A mask
    (``x >= y``) is better computed on the rule's inputs themselves: it works
    on NumPy values and on Tensors alike, and while ``vmap`` traces it is
    recorded, so that it follows each example (see ``batching.py``).
    """
    return x._data if isinstance(x, Tensor) else x


def eye_like(n, dtype=np.float64):
    """An ``n`` by ``n`` identity matrix, a constant in every rule."""
    return np.eye(n, dtype=dtype)


def diag_embed(F, v):
    """Vectors ``v[..., k]`` as diagonal matrices ``[..., k, k]`` (differentiable)."""
    k = np.shape(value(v))[-1]
    return F.expand_dims(v, -1) * eye_like(k)


def mT(F, a):
    """Swap the last two axes (the matrix transpose of a stack)."""
    return F.swapaxes(a, -1, -2)
