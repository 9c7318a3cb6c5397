"""Random formulas: the reader computes exactly what NumPy computes directly.

Hypothesis builds expression trees; each tree is written out as text (with the
fewest parentheses Python's precedence allows, so precedence and associativity
are tested too) and, separately, computed here with NumPy's functions and
operators on arrays. The same tree must give the same numbers both ways, or be
refused exactly when the reader's rules say it must (a constant part that is not
finite, or a constant exponent beyond the bound).
"""

import math
import operator

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import downhill as dh
from downhill.landscapes import ExpressionError, parse_expression
from downhill.landscapes.expression import MAX_DEPTH, MAX_EXPONENT, MAX_LENGTH
from downhill.landscapes.namespaces import DOWNHILL_FUNCTIONS

X = np.array([-3.0, -1.5, -0.5, -0.0, 0.0, 0.25, 1.0, 2.0, 3.0])
Y = np.array([0.5, 2.0, -1.0, 1.0, -2.5, 3.0, 0.0, -0.75, 1.25])


def _sigmoid(v):
    # The definition downhill uses (stable on both tails); NumPy has no sigmoid.
    z = np.exp(-np.abs(v))
    return np.where(v >= 0, 1 / (1 + z), z / (1 + z))


ONE_ARGUMENT = {
    "sin": np.sin, "cos": np.cos, "tan": np.tan, "arctan": np.arctan, "atan": np.arctan,
    "sinh": np.sinh, "cosh": np.cosh, "tanh": np.tanh, "exp": np.exp, "log": np.log,
    "log1p": np.log1p, "expm1": np.expm1, "sqrt": np.sqrt, "square": np.square,
    "abs": np.abs, "sign": np.sign, "sigmoid": _sigmoid,
    "relu": lambda v: np.where(v > 0, v, 0.0), "softplus": lambda v: np.logaddexp(0.0, v),
}
TWO_ARGUMENTS = {"minimum": np.minimum, "maximum": np.maximum}
# symbol -> (operation, precedence)
BINARY = {
    "+": (operator.add, 10),
    "-": (operator.sub, 10),
    "*": (operator.mul, 20),
    "/": (operator.truediv, 20),
}
POWER, UNARY, ATOM = 40, 30, 100

# Variables come first and twice, so that most trees have some.
variables = st.tuples(st.just("var"), st.sampled_from(["x", "y"]))
leaves = st.one_of(
    variables,
    variables,
    st.tuples(st.just("int"), st.integers(0, 20) | st.integers(0, 10**6)),
    st.tuples(st.just("float"), st.floats(0, 10) | st.floats(0, 1e300)),
    st.tuples(st.just("const"), st.sampled_from(["pi", "e"])),
)


small_integers = st.tuples(st.just("int"), st.integers(0, 4))


def _extend(children):
    return st.one_of(
        st.tuples(st.just("neg"), children),
        st.tuples(st.just("pos"), children),
        st.tuples(st.just("paren"), children),
        st.tuples(st.just("bin"), st.sampled_from(sorted(BINARY)), children, children),
        st.tuples(st.just("pow"), st.booleans(), children, children),
        st.tuples(st.just("pow"), st.booleans(), children, small_integers),
        st.tuples(st.just("call"), st.sampled_from(sorted(ONE_ARGUMENT)), children),
        st.tuples(st.just("call"), st.sampled_from(sorted(TWO_ARGUMENTS)), children, children),
    )


trees = st.recursive(leaves, _extend, max_leaves=14)


def render(tree):
    """(text, precedence) with only the parentheses that Python's precedence needs."""
    kind = tree[0]
    if kind == "int":
        return str(tree[1]), ATOM
    if kind == "float":
        return repr(tree[1]), ATOM
    if kind in ("var", "const"):
        return tree[1], ATOM
    if kind == "paren":
        return f"({render(tree[1])[0]})", ATOM
    if kind in ("neg", "pos"):
        text, precedence = render(tree[1])
        text = f"({text})" if precedence < UNARY else text
        return ("-" if kind == "neg" else "+") + text, UNARY
    if kind == "bin":
        _, precedence = BINARY[tree[1]]
        left, left_precedence = render(tree[2])
        right, right_precedence = render(tree[3])
        left = f"({left})" if left_precedence < precedence else left  # left-associative
        right = f"({right})" if right_precedence <= precedence else right
        return f"{left} {tree[1]} {right}", precedence
    if kind == "pow":
        base, base_precedence = render(tree[2])
        exponent, exponent_precedence = render(tree[3])
        # ** is right-associative, and -x**2 is -(x**2): a power or a sign as base needs brackets.
        base = f"({base})" if base_precedence <= POWER else base
        exponent = f"({exponent})" if exponent_precedence < UNARY else exponent  # x**-y is fine
        return f"{base}{'^' if tree[1] else '**'}{exponent}", POWER
    if kind == "call":
        return f"{tree[1]}({', '.join(render(arg)[0] for arg in tree[2:])})", ATOM
    raise AssertionError(kind)


class Refused(Exception):
    """The reader's rules say this tree must be refused."""


def compute(tree):
    """(value, is_constant): the tree computed directly with NumPy.

    Parts without variables are computed on float64 scalars, as the reader folds
    them, and checked against its two rules.
    """
    kind = tree[0]
    if kind in ("int", "float"):
        return np.float64(tree[1]), True
    if kind == "const":
        return np.float64({"pi": math.pi, "e": math.e}[tree[1]]), True
    if kind == "var":
        return {"x": X, "y": Y}[tree[1]], False
    if kind in ("paren", "pos"):
        return compute(tree[1])
    parts = [compute(part) for part in tree[2:]] if kind != "neg" else [compute(tree[1])]
    values = [value for value, _ in parts]
    constant = all(is_constant for _, is_constant in parts)
    if kind == "neg":
        value = -values[0]
    elif kind == "bin":
        value = BINARY[tree[1]][0](*values)
    elif kind == "pow":
        if parts[1][1] and not abs(values[1]) <= MAX_EXPONENT:
            raise Refused
        value = values[0] ** values[1]
    else:
        value = {**ONE_ARGUMENT, **TWO_ARGUMENTS}[tree[1]](*values)
    if constant and not np.isfinite(value):
        raise Refused
    return value, constant


def depth(tree):
    if tree[0] in ("int", "float", "var", "const"):
        return 1
    if tree[0] == "paren":
        return depth(tree[1])
    children = [tree[1]] if tree[0] in ("neg", "pos") else tree[2:]
    return 1 + max(depth(child) for child in children) + (tree[0] == "call")  # call: Call + args


def variables_in(tree):
    if tree[0] == "var":
        return {tree[1]}
    return set().union(*(variables_in(part) for part in tree[1:] if isinstance(part, tuple)))


@settings(derandomize=True, max_examples=400, deadline=None)
@given(trees)
def test_random_formulas_compute_what_numpy_computes(tree):
    text, _ = render(tree)
    assume(len(text) <= MAX_LENGTH and depth(tree) <= MAX_DEPTH)
    with np.errstate(all="ignore"):
        try:
            expected, constant = compute(tree)
        except Refused:
            try:
                parse_expression(text, ("x", "y"))
            except ExpressionError as error:
                assert "not a finite number" in error.reason or "exponent" in error.reason
                return
            raise AssertionError(f"{text!r} should have been refused")
        expression = parse_expression(text, ("x", "y"))
        actual = expression.evaluate([X, Y])
        if constant:
            expected = 0.0 * X + expected
    np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=0, equal_nan=True)
    assert np.shape(actual) == X.shape


@settings(derandomize=True, max_examples=150, deadline=None)
@given(trees)
def test_random_formulas_give_the_same_numbers_on_tensors(tree):
    text, _ = render(tree)
    assume(len(text) <= MAX_LENGTH and depth(tree) <= MAX_DEPTH)
    try:
        expression = parse_expression(text, ("x", "y"))
    except ExpressionError:
        return
    with np.errstate(all="ignore"):
        on_arrays = expression.evaluate([X, Y])
        on_tensors = expression.evaluate([dh.tensor(X), dh.tensor(Y)], DOWNHILL_FUNCTIONS)
    assert isinstance(on_tensors, dh.Tensor)
    np.testing.assert_allclose(on_tensors.numpy(), on_arrays, rtol=1e-12, atol=0, equal_nan=True)


@settings(derandomize=True, max_examples=150, deadline=None)
@given(trees)
def test_inferred_variables_are_the_sorted_names_used(tree):
    text, _ = render(tree)
    used = variables_in(tree)
    assume(used and len(text) <= MAX_LENGTH and depth(tree) <= MAX_DEPTH)
    try:
        expression = parse_expression(text)
    except ExpressionError as error:
        assert "not a finite number" in error.reason or "exponent" in error.reason
        return
    assert expression.variables == tuple(sorted(used))
