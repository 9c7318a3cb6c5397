"""``torch`` for tables of test cases that name PyTorch's functions but must not import it.

A table row such as ``Spec("exp", dh.exp, torch.exp, ...)`` is built when its
module is imported, in the default (recorded) run too, where torch must stay
unimported. With ``from oracle.lazy import torch``, ``torch.exp`` is a
:class:`Deferred` name: calling it imports torch and calls the real
``torch.exp``; ``torch.nn.functional.softplus`` and ``torch.linalg.inv``
defer the same way. So the table reads as before, and torch is imported by
the first call of one of these, which happens only inside an oracle's
``compute`` (the live run and the recorder).

Only calls are deferred: a non-callable (``torch.float64``) used as a value
must be looked up inside the code that runs live (``real_torch().float64``).
"""

from __future__ import annotations

import importlib
from typing import Any


def real_torch():
    """The torch module itself (imported now)."""
    return importlib.import_module("torch")


class Deferred:
    """``torch.<path>``, looked up when it is called."""

    __slots__ = ("_path",)

    def __init__(self, path: tuple[str, ...] = ()):
        self._path = path

    def __getattr__(self, name: str) -> Deferred:
        if name.startswith("__"):  # copy, pickle, inspect: this is no module
            raise AttributeError(name)
        return Deferred(self._path + (name,))

    def resolve(self) -> Any:
        value: Any = real_torch()
        for name in self._path:
            value = getattr(value, name)
        return value

    def __call__(self, *args, **kwargs):
        return self.resolve()(*args, **kwargs)

    def __repr__(self) -> str:
        return ".".join(("torch",) + self._path)


torch = Deferred()
