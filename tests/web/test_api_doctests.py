"""Every example in the docstrings of downhill.web runs and prints what it says."""

from __future__ import annotations

import doctest
import importlib
import warnings

import pytest

MODULES = ["downhill.web", "downhill.web.limits", "downhill.web.api", "downhill.web.app", "downhill.web.server"]


@pytest.mark.parametrize("module_name", MODULES)
def test_docstring_examples(module_name):
    module = importlib.import_module(module_name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # starlette asks for httpx2 on import of its TestClient
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"no examples in {module_name}"
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {module_name}"
