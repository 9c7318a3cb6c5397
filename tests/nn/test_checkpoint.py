"""downhill.save / downhill.load: exact round trips, no pickle, atomic replacement, clear errors."""

from __future__ import annotations

import json
import math
import os
import pickle
from collections import Counter, OrderedDict

import numpy as np
import pytest

import downhill as dh
from downhill import optim
from downhill.checkpoint import CheckpointError, dumps_structure, load, save
from downhill.optim import lr_scheduler


def assert_identical(a, b, path="root"):
    """Same types all the way down (dict key types and order too), arrays bit for bit."""
    assert type(a) is type(b), f"{path}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, dict):
        assert list(a.keys()) == list(b.keys()), path
        assert [type(k) for k in a] == [type(k) for k in b], path
        for key in a:
            assert_identical(a[key], b[key], f"{path}[{key!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            assert_identical(x, y, f"{path}[{i}]")
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape, path
        assert a.tobytes() == b.tobytes(), path
    elif isinstance(a, np.generic):
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes(), path
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b), path
    elif isinstance(a, float):
        assert a == b and math.copysign(1, a) == math.copysign(1, b), path
    else:
        assert a == b, path


def roundtrip(obj, tmp_path):
    path = tmp_path / "state.ckpt"
    save(obj, path)
    return load(path)


def test_plain_values_and_containers(tmp_path):
    obj = {
        "int": 3, "big_int": 2**100 + 1, "negative": -7, "float": 0.1, "neg_zero": -0.0,
        "inf": float("inf"), "minus_inf": float("-inf"), "nan": float("nan"), "tiny": 5e-324,
        "str": "downhill ⛰ climber", "empty_str": "", "true": True, "false": False, "none": None,
        "list": [1, 2.5, "x", None, [True]], "tuple": (0.9, 0.999), "empty": {}, "empty_list": [],
        "empty_tuple": (), "nested": {"a": {"b": {"c": [({"d": 1},)]}}},
        0: "int key", 1.5: "float key", True: "bool key", None: "none key", (1, "a"): "tuple key",
    }
    assert_identical(obj, roundtrip(obj, tmp_path))


def test_arrays_bit_identical(tmp_path):
    rng = np.random.default_rng(1)
    special = np.array([np.nan, -0.0, np.inf, -np.inf, 1e-310], dtype=np.float64)
    payload_nan = np.array([0x7FF8DEADBEEF0001], dtype=np.uint64).view(np.float64)
    obj = {
        "f32": rng.normal(size=(3, 4)).astype(np.float32),
        "f64": rng.normal(size=(2, 3, 4)),
        "f16": rng.normal(size=5).astype(np.float16),
        "special": special, "nan_payload": payload_nan,
        "i64": rng.integers(-10, 10, size=7), "u8": np.arange(5, dtype=np.uint8),
        "bool": np.array([True, False]), "complex": np.array([1 + 2j]),
        "zero_d": np.array(3.5), "empty": np.zeros((0, 3)), "fortran": np.asfortranarray(np.ones((2, 3))),
        "scalar_f32": np.float32(1.25), "scalar_i64": np.int64(9), "scalar_bool": np.bool_(True),
    }
    back = roundtrip(obj, tmp_path)
    assert_identical(obj, back)
    assert not np.shares_memory(back["f64"], obj["f64"])


def test_tensors_are_saved_as_arrays(tmp_path):
    w = dh.tensor(np.arange(4.0, dtype=np.float32), requires_grad=True)
    back = roundtrip({"w": w, "scalar": dh.tensor(2.0)}, tmp_path)
    assert isinstance(back["w"], np.ndarray) and back["w"].dtype == np.float32
    np.testing.assert_array_equal(back["w"], w.data)
    assert back["scalar"].shape == ()


def test_dict_types_preserved(tmp_path):
    obj = {"ordered": OrderedDict([("b", 1), ("a", 2)]), "counter": Counter({3: 2, 1: 1})}
    back = roundtrip(obj, tmp_path)
    assert_identical(obj, back)
    assert list(back["counter"].elements()) == [3, 3, 1]


def stepped_optimizer(cls, steps=3, **options):
    rng = np.random.default_rng(0)
    w = dh.tensor(rng.normal(size=(3, 2)), requires_grad=True)
    b = dh.tensor(rng.normal(size=2).astype(np.float32), requires_grad=True)
    opt = cls([{"params": [w]}, {"params": [b], "lr": 0.01}], lr=0.05, **options)
    for _ in range(steps):
        opt.zero_grad()
        ((w ** 2).sum() + (b ** 2).sum()).backward()
        opt.step()
    return opt, w, b


@pytest.mark.parametrize("cls, options", [
    (optim.SGD, {"momentum": 0.9, "nesterov": True}),
    (optim.Adam, {"amsgrad": True}),
    (optim.AdamW, {}),
    (optim.RMSprop, {"momentum": 0.5, "centered": True}),
    (optim.Adagrad, {}),
])
def test_optimizer_state_round_trip_and_continue(cls, options, tmp_path):
    opt, w, b = stepped_optimizer(cls, **options)
    state = opt.state_dict()
    back = roundtrip(state, tmp_path)
    assert_identical(state, back)
    assert all(type(k) is int for k in back["state"])

    # A fresh optimizer loaded from the file continues exactly like the original.
    w2 = dh.tensor(w.data.copy(), requires_grad=True)
    b2 = dh.tensor(b.data.copy(), requires_grad=True)
    fresh = cls([{"params": [w2]}, {"params": [b2], "lr": 0.01}], lr=0.05, **options)
    fresh.load_state_dict(back)
    for o, (p, q) in ((opt, (w, b)), (fresh, (w2, b2))):
        for _ in range(2):
            o.zero_grad()
            ((p ** 2).sum() + (q ** 2).sum()).backward()
            o.step()
    assert w.data.tobytes() == w2.data.tobytes()
    assert b.data.tobytes() == b2.data.tobytes()


@pytest.mark.parametrize("make", [
    lambda o: lr_scheduler.MultiStepLR(o, milestones=[1, 3, 3], gamma=0.5),
    lambda o: lr_scheduler.ReduceLROnPlateau(o, patience=1),
    lambda o: lr_scheduler.OneCycleLR(o, max_lr=0.1, total_steps=20),
    lambda o: lr_scheduler.CyclicLR(o, 0.01, 0.1, step_size_up=3),
    lambda o: lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=2),
    lambda o: lr_scheduler.SequentialLR(o, [lr_scheduler.ConstantLR(o), lr_scheduler.ExponentialLR(o, 0.9)], [2]),
])
def test_scheduler_state_round_trip(make, tmp_path):
    opt, *_ = stepped_optimizer(optim.SGD, momentum=0.9)
    scheduler = make(opt)
    for i in range(4):
        opt.step()
        scheduler.step(1.0) if isinstance(scheduler, lr_scheduler.ReduceLROnPlateau) else scheduler.step()
    state = scheduler.state_dict()
    assert_identical(state, roundtrip(state, tmp_path))


def test_whole_training_state(tmp_path):
    opt, w, _ = stepped_optimizer(optim.Adam)
    scheduler = lr_scheduler.StepLR(opt, step_size=2)
    state = {"model": OrderedDict([("0.weight", w)]), "optimizer": opt.state_dict(),
             "scheduler": scheduler.state_dict(), "epoch": 4, "history": {"loss": [1.0, 0.5]}}
    back = roundtrip(state, tmp_path)
    assert isinstance(back["model"], OrderedDict)
    assert back["model"]["0.weight"].tobytes() == w.data.tobytes()
    assert_identical(state["optimizer"], back["optimizer"])


def test_file_is_a_plain_npz_without_pickle(tmp_path):
    path = tmp_path / "c.npz"
    save({"w": np.ones(2), 0: [1, 2]}, path)
    with np.load(path, allow_pickle=False) as archive:
        assert sorted(archive.files) == ["__downhill__", "a0"]
        header = json.loads(bytes(archive["__downhill__"]).decode())
    assert header["format"] == "downhill-checkpoint" and header["version"] == 1
    assert dumps_structure({"w": np.ones(2)}) == '{"dict": [["w", {"array": "a0"}]]}'


def test_path_is_used_as_given(tmp_path):
    save({"a": 1}, tmp_path / "no_suffix")
    assert os.listdir(tmp_path) == ["no_suffix"]
    save({"a": 1}, str(tmp_path / "again.ckpt"))
    assert load(str(tmp_path / "again.ckpt")) == {"a": 1}


def test_overwrite_replaces_and_leaves_no_temporary_files(tmp_path):
    path = tmp_path / "c.ckpt"
    save({"v": 1}, path)
    save({"v": 2}, path)
    assert load(path) == {"v": 2}
    assert os.listdir(tmp_path) == ["c.ckpt"]


def test_interrupted_save_leaves_the_old_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "c.ckpt"
    old = {"weights": np.arange(5.0), "epoch": 3}
    save(old, path)
    before = path.read_bytes()
    written = []

    def crash(src, dst):
        written.append(os.path.getsize(src))  # the temporary file was fully written
        raise OSError("simulated crash before the rename")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="simulated crash"):
        save({"weights": np.zeros(1000), "epoch": 4}, path)
    monkeypatch.undo()
    assert written and written[0] > len(before)
    assert path.read_bytes() == before
    assert_identical(load(path), old)
    assert os.listdir(tmp_path) == ["c.ckpt"]  # the temporary file was cleaned up


def test_save_fsyncs_before_the_rename(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (events.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(os, "replace", lambda a, b: (events.append("replace"), real_replace(a, b))[1])
    save({"a": np.ones(3)}, tmp_path / "c.ckpt")
    assert events[:2] == ["fsync", "replace"]


def test_unsavable_objects_fail_before_touching_the_file(tmp_path):
    path = tmp_path / "c.ckpt"
    save({"ok": 1}, path)
    for bad, message in [
        ({"f": lambda x: x}, "functions"),
        ({"s": {1, 2}}, "set"),
        ({"o": np.array([object()])}, "dtype is object"),
        ({"u": np.array(["text"])}, "dtype is <U4"),
        ({"opt": optim.SGD([dh.tensor(1.0, requires_grad=True)])}, r"state_dict\(\)"),
    ]:
        with pytest.raises(CheckpointError, match=message):
            save(bad, path)
    assert load(path) == {"ok": 1}
    assert os.listdir(tmp_path) == ["c.ckpt"]


def test_wrong_files_give_clear_errors(tmp_path):
    cases = {
        "text.ckpt": (b"hello world", "not a zip"),
        "empty.ckpt": (b"", "empty"),
        "pickle.ckpt": (pickle.dumps({"a": 1}), "pickle"),
    }
    for name, (content, message) in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(CheckpointError, match=message):
            load(tmp_path / name)
    np.save(tmp_path / "single.npy", np.ones(3))
    with pytest.raises(CheckpointError, match=r"\.npy array"):
        load(tmp_path / "single.npy")
    np.savez(tmp_path / "plain.npz", x=np.ones(3))
    with pytest.raises(CheckpointError, match="numpy.load"):
        load(tmp_path / "plain.npz")
    with pytest.raises(CheckpointError, match="folder"):
        load(tmp_path)
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.ckpt")
    (tmp_path / "truncated.ckpt").write_bytes(b"PK\x03\x04" + b"\x00" * 20)
    with pytest.raises(CheckpointError, match="not a downhill checkpoint"):
        load(tmp_path / "truncated.ckpt")


def test_newer_format_version_is_refused(tmp_path):
    header = json.dumps({"format": "downhill-checkpoint", "version": 99, "root": 1}).encode()
    np.savez(tmp_path / "future.npz", __downhill__=np.frombuffer(header, dtype=np.uint8))
    with pytest.raises(CheckpointError, match="newer downhill"):
        load(tmp_path / "future.npz")


def test_object_array_member_is_never_unpickled(tmp_path):
    header = json.dumps({"format": "downhill-checkpoint", "version": 1, "root": {"array": "a0"}}).encode()
    np.savez(tmp_path / "evil.npz", __downhill__=np.frombuffer(header, dtype=np.uint8),
             a0=np.array([{"x": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(CheckpointError, match="without pickle"):
        load(tmp_path / "evil.npz")


def test_damaged_checkpoints_give_clear_errors(tmp_path):
    path = tmp_path / "c.ckpt"
    save({"w": np.arange(1000.0)}, path)
    data = path.read_bytes()
    (tmp_path / "half.ckpt").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="not a downhill checkpoint"):
        load(tmp_path / "half.ckpt")
    flipped = bytearray(data)
    flipped[len(data) // 3] ^= 0xFF  # inside the array's bytes: the zip's CRC catches it
    (tmp_path / "flipped.ckpt").write_bytes(bytes(flipped))
    with pytest.raises(CheckpointError, match="corrupt checkpoint"):
        load(tmp_path / "flipped.ckpt")
