"""Anomaly mode: stop at the first NaN or Inf and say which op and which line made it.

Off by default, and then it costs one attribute read per op. On, every op
checks its output, and every recorded value remembers the line of user code
that created it, so that a bad gradient found later in the backward pass can
be traced to where its value came from.
"""

from __future__ import annotations

import os
import sys

import numpy as np

from .mode import THREAD, set_anomaly_mode

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class AnomalyError(FloatingPointError):
    """A NaN or Inf appeared inside ``detect_anomaly()``."""


class detect_anomaly:
    """Context manager: raise at the first NaN or Inf produced forward or backward (in this thread).

    The error names the op and the line of your code that created the value.

    >>> import downhill as dh
    >>> x = dh.tensor(-1.0, requires_grad=True)
    >>> with dh.detect_anomaly():
    ...     try:
    ...         dh.sqrt(x)
    ...     except FloatingPointError as error:
    ...         print(str(error).splitlines()[0])
    sqrt produced nan in the forward pass
    """

    def __init__(self, enabled=True):
        self.enabled = enabled

    def __enter__(self):
        self._previous = THREAD.anomaly
        set_anomaly_mode(bool(self.enabled))
        self._errstate = np.errstate(all="ignore")
        self._errstate.__enter__()
        return self

    def __exit__(self, *exc):
        set_anomaly_mode(self._previous)
        self._errstate.__exit__(*exc)
        return False


def user_line():
    """'file:line: code' of the innermost frame outside the downhill package."""
    frame = sys._getframe(1)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE_DIR):
        frame = frame.f_back
    if frame is None:
        return "<unknown location>"
    import linecache

    code = linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()
    return f"{frame.f_code.co_filename}:{frame.f_lineno}: {code}"


def _bad(value):
    array = np.asarray(value.data if hasattr(value, "_data") else value)
    if array.dtype.kind not in "fc":
        return None
    if np.isnan(array).any():
        return "nan"
    if np.isinf(array).any():
        return "inf"
    return None


def check_forward(op, tensor, inputs):
    """Raise if ``op`` turned finite inputs into a non-finite output."""
    where = user_line()
    if tensor._rg:
        tensor._extra_set("origin", where)
    kind = _bad(tensor._data)
    if kind and not any(_bad(x) for x in inputs):
        raise AnomalyError(
            f"{op.name} produced {kind} in the forward pass\n"
            f"  created at {where}\n"
            f"  input shapes: {[np.shape(x) for x in inputs]}"
        )


def check_backward(node, i, g, gi):
    """Raise if the vjp of ``node`` turned a finite gradient into a non-finite one."""
    kind = _bad(gi)
    if kind and not _bad(g):
        origin = node._extra_get("origin") or "<recorded before detect_anomaly() was on>"
        raise AnomalyError(
            f"the backward of {node._op.name} produced {kind} in the gradient of its input {i}\n"
            f"  the {node._op.name} was created at {origin}"
        )
