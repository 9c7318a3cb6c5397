"""Saving and loading checkpoints without pickle: ``downhill.save`` and ``downhill.load``.

A checkpoint is one ``.npz`` file (a zip of ``.npy`` arrays) holding

- the arrays, as members ``a0``, ``a1``, ... written with ``allow_pickle=False``;
- a JSON document, member ``__downhill__`` (stored as a ``uint8`` array of UTF-8
  bytes), describing the structure around them: which dict key, list item or
  tuple item each array sits in, and every plain value (ints, floats, strings,
  bools, None) directly.

Loading never unpickles anything, so a checkpoint from a stranger cannot run
code on your machine (``torch.load`` before ``weights_only=True`` could). What
can be saved: nested ``dict`` (also ``OrderedDict`` and ``Counter``; keys of any
savable immutable type, so an optimizer's int keys stay ints), ``list``,
``tuple``, NumPy arrays and scalars (numeric or bool dtypes), ``Tensor`` (saved
as its array, loaded as a NumPy array), ``int``, ``float`` (including inf and
NaN, bit for bit), ``str``, ``bool`` and ``None``. That covers ``state_dict()``
of modules, optimizers and schedulers.

Saving is atomic: the file is written under a temporary name in the same
folder, flushed and ``fsync``-ed, then renamed over the target with
``os.replace``. A crash or a full disk mid-save leaves the previous checkpoint
as it was.

>>> import os, tempfile
>>> import numpy as np
>>> from downhill.checkpoint import save, load
>>> path = os.path.join(tempfile.mkdtemp(), "state.npz")
>>> save({"step": 3, "weights": np.arange(3.0), "buffers": {0: np.ones(2)}}, path)
>>> state = load(path)
>>> state["step"], state["weights"], list(state["buffers"])
(3, array([0., 1., 2.]), [0])
"""

from __future__ import annotations

from .errors import InputError

import json
import math
import os
import tempfile
import zipfile
import zlib
from collections import Counter, OrderedDict

import numpy as np

from .autodiff.tensor import Tensor

__all__ = ["save", "load", "CheckpointError", "FORMAT", "VERSION"]

FORMAT = "downhill-checkpoint"
VERSION = 1
_HEADER = "__downhill__"

# Dict subclasses that come back as themselves (MultiStepLR keeps a Counter,
# modules return OrderedDicts); any other mapping type is refused, not guessed.
_DICT_TYPES = {dict: "dict", OrderedDict: "OrderedDict", Counter: "Counter"}
_DICT_BY_NAME = {name: cls for cls, name in _DICT_TYPES.items()}


class CheckpointError(InputError):
    """A file that is not a downhill checkpoint, or an object that cannot be saved."""


# --------------------------------------------------------------------------- encoding
#
# The JSON tree: None, bools, ints, strings and lists stand for themselves;
# everything else is a one-key object naming its kind:
#   {"float": 0.5} / {"float": "inf"}     floats (non-finite ones spelt out: JSON has no inf)
#   {"tuple": [...]}                      tuples
#   {"dict": [[key, value], ...]}         dicts, keys encoded like values (so 0 stays int)
#   {"OrderedDict": [...]}, {"Counter": [...]}
#   {"array": "a3"}                       an ndarray, member a3 of the .npz
#   {"scalar": "a4"}                      a NumPy scalar (np.float32(1.5)), member a4


def _encode(obj, arrays: list, path: str):
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    kind = type(obj)
    if kind is int:
        return obj
    if kind is float:
        return {"float": obj if math.isfinite(obj) else repr(obj)}
    if isinstance(obj, Tensor):
        obj = obj.data
        kind = np.ndarray
    if isinstance(obj, (np.ndarray, np.generic)):
        array = np.asarray(obj)
        if array.dtype.kind not in "biufc":
            raise CheckpointError(
                f"cannot save the array at {path}: its dtype is {array.dtype}; only numeric "
                "and bool arrays can be saved (strings and objects would need pickle)"
            )
        name = f"a{len(arrays)}"
        arrays.append(array)
        return {"scalar" if isinstance(obj, np.generic) else "array": name}
    if kind is list:
        return [_encode(item, arrays, f"{path}[{i}]") for i, item in enumerate(obj)]
    if kind is tuple:
        return {"tuple": [_encode(item, arrays, f"{path}[{i}]") for i, item in enumerate(obj)]}
    if kind in _DICT_TYPES:
        items = []
        for key, value in obj.items():
            if isinstance(key, (dict, list, np.ndarray, Tensor)):
                raise CheckpointError(f"cannot save a dict key of type {type(key).__name__} at {path}")
            items.append([_encode(key, arrays, f"{path}[{key!r}] (a key)"),
                          _encode(value, arrays, f"{path}[{key!r}]")])
        return {_DICT_TYPES[kind]: items}
    if isinstance(obj, (int, float)):  # subclasses such as IntEnum: keep the plain value
        return _encode(int(obj) if isinstance(obj, int) else float(obj), arrays, path)
    hint = ""
    if hasattr(obj, "state_dict"):
        hint = "; save its state instead: obj.state_dict()"
    elif isinstance(obj, set | frozenset):
        hint = "; save a sorted list instead"
    elif callable(obj):
        hint = "; functions and classes are never saved (loading them would run code)"
    raise CheckpointError(
        f"cannot save a {type(obj).__name__} at {path}: a checkpoint holds dicts, lists, tuples, "
        f"arrays, Tensors, numbers, strings, bools and None{hint}"
    )


def _decode(node, arrays):
    if node is None or isinstance(node, (bool, int, str)):
        return node
    if isinstance(node, list):
        return [_decode(item, arrays) for item in node]
    if isinstance(node, dict) and len(node) == 1:
        (kind, value), = node.items()
        if kind == "float":
            return float(value)
        if kind == "tuple":
            return tuple(_decode(item, arrays) for item in value)
        if kind in _DICT_BY_NAME:
            result = _DICT_BY_NAME[kind]()
            for key, item in value:
                result[_decode(key, arrays)] = _decode(item, arrays)
            return result
        if kind == "array":
            return arrays(value)
        if kind == "scalar":
            return arrays(value)[()]
    raise CheckpointError(f"corrupt checkpoint: unexpected entry {str(node)[:80]!r} in its structure")


# --------------------------------------------------------------------------- save / load


def save(obj, path) -> None:
    """Save ``obj`` (nested dicts, lists, tuples, arrays, Tensors, numbers, strings) to ``path``.

    The file is exactly ``path`` (no suffix is added; ``.npz`` or ``.ckpt`` are
    good names). It is replaced atomically: a failure at any moment leaves
    the previous file at ``path`` untouched. Tensors are saved as their
    arrays (without gradients); dict key types are preserved.

    >>> import os, tempfile
    >>> import downhill as dh
    >>> from downhill.checkpoint import save, load
    >>> path = os.path.join(tempfile.mkdtemp(), "w.ckpt")
    >>> save({"w": dh.tensor([1.5, 2.5]), "lr": 0.1, "names": ("w",)}, path)
    >>> load(path)
    {'w': array([1.5, 2.5]), 'lr': 0.1, 'names': ('w',)}
    """
    path = os.fspath(path)
    arrays: list[np.ndarray] = []
    root = _encode(obj, arrays, "obj")
    document = json.dumps({"format": FORMAT, "version": VERSION, "root": root}, allow_nan=False)
    members = {f"a{i}": array for i, array in enumerate(arrays)}
    members[_HEADER] = np.frombuffer(document.encode("utf-8"), dtype=np.uint8)

    folder = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=folder)
    try:
        os.chmod(temporary, _file_mode(path))
        with os.fdopen(handle, "wb") as file:
            np.savez(file, allow_pickle=False, **members)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise
    _fsync_folder(folder)


def _file_mode(path: str) -> int:
    """The permissions the file should have: the old file's, or the usual ones for a new file.

    (``mkstemp`` makes files readable by their owner only.)
    """
    try:
        return os.stat(path).st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _fsync_folder(folder: str) -> None:
    """Make the rename itself durable (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def load(path):
    """Load what :func:`save` wrote. Arrays come back as NumPy arrays; nothing is unpickled.

    >>> import os, tempfile
    >>> import numpy as np
    >>> from downhill.checkpoint import save, load
    >>> path = os.path.join(tempfile.mkdtemp(), "opt.ckpt")
    >>> save({"state": {0: {"step": 2, "exp_avg": np.zeros(2)}}, "best": float("inf")}, path)
    >>> state = load(path)
    >>> state["state"][0]["step"], state["best"]
    (2, inf)
    """
    path = os.fspath(path)
    not_ours = f"{path} is not a downhill checkpoint (a file written by downhill.save): "
    try:
        file = open(path, "rb")
    except IsADirectoryError:
        raise CheckpointError(not_ours + "it is a folder") from None
    # One handle for everything, closed whatever happens (np.load(path) can leak
    # its own handle when the zip is broken).
    with file:
        start = file.read(4)
        if start != b"PK\x03\x04":
            if start.startswith(b"\x93NUM"):
                raise CheckpointError(not_ours + "it is a single .npy array; load it with numpy.load")
            if start[:1] == b"\x80":
                raise CheckpointError(
                    not_ours + "it looks like a pickle (torch.save or pickle.dump); downhill never "
                    "unpickles files, since unpickling can run code"
                )
            raise CheckpointError(not_ours + "it is not a zip (.npz) file" + (" (it is empty)" if not start else ""))
        file.seek(0)
        try:
            archive = np.load(file, allow_pickle=False)
        except _READ_ERRORS as error:
            raise CheckpointError(not_ours + f"numpy could not read it ({error})") from None
        with archive:
            return _read(archive, path, not_ours)


# What a damaged zip or member can raise while being read.
_READ_ERRORS = (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error)


def _read(archive, path: str, not_ours: str):
    if _HEADER not in archive.files:
        raise CheckpointError(
            not_ours + "it is an .npz file without downhill's structure document; "
            "load plain .npz files with numpy.load"
        )
    try:
        header = json.loads(bytes(archive[_HEADER]).decode("utf-8"))
    except (*_READ_ERRORS, UnicodeDecodeError) as error:
        raise CheckpointError(f"corrupt checkpoint {path}: its structure document is unreadable ({error})") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise CheckpointError(not_ours + "its structure document is not downhill's")
    if not isinstance(header.get("version"), int) or header["version"] > VERSION:
        raise CheckpointError(
            f"{path} was written by a newer downhill (checkpoint format version "
            f"{header.get('version')}, this one reads up to {VERSION}); upgrade downhill"
        )

    def array(name):
        if not isinstance(name, str) or name not in archive.files:
            raise CheckpointError(f"corrupt checkpoint {path}: array {name!r} is missing")
        try:
            return archive[name]
        except ValueError as error:
            if "pickle" in str(error):  # an object array, which needs pickle
                raise CheckpointError(
                    f"{path}: member {name!r} cannot be read without pickle, which downhill never uses"
                ) from None
            raise CheckpointError(f"corrupt checkpoint {path}: member {name!r} is unreadable ({error})") from None
        except _READ_ERRORS as error:
            raise CheckpointError(f"corrupt checkpoint {path}: member {name!r} is unreadable ({error})") from None

    return _decode(header.get("root"), array)


def dumps_structure(obj) -> str:
    """The JSON structure document :func:`save` would write for ``obj`` (arrays by name).

    Handy to see what a checkpoint holds without writing one.

    >>> import numpy as np
    >>> from downhill.checkpoint import dumps_structure
    >>> dumps_structure({0: np.zeros(2), "lr": 0.5})
    '{"dict": [[0, {"array": "a0"}], ["lr", {"float": 0.5}]]}'
    """
    return json.dumps(_encode(obj, [], "obj"), allow_nan=False)
