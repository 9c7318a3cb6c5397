"""What a formula may name, and the two sets of functions that evaluate it.

``FUNCTIONS`` and ``CONSTANTS`` are the whitelist a typed formula is checked
against. A compiled formula calls its operations by name through a namespace:
``NUMPY_FUNCTIONS`` on NumPy arrays (fast, no gradients) or
``DOWNHILL_FUNCTIONS`` on downhill Tensors (recording the graph for the chain rule).
"""

from __future__ import annotations

import math
from types import MappingProxyType
from typing import Any, Callable, Mapping

import numpy as np

from .. import autodiff
from ..autodiff import OPS

__all__ = [
    "CONSTANTS",
    "FUNCTIONS",
    "DEFAULT_VARIABLES",
    "OPERATORS",
    "NUMPY_FUNCTIONS",
    "DOWNHILL_FUNCTIONS",
]

CONSTANTS: Mapping[str, float] = MappingProxyType({"pi": math.pi, "π": math.pi, "e": math.e})

# Name a person types -> (name in the namespace, number of arguments).
FUNCTIONS: Mapping[str, tuple[str, int]] = MappingProxyType(
    {
        "sin": ("sin", 1),
        "cos": ("cos", 1),
        "tan": ("tan", 1),
        "arctan": ("arctan", 1),
        "atan": ("arctan", 1),
        "sinh": ("sinh", 1),
        "cosh": ("cosh", 1),
        "tanh": ("tanh", 1),
        "exp": ("exp", 1),
        "log": ("log", 1),
        "log1p": ("log1p", 1),
        "expm1": ("expm1", 1),
        "sqrt": ("sqrt", 1),
        "square": ("square", 1),
        "abs": ("abs", 1),
        "sign": ("sign", 1),
        "sigmoid": ("sigmoid", 1),
        "relu": ("relu", 1),
        "softplus": ("softplus", 1),
        "minimum": ("minimum", 2),
        "maximum": ("maximum", 2),
    }
)

# Variables a formula may use without naming them (``variables=None``).
DEFAULT_VARIABLES = ("x", "y", "z")

# The operations behind the operators.
OPERATORS = ("add", "subtract", "multiply", "divide", "power", "negative")

_NAMES = OPERATORS + tuple(sorted({target for target, _ in FUNCTIONS.values()}))


# The engine's own forward computations for its primitives (relu among them),
# so that a formula gives the same numbers, bit for bit, on NumPy arrays and on
# Tensors (NaN in gives NaN out, as in PyTorch); NumPy itself for the composites.
_COMPOSITES = {"square": np.square, "minimum": np.minimum}

NUMPY_FUNCTIONS: Mapping[str, Callable[..., Any]] = MappingProxyType(
    {name: _COMPOSITES[name] if name in _COMPOSITES else OPS[name].forward for name in _NAMES}
)
"""The namespace that evaluates formulas on NumPy arrays: fast, no gradients."""

DOWNHILL_FUNCTIONS: Mapping[str, Callable[..., Any]] = MappingProxyType(
    {name: getattr(autodiff, name) for name in _NAMES}
)
"""The namespace that evaluates formulas on downhill Tensors, recording the graph."""
