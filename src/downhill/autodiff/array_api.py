"""The Array API standard's names where they differ from NumPy's (acos for arccos, ...).

Each is the same function object as its NumPy-named twin, so it has the same
derivative and the same conventions.
"""

from __future__ import annotations

from .elementwise import arccos, arccosh, arcsin, arcsinh, arctan2, arctanh
from .ops import arctan, power
from .products import vecdot
from .shape_ops import concat, matrix_transpose, permute_dims

acos = arccos
asin = arcsin
atan = arctan
atan2 = arctan2
asinh = arcsinh
acosh = arccosh
atanh = arctanh
pow = power  # noqa: A001 - the standard's name

__all__ = [
    "acos", "asin", "atan", "atan2", "asinh", "acosh", "atanh", "pow", "concat", "permute_dims",
    "matrix_transpose", "vecdot",
]
