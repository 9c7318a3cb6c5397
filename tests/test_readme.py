"""The README's Python example runs, and its claims about the commands hold."""

import ast
import re
import shlex
from pathlib import Path

import pytest

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


def _command_lines():
    text = README.read_text(encoding="utf-8")
    block = re.search(r"## The `downhill` command\n\n```\n(.*?)```", text, re.S).group(1)
    return [line for line in block.splitlines() if line.startswith("downhill ")]


def test_the_command_block_lists_every_subcommand():
    from downhill.cli import cli

    listed = {shlex.split(line)[1] for line in _command_lines()}
    assert listed == set(cli.commands)


@pytest.mark.parametrize("line", [line for line in _command_lines()
                                  if shlex.split(line)[1] not in ("serve", "tour")])
def test_each_command_line_of_the_readme_runs_as_written(line, tmp_path, capsys, monkeypatch):
    # Every flag the README shows, the optional ones in [brackets] included (a file name goes
    # to a temporary folder); "tour" has its own tests and "serve" starts a server.
    from downhill.cli import main

    monkeypatch.chdir(tmp_path)
    words = [w for w in shlex.split(line.replace("[", " ").replace("]", " ")) if w != "..."]
    # "[--lrs ...]" names an option without its value: left out.
    words = [w for i, w in enumerate(words)
             if not (w == "--lrs" and i + 1 < len(words) and words[i + 1].startswith("--"))]
    for flags in (words[1:], [w for w in words[1:] if w != "--json"] if "--json" in words else None):
        if flags is None:
            continue
        try:
            main(flags)
            code = 0
        except SystemExit as done:
            code = done.code
        out, err = capsys.readouterr()
        assert code in (0, None), (flags, err)
        assert out.strip(), flags
    for name in re.findall(r"(\S+\.(?:png|gif))", line):
        assert (tmp_path / name).stat().st_size > 10_000, name
