"""The engine's switches, per thread (as in PyTorch): gradient recording,
anomaly detection, and how deep the function transforms are nested.

``no_grad()`` in one thread leaves every other thread recording. The hot
path of every op asks "record this?", so the answer for the common case must
cost one read:

- :data:`NOT_RECORDING` is the set of the ids of the threads that have
  recording off (``threading.get_ident()``). While it is empty, every thread
  records and an op need not ask who it is; otherwise it looks its own id up.
  Adding to and removing from a set are single atomic steps, so no lock is
  needed, and no thread-local read is paid by ``no_grad`` itself.
- :data:`ANOMALOUS` holds one entry per thread with anomaly mode on; only
  while it is non-empty does an op read its thread's ``THREAD.anomaly``.
"""

from __future__ import annotations

import functools
import threading
from threading import get_ident


class _Thread(threading.local):
    """One thread's other switches; a new thread starts without anomaly checks, at depth 0."""

    anomaly = False
    depth = 0  # how many transforms (grad, vjp, ...) are evaluating a function in this thread
    masks_in_graph = False  # while vmap traces: comparisons of recorded values are recorded too
    values_read = False  # while vmap traces: set when a traced tensor's values are read into Python
    guard = None  # see set_grad_mode


THREAD = _Thread()
NOT_RECORDING: set = set()
ANOMALOUS: list = []
# One entry per thread that vmap is tracing in: ``Tensor.data`` checks it first (a global
# read) before the thread's own switch, so reading values costs nothing otherwise.
TRACING: list = []


class _Forget:
    """Held by a thread that switched recording off without a context manager:
    when the thread ends, its locals go, and so does its id from the set (a
    later thread may get the same id, and must start recording)."""

    __slots__ = ("ident",)

    def __init__(self, ident):
        self.ident = ident

    def __del__(self):
        NOT_RECORDING.discard(self.ident)


def recording() -> bool:
    """Whether ops in this thread are being recorded (the hot path inlines this)."""
    return not NOT_RECORDING or get_ident() not in NOT_RECORDING


def anomaly_on() -> bool:
    """Whether anomaly mode is on in this thread."""
    return bool(ANOMALOUS) and THREAD.anomaly


def set_grad_mode(flag: bool) -> None:
    """Set this thread's recording switch (for good: ``set_grad_enabled``)."""
    ident = get_ident()
    if flag:
        NOT_RECORDING.discard(ident)
    else:
        NOT_RECORDING.add(ident)
        if THREAD.guard is None:
            THREAD.guard = _Forget(ident)


def set_anomaly_mode(flag: bool) -> None:
    """Set this thread's anomaly switch, keeping the process-wide list right."""
    local = THREAD
    if local.anomaly is flag:
        return
    if flag:
        ANOMALOUS.append(None)
        local.anomaly = True
    else:
        local.anomaly = False
        ANOMALOUS.pop()


class _GradMode:
    """Base of the context managers that set gradient recording on or off (in this thread)."""

    __slots__ = ("_previous", "_ident")
    _enabled = True

    def __enter__(self):
        ident = self._ident = get_ident()
        previous = self._previous = ident not in NOT_RECORDING
        if previous is not self._enabled:
            if previous:
                NOT_RECORDING.add(ident)
            else:
                NOT_RECORDING.discard(ident)
        return self

    def __exit__(self, *exc):
        previous = self._previous
        if previous is not self._enabled:
            if previous:
                NOT_RECORDING.discard(self._ident)
            else:
                NOT_RECORDING.add(self._ident)
        return False

    def __call__(self, func):
        """Use as a decorator: run ``func`` inside this mode."""
        mode = type(self)

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with mode():
                return func(*args, **kwargs)

        return wrapper


class no_grad(_GradMode):
    """Context manager (or decorator) that stops recording operations in this thread.

    Inside it, results never require gradients, and ops run as one NumPy call
    plus a thin wrapper. Other threads keep recording. The classic update step
    lives here:

    >>> import downhill as dh
    >>> x = dh.tensor(3.0, requires_grad=True)
    >>> (x ** 2).backward()
    >>> with dh.no_grad():
    ...     x -= 0.1 * x.grad
    >>> round(x.item(), 6)
    2.4
    """

    __slots__ = ()
    _enabled = False


class enable_grad(_GradMode):
    """Context manager (or decorator) that turns recording back on inside ``no_grad``.

    >>> import downhill as dh
    >>> with dh.no_grad():
    ...     with dh.enable_grad():
    ...         y = dh.tensor(2.0, requires_grad=True) * 3
    >>> y.requires_grad
    True
    """

    __slots__ = ()
    _enabled = True


def is_grad_enabled() -> bool:
    """Whether operations are being recorded for backward in this thread.

    >>> import downhill as dh
    >>> dh.is_grad_enabled()
    True
    >>> with dh.no_grad():
    ...     dh.is_grad_enabled()
    False
    """
    return get_ident() not in NOT_RECORDING


def set_grad_enabled(mode: bool) -> None:
    """Turn gradient recording on or off for this thread (prefer the context managers).

    >>> import downhill as dh
    >>> dh.set_grad_enabled(False); dh.is_grad_enabled()
    False
    >>> dh.set_grad_enabled(True)
    """
    set_grad_mode(bool(mode))
