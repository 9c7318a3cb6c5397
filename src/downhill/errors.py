"""The errors downhill raises for its users' mistakes, in one family.

Everything that is the *user's* mistake (a formula that is not allowed, a
name that names nothing, a size beyond a stated limit, a file that is not a
checkpoint) is a :class:`DownhillError`. The command turns exactly these into
one line on stderr and exit status 2; anything else is a bug in downhill and
keeps its traceback.

Each subclass also derives from the built-in type a Python user would expect
(``ValueError``, ``KeyError``, ``TypeError``), so ``except ValueError`` keeps
working.

>>> from downhill.errors import DownhillError, InputError
>>> try:
...     raise InputError("steps must be at least 0; got -1")
... except DownhillError as error:
...     print(error)
steps must be at least 0; got -1
>>> issubclass(InputError, ValueError)
True
"""

from __future__ import annotations


class DownhillError(Exception):
    """Base of every error that reports a user's mistake, never a bug."""


class InputError(DownhillError, ValueError):
    """A value the user gave that cannot be used: says what was wrong and what is accepted."""


class InputTypeError(DownhillError, TypeError):
    """An argument of the wrong kind (a list of Tensors where a Tensor is needed, say)."""


class UnknownNameError(InputError):
    """A name (a landscape, an optimizer, a schedule, a dataset) that downhill does not know."""


class LimitError(InputError):
    """A size, a count or a cost beyond a stated limit; the message names the limit."""


class DeviceError(InputError):
    """A device other than the CPU (``"cuda"``, ``"mps"``): downhill computes with NumPy on the CPU."""


def shorten(text: object, limit: int = 80) -> str:
    """``text`` as a string cut to about ``limit`` characters, for echoing input in a message.

    >>> shorten("x" * 100, 10)
    'xxxxxxxxx… (100 characters)'
    >>> shorten("x**2")
    'x**2'
    """
    text = str(text)
    if len(text) <= limit:
        return text
    return f"{text[:limit - 1]}… ({len(text)} characters)"
