"""The error policy, kept: users' mistakes raise the family in ``downhill.errors``.

A front end (the command, the playground) treats exactly the
:class:`~downhill.errors.DownhillError` family as the user's mistake (one line,
exit status 2 / a 4xx answer) and anything else as a bug (a traceback). So a
plain ``raise ValueError(...)`` in the library would either hide a user's
mistake behind a traceback or, if a front end caught ``ValueError``, hide a bug
behind "bad input". The walk below finds every built-in ``ValueError``,
``TypeError``, ``KeyError`` or ``IndexError`` that ``src/downhill`` makes (raised,
returned to be raised, or subclassed) and fails on any outside the allow-list.
"""

from __future__ import annotations

import ast
import pathlib

import pytest

import downhill
from downhill import errors

SOURCE = pathlib.Path(downhill.__file__).parent
BUILTINS = {"ValueError", "TypeError", "KeyError", "IndexError"}

# (file under src/downhill, the enclosing function or class, the built-in) -> why it stays.
# Each of these is either a protocol another library defines (json's hooks) or
# a bug when it happens, never a user's mistake.
ALLOWED = {
    # json.dumps(default=...) must raise TypeError for a value it cannot send; a
    # handler returning such a value is a bug in downhill: it shows a traceback.
    # json.loads(parse_constant=...) hook: caught a few lines below in read_json
    # and answered as a 400 (RequestError); it never leaves the module.
    ("web/app.py", "_reject_constant", "ValueError"): "json's parse_constant hook, caught at once",
    # The same hook for a checkpoint's header: caught and turned into CheckpointError.
    ("checkpoint.py", "_no_constants", "ValueError"): "json's parse_constant hook, caught at once",
    # jsonable() is what the command's --json and the web API call on library
    # results: a value it cannot convert is a bug in some result's to_dict, and
    # must show its traceback instead of reading as "bad input".
    ("results.py", "_convert", "TypeError"): "a result that cannot become JSON is a bug",
    ("results.py", "_listed", "TypeError"): "json.dumps's default= hook must raise TypeError; only a bug reaches it",
    # An internal signal: descend catches it and takes the NumPy path.
    ("optim/fused_landscape.py", "NotFusable", "ValueError"): "internal signal, caught by descend",
}


def _findings(root=SOURCE):
    """(path, enclosing name, built-in, line) for every built-in error the library makes."""
    found = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=rel)

        def visit(node, where):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                where = node.name
            if isinstance(node, ast.ClassDef):
                for base in node.bases:  # errors.py is where the family derives from them
                    if isinstance(base, ast.Name) and base.id in BUILTINS and rel != "errors.py":
                        found.append((rel, node.name, base.id, node.lineno))
                where = node.name
            made = None
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Name):
                made = node.exc.id  # raise ValueError
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                made = node.func.id  # ValueError(...), raised or returned to a raise
            if made in BUILTINS:
                found.append((rel, where, made, node.lineno))
            for child in ast.iter_child_nodes(node):
                visit(child, where)

        visit(tree, "<module>")
    return found


def test_users_mistakes_raise_the_family_not_bare_builtins():
    unexplained = [f"{rel}:{line} in {where}: {made}" for rel, where, made, line in _findings()
                   if (rel, where, made) not in ALLOWED]
    assert not unexplained, (
        "raise the family from downhill.errors for a user's mistake (InputError for a ValueError, "
        "InputTypeError, InputKeyError, InputIndexError, InputAxisError), or an assert/RuntimeError "
        "for a bug; add to ALLOWED only with a reason:\n" + "\n".join(unexplained))


def test_the_allow_list_holds_no_stale_entries():
    present = {(rel, where, made) for rel, where, made, _ in _findings()}
    assert set(ALLOWED) <= present, f"remove these from ALLOWED: {sorted(set(ALLOWED) - present)}"


def test_the_walk_finds_what_it_must(tmp_path):
    # The checker itself: a planted bare raise of each kind (and a returned one,
    # and a subclass) is found, so the test above cannot pass by seeing nothing.
    planted = tmp_path / "planted.py"
    planted.write_text("def f(x):\n    raise ValueError('no')\n"
                       "def g():\n    return TypeError('no')\n"
                       "def h():\n    raise KeyError\n"
                       "class Mine(IndexError):\n    pass\n")
    found = {(where, made) for _, where, made, _ in _findings(tmp_path)}
    assert found == {("f", "ValueError"), ("g", "TypeError"), ("h", "KeyError"), ("Mine", "IndexError")}


@pytest.mark.parametrize("member, builtin", [
    (errors.InputError, ValueError), (errors.InputTypeError, TypeError), (errors.InputKeyError, KeyError),
    (errors.InputIndexError, IndexError), (errors.InputAxisError, ValueError),
    (errors.InputAxisError, IndexError), (errors.UnknownNameError, ValueError), (errors.LimitError, ValueError),
])
def test_each_member_is_the_builtin_users_catch(member, builtin):
    assert issubclass(member, errors.DownhillError) and issubclass(member, builtin)
    with pytest.raises(builtin, match="what was wrong"):
        raise member("what was wrong; what is accepted")
