"""The README's Python example runs, and its claims about the commands hold."""

import ast
import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_five_ideas_example_runs_and_gives_what_its_comments_say(capsys):
    text = README.read_text(encoding="utf-8")
    code = re.search(r"## The five ideas, in code\n\n```python\n(.*?)```", text, re.S).group(1)
    scope = {}
    exec(compile(code, "README.md", "exec"), scope)  # our own README, not user input
    assert scope["trajectory"].status == "converged"
    assert abs(scope["trajectory"].final_point - 1).max() < 1e-6
    assert (scope["many"].status != "diverged").all()
    out = capsys.readouterr().out
    assert "2/L = 0.000955909" in out
    assert "too small" in out and "too big" in out


def _claim(comment: str) -> str:
    """What a ``# ...`` comment says the line prints: its text up to the first ',' or ':' outside brackets."""
    depth = 0
    for i, char in enumerate(comment):
        depth += char in "([{"
        depth -= char in ")]}"
        if depth == 0 and char in ",:" and comment[i + 1:i + 2] in (" ", ""):
            return comment[:i]
    return comment


def test_every_value_the_five_ideas_example_claims_is_what_python_shows():
    # A line "EXPRESSION   # VALUE, words" promises that Python shows VALUE for EXPRESSION
    # (a "..." at its end stands for more digits). Run the block statement by statement
    # and hold each such line to its comment.
    text = README.read_text(encoding="utf-8")
    code = re.search(r"## The five ideas, in code\n\n```python\n(.*?)```", text, re.S).group(1)
    lines = code.splitlines()
    scope = {}
    claims = []
    for statement in ast.parse(code).body:
        comment = lines[statement.end_lineno - 1].partition("  # ")[2].strip()
        shows_a_value = isinstance(statement, ast.Expr) and re.match(r"[-0-9(\[]|array\(|tensor\(", comment)
        if not shows_a_value:
            exec(compile(ast.Module([statement], []), "README.md", "exec"), scope)  # our own README
            continue
        shown = repr(eval(compile(ast.Expression(statement.value), "README.md", "eval"), scope))
        claim = _claim(comment)
        claims.append(claim)
        if claim.endswith("..."):
            assert shown.startswith(claim[:-3]), (ast.unparse(statement), shown, claim)
        else:
            assert shown == claim, (ast.unparse(statement), shown, claim)
    assert len(claims) == 5, claims


def test_quick_start_has_exactly_the_two_commands_and_ci_runs_the_second():
    text = README.read_text(encoding="utf-8")
    quick = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```bash\n(.*?)\n```", quick, re.S)
    assert commands == ['python3 -m pip install . && downhill tour',
                        'python3 -m pip install -e ".[test]" && python3 -m pytest -q']
    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
    assert commands[1].replace("pip install -e", "pip install -q -e") in ci
