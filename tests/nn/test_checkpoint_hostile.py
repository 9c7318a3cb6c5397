"""Checkpoints under hostile conditions: crafted and damaged files, links, FIFOs, devices, deep nesting.

Every file here is made in pytest's temporary folder (FIFOs, links, device
nodes included); nothing touches a real device or a system path.
"""

from __future__ import annotations

import io
import json
import os
import stat
import struct
import subprocess
import sys
import threading
import time
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest

import downhill as dh
from downhill.checkpoint import MAX_DEPTH, CheckpointError, load, save

SRC = str(Path(dh.__file__).resolve().parents[1])


# ------------------------------------------------------------------ crafting files by hand
def npy_bytes(header: str | dict, data: bytes = b"", version: tuple[int, int] = (1, 0)) -> bytes:
    """A .npy member written by hand: magic, a header we choose (lies included), then ``data``."""
    text = header if isinstance(header, str) else repr(header)
    text += " " * ((64 - (len(text) + 11) % 64) % 64) + "\n"
    length = struct.pack("<H", len(text)) if version == (1, 0) else struct.pack("<I", len(text))
    return b"\x93NUMPY" + bytes(version) + length + text.encode("latin1") + data


def array_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=True)
    return buffer.getvalue()


def document(root, **fields) -> bytes:
    header = {"format": "downhill-checkpoint", "version": 1, "root": root, **fields}
    return array_bytes(np.frombuffer(json.dumps(header).encode(), dtype=np.uint8))


def document_text(text: str) -> bytes:
    return array_bytes(np.frombuffer(text.encode(), dtype=np.uint8))


def craft(path: Path, members: list[tuple[str, bytes]], method=zipfile.ZIP_STORED) -> Path:
    with zipfile.ZipFile(path, "w", compression=method) as archive:
        for name, data in members:
            with warnings.catch_warnings():  # a duplicate name is what one test wants
                warnings.simplefilter("ignore")
                archive.writestr(name, data)
    return path


def deflate_bomb(path: Path, count: int) -> Path:
    """A checkpoint whose one array is ``count`` float64 zeros, deflated as it is written (little memory here)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("__downhill__.npy", document({"array": "a0"}))
        with archive.open("a0.npy", "w", force_zip64=True) as member:
            member.write(npy_bytes({"descr": "<f8", "fortran_order": False, "shape": (count,)}))
            chunk = bytes(1 << 20)
            for _ in range(count * 8 // len(chunk)):
                member.write(chunk)
    return path


def good(root, **arrays) -> list[tuple[str, bytes]]:
    return [("__downhill__.npy", document(root)), *((f"{k}.npy", array_bytes(v)) for k, v in arrays.items())]


def _deep(depth: int):
    return json.loads("[" * depth + "]" * depth)


def _truncated(path):
    save({"w": np.arange(1000.0)}, path)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * 0.6)])


def _flipped(path):
    save({"w": np.arange(1000.0)}, path)
    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 0xFF
    path.write_bytes(bytes(data))


def _past_the_end(path):
    save({"w": np.arange(10.0)}, path)
    data = bytearray(path.read_bytes())
    # The first central directory entry claims a larger size than the whole file.
    at = data.find(b"PK\x01\x02")
    struct.pack_into("<II", data, at + 20, 10**9, 10**9)
    path.write_bytes(bytes(data))


def _encrypted(path):
    save({"w": np.arange(10.0)}, path)
    data = bytearray(path.read_bytes())
    at = data.find(b"PK\x01\x02")  # the first central directory entry: its flag bits at offset 8
    data[at + 8] |= 0x01  # "encrypted": zipfile would ask for a password with a RuntimeError
    path.write_bytes(bytes(data))


# (name, make(path), what the message must say). Each builds a file downhill.save never writes.
MALFORMED = [
    ("truncated", _truncated, "not a downhill checkpoint|corrupt"),
    ("flipped_byte", _flipped, "corrupt checkpoint"),
    ("claims_past_end", _past_the_end, "past the end of the file|corrupt"),
    ("json_not_json", lambda p: craft(p, [("__downhill__.npy", document_text("{not json"))]), "unreadable"),
    ("json_nan_constant", lambda p: craft(p, [("__downhill__.npy", document_text(
        '{"format": "downhill-checkpoint", "version": 1, "root": {"float": NaN}}'))]), "NaN is not JSON"),
    ("version_text", lambda p: craft(p, [("__downhill__.npy", document(1, version="1"))]), "format version"),
    ("version_bool", lambda p: craft(p, [("__downhill__.npy", document(1, version=True))]), "format version"),
    ("root_missing", lambda p: craft(p, [("__downhill__.npy", document_text(
        '{"format": "downhill-checkpoint", "version": 1}'))]), "no root"),
    ("float_text", lambda p: craft(p, good({"float": "abc"})), "not a float"),
    ("float_list", lambda p: craft(p, good({"float": [1]})), "not a float"),
    ("float_raw", lambda p: craft(p, good(1.5)), "unexpected entry"),
    ("tuple_not_list", lambda p: craft(p, good({"tuple": 5})), "tuple must hold a list"),
    ("dict_not_pairs", lambda p: craft(p, good({"dict": [[1]]})), r"\[key, value\] pairs"),
    ("dict_not_list", lambda p: craft(p, good({"dict": 7})), r"\[key, value\] pairs"),
    ("dict_key_unhashable", lambda p: craft(p, good({"dict": [[[1, 2], 3]]})), "cannot be a key"),
    ("unknown_kind", lambda p: craft(p, good({"set": [1]})), "unexpected entry"),
    ("array_name_not_text", lambda p: craft(p, good({"array": 5})), "array names look like a0"),
    ("array_missing", lambda p: craft(p, good({"array": "a7"})), "'a7' is missing"),
    ("array_named_twice", lambda p: craft(p, good([{"array": "a0"}, {"array": "a0"}], a0=np.ones(2))),
     "named twice"),
    ("nested_150", lambda p: craft(p, good(_deep(150))), f"deeper than {MAX_DEPTH}"),
    ("nested_100000", lambda p: craft(p, [("__downhill__.npy", document_text(
        '{"format": "downhill-checkpoint", "version": 1, "root": ' + "[" * 100_000 + "]" * 100_000 + "}"))]),
     f"deeper than {MAX_DEPTH}|unreadable"),
    ("negative_shape", lambda p: craft(p, good({"array": "a0"}) + [("a0.npy", npy_bytes(
        {"descr": "<f8", "fortran_order": False, "shape": (-1,)}, b"\0" * 8))]), "impossible shape|holds"),
    ("shape_huge", lambda p: craft(p, good({"array": "a0"}) + [("a0.npy", npy_bytes(
        {"descr": "<f8", "fortran_order": False, "shape": (10**12,)}, b"\0" * 64))]), "declares an array"),
    ("shape_smaller_than_data", lambda p: craft(p, good({"array": "a0"}) + [("a0.npy", npy_bytes(
        {"descr": "<f8", "fortran_order": False, "shape": (2,)}, b"\0" * 80))]), "declares an array"),
    ("dtype_text", lambda p: craft(p, good({"array": "a0"}, a0=np.array(["abc"]))), "dtype <U3"),
    ("dtype_structured", lambda p: craft(p, good({"array": "a0"}, a0=np.zeros(2, dtype=[("a", "<f8")]))),
     "numeric and bool"),
    ("dtype_object", lambda p: craft(p, good({"array": "a0"}, a0=np.array([{"x": 1}], dtype=object))),
     "without pickle"),
    ("header_dtype_float", lambda p: craft(p, [("__downhill__.npy", array_bytes(np.zeros(3)))]), "not text"),
    ("header_bad_descr", lambda p: craft(p, good({"array": "a0"}) + [("a0.npy", npy_bytes(
        {"descr": "not-a-dtype", "fortran_order": False, "shape": (1,)}, b"\0" * 8))]), "array header"),
    ("member_not_npy", lambda p: craft(p, good({"array": "a0"}) + [("a0.npy", b"just some bytes")]),
     r"not a \.npy array"),
    ("scalar_with_shape", lambda p: craft(p, good({"scalar": "a0"}, a0=np.ones(3))), "one number"),
    ("duplicate_member", lambda p: craft(p, good({"array": "a0"}, a0=np.ones(2)) + [("a0.npy", array_bytes(
        np.ones(3)))]), "two members"),
    ("bzip2_member", lambda p: craft(p, good({"array": "a0"}, a0=np.ones(2)), zipfile.ZIP_BZIP2),
     "compression method"),
    ("encrypted_flag", _encrypted, "marked encrypted"),
    ("deflate_bomb", lambda p: deflate_bomb(p, 2**23),
     "more than the file itself holds"),
]


@pytest.mark.parametrize("kind, make, message", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_every_malformed_file_raises_checkpoint_error_naming_the_file(kind, make, message, tmp_path):
    path = tmp_path / f"{kind}.ckpt"
    make(path)
    with pytest.raises(CheckpointError, match=message) as caught:
        load(path)
    assert str(path) in str(caught.value)


def _same(loaded, saved) -> bool:
    return (sorted(loaded) == sorted(saved) and loaded["step"] == saved["step"] and loaded["t"] == saved["t"]
            and all(loaded[k].dtype == saved[k].dtype and np.array_equal(loaded[k], saved[k]) for k in ("w", "c")))


@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED], ids=["stored", "deflated"])
def test_every_truncation_and_damaged_byte_loads_the_same_or_raises_checkpoint_error(method, tmp_path):
    """Each cut, each byte flipped three ways, and 500 seeded random damages of a small checkpoint."""
    saved = {"w": np.arange(6.0).reshape(2, 3), "step": 3, "t": (1.5, None), "c": np.int32(4)}
    path = tmp_path / "c.ckpt"
    save(saved, path)
    if method == zipfile.ZIP_DEFLATED:  # the same members deflated, as numpy.savez_compressed would
        with zipfile.ZipFile(path) as plain:
            members = [(info.filename, plain.read(info)) for info in plain.infolist()]
        craft(path, members, method)
    data = path.read_bytes()
    variants = [data[:n] for n in range(len(data))]
    variants += [data[:i] + bytes([data[i] ^ bit]) + data[i + 1:] for i in range(len(data))
                 for bit in (0x01, 0x80, 0xFF)]
    rng = np.random.default_rng(14)
    for _ in range(500):
        damaged = bytearray(data)
        for at in rng.integers(0, len(data), size=rng.integers(1, 5)):
            damaged[at] = rng.integers(0, 256)
        variants.append(bytes(damaged))
    bad = tmp_path / "damaged.ckpt"
    outcomes = {"same": 0, "refused": 0}
    for variant in variants:
        bad.write_bytes(variant)
        try:
            loaded = load(bad) if method == zipfile.ZIP_STORED else load(bad, max_bytes=100_000)
        except CheckpointError as error:
            assert str(bad) in str(error)
            outcomes["refused"] += 1
        else:  # damage the format cannot see (a timestamp, a comment) must not change what loads
            assert _same(loaded, saved), (variants.index(variant), loaded)
            outcomes["same"] += 1
    assert outcomes["refused"] > outcomes["same"] > 0, outcomes


def test_a_compressed_checkpoint_loads_with_a_callers_limit(tmp_path):
    path = craft(tmp_path / "small.npz", good({"array": "a0"}, a0=np.zeros(100_000)), zipfile.ZIP_DEFLATED)
    with pytest.raises(CheckpointError, match="max_bytes"):
        load(path)
    np.testing.assert_array_equal(load(path, max_bytes=2_000_000), np.zeros(100_000))
    with pytest.raises(CheckpointError, match=r"limit of 1,000 bytes \(max_bytes\)"):
        load(path, max_bytes=1_000)


def test_the_callers_limit_bounds_an_ordinary_checkpoint(tmp_path):
    path = tmp_path / "c.ckpt"
    save({"w": np.ones(1000)}, path)
    assert load(path, max_bytes=9_000)["w"].shape == (1000,)
    with pytest.raises(CheckpointError, match="more than the limit of 7,000 bytes"):
        load(path, max_bytes=7_000)
    with pytest.raises(TypeError, match="max_bytes"):
        load(path, max_bytes="big")


def test_crafted_huge_array_fails_fast_in_little_memory(tmp_path):
    """A 256 KiB file of deflated zeros declaring 256 MiB, a tiny one declaring 8 TB, 1 MB declaring 1 GiB."""
    bomb = deflate_bomb(tmp_path / "bomb.npz", 2**25)  # 256 MiB of zeros in a 256 KiB file
    assert bomb.stat().st_size < 2_000_000
    liar = craft(tmp_path / "liar.npz", good({"array": "a0"}) + [("a0.npy", npy_bytes(
        {"descr": "<f8", "fortran_order": False, "shape": (2**40,)}, b"\0" * 64))])
    gib = craft(tmp_path / "gib.npz", good({"array": "a0"}) + [("a0.npy", npy_bytes(  # issue 14's: 1 MB saying 1 GiB
        {"descr": "<f8", "fortran_order": False, "shape": (2**27,)}, b"\0" * 2**20))])
    probe = f"""
import sys, time
from downhill.checkpoint import load, CheckpointError
for path in sys.argv[1:]:
    start = time.perf_counter()
    try:
        load(path)
        print("loaded", path)
    except CheckpointError as error:
        print("refused", round(time.perf_counter() - start, 3), str(error)[:60])
peak = [line for line in open("/proc/self/status") if line.startswith("VmHWM")][0].split()[1]
print("peak_kb", peak)
"""
    run = subprocess.run([sys.executable, "-c", probe, str(bomb), str(liar), str(gib)], capture_output=True, text=True,
                         timeout=120, env={**os.environ, "PYTHONPATH": SRC})
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["refused", "refused", "refused", "peak_kb"], run.stdout
    assert all(float(line.split()[1]) < 5.0 for line in lines[:3]), run.stdout  # seconds: nothing inflated
    assert int(lines[3].split()[1]) < 200 * 1024, run.stdout


# ------------------------------------------------------------------ what sits at the path
def test_save_through_a_symlink_updates_its_target_atomically(tmp_path):
    (tmp_path / "run3").mkdir()
    target = tmp_path / "run3" / "model.ckpt"
    save({"v": 1}, target)
    link = tmp_path / "latest.ckpt"
    link.symlink_to(Path("run3") / "model.ckpt")
    save({"v": 2}, link)
    assert link.is_symlink() and os.readlink(link) == str(Path("run3") / "model.ckpt")
    assert load(target) == {"v": 2} and load(link) == {"v": 2}
    assert sorted(os.listdir(tmp_path / "run3")) == ["model.ckpt"]


def test_save_refuses_a_dangling_symlink_and_a_loop(tmp_path):
    dangling = tmp_path / "dangling.ckpt"
    dangling.symlink_to(tmp_path / "nowhere" / "x.ckpt")
    with pytest.raises(CheckpointError, match="does not exist"):
        save({"v": 1}, dangling)
    assert dangling.is_symlink()
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    with pytest.raises(CheckpointError, match="loop of symbolic links"):
        save({"v": 1}, tmp_path / "a")
    assert sorted(os.listdir(tmp_path)) == ["a", "b", "dangling.ckpt"]


def test_save_refuses_a_fifo_and_leaves_it_there(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(CheckpointError, match=r"named pipe \(FIFO\)"):
        save({"v": 1}, fifo)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert os.listdir(tmp_path) == ["pipe"]


def test_save_refuses_a_folder(tmp_path):
    (tmp_path / "folder").mkdir()
    with pytest.raises(CheckpointError, match="it is a folder"):
        save({"v": 1}, tmp_path / "folder")
    assert os.listdir(tmp_path) == ["folder"]


def test_save_refuses_a_device_node(tmp_path):
    node = tmp_path / "null-device"
    try:  # a node of our own for the null device, in the temporary folder
        os.mknod(node, stat.S_IFCHR | 0o600, os.makedev(1, 3))
    except (PermissionError, AttributeError, OSError):
        pytest.skip("making a device node needs privileges this run does not have")
    with pytest.raises(CheckpointError, match="a device"):
        save({"v": 1}, node)
    assert stat.S_ISCHR(os.lstat(node).st_mode)


def test_save_refuses_a_missing_folder(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        save({"v": 1}, tmp_path / "no" / "such" / "c.ckpt")
    assert os.listdir(tmp_path) == []


def test_loading_a_fifo_never_waits(tmp_path):
    fifo = tmp_path / "pipe.ckpt"
    os.mkfifo(fifo)

    def unblock():  # if load hangs opening the FIFO, a writer turns up after 10 s so that the test ends
        time.sleep(10)
        try:
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        except OSError:
            pass

    threading.Thread(target=unblock, daemon=True).start()
    start = time.monotonic()
    with pytest.raises(CheckpointError, match=r"named pipe \(FIFO\)") as caught:
        load(fifo)
    assert time.monotonic() - start < 5
    assert str(fifo) in str(caught.value)


def test_loading_a_folder_names_it(tmp_path):
    with pytest.raises(CheckpointError, match="folder") as caught:
        load(tmp_path)
    assert str(tmp_path) in str(caught.value)


# ------------------------------------------------------------------ temporaries and depth
def test_next_save_removes_what_a_killed_save_left(tmp_path):
    path = tmp_path / "c.ckpt"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    stale = tmp_path / f".c.ckpt.{int(dead.stdout)}-0123abcd.downhill-tmp"
    stale.write_bytes(b"half a checkpoint")
    alive = tmp_path / f".c.ckpt.{os.getppid()}-89abcdef.downhill-tmp"  # a process that still runs
    alive.write_bytes(b"being written")
    other = tmp_path / f".d.ckpt.{int(dead.stdout)}-0123abcd.downhill-tmp"  # another file's temporary
    other.write_bytes(b"not ours")
    save({"v": 1}, path)
    assert sorted(os.listdir(tmp_path)) == sorted(["c.ckpt", alive.name, other.name])


def test_nesting_deeper_than_the_stated_depth_is_refused(tmp_path):
    path = tmp_path / "c.ckpt"
    deep = []
    for _ in range(2000):
        deep = [deep]
    with pytest.raises(CheckpointError, match=f"more than {MAX_DEPTH} levels deep"):
        save(deep, path)
    itself = []
    itself.append(itself)
    with pytest.raises(CheckpointError, match="contain itself"):
        save({"loop": itself}, path)
    assert not path.exists()
    deepest = []  # exactly MAX_DEPTH containers: saved and loaded
    for _ in range(MAX_DEPTH - 1):
        deepest = [deepest]
    save(deepest, path)
    assert load(path) == deepest
    with pytest.raises(CheckpointError, match=f"more than {MAX_DEPTH} levels deep"):
        save([deepest], path)


def test_a_new_file_gets_the_usual_permissions_and_a_replaced_one_keeps_its_own(tmp_path):
    path = tmp_path / "c.ckpt"
    old_umask = os.umask(0o027)
    try:
        save({"v": 1}, path)
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    path.chmod(0o604)
    save({"v": 2}, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o604 and load(path) == {"v": 2}


def test_loading_a_loop_of_links_or_a_name_with_nul_is_a_checkpoint_error(tmp_path):
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    with pytest.raises(CheckpointError, match="loop of symbolic links"):
        load(tmp_path / "a")
    with pytest.raises(CheckpointError, match="NUL"):
        load(str(tmp_path / "c\0.ckpt"))


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX")
def test_a_save_cut_short_by_the_disk_keeps_the_old_checkpoint(tmp_path):
    """A real short write: the child may not grow a file past 100 kB, as on a nearly full disk."""
    path = tmp_path / "model.ckpt"
    save({"w": np.arange(10.0)}, path)
    child = f"""
import resource, signal, sys
import numpy as np
from downhill.checkpoint import save
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # else the kernel kills the writer instead of failing the write
resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))
try:
    save({{"w": np.ones(100_000)}}, sys.argv[1])
except OSError as error:
    print(type(error).__name__, error.errno, error.filename)
"""
    done = subprocess.run([sys.executable, "-c", child, str(path)], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": SRC})
    assert done.returncode == 0, done.stderr
    np.testing.assert_array_equal(load(path)["w"], np.arange(10.0))  # the old checkpoint, whole
    assert os.listdir(tmp_path) == ["model.ckpt"]  # no temporary left
    assert done.stdout.split() == ["OSError", "27", str(path)]  # EFBIG, naming the file


def test_the_checkpoint_error_is_public_and_one_of_the_family(tmp_path):
    """``except dh.CheckpointError`` catches every damaged file; it is a DownhillError and a ValueError."""
    path = tmp_path / "notes.ckpt"
    path.write_text("not a checkpoint")
    with pytest.raises(dh.CheckpointError, match="not a zip"):
        dh.load(path)
    assert dh.CheckpointError is CheckpointError
    assert issubclass(CheckpointError, dh.DownhillError) and issubclass(CheckpointError, ValueError)
