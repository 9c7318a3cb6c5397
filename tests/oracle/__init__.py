"""PyTorch's answers, recorded once, so the default tests never import torch.

A test that compares downhill with PyTorch asks the ``oracle`` fixture (see
``tests/conftest.py``) for PyTorch's side of the comparison::

    def test_step_lr_matches_torch(oracle):
        theirs = oracle("step_lr", lambda: torch_sequence("StepLR", 100))
        np.testing.assert_array_equal(ours, theirs)

The fixture runs every such test twice:

- ``[recorded]`` (the default run): the value comes from
  ``tests/oracle/data/<test module>.npz``; ``compute`` is never called, so
  torch is never imported (``compute`` imports it inside the function).
- ``[live]`` (marked ``oracle``, run with ``pytest -m oracle`` after installing
  the ``oracle`` extra): ``compute()`` runs PyTorch now, so the same assertion
  is checked against the live library.

``python -m tests.oracle.record`` runs the live half with recording switched
on and writes the files (see its docstring for when to re-record).

The files are plain ``.npz`` archives read with ``allow_pickle=False``: a
number or an array of numbers is stored as an array (its dtype kept, so
bit-exact comparisons stay bit-exact); anything else JSON can say (a dict, a
list of strings, a bool) is stored as JSON text, its key listed under
``__json__``.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import Any, Callable

import numpy as np

DATA = Path(__file__).resolve().parent / "data"
RECORD_ENV = "DOWNHILL_ORACLE_RECORD"
TORCH_VERSION = "2.13.0"
_JSON_KEYS = "__json__"

# Test files that take PyTorch's answers from the files only: their default
# run must work with torch absent (tests/oracle/test_oracle.py checks it).
CONVERTED = (
    "optim/test_optim_lr_scheduler.py",
    "optim/test_optim_schedules.py",
    "optim/test_descend.py",
    "optim/test_lr_tools.py",
    "optim/test_optim_convergence.py",
    "nn/test_against_torch.py",
    "nn/test_loss.py",
    "nn/test_layers.py",
    "nn/test_functional.py",
    "nn/test_init.py",
    "nn/test_module.py",
    "nn/test_hooks.py",
    "test_explain.py",
    # issue 13, outside tests/autodiff:
    "optim/test_optim_classes.py",
    "optim/test_optim_functional.py",
    "optim/test_optim_registry.py",
    "landscapes/test_landscape_type.py",
    "nn/test_recipes.py",
    "nn/test_training_step.py",
    "nn/test_pytorch_loop.py",
    "nn/test_bridge.py",
    "nn/test_data_doctests.py",
    # autodiff (the op table's rows name torch's functions through oracle.lazy)
    "autodiff/test_backward.py",
    "autodiff/test_conventions.py",
    "autodiff/test_more_functions.py",
    "autodiff/test_ops_table.py",
    "autodiff/test_properties.py",
    "autodiff/test_tensor.py",
    "autodiff/test_transforms.py",
    "autodiff/test_silent_failures.py",
    "autodiff/test_torch_habits.py",
)

_cache: dict[str, dict[str, Any]] = {}
# What a recording run has collected: module -> {case id: value}.
recorded: dict[str, dict[str, Any]] = {}


class MissingReference(LookupError):
    """A recorded PyTorch value that is not in the files."""


def record_command(module: str) -> str:
    return f"python -m tests.oracle.record {module}"


def path_for(module: str) -> Path:
    return DATA / f"{module}.npz"


def load(module: str) -> dict[str, Any]:
    """Every recorded value of one test module (empty when it has no file)."""
    if module not in _cache:
        path = path_for(module)
        values: dict[str, Any] = {}
        if path.exists():
            with np.load(path, allow_pickle=False) as archive:
                json_keys = set(json.loads(str(archive[_JSON_KEYS]))) if _JSON_KEYS in archive.files else set()
                for key in archive.files:
                    if key == _JSON_KEYS:
                        continue
                    array = archive[key]
                    values[key] = json.loads(str(array)) if key in json_keys else array
        _cache[module] = values
    return _cache[module]


def reference(module: str, case_id: str) -> Any:
    """PyTorch's recorded answer for ``case_id`` of test module ``module``.

    A value that is missing is an error naming the command that records it:
    a comparison whose reference is gone must fail, never pass or skip.
    """
    values = load(module)
    if case_id not in values:
        raise MissingReference(
            f"no recorded PyTorch value {case_id!r} for {module} (in {path_for(module)}); "
            f"record it with PyTorch {TORCH_VERSION} installed: {record_command(module)}"
        )
    return values[case_id]


def _storable(value: Any) -> tuple[Any, bool]:
    """(what to store, whether it is JSON); numbers become arrays."""
    if hasattr(value, "detach"):  # a torch tensor: its numbers, never the object
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray) and value.dtype.kind in "biufc":
        return np.array(value), False
    if isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
        return np.asarray(value), False
    try:
        array = np.asarray(value)
    except (ValueError, TypeError):
        array = None
    if array is not None and array.dtype.kind in "iuf" and array.size and not _has_bool(value):
        return array, False
    return json.dumps(value, sort_keys=True, allow_nan=True), True


def _has_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return True
    if isinstance(value, (list, tuple)):
        return any(_has_bool(v) for v in value)
    return False


def collect(module: str, case_id: str, value: Any) -> Any:
    """Keep ``value`` for the recording run; return what a reader would get back."""
    stored, is_json = _storable(value)
    cases = recorded.setdefault(module, {})
    if case_id in cases:  # two comparisons sharing one id must agree
        previous, _ = cases[case_id]
        same = previous == stored if is_json else np.array_equal(previous, stored, equal_nan=True)
        if not same:
            raise ValueError(f"case id {case_id!r} of {module} recorded twice with different values")
    cases[case_id] = (stored, is_json)
    return json.loads(stored) if is_json else stored


def write(module: str, cases: dict[str, tuple[Any, bool]], *, merge: bool = True) -> Path:
    """Write one module's file (temporary name, then renamed); old keys kept when ``merge``."""
    DATA.mkdir(parents=True, exist_ok=True)
    path = path_for(module)
    arrays: dict[str, np.ndarray] = {}
    json_keys: list[str] = []
    if merge and path.exists():
        _cache.pop(module, None)
        for key, value in load(module).items():
            if isinstance(value, np.ndarray):
                arrays[key] = value
            else:
                arrays[key] = np.array(json.dumps(value, sort_keys=True))
                json_keys.append(key)
    for key, (stored, is_json) in cases.items():
        arrays[key] = np.array(stored) if is_json else stored
        if is_json and key not in json_keys:
            json_keys.append(key)
        elif not is_json and key in json_keys:
            json_keys.remove(key)
    arrays[_JSON_KEYS] = np.array(json.dumps(sorted(json_keys)))
    temporary = path.with_suffix(".npz.tmp")
    with open(temporary, "wb") as handle:
        np.savez_compressed(handle, **dict(sorted(arrays.items())))
    with zipfile.ZipFile(temporary) as check:  # readable before it replaces the old file
        check.testzip()
    os.replace(temporary, path)
    _cache.pop(module, None)
    return path


def answer(module: str, case_id: str, compute: Callable[[], Any], mode: str) -> Any:
    """PyTorch's side of a comparison: recorded, or ``compute()`` run live."""
    if mode == "recorded":
        return reference(module, case_id)
    value = compute()
    if os.environ.get(RECORD_ENV):
        return collect(module, case_id, value)
    stored, is_json = _storable(value)
    return json.loads(stored) if is_json else stored
