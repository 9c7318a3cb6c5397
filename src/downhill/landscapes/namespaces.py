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
        # inverse trigonometry, with the Array API's short names too
        "arcsin": ("arcsin", 1),
        "asin": ("arcsin", 1),
        "arccos": ("arccos", 1),
        "acos": ("arccos", 1),
        "arctan2": ("arctan2", 2),
        "atan2": ("arctan2", 2),
        "arcsinh": ("arcsinh", 1),
        "asinh": ("arcsinh", 1),
        "arccosh": ("arccosh", 1),
        "acosh": ("arccosh", 1),
        "arctanh": ("arctanh", 1),
        "atanh": ("arctanh", 1),
        # logarithms, powers and friends
        "log2": ("log2", 1),
        "log10": ("log10", 1),
        "exp2": ("exp2", 1),
        "hypot": ("hypot", 2),
        "logaddexp": ("logaddexp", 2),
        "reciprocal": ("reciprocal", 1),
        "sinc": ("sinc", 1),
        "erf": ("erf", 1),
        "erfc": ("erfc", 1),
        "deg2rad": ("deg2rad", 1),
        "radians": ("deg2rad", 1),
        "rad2deg": ("rad2deg", 1),
        "degrees": ("rad2deg", 1),
        # steps (derivative 0) and pieces
        "floor": ("floor", 1),
        "ceil": ("ceil", 1),
        "round": ("round", 1),
        "trunc": ("trunc", 1),
        "mod": ("mod", 2),
        "fmax": ("fmax", 2),
        "fmin": ("fmin", 2),
    }
)

# Variables a formula may use without naming them (``variables=None``).
DEFAULT_VARIABLES = ("x", "y", "z")

# The operations behind the operators.
OPERATORS = ("add", "subtract", "multiply", "divide", "mod", "power", "negative")

_NAMES = OPERATORS + tuple(sorted({target for target, _ in FUNCTIONS.values()}))


# The engine's own forward computations for its primitives (relu among them),
# so that a formula gives the same numbers, bit for bit, on NumPy arrays and on
# Tensors (NaN in gives NaN out, as in PyTorch); NumPy itself, with the same
# arithmetic as downhill's composites, for the composites.
_COMPOSITES = {
    "square": np.square, "minimum": np.minimum,
    "reciprocal": lambda x: 1.0 / x,
    "deg2rad": lambda x: x * (np.pi / 180),
    "rad2deg": lambda x: x * (180 / np.pi),
}

NUMPY_FUNCTIONS: Mapping[str, Callable[..., Any]] = MappingProxyType(
    {name: _COMPOSITES[name] if name in _COMPOSITES else OPS[name].forward for name in _NAMES}
)
"""The namespace that evaluates formulas on NumPy arrays: fast, no gradients."""

DOWNHILL_FUNCTIONS: Mapping[str, Callable[..., Any]] = MappingProxyType(
    {name: getattr(autodiff, name) for name in _NAMES}
)
"""The namespace that evaluates formulas on downhill Tensors, recording the graph."""
