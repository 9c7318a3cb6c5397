"""Containers: ``Sequential`` (a chain of layers) and ``ModuleList`` (a list of them)."""

from __future__ import annotations

import operator
from collections import OrderedDict

from ..errors import InputIndexError, InputTypeError, shorten
from .module import Module, _addindent

__all__ = ["Sequential", "ModuleList"]


def _index(i, n: int, kind: str) -> int:
    try:
        i = operator.index(i)
    except TypeError:
        raise InputTypeError(f"a {kind} is indexed by a whole number or a slice, got "
                             f"{type(i).__name__} {shorten(repr(i))}") from None
    if not -n <= i < n:
        raise InputIndexError(f"index {i} is out of range for a {kind} of length {n} (accepted: {-n} to {n - 1})")
    return i % n


def _delete(modules: dict, idx, kind: str) -> None:
    """Remove the layer(s) at ``idx`` (an int or a slice) and number the rest again,
    as PyTorch does, so that indices and names agree."""
    keys = list(modules)
    targets = keys[idx] if isinstance(idx, slice) else [keys[_index(idx, len(keys), kind)]]
    for key in targets:
        del modules[key]
    remaining = list(modules.values())
    modules.clear()
    for i, module in enumerate(remaining):
        modules[str(i)] = module


class Sequential(Module):
    """Layers applied one after another: the output of each is the input of the next.

    Give the layers as arguments (named ``"0"``, ``"1"``, ...), or one
    OrderedDict of name -> layer. Index it, slice it, take ``len``, iterate
    over it, ``append`` to it.

    >>> import downhill as dh
    >>> net = dh.nn.Sequential(dh.nn.Linear(2, 4), dh.nn.Tanh())
    >>> net
    Sequential(
      (0): Linear(in_features=2, out_features=4, bias=True)
      (1): Tanh()
    )
    >>> net(dh.ones((3, 2))).shape, len(net), net[-1]
    ((3, 4), 2, Tanh())
    """

    def __init__(self, *args):
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for name, module in args[0].items():
                self.add_module(name, module)
        else:
            for i, module in enumerate(args):
                self.add_module(str(i), module)

    def forward(self, input):
        for module in self._modules.values():
            input = module(input)
        return input

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return type(self)(OrderedDict(list(self._modules.items())[idx]))
        return list(self._modules.values())[_index(idx, len(self), "Sequential")]

    def __setitem__(self, idx, module: Module) -> None:
        key = list(self._modules)[_index(idx, len(self), "Sequential")]
        self.add_module(key, module)

    def __delitem__(self, idx) -> None:
        _delete(self._modules, idx, "Sequential")

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, module: Module) -> Sequential:
        """Add a layer at the end; return the Sequential.

        >>> import downhill as dh
        >>> len(dh.nn.Sequential(dh.nn.ReLU()).append(dh.nn.Tanh()))
        2
        """
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules) -> Sequential:
        """Add several layers at the end; return the Sequential."""
        for module in modules:
            self.append(module)
        return self

    def insert(self, index: int, module: Module) -> Sequential:
        """Put a layer before position ``index``; return the Sequential."""
        if not isinstance(module, Module):
            raise InputTypeError(f"{type(module).__name__} is not a Module subclass")
        n = len(self)
        if not -n <= index <= n:
            raise InputIndexError(f"index {index} is out of range for a Sequential of length {n} "
                                  f"(insert accepts {-n} to {n})")
        modules = list(self._modules.values())
        modules.insert(index, module)
        self._modules.clear()
        for i, m in enumerate(modules):
            self._modules[str(i)] = m
        return self


class ModuleList(Module):
    """A list of modules, registered so that their parameters belong to the owner.

    A plain Python list of layers would hide them from ``parameters()``;
    a ModuleList does not. It has no ``forward``: loop over it yourself.

    >>> import downhill as dh
    >>> layers = dh.nn.ModuleList([dh.nn.Linear(4, 4) for _ in range(3)])
    >>> len(layers), len(list(layers.parameters()))
    (3, 6)
    >>> layers
    ModuleList(
      (0-2): 3 x Linear(in_features=4, out_features=4, bias=True)
    )
    """

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return type(self)(list(self._modules.values())[idx])
        return self._modules[str(_index(idx, len(self), "ModuleList"))]

    def __setitem__(self, idx, module: Module) -> None:
        self.add_module(str(_index(idx, len(self), "ModuleList")), module)

    def __delitem__(self, idx) -> None:
        _delete(self._modules, idx, "ModuleList")

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __iadd__(self, modules) -> ModuleList:
        return self.extend(modules)

    def append(self, module: Module) -> ModuleList:
        """Add a module at the end; return the ModuleList."""
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules) -> ModuleList:
        """Add modules at the end; return the ModuleList."""
        if isinstance(modules, Module) and not isinstance(modules, (ModuleList, Sequential)):
            raise InputTypeError("ModuleList.extend needs an iterable of modules, got one Module; "
                            "use append")
        for module in modules:
            self.append(module)
        return self

    def insert(self, index: int, module: Module) -> None:
        """Put a module before position ``index``."""
        modules = list(self._modules.values())
        modules.insert(index, module)
        self._modules.clear()
        for i, m in enumerate(modules):
            self.add_module(str(i), m)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(
            "ModuleList has no forward: it is a list of modules. Loop over it in your "
            "own module's forward, or use Sequential to chain layers"
        )

    def __repr__(self) -> str:
        # Runs of identical layers are shown once, as PyTorch does: "(0-2): 3 x Linear(...)".
        reprs = [repr(m) for m in self]
        if not reprs:
            return self._get_name() + "()"
        blocks = []  # [start, end, text]
        for i, text in enumerate(reprs):
            if blocks and blocks[-1][2] == text:
                blocks[-1][1] = i
            else:
                blocks.append([i, i, text])
        lines = []
        for start, end, text in blocks:
            line = f"({start}): {text}" if start == end else f"({start}-{end}): {end - start + 1} x {text}"
            lines.append(_addindent(line, 2))
        return self._get_name() + "(\n  " + "\n  ".join(lines) + "\n)"
