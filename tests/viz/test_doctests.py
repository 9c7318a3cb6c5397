"""Every example in the docstrings of the pictures (and their two library computations) runs."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "downhill.viz",
    "downhill.viz.style",
    "downhill.viz.inputs",
    "downhill.viz.terrain",
    "downhill.viz.layout",
    "downhill.viz.tangent",
    "downhill.viz.maps",
    "downhill.viz.learning_rate",
    "downhill.viz.chain",
    "downhill.viz.curves",
    "downhill.viz.animation",
    "downhill.viz.basin_map",
    "downhill.optim.basins",
    "downhill.autodiff.graph",
]


@pytest.mark.parametrize("module_name", MODULES)
def test_docstring_examples(module_name):
    module = importlib.import_module(module_name)
    import downhill
    import downhill.viz  # noqa: F401  (the examples call dh.viz.*)

    globs = {"dh": downhill, "np": importlib.import_module("numpy")}
    result = doctest.testmod(module, extraglobs=globs,
                             optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {module_name}"
