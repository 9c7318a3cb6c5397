"""Settings for the whole test suite, and what every test may use: the ``oracle``
fixture (PyTorch's answers, recorded or live)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import oracle as _oracle  # tests/oracle: tests/ is on sys.path for its conftest

# Many-climber runs take descend's NumPy path unless a test asks for the fused
# kernel (tests/optim/test_fused.py compares the two): kernels compiled by an
# earlier run and cached in the user's directory must not change which path
# the other tests see, since the two may differ in the last bit on exp, sin, ...
os.environ.setdefault("DOWNHILL_FUSED", "0")


@pytest.fixture(params=["recorded", pytest.param("live", marks=pytest.mark.oracle)])
def oracle(request):
    """``oracle(case_id, compute)``: PyTorch's value, from the files or from ``compute()``.

    ``compute`` imports torch inside itself; it runs only in the ``[live]``
    copy of the test (``pytest -m oracle``). See tests/oracle/__init__.py.
    """
    module = Path(str(request.module.__file__)).stem
    mode = request.param

    def ask(case_id: str, compute):
        return _oracle.answer(module, case_id, compute, mode)

    ask.mode = mode
    # A stable id for this test case: its name and parameters, without the mode.
    name = request.node.name
    if "[" in name:
        base, ids = name[:-1].split("[", 1)
        rest = [part for part in ids.split("-") if part != mode]
        name = f"{base}[{'-'.join(rest)}]" if rest else base
    ask.case = name
    return ask


def pytest_sessionfinish(session, exitstatus):
    # A recording run (python -m tests.oracle.record) writes what it saw,
    # whatever the comparisons with downhill said.
    if os.environ.get(_oracle.RECORD_ENV):
        for module, cases in sorted(_oracle.recorded.items()):
            path = _oracle.write(module, cases)
            print(f"\nrecorded {len(cases)} PyTorch values into {path}")
