"""Every docstring example in the data, datasets, checkpoint, training, LR range and bridge modules runs."""

from __future__ import annotations

import doctest
import importlib

import numpy as np
import pytest

MODULES = [
    "downhill.data",
    "downhill.datasets",
    "downhill.datasets.synthetic",
    "downhill.datasets.split",
    "downhill.datasets.digits",
    "downhill.checkpoint",
    "downhill.nn.training",
    "downhill.nn.callbacks",
    "downhill.nn.lr_range",
    # Its examples convert to PyTorch: a live oracle test (`pytest -m oracle`),
    # since the default run never imports torch.
    pytest.param("downhill.nn.bridge", marks=pytest.mark.oracle),
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0
