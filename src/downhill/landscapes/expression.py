"""Safe formulas: read a formula a person typed, then evaluate it, without ``eval``.

A formula such as ``"100*(y - x**2)**2 + (1 - x)**2"`` goes through four steps:

1. Cheap checks on the raw text (type, length, bracket depth) *before* Python's
   parser sees it, because ``ast.parse`` itself can exhaust the C stack or memory
   on hostile input such as ten thousand nested brackets.
2. ``ast.parse(text, mode="eval")``: the text becomes a syntax tree; nothing runs.
3. A whitelist walk over that tree. Only numbers, named variables, ``+ - * / % **``,
   unary ``-``/``+``, parentheses, a fixed set of functions and the constants ``pi``
   and ``e`` pass. Everything else (attributes, subscripts, strings, lambdas,
   comparisons, keyword arguments, unknown names...) is refused with an
   :class:`ExpressionError` that points at the offending part.
4. The tree is compiled into nested closures. Subtrees without variables are
   folded into one number now, which is where exponent towers such as
   ``9**9**9**9`` are caught: every exponent that is a constant must lie within
   ``±MAX_EXPONENT``, so no power can take long or use much memory.

The closures call their operations through a *namespace* (a mapping from names such
as ``"add"`` or ``"sin"`` to functions, see ``namespaces.py``), so the same compiled
formula evaluates on NumPy arrays or on downhill Tensors, through which gradients
flow.

``^`` means power, as most people write it: every ``^`` in the text is read as ``**``
before parsing. (Python's own ``^``, exclusive or, has no place in a formula.)
``%`` is the remainder with the sign of the divisor, as in Python and NumPy
(``mod``; its derivative is 1 in the left operand and -floor(a/b) in the right),
and binds like ``*`` and ``/``, as in Python.
"""

from __future__ import annotations

from ..errors import InputError, InputTypeError

import ast
import difflib
import keyword
import math
import warnings
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from .namespaces import CONSTANTS, DEFAULT_VARIABLES, FUNCTIONS, NUMPY_FUNCTIONS

__all__ = [
    "ExpressionError",
    "Expression",
    "parse_expression",
    "MAX_LENGTH",
    "MAX_DEPTH",
    "MAX_NODES",
    "MAX_EXPONENT",
]

# Bounds that keep parsing and evaluation small whatever is typed. A formula a
# person types is a line or two; these leave ample room for that.
MAX_LENGTH = 1000  # characters, checked before anything else
MAX_DEPTH = 100  # bracket nesting, and nesting of operations in the tree
MAX_NODES = 500  # syntax-tree nodes
MAX_EXPONENT = 100  # largest |exponent| where the exponent is a constant

# The hint names the everyday functions and where the whole list is: naming
# all of them (60-odd) made one refused formula a screenful of text.
_EVERYDAY = ("sin", "cos", "tan", "exp", "log", "sqrt", "abs", "tanh", "arctan2", "hypot", "minimum", "maximum")
ALLOWED = (
    "A formula may use numbers, variables (x, y, z, or those you name), + - * /, % for the remainder, "
    "** (or ^) for powers, parentheses, the constants pi and e, and "
    f"{len(FUNCTIONS)} functions such as " + ", ".join(f for f in _EVERYDAY if f in FUNCTIONS)
    + " (all of them: downhill landscapes --functions)."
)

# What a person most likely meant by each construct that is refused.
_REFUSED_NODES = {
    ast.Attribute: "attribute access (a '.' after a name)",
    ast.Subscript: "indexing with [ ]",
    ast.Lambda: "lambda",
    ast.IfExp: "'if ... else ...'",
    ast.Compare: "comparisons (< > == != <= >= in is)",
    ast.BoolOp: "'and' / 'or'",
    ast.NamedExpr: "assignment with ':='",
    ast.Starred: "starred arguments (*)",
    ast.Tuple: "commas outside a function call (a tuple)",
    ast.List: "lists [ ]",
    ast.Set: "sets { }",
    ast.Dict: "dictionaries { }",
    ast.ListComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.GeneratorExp: "generator expressions",
    ast.JoinedStr: "f-strings",
    ast.FormattedValue: "f-strings",
    ast.Await: "'await'",
    ast.Yield: "'yield'",
    ast.YieldFrom: "'yield'",
    ast.Slice: "slices",
}

_OPERATOR_NAMES = {ast.Add: "add", ast.Sub: "subtract", ast.Mult: "multiply", ast.Div: "divide", ast.Mod: "mod"}
_OPERATOR_SYMBOLS = {
    ast.Mod: "%",
    ast.FloorDiv: "//",
    ast.MatMult: "@",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitOr: "|",
    ast.BitAnd: "&",
    ast.BitXor: "^",
    ast.Invert: "~",
    ast.Not: "not",
}


class ExpressionError(InputError):
    """A formula that cannot be read or is not allowed.

    ``str(error)`` names what was wrong, shows the text with carets under the
    offending part, and says what is allowed. The parts are also attributes:
    ``reason`` (one line), ``text`` (the formula), ``start`` and ``end`` (0-based
    character positions in ``text``, or ``None``), and ``hint``.

    >>> try:
    ...     parse_expression("x.__class__")
    ... except ExpressionError as error:
    ...     print(error.reason)
    a formula cannot use attribute access (a '.' after a name)
    """

    def __init__(self, reason: str, text: str = "", start: int | None = None,
                 end: int | None = None, hint: str = ""):
        self.reason = reason
        self.text = text
        self.start = start
        self.end = end
        self.hint = hint
        super().__init__(self._render())

    def _render(self) -> str:
        lines = [self.reason]
        if self.start is not None and isinstance(self.text, str):
            shown, caret = _excerpt(self.text, self.start, self.end)
            lines += ["    " + shown, "    " + caret]
        if self.hint:
            lines.append(self.hint)
        return "\n".join(lines)


def _excerpt(text: str, start: int, end: int | None, width: int = 72) -> tuple[str, str]:
    """The text around ``start`` on one line, and a line of carets under start..end."""
    end = start + 1 if end is None or end <= start else end
    # Whitespace of any kind becomes a space, so the carets stay aligned.
    flat = "".join(" " if ch.isspace() else ch for ch in text)
    left = max(0, min(start - width // 3, len(flat) - width))
    right = min(len(flat), left + width)
    shown = ("..." if left else "") + flat[left:right] + ("..." if right < len(flat) else "")
    pad = (3 if left else 0) + start - left
    carets = "^" * max(1, min(end, right) - start)
    return shown, " " * pad + carets


class Expression:
    """A checked, compiled formula: evaluate it on NumPy arrays or downhill Tensors.

    Made by :func:`parse_expression`. ``evaluate(values, namespace)`` takes one
    value per variable (in the order of ``variables``) and the functions to use;
    calling the object evaluates with NumPy.

    >>> expr = parse_expression("x**2 + 3*y")
    >>> expr.variables
    ('x', 'y')
    >>> float(expr(2.0, 1.0))
    7.0

    ``operations`` counts the operations one evaluation performs (constant
    parts are folded when parsed and do not count): what a request's cost
    estimate multiplies by.

    >>> expr.operations, parse_expression("2*pi*x").operations
    (3, 1)
    """

    __slots__ = ("text", "variables", "operations", "_run")

    def __init__(self, text: str, variables: tuple[str, ...], run: Callable, operations: int = 0):
        self.text = text
        self.variables = variables
        self.operations = operations
        self._run = run

    def evaluate(self, values: Sequence[Any], namespace: Mapping[str, Callable] = NUMPY_FUNCTIONS):
        """Evaluate with one value per variable, using the functions in ``namespace``.

        >>> import numpy as np
        >>> parse_expression("sin(x)*y").evaluate([np.array([0.0, np.pi/2]), 2.0])
        array([0., 2.])
        """
        if len(values) != len(self.variables):
            raise InputError(
                f"the formula {self.text!r} has {len(self.variables)} variable(s) "
                f"{self.variables}; got {len(values)} value(s)"
            )
        return self._run(values, namespace)

    def __call__(self, *values):
        """Evaluate with NumPy, one argument per variable.

        >>> float(parse_expression("x^2")(3))
        9.0
        """
        return self.evaluate([np.asarray(v, dtype=np.float64) for v in values])

    def __repr__(self) -> str:
        return f"Expression({self.text!r}, variables={self.variables})"


def parse_expression(text: str, variables: Sequence[str] | None = None) -> Expression:
    """Check a formula against the whitelist and compile it; never runs the text.

    ``variables``: the names of the inputs, in order. By default they are the free
    names in the text, sorted, which must come from x, y, z.

    >>> parse_expression("y*sin(x) + exp(-x)/2").variables
    ('x', 'y')
    >>> parse_expression("t^3 - t", variables=["t"]).variables
    ('t',)
    >>> parse_expression("__import__('os')")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
      ...
    downhill.landscapes.expression.ExpressionError: '__import__' is not an allowed function
        __import__('os')
        ^^^^^^^^^^
    A formula may use numbers, variables (x, y, z, or those you name), ...
    """
    if not isinstance(text, str):
        raise InputTypeError(f"a formula must be text (str), got {type(text).__name__}")
    if variables is not None:
        variables = _check_variable_names(variables)
    source, origin = _prepare(text)
    tree = _parse(text, source, origin)
    free_names = _walk_bounds(text, tree, origin, source)
    inferred = variables is None
    if inferred:
        # Only names from DEFAULT_VARIABLES become variables; the compiler refuses
        # any other name where it stands, so errors come in reading order.
        variables = tuple(sorted({name for name in free_names if name in DEFAULT_VARIABLES}))
    compiler = _Compiler(text, source, origin, variables, inferred)
    result = compiler.build(tree.body)
    if inferred and not variables:
        raise ExpressionError(
            "the formula has no variable; use x (and y, z), as in x**2 + y**2", text
        )
    run = _constant_run(result) if isinstance(result, float) else result
    return Expression(text, variables, run, max(compiler.operations, 1))


def _constant_run(value: float):
    # A formula with no variable in it still has to return the batch's shape and
    # stay connected to the input (a zero gradient, not a missing one): value + 0*x.
    def run(values, ns):
        if not values:
            return value
        return ns["add"](ns["multiply"](values[0], 0.0), value)

    return run


def _check_variable_names(variables: Sequence[str]) -> tuple[str, ...]:
    if isinstance(variables, str):
        raise InputTypeError(
            "variables must be a sequence of names such as ('x', 'y'), "
            f"not the string {variables!r}"
        )
    names = tuple(variables)
    for name in names:
        if (not isinstance(name, str) or not name.isidentifier() or name.startswith("_")
                or keyword.iskeyword(name)):
            raise InputError(f"a variable must be a plain name such as 'x' or 't', got {name!r}")
        if name in FUNCTIONS or name in CONSTANTS:
            kind = "function" if name in FUNCTIONS else "constant"
            raise InputError(f"{name!r} is a {kind} and cannot be used as a variable name")
    if len(set(names)) != len(names):
        raise InputError(f"variable names must be different from each other, got {names}")
    return names


def _prepare(text: str) -> tuple[str, list[int]]:
    """Bounds on the raw text, then the text the parser will see.

    Returns that text and, for each of its characters, the position in ``text``
    it came from (``^`` becomes ``**``; whitespace becomes a space so that the
    formula is one line; leading spaces go, since Python would read them as an
    indent).
    """
    if len(text) > MAX_LENGTH:
        raise ExpressionError(
            f"the formula is {len(text):,} characters long; at most {MAX_LENGTH:,} are allowed",
            text,
        )
    if not text.strip():
        raise ExpressionError("the formula is empty; type one, such as x**2 + y**2", text)
    depth = 0
    for position, ch in enumerate(text):
        if not ch.isprintable() and not ch.isspace():
            raise ExpressionError(
                f"the character U+{ord(ch):04X} cannot appear in a formula", text, position
            )
        if ch in "([{":
            depth += 1
            if depth > MAX_DEPTH:
                raise ExpressionError(
                    f"brackets are nested more than {MAX_DEPTH} deep",
                    text,
                    position,
                    hint="Remove brackets that are not needed.",
                )
        elif ch in ")]}":
            depth -= 1
    chars: list[str] = []
    origin: list[int] = []
    for position, ch in enumerate(text):
        if ch == "^":
            chars += "**"
            origin += [position, position]
        elif ch.isspace():
            if chars:
                chars.append(" ")
                origin.append(position)
        else:
            chars.append(ch)
            origin.append(position)
    origin.append(len(text))  # the position just past the end
    return "".join(chars), origin


def _parse(text: str, source: str, origin: list[int]) -> ast.Expression:
    try:
        with warnings.catch_warnings():
            # Python warns about things such as odd escapes in strings; strings
            # are refused anyway, and the warning would only be noise.
            warnings.simplefilter("ignore")
            return ast.parse(source, mode="eval")
    except SyntaxError as error:
        column = error.offset - 1 if error.offset and error.offset > 0 else len(source)
        column = min(column, len(source))
        end = error.end_offset - 1 if error.end_offset and error.end_offset > column + 1 else None
        raise ExpressionError(
            f"could not read the formula: {error.msg}",
            text,
            origin[column],
            origin[min(end, len(source))] if end is not None else None,
            hint=_syntax_hint(error.msg),
        ) from None
    except (ValueError, RecursionError, MemoryError, OverflowError) as error:
        # Null bytes (ValueError), or a parser that ran out of room.
        raise ExpressionError(
            f"could not read the formula ({type(error).__name__}: {error})",
            text,
            hint=ALLOWED,
        ) from None


def _syntax_hint(message: str) -> str:
    if "decimal literal" in message:
        return "Multiplication needs a star: write 2*x, not 2x."
    if "invalid character" in message:
        return "Use plain characters: x**2 or x^2 for powers, * for multiplication."
    if "never closed" in message or "unmatched" in message or "does not match" in message:
        return "Check that every ( has its )."
    return (
        "Check that every operator has something on both sides, and brackets are balanced. "
        + ALLOWED
    )


def _node_span(node: ast.AST, source: str, origin: list[int]) -> tuple[int, int]:
    """Where ``node`` sits in the text as typed (the parser counts UTF-8 bytes)."""
    encoded = source.encode("utf-8")

    def char_index(byte_offset: int) -> int:
        return len(encoded[:byte_offset].decode("utf-8", errors="ignore"))

    start = char_index(node.col_offset)
    end = char_index(node.end_col_offset) if node.end_col_offset is not None else start + 1
    return origin[start], origin[min(end, len(source))]


# Syntax-tree nodes that only label their parent (the '+' of a sum, the Load
# of a name): they have no place in the text and are not counted.
_UNPLACED = (ast.expr_context, ast.operator, ast.unaryop, ast.boolop, ast.cmpop)


def _walk_bounds(text: str, tree: ast.Expression, origin: list[int], source: str) -> set[str]:
    """Check depth and size without recursion; return the names used as values.

    The walk is iterative so that it cannot hit Python's recursion limit, and it
    stops as soon as a bound is crossed. Once it passes, the recursive compiler
    can only go ``MAX_DEPTH`` levels deep.
    """
    # Each entry: a node, its depth, and the nearest node with a position in the
    # text (operators and contexts such as ast.Add and ast.Load have none).
    stack = [(tree.body, 1, tree.body)]
    count = 0
    callees: set[ast.AST] = set()  # AST nodes hash by identity
    free_names: set[str] = set()
    while stack:
        node, depth, anchor = stack.pop()
        if isinstance(node, _UNPLACED):
            continue
        if hasattr(node, "col_offset"):
            anchor = node
        count += 1
        if count > MAX_NODES:
            raise ExpressionError(
                f"the formula has more than {MAX_NODES} parts; make it shorter", text
            )
        if depth > MAX_DEPTH:
            start, end = _node_span(anchor, source, origin)
            raise ExpressionError(
                f"operations are nested more than {MAX_DEPTH} deep", text, start, end
            )
        if isinstance(node, ast.Call):
            callees.add(node.func)
        elif isinstance(node, ast.Name) and node not in callees:
            free_names.add(node.id)
        # Reversed, so that nodes are visited left to right.
        children = reversed(list(ast.iter_child_nodes(node)))
        stack.extend((child, depth + 1, anchor) for child in children)
    return free_names


def _unknown_name_reason(name: str, variables: Sequence[str]) -> str:
    known = [*variables, *CONSTANTS, *FUNCTIONS]
    close = difflib.get_close_matches(name, known, n=1)
    reason = f"unknown name {name!r}"
    if name.startswith("_"):
        reason += " (names starting with '_' are never allowed)"
    if close:
        reason += f"; did you mean {close[0]!r}?"
    return reason


def _show_number(value: float) -> str:
    if value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return repr(value)


class _Compiler:
    """Whitelist check and compilation in one recursive pass over a bounded tree.

    ``build`` returns a float for a subtree without variables (folded now, with
    NumPy float64 semantics), or a closure ``run(values, namespace)``.
    """

    def __init__(self, text: str, source: str, origin: list[int],
                 variables: tuple[str, ...], inferred: bool):
        self.text = text
        self.source = source
        self.origin = origin
        self.variables = variables
        self.inferred = inferred
        self.operations = 0  # closures made: the NumPy calls of one evaluation

    def fail(self, node: ast.AST, reason: str, hint: str = ALLOWED):
        start, end = _node_span(node, self.source, self.origin)
        raise ExpressionError(reason, self.text, start, end, hint=hint)

    def build(self, node: ast.AST):
        if isinstance(node, ast.Constant):
            return self.number(node)
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.UnaryOp):
            return self.unary(node)
        if isinstance(node, ast.BinOp):
            return self.binary(node)
        if isinstance(node, ast.Call):
            return self.call(node)
        what = _REFUSED_NODES.get(type(node), f"this construct ({type(node).__name__})")
        self.fail(node, f"a formula cannot use {what}")

    def number(self, node: ast.Constant) -> float:
        value = node.value
        if type(value) not in (int, float):  # bool is an int to Python; refuse it too
            what = {str: "text in quotes", bytes: "bytes", complex: "complex numbers (j)"}.get(
                type(value), f"the value {value!r}"
            )
            self.fail(node, f"a formula cannot use {what}")
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            self.fail(node, "this number is too large for a float", hint="")
        return number

    def name(self, node: ast.Name):
        if node.id in self.variables:
            index = self.variables.index(node.id)
            return lambda values, ns: values[index]
        if node.id in CONSTANTS:
            return CONSTANTS[node.id]
        if node.id in FUNCTIONS:
            self.fail(node, f"{node.id!r} is a function: call it, as in {node.id}(x)")
        hint = ALLOWED
        if self.inferred and not node.id.startswith("_"):
            hint = f"To use {node.id!r} as a variable, name it: variables=({node.id!r},). " + hint
        known = DEFAULT_VARIABLES if self.inferred else self.variables
        self.fail(node, _unknown_name_reason(node.id, known), hint)

    def unary(self, node: ast.UnaryOp):
        operand = self.build(node.operand)
        if isinstance(node.op, ast.UAdd):
            return operand
        if isinstance(node.op, ast.USub):
            return self.combine(node, "negative", operand)
        self.fail(node, f"a formula cannot use the operator {_OPERATOR_SYMBOLS[type(node.op)]!r}")

    def binary(self, node: ast.BinOp):
        op = type(node.op)
        if op not in _OPERATOR_NAMES and op is not ast.Pow:
            self.fail_operator(node)
        left = self.build(node.left)
        right = self.build(node.right)
        if op is ast.Pow and isinstance(right, float) and not abs(right) <= MAX_EXPONENT:
            self.fail(
                node.right,
                f"the exponent {_show_number(right)} is too large: a constant exponent must lie "
                f"between -{MAX_EXPONENT} and {MAX_EXPONENT}",
                hint="",
            )
        return self.combine(node, "power" if op is ast.Pow else _OPERATOR_NAMES[op], left, right)

    def fail_operator(self, node: ast.BinOp):
        # The operator sits between its operands; point at it, not at the whole.
        _, left_end = _node_span(node.left, self.source, self.origin)
        right_start, _ = _node_span(node.right, self.source, self.origin)
        gap = self.text[left_end:right_start]
        start = left_end + (len(gap) - len(gap.lstrip()))
        symbol = _OPERATOR_SYMBOLS.get(type(node.op), type(node.op).__name__)
        raise ExpressionError(
            f"a formula cannot use the operator {symbol!r}",
            self.text,
            start,
            start + len(symbol),
            hint=ALLOWED,
        )

    def call(self, node: ast.Call):
        func = node.func
        if not isinstance(func, ast.Name):
            # Something other than a name before "(": refuse what it contains
            # first (an attribute, say), with its own message; else it is a
            # number or a bracket such as 2(x) or (x + 1)(y), meant as a product.
            self.build(func)
            self.fail(
                node,
                "only a function such as sin can be followed by ( ); "
                "to multiply, write a star, as in 2*(x)",
                hint="",
            )
        if func.id not in FUNCTIONS:
            variables = DEFAULT_VARIABLES if self.inferred else self.variables
            if func.id in variables or func.id in CONSTANTS:
                self.fail(
                    func,
                    f"{func.id!r} is not a function; to multiply, write a star: {func.id}*(...)",
                )
            close = difflib.get_close_matches(func.id, list(FUNCTIONS), n=1)
            reason = f"{func.id!r} is not an allowed function"
            if close:
                reason += f"; did you mean {close[0]!r}?"
            self.fail(func, reason)
        if node.keywords:
            self.fail(node.keywords[0], "a formula cannot use keyword arguments (name=value)")
        target, arity = FUNCTIONS[func.id]
        if len(node.args) != arity:
            plural = "argument" if arity == 1 else "arguments"
            self.fail(node, f"{func.id} takes {arity} {plural}, got {len(node.args)}", hint="")
        args = [self.build(arg) for arg in node.args]  # a Starred arg is refused here
        return self.combine(node, target, *args)

    def combine(self, node: ast.AST, op: str, *parts):
        """Fold parts that are all numbers; otherwise make a closure calling ``op``."""
        if all(isinstance(part, float) for part in parts):
            with np.errstate(all="ignore"):
                value = NUMPY_FUNCTIONS[op](*map(np.float64, parts))
            if not np.isfinite(value):
                self.fail(
                    node,
                    f"this constant part of the formula is {float(value)} (not a finite number)",
                    hint="",
                )
            return float(value)
        self.operations += 1
        if len(parts) == 1:
            (only,) = parts
            return lambda values, ns: ns[op](only(values, ns))
        left, right = parts
        if isinstance(left, float):
            return lambda values, ns: ns[op](left, right(values, ns))
        if isinstance(right, float):
            return lambda values, ns: ns[op](left(values, ns), right)
        return lambda values, ns: ns[op](left(values, ns), right(values, ns))
