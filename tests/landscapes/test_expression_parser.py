"""What the formula reader accepts, how it reads it, and how it reports mistakes."""

import ast
import math
from pathlib import Path

import numpy as np
import pytest

import downhill.landscapes as landscapes
from downhill.landscapes import Expression, ExpressionError, parse_expression
from downhill.landscapes.expression import MAX_DEPTH, MAX_EXPONENT, MAX_LENGTH, MAX_NODES
from downhill.landscapes.namespaces import (
    CONSTANTS,
    DOWNHILL_FUNCTIONS,
    FUNCTIONS,
    NUMPY_FUNCTIONS,
    OPERATORS,
)

X = np.array([-2.5, -1.0, -0.25, 0.0, 0.5, 1.0, 3.0])
Y = np.array([1.5, -2.0, 0.75, 2.0, -0.5, 4.0, 0.25])


def evaluate(text, variables=None):
    expression = parse_expression(text, variables)
    values = {"x": X, "y": Y, "z": X * Y}
    with np.errstate(all="ignore"):
        return expression.evaluate([values[name] for name in expression.variables])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("-x**2", -(X**2)),
        ("-x^2", -(X**2)),
        ("2^3^2 + 0*x", 512.0 + 0 * X),
        ("2**-1*x", 0.5 * X),
        ("y**-2", Y**-2.0),
        ("(-x)**2", X**2),
        ("x - y - 1", (X - Y) - 1),
        ("x / y / 2", (X / Y) / 2),
        ("x*-y", X * -Y),
        ("+x - -y", X + Y),
        ("x + y*z", X + Y * (X * Y)),
        ("(x + y)*z", (X + Y) * (X * Y)),
        ("2*pi*x", 2 * math.pi * X),
        ("π*x", math.pi * X),
        ("e**x", np.exp(1.0) ** X),
        ("abs(x)**y", np.abs(X) ** Y),
        ("2**x", 2.0**X),
        ("1_000*x", 1000 * X),
        ("1.5e-3*x", 0.0015 * X),
        ("\n  x +\ty  ", X + Y),
        ("(x +\n y)", X + Y),
    ],
)
def test_operators_follow_python_precedence(text, expected):
    np.testing.assert_array_equal(evaluate(text), expected)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_each_function_is_the_numpy_function_of_that_name(name):
    target, arity = FUNCTIONS[name]
    with np.errstate(all="ignore"):
        if arity == 1:
            got = evaluate(f"{name}(x)")
            reference = {
                "abs": np.abs,
                "sigmoid": lambda v: 1 / (1 + np.exp(-v)),
                "relu": lambda v: np.maximum(v, 0),
                "softplus": lambda v: np.log1p(np.exp(v)),
                "erf": np.vectorize(math.erf),  # NumPy has no erf
                "erfc": np.vectorize(math.erfc),
            }.get(target) or getattr(np, target)
            expected = reference(X)
        else:
            got = evaluate(f"{name}(x, y)")
            expected = getattr(np, target)(X, Y)
    np.testing.assert_allclose(got, expected, rtol=1e-15, atol=1e-300, equal_nan=True)


def test_atan_is_arctan():
    np.testing.assert_array_equal(evaluate("atan(x)"), evaluate("arctan(x)"))


def test_constants():
    assert CONSTANTS["pi"] == math.pi and CONSTANTS["e"] == math.e


def test_both_namespaces_define_every_operation():
    needed = set(OPERATORS) | {target for target, _ in FUNCTIONS.values()}
    assert set(NUMPY_FUNCTIONS) == needed
    assert set(DOWNHILL_FUNCTIONS) == needed


def test_variables_are_inferred_sorted_or_named():
    assert parse_expression("y + x").variables == ("x", "y")
    assert parse_expression("z").variables == ("z",)
    expression = parse_expression("x - t", variables=["t", "x"])
    assert expression.variables == ("t", "x")
    assert float(expression(1.0, 5.0)) == 4.0


def test_named_variables_need_not_all_appear():
    expression = parse_expression("x**2", variables=("x", "y"))
    np.testing.assert_array_equal(expression.evaluate([X, Y]), X**2)


@pytest.mark.parametrize(
    ("variables", "error", "message"),
    [
        ("xy", TypeError, "sequence of names"),
        (("sin",), ValueError, "'sin' is a function"),
        (("pi",), ValueError, "'pi' is a constant"),
        (("x", "x"), ValueError, "different"),
        (("_x",), ValueError, "plain name"),
        (("x y",), ValueError, "plain name"),
        (("lambda",), ValueError, "plain name"),
        ((1,), ValueError, "plain name"),
    ],
)
def test_bad_variable_names(variables, error, message):
    with pytest.raises(error, match=message):
        parse_expression("x", variables)


def test_a_name_that_is_not_a_named_variable_is_unknown():
    with pytest.raises(ExpressionError, match="unknown name 'y'"):
        parse_expression("x + y", variables=("x",))


def test_formula_must_be_text():
    with pytest.raises(TypeError, match="must be text"):
        parse_expression(42)


def test_evaluate_needs_one_value_per_variable():
    expression = parse_expression("x + y")
    with pytest.raises(ValueError, match="2 variable"):
        expression.evaluate([X])
    assert repr(expression) == "Expression('x + y', variables=('x', 'y'))"
    assert isinstance(expression, Expression)


def test_error_points_at_the_offending_part():
    with pytest.raises(ExpressionError) as caught:
        parse_expression("x + y.real")
    error = caught.value
    assert (error.start, error.end) == (4, 10)
    reason, shown, carets, hint = str(error).split("\n")
    assert reason == "a formula cannot use attribute access (a '.' after a name)"
    assert shown == "    x + y.real"
    assert carets == "        ^^^^^^"
    assert hint.startswith("A formula may use numbers")


def test_caret_positions_refer_to_the_text_as_typed():
    # ^ becomes ** before parsing; the caret must still sit under what was typed.
    with pytest.raises(ExpressionError) as caught:
        parse_expression("x^2 + foo")
    assert (caught.value.start, caught.value.end) == (6, 9)
    assert str(caught.value).split("\n")[2] == "          ^^^"


def test_operator_errors_point_at_the_operator():
    with pytest.raises(ExpressionError) as caught:
        parse_expression("x  //  2")
    assert caught.value.start == 3 and "'//'" in caught.value.reason


def test_long_text_is_shown_around_the_error():
    text = "x*1" + "0" * 200 + " + y.real + 1" + "0" * 200
    with pytest.raises(ExpressionError) as caught:
        parse_expression(text)
    _, shown, carets, _ = str(caught.value).split("\n")
    assert shown.startswith("    ...") and shown.endswith("...")
    assert len(shown) < 90
    assert shown[carets.index("^"):].startswith("y.real")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sine(x)", "did you mean 'sin'"),
        ("sin", "'sin' is a function: call it"),
        ("x(2)", "'x' is not a function"),
        ("2(x)", "to multiply, write a star, as in 2*(x)"),
        ("(x + 1)(y)", "only a function such as sin can be followed by ( )"),
        ("sin(x, y)", "sin takes 1 argument, got 2"),
        ("maximum(x)", "maximum takes 2 arguments, got 1"),
        ("2x", "write 2*x"),
        ("x²", "x**2 or x^2"),
        ("sin(x", "'(' was never closed"),
        ("x +", "could not read the formula"),
        ("sqr(x)", "did you mean 'sqrt'"),
        ("pii*x", "unknown name 'pii'; did you mean 'pi'"),
        ("__class__", "names starting with '_' are never allowed"),
        ("1/0 + x", "not a finite number"),
        ("log(0)*x", "-inf (not a finite number)"),
        ("x**(50 + 51)", "exponent 101 is too large"),
        ("x**-101", "exponent -101 is too large"),
        ("1e999*x", "too large for a float"),
    ],
)
def test_messages_say_what_was_wrong(text, message):
    with pytest.raises(ExpressionError, match=None) as caught:
        parse_expression(text)
    assert message in str(caught.value)


def test_exponent_bound_is_inclusive():
    assert parse_expression(f"x**{MAX_EXPONENT}") and parse_expression(f"x**-{MAX_EXPONENT}")
    assert float(parse_expression("2**100*x")(1.0)) == 2.0**100


def test_length_bound_is_inclusive():
    text = "x + 1" + " " * (MAX_LENGTH - 5)
    assert len(text) == MAX_LENGTH and parse_expression(text)
    with pytest.raises(ExpressionError, match=f"{MAX_LENGTH + 1:,} characters long"):
        parse_expression(text + " ")


def test_bracket_depth_bound_is_inclusive():
    assert parse_expression("(" * MAX_DEPTH + "x" + ")" * MAX_DEPTH)
    with pytest.raises(ExpressionError, match="brackets are nested more than"):
        parse_expression("(" * (MAX_DEPTH + 1) + "x" + ")" * (MAX_DEPTH + 1))


def test_operation_depth_bound_is_inclusive():
    assert float(parse_expression("-" * (MAX_DEPTH - 1) + "x")(1.0)) == -1.0
    with pytest.raises(ExpressionError, match="operations are nested more than"):
        parse_expression("-" * MAX_DEPTH + "x")


def test_node_count_bound():
    group = "(" + "+".join(["x"] * 10) + ")"
    text = "+".join([group] * 27)
    assert len(text) <= MAX_LENGTH
    with pytest.raises(ExpressionError, match=f"more than {MAX_NODES} parts"):
        parse_expression(text)
    assert parse_expression("+".join([group] * 20))


def test_the_package_never_evaluates_text_with_python():
    # No call to eval, exec, compile or __import__ anywhere in the package.
    package = Path(landscapes.__file__).parent
    for path in package.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in {"eval", "exec", "compile", "__import__"}, path
