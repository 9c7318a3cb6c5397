"""Reading arrays out of an ``.npz`` file that may be damaged or crafted, without pickle.

``numpy.load`` trusts what a file declares: an array header saying "a billion
float64" makes it allocate 8 GB before reading a byte, and a damaged zip
surfaces as half a dozen exception types. :class:`BoundedNpz` reads the zip's
directory and each array's ``.npy`` header first, checks that every declared
size agrees with the bytes really there, and only then allocates exactly what
the member holds. Every problem is raised as the caller's error type, with
the caller's name for the file.

>>> import io
>>> import numpy as np
>>> buffer = io.BytesIO()
>>> np.savez(buffer, w=np.arange(3.0))
>>> npz = BoundedNpz(buffer, len(buffer.getvalue()), "w.npz", ValueError)
>>> sorted(npz), npz.read("w")
(['w'], array([0., 1., 2.]))
"""

from __future__ import annotations

import math
import zipfile
import zlib

import numpy as np
from numpy.lib import format as npy

__all__ = ["BoundedNpz"]

# What a damaged zip or member can raise while being read.
READ_ERRORS = (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error, NotImplementedError,
               KeyError, IndexError, OverflowError, SyntaxError, TypeError, UnicodeDecodeError)
_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflated"}
# Zip flag bits: 0 encrypted, 5 compressed patched data, 6 strong encryption.
_UNREADABLE_FLAGS = 0x1 | 0x20 | 0x40
_MAX_NPY_HEADER = 10_000  # numpy's own default bound on an array header


class BoundedNpz:
    """The members of an ``.npz`` (names without ``.npy``), read only after their sizes check out.

    ``file`` is a seekable binary file of ``size`` bytes; ``shown`` names it
    in messages; ``error`` is the exception type raised for any problem.
    """

    def __init__(self, file, size: int, shown: str, error: type[Exception]):
        self._shown = shown
        self._error = error
        self._not_ours = f"{shown} is not a downhill checkpoint (a file written by downhill.save): "
        self._corrupt = f"corrupt checkpoint {shown}: "
        try:
            self._zip = zipfile.ZipFile(file)
            infos = self._zip.infolist()
        except READ_ERRORS as problem:
            raise error(self._not_ours + f"its zip (.npz) structure is unreadable ({problem})") from None
        self._members = {}
        for info in infos:
            name = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
            if name in self._members:
                raise error(self._corrupt + f"it holds two members named {info.filename!r}")
            if info.flag_bits & _UNREADABLE_FLAGS:  # zipfile would ask for a password (a RuntimeError)
                raise error(self._corrupt + f"member {info.filename!r} is marked encrypted or patched "
                            "(zip flag bits 0, 5 or 6), which downhill.save never writes")
            if info.compress_type not in _METHODS:
                raise error(self._corrupt + f"member {info.filename!r} uses zip compression method "
                            f"{info.compress_type}; only stored and deflated members are read")
            if info.header_offset + info.compress_size > size:
                raise error(self._corrupt + f"member {info.filename!r} claims {info.compress_size:,} bytes "
                            f"at offset {info.header_offset:,}, past the end of the file ({size:,} bytes); "
                            "it is truncated or damaged")
            if info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size:
                raise error(self._corrupt + f"member {info.filename!r} is stored uncompressed but declares "
                            f"{info.file_size:,} bytes in {info.compress_size:,}")
            self._members[name] = info

    def __iter__(self):
        return iter(self._members)

    def __contains__(self, name) -> bool:
        return name in self._members

    def declared_size(self, name: str) -> int:
        """The bytes member ``name`` says it holds once decompressed (header included)."""
        return self._members[name].file_size

    def close(self) -> None:
        self._zip.close()

    def read(self, name: str, scalar: bool = False) -> np.ndarray:
        """Member ``name`` as an array of a numeric or bool dtype (shape ``()`` when ``scalar``)."""
        info = self._members[name]
        error, where = self._error, f"{self._corrupt}member {info.filename!r} "
        try:
            with self._zip.open(info) as member:
                shape, fortran, dtype, header_length = self._header(member, where)
                count = math.prod(shape)
                nbytes = count * dtype.itemsize
                if header_length + nbytes != info.file_size:
                    raise error(where + f"declares an array of shape {shape} and dtype {dtype} "
                                f"({nbytes:,} bytes), but holds {info.file_size - header_length:,} bytes")
                if scalar and shape != ():
                    raise error(where + f"should hold one number but has shape {shape}")
                buffer = bytearray(nbytes)
                view, done = memoryview(buffer), 0
                while done < nbytes:
                    got = member.readinto(view[done:])
                    if not got:
                        raise error(where + f"ends after {done:,} of its {nbytes:,} bytes")
                    done += got
                if member.read(1):  # also makes zipfile check the CRC at the end
                    raise error(where + "holds more bytes than its array")  # pragma: no cover
        except error:
            raise
        except READ_ERRORS as problem:
            raise error(where + f"is unreadable ({problem})") from None
        array = np.frombuffer(buffer, dtype=dtype, count=count)
        return array.reshape(shape, order="F" if fortran else "C")

    def _header(self, member, where: str):
        error = self._error
        try:
            version = npy.read_magic(member)
        except READ_ERRORS:
            raise error(where + "is not a .npy array") from None
        readers = {(1, 0): npy.read_array_header_1_0, (2, 0): npy.read_array_header_2_0}
        if version not in readers:
            raise error(where + f"is a .npy array of format version {version}, which downhill does not write")
        try:
            shape, fortran, dtype = readers[version](member, max_header_size=_MAX_NPY_HEADER)
        except READ_ERRORS as problem:
            raise error(where + f"has an unreadable array header ({problem})") from None
        if dtype.hasobject:
            raise error(where + "cannot be read without pickle (its dtype holds Python objects), "
                        "which downhill never uses")
        if dtype.kind not in "biufc" or dtype.fields is not None or dtype.subdtype is not None \
                or dtype.itemsize == 0:
            raise error(where + f"has dtype {dtype}; a checkpoint holds only numeric and bool arrays")
        if not isinstance(shape, tuple) or len(shape) > 64 or not all(
                type(n) is int and n >= 0 for n in shape):
            raise error(where + f"declares the impossible shape {str(shape)[:80]}")
        return shape, bool(fortran), dtype, member.tell()
