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

Saving is atomic (:func:`downhill.files.write_atomically`): the file is
written under a temporary name in the same folder, flushed and ``fsync``-ed,
then renamed over the target with ``os.replace``. A crash, a kill or a full
disk mid-save leaves the previous checkpoint as it was, and the next save to
the same path removes the temporary a killed save left behind. A symbolic link
is followed to its target, which is replaced; folders, FIFOs and devices are
refused. Objects nested deeper than :data:`MAX_DEPTH` levels are refused.

Loading reads only what the file's structure document names, checks every
declared size against the file's own size (or the caller's ``max_bytes``)
before allocating anything, never blocks on a FIFO, and turns every kind of
damage into one :class:`CheckpointError` naming the file and what is wrong.

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

import errno
import json
import math
import os
import stat
from collections import Counter, OrderedDict

import numpy as np

from ._npz import BoundedNpz
from .autodiff.tensor import Tensor
from .errors import InputError, InputTypeError, shorten
from .files import kind_of, show_path, write_atomically

__all__ = ["save", "load", "CheckpointError", "FORMAT", "VERSION", "MAX_DEPTH"]

FORMAT = "downhill-checkpoint"
VERSION = 1
_HEADER = "__downhill__"
#: Containers (dicts, lists, tuples) nested deeper than this are refused by save and load:
#: a state_dict nests 3 or 4 levels; a deeper one is a mistake (or contains itself).
MAX_DEPTH = 100

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


def _encode(obj, arrays: list, path: str, depth: int = 0):
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
        if array.dtype.kind not in "biufc" or array.dtype.fields is not None:
            raise CheckpointError(
                f"cannot save the array at {shorten(path)}: its dtype is {array.dtype}; only numeric "
                "and bool arrays can be saved (strings and objects would need pickle)"
            )
        name = f"a{len(arrays)}"
        arrays.append(array)
        return {"scalar" if isinstance(obj, np.generic) else "array": name}
    if kind in (list, tuple) or kind in _DICT_TYPES:
        if depth >= MAX_DEPTH:
            raise CheckpointError(
                f"cannot save: the object nests lists, tuples and dicts more than {MAX_DEPTH} levels deep "
                f"(at {shorten(path)}); a checkpoint allows {MAX_DEPTH} (does a list contain itself?)"
            )
        depth += 1
    if kind is list:
        return [_encode(item, arrays, f"{path}[{i}]", depth) for i, item in enumerate(obj)]
    if kind is tuple:
        return {"tuple": [_encode(item, arrays, f"{path}[{i}]", depth) for i, item in enumerate(obj)]}
    if kind in _DICT_TYPES:
        items = []
        for key, value in obj.items():
            if isinstance(key, (dict, list, np.ndarray, Tensor)):
                raise CheckpointError(f"cannot save a dict key of type {type(key).__name__} at {shorten(path)}")
            items.append([_encode(key, arrays, f"{path}[{key!r}] (a key)", depth),
                          _encode(value, arrays, f"{path}[{key!r}]", depth)])
        return {_DICT_TYPES[kind]: items}
    if isinstance(obj, (int, float)):  # subclasses such as IntEnum: keep the plain value
        return _encode(int(obj) if isinstance(obj, int) else float(obj), arrays, path, depth)
    hint = ""
    if hasattr(obj, "state_dict"):
        hint = "; save its state instead: obj.state_dict()"
    elif isinstance(obj, set | frozenset):
        hint = "; save a sorted list instead"
    elif callable(obj):
        hint = "; functions and classes are never saved (loading them would run code)"
    raise CheckpointError(
        f"cannot save a {type(obj).__name__} at {shorten(path)}: a checkpoint holds dicts, lists, tuples, "
        f"arrays, Tensors, numbers, strings, bools and None{hint}"
    )


_NON_FINITE = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}


def _references(root, corrupt: str) -> list[tuple[str, str]]:
    """Check the structure document's shape; list its arrays as (kind, member name), in order.

    Walks iteratively, so a document nested thousands deep is refused, not a RecursionError.
    """
    found: list[tuple[str, str]] = []
    seen: set[str] = set()
    stack = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise CheckpointError(f"{corrupt}its structure nests deeper than {MAX_DEPTH} levels, "
                                  "which downhill.save never writes")
        if node is None or isinstance(node, (bool, int, str)):
            continue
        if isinstance(node, list):
            stack.extend((item, depth + 1) for item in reversed(node))
            continue
        if not (isinstance(node, dict) and len(node) == 1):
            raise CheckpointError(f"{corrupt}unexpected entry {shorten(json.dumps(node))} in its structure")
        (kind, value), = node.items()
        if kind == "float":
            number = isinstance(value, (int, float)) and not isinstance(value, bool)
            if not (number or (isinstance(value, str) and value in _NON_FINITE)):
                raise CheckpointError(f"{corrupt}{shorten(json.dumps(value))} is not a float")
        elif kind == "tuple":
            if not isinstance(value, list):
                raise CheckpointError(f"{corrupt}a tuple must hold a list of items, not {shorten(json.dumps(value))}")
            stack.extend((item, depth + 1) for item in reversed(value))
        elif kind in _DICT_BY_NAME:
            if not isinstance(value, list) or not all(isinstance(p, list) and len(p) == 2 for p in value):
                raise CheckpointError(f"{corrupt}a {kind} must hold a list of [key, value] pairs, not "
                                      f"{shorten(json.dumps(value))}")
            stack.extend((item, depth + 1) for pair in reversed(value) for item in reversed(pair))
        elif kind in ("array", "scalar"):
            if not isinstance(value, str) or not value.startswith("a") or not value[1:].isdigit():
                raise CheckpointError(f"{corrupt}array names look like a0, a1, ...; got {shorten(json.dumps(value))}")
            if value in seen:
                raise CheckpointError(f"{corrupt}array {value!r} is named twice in its structure")
            seen.add(value)
            found.append((kind, value))
        else:
            raise CheckpointError(f"{corrupt}unexpected entry {shorten(json.dumps(node))} in its structure")
    return found


def _decode(node, arrays: dict, corrupt: str):
    """The object a checked structure document describes (``arrays`` by member name)."""
    if node is None or isinstance(node, (bool, int, str)):
        return node
    if isinstance(node, list):
        return [_decode(item, arrays, corrupt) for item in node]
    (kind, value), = node.items()
    if kind == "float":
        return _NON_FINITE[value] if isinstance(value, str) else float(value)
    if kind == "tuple":
        return tuple(_decode(item, arrays, corrupt) for item in value)
    if kind in _DICT_BY_NAME:
        result = _DICT_BY_NAME[kind]()
        for key, item in value:
            key = _decode(key, arrays, corrupt)
            try:
                hash(key)
            except TypeError:
                raise CheckpointError(f"{corrupt}a dict key is a {type(key).__name__}, which cannot be "
                                      "a key") from None
            result[key] = _decode(item, arrays, corrupt)
        return result
    if kind == "array":
        return arrays[value]
    return arrays[value][()]  # a scalar


# --------------------------------------------------------------------------- save


def save(obj, path) -> None:
    """Save ``obj`` (nested dicts, lists, tuples, arrays, Tensors, numbers, strings) to ``path``.

    The file is exactly ``path`` (no suffix is added; ``.npz`` or ``.ckpt`` are
    good names). It is replaced atomically: a failure at any moment leaves
    the previous file at ``path`` untouched. A symbolic link is followed and
    its target replaced; a folder, a FIFO or a device at ``path`` is refused
    with a :class:`CheckpointError` before anything is written. Tensors are
    saved as their arrays (without gradients); dict key types are preserved.

    >>> import os, tempfile
    >>> import downhill as dh
    >>> from downhill.checkpoint import save, load
    >>> path = os.path.join(tempfile.mkdtemp(), "w.ckpt")
    >>> save({"w": dh.tensor([1.5, 2.5]), "lr": 0.1, "names": ("w",)}, path)
    >>> load(path)
    {'w': array([1.5, 2.5]), 'lr': 0.1, 'names': ('w',)}
    """
    arrays: list[np.ndarray] = []
    root = _encode(obj, arrays, "obj")
    document = json.dumps({"format": FORMAT, "version": VERSION, "root": root}, allow_nan=False)
    members = {f"a{i}": array for i, array in enumerate(arrays)}
    members[_HEADER] = np.frombuffer(document.encode("utf-8"), dtype=np.uint8)
    write_atomically(path, lambda file: np.savez(file, allow_pickle=False, **members),
                     what="checkpoint", error=CheckpointError)


# --------------------------------------------------------------------------- load


def load(path, *, max_bytes: int | None = None):
    """Load what :func:`save` wrote. Arrays come back as NumPy arrays; nothing is unpickled.

    ``max_bytes`` bounds what loading may allocate for the file's contents;
    by default that is the file's own size, which every checkpoint
    ``downhill.save`` writes respects (it never compresses). Give more to load
    a compressed ``.npz`` of downhill's format, less to refuse big files. Any
    file that is not an intact checkpoint (truncated, damaged, crafted, a
    folder, a FIFO) raises :class:`CheckpointError` naming the file and what
    is wrong, before anything large is allocated; a missing or unreadable file
    raises the usual ``OSError``.

    >>> import os, tempfile
    >>> import numpy as np
    >>> from downhill.checkpoint import save, load
    >>> path = os.path.join(tempfile.mkdtemp(), "opt.ckpt")
    >>> save({"state": {0: {"step": 2, "exp_avg": np.zeros(2)}}, "best": float("inf")}, path)
    >>> state = load(path)
    >>> state["state"][0]["step"], state["best"]
    (2, inf)
    >>> try:
    ...     load(path, max_bytes=100)
    ... except CheckpointError as error:
    ...     print(str(error).split(": ", 1)[1])
    it declares 306 bytes of contents, more than the limit of 100 bytes (max_bytes)
    """
    if max_bytes is not None and (isinstance(max_bytes, bool) or not isinstance(max_bytes, int)):
        raise InputTypeError("load: max_bytes must be a whole number of bytes or None, "
                             f"got {shorten(repr(max_bytes))}")
    if max_bytes is not None and max_bytes < 0:
        raise InputError(f"load: max_bytes must be 0 or more, got {max_bytes}")
    name = os.fsdecode(os.fspath(path))
    shown = show_path(name)
    not_ours = f"{shown} is not a downhill checkpoint (a file written by downhill.save): "
    # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(name, flags)
    except IsADirectoryError:
        raise CheckpointError(not_ours + "it is a folder") from None
    except ValueError:  # an embedded NUL
        raise CheckpointError(f"cannot load {shown!r}: a file name cannot contain a NUL character") from None
    except OSError as error:
        if error.errno != errno.ELOOP:
            raise  # missing, unreadable: the usual OSError, which names the file
        raise CheckpointError(not_ours + "it is a loop of symbolic links") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise CheckpointError(not_ours + f"it is {kind_of(info.st_mode)}")
        file = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with file:
        start = file.read(4)
        if start != b"PK\x03\x04":
            raise CheckpointError(not_ours + _what_it_is(start))
        file.seek(0)
        limit = info.st_size if max_bytes is None else max_bytes
        npz = BoundedNpz(file, info.st_size, shown, CheckpointError)
        try:
            return _read(npz, shown, not_ours, limit, max_bytes is not None)
        finally:
            npz.close()


def _what_it_is(start: bytes) -> str:
    """Why a file that does not start like a zip is not a checkpoint, from its first bytes."""
    if start.startswith(b"\x93NUM"):
        return "it is a single .npy array; load it with numpy.load"
    if start[:1] == b"\x80":
        return ("it looks like a pickle (torch.save or pickle.dump); downhill never "
                "unpickles files, since unpickling can run code")
    return "it is not a zip (.npz) file" + (" (it is empty)" if not start else "")


def _read(npz: BoundedNpz, shown: str, not_ours: str, limit: int, limited: bool):
    corrupt = f"corrupt checkpoint {shown}: "
    if _HEADER not in npz:
        raise CheckpointError(not_ours + "it is an .npz file without downhill's structure document; "
                              "load plain .npz files with numpy.load")

    def within(total: int) -> None:
        if total > limit:
            where = (f"the limit of {limit:,} bytes (max_bytes)" if limited else
                     f"the file itself holds ({limit:,} bytes); load a compressed checkpoint "
                     "with load(path, max_bytes=...)")
            raise CheckpointError(f"{shown}: it declares {total:,} bytes of contents, more than {where}")

    within(npz.declared_size(_HEADER))
    document = npz.read(_HEADER)
    if document.dtype != np.uint8 or document.ndim != 1:
        raise CheckpointError(corrupt + f"its structure document is an array of dtype {document.dtype} "
                              f"and shape {document.shape}, not text")
    try:
        header = json.loads(document.tobytes().decode("utf-8"), parse_constant=_no_constants)
    except (ValueError, RecursionError) as error:
        raise CheckpointError(corrupt + f"its structure document is unreadable ({shorten(error)})") from None
    references = _check_header(header, shown, not_ours)
    for _, name in references:
        if name not in npz:
            raise CheckpointError(corrupt + f"array {name!r} is missing")
    within(npz.declared_size(_HEADER) + sum(npz.declared_size(name) for _, name in references))
    arrays = {name: npz.read(name, scalar=kind == "scalar") for kind, name in references}
    return _decode(header["root"], arrays, corrupt)


def _no_constants(word: str):
    raise ValueError(f"{word} is not JSON")


def _check_header(header, shown: str, not_ours: str):
    """Check the structure document; returns the arrays it names as (kind, member)."""
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise CheckpointError(not_ours + "its structure document is not downhill's")
    version = header.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise CheckpointError(f"corrupt checkpoint {shown}: its format version is "
                              f"{shorten(json.dumps(version))}, not a whole number from 1")
    if version > VERSION:
        raise CheckpointError(
            f"{shown} was written by a newer downhill (checkpoint format version "
            f"{version}, this one reads up to {VERSION}); upgrade downhill"
        )
    if "root" not in header:
        raise CheckpointError(f"corrupt checkpoint {shown}: its structure document has no root")
    return _references(header["root"], f"corrupt checkpoint {shown}: ")


def dumps_structure(obj) -> str:
    """The JSON structure document :func:`save` would write for ``obj`` (arrays by name).

    Handy to see what a checkpoint holds without writing one.

    >>> import numpy as np
    >>> from downhill.checkpoint import dumps_structure
    >>> dumps_structure({0: np.zeros(2), "lr": 0.5})
    '{"dict": [[0, {"array": "a0"}], ["lr", {"float": 0.5}]]}'
    """
    return json.dumps(_encode(obj, [], "obj"), allow_nan=False)
