"""Global switches of the engine: gradient recording and anomaly detection.

They live in one small mutable object so that the hot path reads a single
attribute instead of calling a function.
"""

from __future__ import annotations


class _State:
    __slots__ = ("grad_enabled", "anomaly")

    def __init__(self) -> None:
        self.grad_enabled = True
        self.anomaly = False


STATE = _State()


class _GradMode:
    """Base of the context managers that set gradient recording on or off."""

    __slots__ = ("_previous",)
    _enabled = True

    def __enter__(self):
        self._previous = STATE.grad_enabled
        STATE.grad_enabled = self._enabled
        return self

    def __exit__(self, *exc):
        STATE.grad_enabled = self._previous
        return False

    def __call__(self, func):
        """Use as a decorator: run ``func`` inside this mode."""
        import functools

        mode = type(self)

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with mode():
                return func(*args, **kwargs)

        return wrapper


class no_grad(_GradMode):
    """Context manager (or decorator) that stops recording operations.

    Inside it, results never require gradients, and ops run as one NumPy call
    plus a thin wrapper. The classic update step lives here:

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
    """Whether operations are being recorded for backward.

    >>> import downhill as dh
    >>> dh.is_grad_enabled()
    True
    >>> with dh.no_grad():
    ...     dh.is_grad_enabled()
    False
    """
    return STATE.grad_enabled


def set_grad_enabled(mode: bool) -> None:
    """Turn gradient recording on or off globally (prefer the context managers).

    >>> import downhill as dh
    >>> dh.set_grad_enabled(False); dh.is_grad_enabled()
    False
    >>> dh.set_grad_enabled(True)
    """
    STATE.grad_enabled = bool(mode)
