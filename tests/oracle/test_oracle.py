"""The recorded-oracle mechanism: files round-trip, a missing value fails loudly,
and the converted test files run with torch impossible to import."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import oracle as mechanism

TESTS = Path(__file__).resolve().parent.parent


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    monkeypatch.setattr(mechanism, "DATA", tmp_path)
    monkeypatch.setattr(mechanism, "_cache", {})
    monkeypatch.setattr(mechanism, "recorded", {})
    return tmp_path


def test_values_round_trip_with_their_types(scratch):
    values = {
        "floats/a[1]": np.array([0.1, 1 / 3, 1e-300]),
        "float32": np.array([[1.5, 2.25]], dtype=np.float32),
        "ints": [3, 4, 5],
        "scalar": 2.5,
        "state": {"step_size": 3, "gamma": 0.1, "verbose": "deprecated"},
        "names": ["StepLR", "LambdaLR"],
        "flags": [True, False],
        "nothing": [],
    }
    returned = {key: mechanism.collect("m", key, value) for key, value in values.items()}
    mechanism.write("m", mechanism.recorded["m"])
    for key, value in values.items():
        back = mechanism.reference("m", key)
        assert type(back) is type(returned[key]), key
        if isinstance(back, np.ndarray):
            np.testing.assert_array_equal(back, np.asarray(value))
            assert back.dtype == np.asarray(value).dtype, key
        else:
            assert back == value, key
    # Recording more keeps the old ones.
    mechanism.recorded.clear()
    mechanism.collect("m", "later", [1.0])
    mechanism.write("m", mechanism.recorded["m"])
    assert set(mechanism.load("m")) == set(values) | {"later"}


def test_a_missing_value_fails_naming_the_record_command(scratch):
    mechanism.collect("m", "there", [1.0])
    mechanism.write("m", mechanism.recorded["m"])
    with pytest.raises(mechanism.MissingReference, match=r"python -m tests\.oracle\.record m") as error:
        mechanism.reference("m", "gone")
    assert "'gone'" in str(error.value)
    with pytest.raises(mechanism.MissingReference, match="no recorded PyTorch value"):
        mechanism.reference("no_file", "x")


def test_one_case_id_recorded_with_two_values_is_an_error(scratch):
    mechanism.collect("m", "x", [1.0, 2.0])
    mechanism.collect("m", "x", [1.0, 2.0])
    with pytest.raises(ValueError, match="recorded twice"):
        mechanism.collect("m", "x", [1.0, 2.5])


def test_files_hold_no_pickles():
    for path in sorted(mechanism.DATA.glob("*.npz")):
        with np.load(path, allow_pickle=False) as archive:
            for key in archive.files:
                assert archive[key].dtype != object, (path.name, key)


def test_converted_files_pass_with_torch_unimportable(tmp_path):
    # A meta-path finder that refuses torch, installed at start-up by a
    # sitecustomize: any import of torch (at the top or inside a test) fails.
    (tmp_path / "sitecustomize.py").write_text(
        textwrap.dedent(
            """
            import sys

            class NoTorch:
                def find_spec(self, name, path=None, target=None):
                    if name == "torch" or name.startswith("torch."):
                        raise ImportError("torch is blocked: this test run must not import it")
                    return None

            sys.meta_path.insert(0, NoTorch())
            """
        )
    )
    src = TESTS.parent / "src"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(src), os.environ.get("PYTHONPATH", "")])}
    env.pop(mechanism.RECORD_ENV, None)
    files = [str(TESTS / name) for name in mechanism.CONVERTED]
    check = subprocess.run(
        [sys.executable, "-c", "import torch"], env=env, capture_output=True, text=True, cwd=TESTS.parent
    )
    assert check.returncode != 0 and "blocked" in check.stderr  # the blocker works
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "-m", "not oracle", *files],
        env=env, capture_output=True, text=True, cwd=TESTS.parent, timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert " passed" in run.stdout
