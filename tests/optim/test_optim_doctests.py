"""Every example in the docstrings of downhill.optim runs and prints what it says."""

from __future__ import annotations

import doctest
import importlib

import pytest

# The optimizer and scheduler modules (descend and the lr tools test their own).
MODULES = [
    "downhill.optim",
    "downhill.optim.functional",
    "downhill.optim.checks",
    "downhill.optim.optimizer",
    "downhill.optim.sgd",
    "downhill.optim.adam",
    "downhill.optim.rmsprop",
    "downhill.optim.adagrad",
    "downhill.optim.registry",
    "downhill.optim.schedules",
    "downhill.optim.lr_scheduler",
    "downhill.optim.lr_scheduler.base",
    "downhill.optim.lr_scheduler.decay",
    "downhill.optim.lr_scheduler.cyclical",
    "downhill.optim.lr_scheduler.plateau",
    "downhill.optim.lr_scheduler.combine",
    "downhill.optim.lr_scheduler.registry",
]


@pytest.mark.parametrize("module_name", MODULES)
def test_docstring_examples(module_name):
    module = importlib.import_module(module_name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {module_name}"
