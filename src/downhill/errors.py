"""The errors downhill raises for its users' mistakes, in one family.

Everything that is the *user's* mistake (a formula that is not allowed, a
name that names nothing, a size beyond a stated limit, a file that is not a
checkpoint) is a :class:`DownhillError`. The command turns exactly these into
one line on stderr and exit status 2; anything else is a bug in downhill and
keeps its traceback.

Each subclass also derives from the built-in type a Python user would expect
(``ValueError``, ``TypeError``, ``KeyError``, ``IndexError``, ``RuntimeError``:
the one PyTorch or NumPy raises for the same mistake), so ``except ValueError``
keeps working.

Which to raise: a value that cannot be used is an :class:`InputError`; an
argument of the wrong kind an :class:`InputTypeError`; a missing key an
:class:`InputKeyError`; a position out of range an :class:`InputIndexError`;
an axis (``dim``) out of range an :class:`InputAxisError`; a call that the
state of things does not allow (a second ``backward()`` through a freed graph,
an in-place change of a tensor the graph needs) a :class:`UsageError`. An internal
invariant that fails is a bug, not one of these: let it be an ``assert`` or a
``RuntimeError`` with its traceback.

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

import numpy as np


class DownhillError(Exception):
    """Base of every error that reports a user's mistake, never a bug."""


class InputError(DownhillError, ValueError):
    """A value the user gave that cannot be used: says what was wrong and what is accepted."""


class InputTypeError(DownhillError, TypeError):
    """An argument of the wrong kind (a list of Tensors where a Tensor is needed, say)."""


class InputKeyError(DownhillError, KeyError):
    """A key that is not there: a parameter group without ``initial_lr``, a name no node or log has.

    A ``KeyError``, as PyTorch raises for the same mistakes, but printed as the
    sentence it is (a plain ``KeyError`` shows its message in quotes):

    >>> str(InputKeyError("no 'loss' in this history; it has ['acc']"))
    "no 'loss' in this history; it has ['acc']"
    """

    def __str__(self) -> str:
        return str(self.args[0]) if len(self.args) == 1 else super().__str__()


class InputIndexError(DownhillError, IndexError):
    """A position out of range: ``model[5]`` of a 3-layer Sequential, a class label past the last class.

    An ``IndexError``, as Python and PyTorch raise, so ``for`` loops over
    ``__getitem__`` still stop where they should.
    """


class InputAxisError(InputError, InputIndexError, np.exceptions.AxisError):
    """An axis (``axis=`` / ``dim=``) out of range for the tensor's number of dimensions.

    It is all three of what users catch for this: ``ValueError`` and NumPy's
    ``AxisError`` (NumPy's habit) and ``IndexError`` (PyTorch's).

    >>> error = InputAxisError("sum: axis 2 is out of range for a tensor with 2 dimension(s)")
    >>> isinstance(error, ValueError) and isinstance(error, IndexError), str(error)
    (True, 'sum: axis 2 is out of range for a tensor with 2 dimension(s)')
    """

    def __str__(self) -> str:
        return str(self.args[0]) if len(self.args) == 1 else super().__str__()

    def __reduce__(self):
        # Rebuilt through __init__, so NumPy's slots (axis, ndim) are set again
        # after a trip through pickle (the playground's workers, dask's tblib).
        return type(self), self.args


class UsageError(DownhillError, RuntimeError):
    """A call that is fine in itself but not in this state: PyTorch's ``RuntimeError`` mistakes.

    ``backward()`` of a non-scalar without ``gradient=``, of a tensor that does
    not require grad, or a second time through a freed graph; an in-place change
    of a tensor the graph needs; a hook that returns the wrong thing. PyTorch
    raises ``RuntimeError`` for each, so ``except RuntimeError`` written for
    PyTorch keeps catching them; the message says what to do instead.

    >>> import downhill as dh
    >>> x = dh.tensor(3.0, requires_grad=True)
    >>> y = x * x
    >>> y.backward()
    >>> try:
    ...     y.backward()
    ... except RuntimeError as error:
    ...     print(type(error).__name__, "retain_graph=True" in str(error))
    UsageError True
    """


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


def numbers(value, what: str) -> np.ndarray:
    """``value`` as a float64 array, or an :class:`InputError` naming ``what`` when it holds no numbers.

    NumPy's own refusal ("could not convert string to float: 'a'") names
    neither the argument nor what it accepts; a start or a point typed as text
    deserves both.

    >>> numbers([1, 2], "start")
    array([1., 2.])
    >>> numbers("a", "descend: start")
    Traceback (most recent call last):
    ...
    downhill.errors.InputError: descend: start must be numbers (a point like [1.0, 2.0]); got 'a'
    """
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"{what} must be numbers (a point like [1.0, 2.0]); got {shorten(repr(value))}") from None

