"""The engine's switches, per thread (as in PyTorch): gradient recording,
anomaly detection, and how deep the function transforms are nested.

Each thread has its own values (:data:`THREAD`); ``no_grad()`` in one thread
leaves every other thread recording. Reading a thread-local value costs about
five times a plain global read, and the hot path of every op asks "record
this?", so two process-wide lists answer for the common case in one read:

- :data:`NOT_RECORDING` holds one entry per thread that has recording off.
  While it is empty every thread records, and an op need not ask its thread;
  otherwise it reads its own ``THREAD.grad_enabled``.
- :data:`ANOMALOUS` holds one entry per thread with anomaly mode on; only
  while it is non-empty does an op read ``THREAD.anomaly``.

Appending to and popping from a list are single atomic steps, so no lock is
needed. A thread switching off appends before it sets its own value, and a
thread switching on resets its value before it pops, so an empty list never
answers for a thread that has just switched off.
"""

from __future__ import annotations

import functools
import threading


class _Thread(threading.local):
    """One thread's switches; a new thread starts recording, without anomaly checks."""

    grad_enabled = True
    anomaly = False
    depth = 0  # how many transforms (grad, vjp, ...) are evaluating a function in this thread
    masks_in_graph = False  # while vmap traces: comparisons of recorded values are recorded too


THREAD = _Thread()
NOT_RECORDING: list = []
ANOMALOUS: list = []


def recording() -> bool:
    """Whether ops in this thread are being recorded (the hot path inlines this)."""
    return not NOT_RECORDING or THREAD.grad_enabled


def anomaly_on() -> bool:
    """Whether anomaly mode is on in this thread."""
    return bool(ANOMALOUS) and THREAD.anomaly


def set_grad_mode(flag: bool) -> None:
    """Set this thread's recording switch, keeping the process-wide list right."""
    local = THREAD
    if local.grad_enabled is flag:
        return
    if flag:
        local.grad_enabled = True
        NOT_RECORDING.pop()
    else:
        NOT_RECORDING.append(None)
        local.grad_enabled = False


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

    __slots__ = ("_previous",)
    _enabled = True

    def __enter__(self):
        local = THREAD
        previous = self._previous = local.grad_enabled
        if previous is not self._enabled:  # set_grad_mode, inlined: no_grad sits in every optimizer step
            if previous:
                NOT_RECORDING.append(None)
                local.grad_enabled = False
            else:
                local.grad_enabled = True
                NOT_RECORDING.pop()
        return self

    def __exit__(self, *exc):
        previous = self._previous
        if previous is not self._enabled:
            if previous:
                THREAD.grad_enabled = True
                NOT_RECORDING.pop()
            else:
                NOT_RECORDING.append(None)
                THREAD.grad_enabled = False
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
