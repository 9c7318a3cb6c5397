"""The test install stays light: no torch in the `test` extra, and the tool
that weighs an install (tools/install_weight.py) counts what a report says."""

from __future__ import annotations

import importlib.util
import json
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _tool():
    spec = importlib.util.spec_from_file_location("install_weight", ROOT / "tools" / "install_weight.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _extras():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]


def _names(requirements):
    return {re.split(r"[\s\[<>=!~;]", r, maxsplit=1)[0].lower() for r in requirements}


def test_the_test_extra_has_no_torch_and_the_oracle_extras_pin_it():
    extras = _extras()
    assert "torch" not in _names(extras["test"])
    for extra in ("oracle", "torch", "bench"):
        assert "torch==2.13.0" in extras[extra], extra
    # dask runs the sweeps on a LocalCluster in the default tests (issue 13, part 4).
    assert "dask" in _names(extras["test"])


def _report(entries):
    return {"version": "1", "pip_version": "23.2.1", "install": [
        {"download_info": {"url": url}, "metadata": {"name": name, "version": version}}
        for name, version, url in entries
    ]}


def test_the_weight_of_a_report(tmp_path, capsys):
    tool = _tool()
    host = "https://files.example/packages/ab/cd"
    report = _report([
        ("downhill", "0.1.0", "file:///work/downhill"),  # the project itself: not a download
        ("numpy", "2.4.6", f"{host}/numpy-2.4.6-cp311-cp311-manylinux_2_28_x86_64.whl"),
        ("tqdm", "4.70.1", f"{host}/tqdm-4.70.1-py3-none-any.whl"),
        ("odd", "1.0", f"{host}/odd%2Bname-1.0.tar.gz"),
    ])
    (tmp_path / "r.json").write_text(json.dumps(report))
    files = tmp_path / "files"
    files.mkdir()
    (files / "numpy-2.4.6-cp311-cp311-manylinux_2_28_x86_64.whl").write_bytes(b"n" * 3_000_000)
    (files / "tqdm-4.70.1-py3-none-any.whl").write_bytes(b"t" * 500_000)
    (files / "odd+name-1.0.tar.gz").write_bytes(b"o" * 250_000)
    assert tool.main([str(tmp_path / "r.json"), "--files", str(files)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["numpy", "2.4.6", "3.0", "MB"]  # biggest first
    assert out.splitlines()[-1].split() == ["total,", "3", "files", "3.8", "MB"]
    # Over the limit: a failure, with the figure.
    assert tool.main([str(tmp_path / "r.json"), "--files", str(files), "--limit", "3"]) == 1
    assert "over the limit: 3.8 MB > 3 MB" in capsys.readouterr().out


def test_gpu_packages_fail_the_check(tmp_path, capsys):
    tool = _tool()
    host = "https://files.example/p"
    report = _report([
        ("torch", "2.13.0", f"{host}/torch-2.13.0-cp311-cp311-manylinux_2_28_x86_64.whl"),
        ("nvidia_cublas_cu12", "12.8.4.1", f"{host}/nvidia_cublas_cu12-12.8.4.1-py3-none-manylinux_2_27_x86_64.whl"),
        ("triton", "3.5.0", f"{host}/triton-3.5.0-cp311-cp311-manylinux_2_27_x86_64.whl"),
    ])
    (tmp_path / "r.json").write_text(json.dumps(report))
    for entry in report["install"]:
        (tmp_path / entry["download_info"]["url"].rsplit("/", 1)[1]).write_bytes(b"x")
    assert tool.main([str(tmp_path / "r.json"), "--files", str(tmp_path)]) == 1
    assert "GPU packages pulled: nvidia-cublas-cu12, torch, triton" in capsys.readouterr().out


def test_a_missing_file_or_a_foreign_report_is_named(tmp_path):
    tool = _tool()
    report = _report([("tqdm", "4.70.1", "https://files.example/tqdm-4.70.1-py3-none-any.whl")])
    (tmp_path / "r.json").write_text(json.dumps(report))
    with pytest.raises(SystemExit, match="1 file\\(s\\) not in .*tqdm-4.70.1-py3-none-any.whl"):
        tool.main([str(tmp_path / "r.json"), "--files", str(tmp_path)])
    (tmp_path / "old.json").write_text(json.dumps({"version": "0", "install": []}))
    with pytest.raises(SystemExit, match="version 1"):
        tool.main([str(tmp_path / "old.json"), "--files", str(tmp_path)])
