"""Record PyTorch's answers for the tests: ``python -m tests.oracle.record [names...]``.

Run from the repository root with PyTorch 2.13.0 installed (the ``oracle``
extra: ``pip install -e ".[oracle]"``). Each name is a test module
(``test_optim_lr_scheduler``) or a path to one; with no name every test file
is run. The command runs the ``[live]`` copies of the tests (``pytest -m
oracle``) with recording switched on, so each ``oracle(case_id, compute)``
call stores PyTorch's value under ``tests/oracle/data/<module>.npz`` (keys of
other cases already in the file are kept; delete the file first to drop ids
that no longer exist).

Re-record when:
- a test adds or changes a comparison (a new case id, other arguments for an
  existing one): the ``[recorded]`` test then fails, naming this command;
- the pinned PyTorch version changes (here and in pyproject's extras).

Then look at ``git diff --stat tests/oracle/data`` (only the modules you
meant should change) and commit the files with the tests.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent
ROOT = TESTS.parent
TORCH_VERSION = "2.13.0"


def test_file(name: str) -> Path:
    """The test file a name means: a path, or a module stem found under tests/."""
    path = Path(name)
    if path.suffix == ".py" and path.exists():
        return path.resolve()
    stem = path.stem if path.suffix == ".py" else name
    found = sorted(TESTS.rglob(f"{stem}.py"))
    if len(found) != 1:
        raise SystemExit(f"record: {name!r} names {len(found)} test files under {TESTS}; give a test module or its path")
    return found[0]


def main(argv: list[str] | None = None) -> int:
    names = sys.argv[1:] if argv is None else argv
    try:
        import torch
    except ImportError:
        raise SystemExit(f'record: needs PyTorch {TORCH_VERSION}: pip install -e ".[oracle]"') from None
    if torch.__version__.split("+")[0] != TORCH_VERSION:
        raise SystemExit(f"record: needs PyTorch {TORCH_VERSION}, found {torch.__version__}")
    targets = [str(test_file(name)) for name in names] or [str(TESTS)]
    env = {**os.environ, "DOWNHILL_ORACLE_RECORD": "1"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "pytest", "-q", "-m", "oracle", "-p", "no:cacheprovider", *targets]
    print(" ".join(command))
    return subprocess.call(command, cwd=ROOT, env=env)


if __name__ == "__main__":
    raise SystemExit(main())
