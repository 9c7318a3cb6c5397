"""Hostile formulas: each is refused quickly, with a clear message, running nothing.

"Running nothing" is checked with a Python audit hook: while a formula is being
read, the only audited event allowed is the one ``compile`` that ``ast.parse``
itself makes; code execution (``exec``), imports, opening files, starting
processes... would all show up as other events.
"""

import string
import sys
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from downhill.landscapes import ExpressionError, parse_expression

_EVENTS = []
_RECORDING = [False]


def _audit(event, args):
    if _RECORDING[0]:
        _EVENTS.append(event)


# An audit hook cannot be removed; it records only inside read_recording().
sys.addaudithook(_audit)


def read_recording(text):
    """parse_expression(text), returning (result or error, seconds, audited events)."""
    _EVENTS.clear()
    _RECORDING[0] = True
    start = time.perf_counter()
    try:
        outcome = parse_expression(text)
    except ExpressionError as error:
        outcome = error
    finally:
        seconds = time.perf_counter() - start
        _RECORDING[0] = False
    return outcome, seconds, list(_EVENTS)


HOSTILE = [
    ("x.__class__", "attribute access"),
    ("x.__class__.__mro__[1].__subclasses__()", "attribute access"),
    ("().__class__", "attribute access"),
    ("__import__('os')", "'__import__' is not an allowed function"),
    ("__import__('os').system('echo hacked')", "attribute access"),
    ("__builtins__", "names starting with '_' are never allowed"),
    ("__class__", "names starting with '_' are never allowed"),
    ("open('f')", "'open' is not an allowed function"),
    ("eval('1')", "'eval' is not an allowed function"),
    ("exec('x = 1')", "'exec' is not an allowed function"),
    ("compile('1', 'f', 'eval')", "'compile' is not an allowed function"),
    ("getattr(x, 'real')", "'getattr' is not an allowed function"),
    ("globals()", "'globals' is not an allowed function"),
    ("breakpoint()", "'breakpoint' is not an allowed function"),
    ("sin(x)(y)", "only a function such as sin can be followed by ( )"),
    ("sin(x)(__import__)", "only a function such as sin can be followed by ( )"),
    ("lambda: 1", "lambda"),
    ("(lambda x: x)(1)", "lambda"),
    ("[x for x in (1, 2)]", "comprehensions"),
    ("{x: 1 for x in (1,)}", "comprehensions"),
    ("sum(x for x in (1, 2))", "'sum' is not an allowed function"),
    ("x[0]", "indexing"),
    ("x[::-1]", "indexing"),
    ("sin(x=1)", "keyword arguments"),
    ("sin(**{'x': 1})", "keyword arguments"),
    ("sin(*x)", "starred arguments"),
    ("'text'", "text in quotes"),
    ("b'bytes'", "bytes"),
    ("f'{x}'", "f-strings"),
    ("f'{__import__(\"os\")}'", "f-strings"),
    ("(x := 1)", "assignment with ':='"),
    ("x < 1", "comparisons"),
    ("x == y", "comparisons"),
    ("x and y", "'and' / 'or'"),
    ("not x", "'not'"),
    ("x if y else 1", "'if ... else ...'"),
    ("(x, y)", "a tuple"),
    ("[x]", "lists"),
    ("{x}", "sets"),
    ("{}", "dictionaries"),
    ("...", "the value Ellipsis"),
    ("None", "the value None"),
    ("True * x", "the value True"),
    ("1j * x", "complex numbers"),
    ("x // 2", "'//'"),
    ("x @ y", "'@'"),
    ("x << 2", "'<<'"),
    ("~x", "'~'"),
    ("yield x", "could not read the formula"),
    ("import os", "could not read the formula"),
    ("x = 1", "could not read the formula"),
    ("x; y", "could not read the formula"),
    ("9**9**9**9", "exponent 387420489 is too large"),
    ("2**2**2**2**2**2", "exponent 65536 is too large"),
    ("x**9**9**9", "exponent 387420489 is too large"),
    ("x**1e308", "is too large: a constant exponent"),
    ("10**100000", "exponent 100000 is too large"),
    ("x**(10**100000)", "exponent 100000 is too large"),
    ("1" + "0" * 500 + " * x", "too large for a float"),
    ("1e308 * 1e308 * x", "not a finite number"),
    ("exp(exp(exp(10))) * x", "not a finite number"),
    ("(" * 10_000 + "x" + ")" * 10_000, "at most 1,000 are allowed"),
    ("(" * 499 + "x" + ")" * 499, "brackets are nested more than 100 deep"),
    ("[" * 499 + "x" + "]" * 499, "brackets are nested more than 100 deep"),
    ("-" * 999 + "x", "operations are nested more than 100 deep"),
    ("x" + "**x" * 300, "operations are nested more than 100 deep"),
    ("sin(" * 150 + "x" + ")" * 150, "brackets are nested more than 100 deep"),
    ("x" * (1 << 20), "at most 1,000 are allowed"),
    ("x + " * 300_000 + "x", "at most 1,000 are allowed"),
    ("os", "unknown name 'os'"),
    ("sys.modules", "attribute access"),
    ("t + 1", "unknown name 't'"),
    ("", "the formula is empty"),
    ("   \n\t ", "the formula is empty"),
    ("x\x00", "U+0000 cannot appear"),
    ("x\x1b[2J", "U+001B cannot appear"),
]


@pytest.mark.parametrize(("text", "message"), HOSTILE, ids=[repr(t)[:40] for t, _ in HOSTILE])
def test_hostile_input_is_refused_quickly_with_a_clear_message(text, message):
    outcome, seconds, events = read_recording(text)
    assert isinstance(outcome, ExpressionError), f"{text[:60]!r} was accepted"
    assert message in str(outcome)
    # A guard against hangs, with a generous margin: each takes about a millisecond.
    assert seconds < 1.0
    assert set(events) <= {"compile"} and events.count("compile") <= 1, events


def test_refusals_are_value_errors():
    assert issubclass(ExpressionError, ValueError)


def test_the_audit_hook_would_see_execution():
    # Proof that the check above can fail: running code is visible to the hook.
    _EVENTS.clear()
    _RECORDING[0] = True
    try:
        exec("1 + 1")
    finally:
        _RECORDING[0] = False
    assert "exec" in _EVENTS


# Random text, and random soup of Python's own tokens: the reader either accepts
# it or raises ExpressionError, never anything else, and never runs anything.
TOKENS = [
    "x", "y", "z", "t", "pi", "e", "1", "2.5", "1e3", "0x1F", "9", "(", ")", "[", "]", "{", "}",
    ",", ":", ".", "+", "-", "*", "/", "**", "^", "%", "//", "@", "<", "==", "=", ":=", "!", "~",
    "&", "|", "'a'", '"', "#", "\\", "lambda", "if", "else", "for", "in", "not", "and", "or",
    "sin", "exp", "maximum", "__import__", "__class__", "open", " ", "\n",
]


def _assert_safe_outcome(text):
    outcome, seconds, events = read_recording(text)
    assert isinstance(outcome, ExpressionError) or outcome.variables is not None
    assert seconds < 1.0
    assert set(events) <= {"compile"}, events


@settings(derandomize=True, max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(TOKENS), max_size=40).map("".join))
def test_token_soup_is_read_or_refused(text):
    _assert_safe_outcome(text)


@settings(derandomize=True, max_examples=200, deadline=None)
@given(st.text(st.characters(codec="utf-8") | st.sampled_from(string.printable), max_size=60))
def test_random_text_is_read_or_refused(text):
    _assert_safe_outcome(text)
