"""The mountains: classic test functions with known minima, and safe formulas.

``get(name)`` gives a test function from the catalog (``names()`` lists them);
``from_expression(text)`` turns a formula a person typed into a landscape, reading
it with a whitelist over Python's syntax tree, never with ``eval``.

>>> from downhill.landscapes import get, from_expression
>>> float(get("himmelblau")([3.0, 2.0]))
0.0
>>> float(from_expression("sin(x)*cos(y) + exp(-x)/2")([0.0, 0.0]))
0.5
"""

from .catalog import get, names, resolve
from .expression import Expression, ExpressionError, parse_expression
from .landscape import KnownPoint, Landscape, from_expression

__all__ = [
    "Landscape",
    "KnownPoint",
    "get",
    "names",
    "resolve",
    "from_expression",
    "parse_expression",
    "Expression",
    "ExpressionError",
]
