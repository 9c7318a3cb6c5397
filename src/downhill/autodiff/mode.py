"""The engine's switches, per thread (as in PyTorch): gradient recording,
anomaly detection, and how deep the function transforms are nested.

Each thread has its own values (:data:`THREAD`); ``no_grad()`` in one thread
leaves every other thread recording. Reading a thread-local value costs about
five times a plain attribute read, and the hot path of every op asks "record
this?", so :data:`STATE` keeps two process-wide summaries that answer for the
common case in one read:

- ``STATE.everyone_records`` is True while no thread has recording off; then
  the answer is yes without asking the thread. Otherwise the op reads its own
  thread's ``THREAD.grad_enabled``.
- ``STATE.anyone_anomalous`` is True while some thread has anomaly mode on;
  only then does an op read ``THREAD.anomaly``.

The summaries are counts of threads, changed under a lock; a thread switching
off updates the summary before its own value, and a thread switching on
after, so that a summary never answers for a thread that has just changed.
"""

from __future__ import annotations

import functools
import threading


class _Thread(threading.local):
    """One thread's switches; a new thread starts recording, without anomaly checks."""

    grad_enabled = True
    anomaly = False
    depth = 0  # how many transforms (grad, vjp, ...) are evaluating a function in this thread


THREAD = _Thread()


class _Summary:
    __slots__ = ("everyone_records", "anyone_anomalous", "_not_recording", "_anomalous")

    def __init__(self) -> None:
        self.everyone_records = True
        self.anyone_anomalous = False
        self._not_recording = 0  # threads with recording off
        self._anomalous = 0  # threads with anomaly mode on


STATE = _Summary()
_LOCK = threading.Lock()


def recording() -> bool:
    """Whether ops in this thread are being recorded (the hot path inlines this)."""
    return STATE.everyone_records or THREAD.grad_enabled


def anomaly_on() -> bool:
    """Whether anomaly mode is on in this thread."""
    return STATE.anyone_anomalous and THREAD.anomaly


def set_grad_mode(flag: bool) -> None:
    """Set this thread's recording switch, keeping the process-wide count right."""
    local = THREAD
    if local.grad_enabled is flag:
        return
    with _LOCK:
        if flag:
            local.grad_enabled = True
            STATE._not_recording -= 1
            STATE.everyone_records = STATE._not_recording == 0
        else:
            STATE._not_recording += 1
            STATE.everyone_records = False
            local.grad_enabled = False


def set_anomaly_mode(flag: bool) -> None:
    """Set this thread's anomaly switch, keeping the process-wide count right."""
    local = THREAD
    if local.anomaly is flag:
        return
    with _LOCK:
        if flag:
            STATE._anomalous += 1
            STATE.anyone_anomalous = True
            local.anomaly = True
        else:
            local.anomaly = False
            STATE._anomalous -= 1
            STATE.anyone_anomalous = STATE._anomalous > 0


class _GradMode:
    """Base of the context managers that set gradient recording on or off (in this thread)."""

    __slots__ = ("_previous",)
    _enabled = True

    def __enter__(self):
        self._previous = THREAD.grad_enabled
        set_grad_mode(self._enabled)
        return self

    def __exit__(self, *exc):
        set_grad_mode(self._previous)
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
    return THREAD.grad_enabled


def set_grad_enabled(mode: bool) -> None:
    """Turn gradient recording on or off for this thread (prefer the context managers).

    >>> import downhill as dh
    >>> dh.set_grad_enabled(False); dh.is_grad_enabled()
    False
    >>> dh.set_grad_enabled(True)
    """
    set_grad_mode(bool(mode))
