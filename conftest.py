"""Settings for every test run in this repository, the docstring examples under
src/ included (tests/conftest.py has the rest).

The default run never imports torch; the docstring examples of the modules that
convert to and from PyTorch therefore run as live oracle tests (``pytest -m
oracle``, after installing the ``oracle`` extra), like tests/nn/test_bridge.py.
"""

from __future__ import annotations

import pytest

# Modules whose docstring examples import torch.
NEEDS_TORCH = ("downhill.nn.bridge",)


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(items):
    for item in items:
        if type(item).__name__ != "DoctestItem":
            continue
        if any(item.name == module or item.name.startswith(module + ".") for module in NEEDS_TORCH):
            item.add_marker(pytest.mark.oracle)
