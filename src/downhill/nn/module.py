"""``Module``: the base of every layer and model, with PyTorch's book-keeping.

A Module holds Parameters (what it learns), buffers (state it keeps but does
not learn) and other Modules (its children), all found by assigning them as
attributes. ``model(x)`` runs ``forward`` with the registered hooks around it.
Names follow ``torch.nn.Module``: ``parameters``, ``named_parameters``,
``children``, ``modules``, ``train``/``eval``, ``zero_grad``, ``state_dict``,
``load_state_dict``, ``apply``, ``to``, ``register_forward_hook``, ...
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

import numpy as np

from ..errors import InputError, InputKeyError, InputTypeError, shorten
from ..autodiff.mode import is_grad_enabled
from ..autodiff.tensor import Tensor
from . import state as _state
from .hooks import BackwardHookCall, RemovableHandle, _HookDict
from .parameter import Parameter

__all__ = ["Module"]


def _addindent(text: str, spaces: int) -> str:
    lines = text.split("\n")
    if len(lines) == 1:
        return text
    return lines[0] + "\n" + "\n".join(" " * spaces + line for line in lines[1:])


class Module:
    """Base class for all layers and models (``torch.nn.Module``).

    Subclass it, call ``super().__init__()`` first, assign Parameters and
    submodules as attributes, and write ``forward``:

    >>> import downhill as dh
    >>> from downhill import nn
    >>> class TwoLayer(nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.hidden = nn.Linear(2, 3, generator=0)
    ...         self.out = nn.Linear(3, 1, generator=1)
    ...     def forward(self, x):
    ...         return self.out(dh.tanh(self.hidden(x)))
    >>> model = TwoLayer()
    >>> [name for name, _ in model.named_parameters()]
    ['hidden.weight', 'hidden.bias', 'out.weight', 'out.bias']
    >>> model(dh.ones((5, 2))).shape
    (5, 1)
    """

    training: bool

    def __init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "training", True)
        set_(self, "_parameters", {})
        set_(self, "_buffers", {})
        set_(self, "_non_persistent_buffers", set())
        set_(self, "_modules", {})
        set_(self, "_forward_hooks", _HookDict())
        set_(self, "_forward_pre_hooks", _HookDict())
        set_(self, "_backward_hooks", _HookDict())

    def forward(self, *args, **kwargs):
        raise NotImplementedError(
            f'Module [{type(self).__name__}] is missing the required "forward" function: '
            "define forward(self, x) to say what the module computes"
        )

    # ------------------------------------------------------------ calling
    def __call__(self, *args, **kwargs):
        for hook in tuple(self._forward_pre_hooks.values()):
            result = hook(self, args)
            if result is not None:
                args = result if isinstance(result, tuple) else (result,)
        backward_call = None
        if self._backward_hooks and is_grad_enabled():
            backward_call = BackwardHookCall(self, self._backward_hooks.values())
            args = backward_call.wrap_inputs(args)
        output = self.forward(*args, **kwargs)
        for hook in tuple(self._forward_hooks.values()):
            result = hook(self, args, output)
            if result is not None:
                output = result
        if backward_call is not None:
            output = backward_call.wrap_outputs(output)
        return output

    # ------------------------------------------------------- registration
    def __setattr__(self, name: str, value: Any) -> None:
        params = self.__dict__.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call: "
                                     "call super().__init__() first in your __init__")
            self._forget(name)
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise InputTypeError(
                    f"cannot assign a {type(value).__name__} as parameter '{name}': "
                    "use dh.nn.Parameter(value), or None"
                )
            self.register_parameter(name, value)
        elif isinstance(value, Module):
            modules = self.__dict__.get("_modules")
            if modules is None:
                raise AttributeError("cannot assign a module before Module.__init__() call: "
                                     "call super().__init__() first in your __init__")
            self._forget(name)
            modules[name] = value
        elif name in self.__dict__.get("_modules", ()):
            if value is not None:
                raise InputTypeError(f"cannot assign a {type(value).__name__} as child module '{name}' "
                                "(a Module or None expected)")
            self._modules[name] = None
        elif name in self.__dict__.get("_buffers", ()):
            if value is not None and not isinstance(value, Tensor):
                raise InputTypeError(f"cannot assign a {type(value).__name__} as buffer '{name}' "
                                "(a Tensor or None expected)")
            self._buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name: str) -> None:
        """Remove ``name`` from everywhere it may be registered (before registering it anew)."""
        self.__dict__.pop(name, None)
        for store in ("_parameters", "_buffers", "_modules"):
            self.__dict__[store].pop(name, None)
        self._non_persistent_buffers.discard(name)

    def __getattr__(self, name: str):
        # Only reached when normal lookup fails: look in the registries.
        # (Through __dict__, so that copying a half-built module cannot recurse.)
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            if store in d and name in d[store]:
                return d[store][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        for store in ("_parameters", "_buffers", "_modules"):
            if name in self.__dict__.get(store, ()):
                del self.__dict__[store][name]
                self._non_persistent_buffers.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers)
                      | set(self._modules))

    def _check_name(self, name: str, kind: str) -> None:
        if not isinstance(name, str):
            raise InputTypeError(f"{kind} name should be a string, got {type(name).__name__}")
        if name == "" or "." in name:
            raise InputKeyError(f'{kind} name can\'t be empty or contain ".", got {shorten(repr(name))}')
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign a {kind} before Module.__init__() call")
        if hasattr(self, name) and not any(name in self.__dict__[s] for s in
                                           ("_parameters", "_buffers", "_modules")):
            raise InputKeyError(f"attribute '{name}' already exists on {type(self).__name__}; choose another {kind} name")

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add a Parameter (or None, for an optional one such as a missing bias).

        >>> import downhill as dh
        >>> m = dh.nn.Module()
        >>> m.register_parameter("scale", dh.nn.Parameter(dh.ones(1)))
        >>> [n for n, _ in m.named_parameters()]
        ['scale']
        """
        self._check_name(name, "parameter")
        if param is not None and not isinstance(param, Parameter):
            raise InputTypeError(f"cannot assign a {type(param).__name__} as parameter '{name}': "
                            "use dh.nn.Parameter(value), or None")
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Add state that is saved in ``state_dict`` but not learned (e.g. running statistics).

        >>> import downhill as dh
        >>> m = dh.nn.Module()
        >>> m.register_buffer("count", dh.zeros(1))
        >>> list(m.state_dict())
        ['count']
        """
        self._check_name(name, "buffer")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise InputTypeError(f"cannot assign a {type(tensor).__name__} as buffer '{name}' "
                            "(a Tensor or None expected)")
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers.discard(name)
        else:
            self._non_persistent_buffers.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Add a child module under ``name`` (the same as assigning an attribute).

        >>> import downhill as dh
        >>> m = dh.nn.Module()
        >>> m.add_module("act", dh.nn.ReLU())
        >>> m
        Module(
          (act): ReLU()
        )
        """
        if module is not None and not isinstance(module, Module):
            raise InputTypeError(f"{type(module).__name__} is not a Module subclass")
        self._check_name(name, "module")
        self._modules[name] = module

    register_module = add_module

    # -------------------------------------------------------------- walking
    def named_modules(self, memo=None, prefix: str = "", remove_duplicate: bool = True):
        """Every module in the tree, this one first, with its dotted name.

        >>> import downhill as dh
        >>> net = dh.nn.Sequential(dh.nn.Linear(2, 2), dh.nn.ReLU())
        >>> [name for name, _ in net.named_modules()]
        ['', '0', '1']
        """
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, module in self._modules.items():
            if module is None:
                continue
            yield from module.named_modules(memo, prefix + ("." if prefix else "") + name,
                                            remove_duplicate)

    def modules(self) -> Iterator[Module]:
        """Every module in the tree, this one first."""
        for _, module in self.named_modules():
            yield module

    def named_children(self):
        """The direct children, with their names.

        >>> import downhill as dh
        >>> [name for name, _ in dh.nn.Sequential(dh.nn.Tanh(), dh.nn.ReLU()).named_children()]
        ['0', '1']
        """
        seen = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self) -> Iterator[Module]:
        """The direct children."""
        for _, module in self.named_children():
            yield module

    def _named_members(self, store, prefix, recurse, remove_duplicate):
        seen = set()
        modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) \
            if recurse else [(prefix, self)]
        for module_prefix, module in modules:
            for name, value in module.__dict__[store].items():
                if value is None or (remove_duplicate and id(value) in seen):
                    continue
                seen.add(id(value))
                yield module_prefix + ("." if module_prefix else "") + name, value

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True):
        """Every Parameter with its dotted name, in the order of ``state_dict``.

        A Parameter shared by two layers is listed once.

        >>> import downhill as dh
        >>> [(n, p.shape) for n, p in dh.nn.Linear(3, 2).named_parameters()]
        [('weight', (2, 3)), ('bias', (2,))]
        """
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """Every Parameter: what an optimizer should change.

        >>> import downhill as dh
        >>> sum(p.size for p in dh.nn.Linear(3, 2).parameters())
        8
        """
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True):
        """Every buffer with its dotted name."""
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        """Every buffer."""
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    def num_parameters(self, only_trainable: bool = False) -> int:
        """How many numbers the module learns (shared Parameters counted once).

        >>> import downhill as dh
        >>> dh.nn.Sequential(dh.nn.Linear(64, 48), dh.nn.Linear(48, 10)).num_parameters()
        3610
        """
        return sum(p.size for p in self.parameters() if p.requires_grad or not only_trainable)

    def get_submodule(self, target: str) -> Module:
        """The module at a dotted path such as ``"encoder.0"`` (``""`` is this one).

        >>> import downhill as dh
        >>> dh.nn.Sequential(dh.nn.Tanh(), dh.nn.ReLU()).get_submodule("1")
        ReLU()
        """
        module = self
        for part in target.split(".") if target else []:
            child = module._modules.get(part)
            if child is None:
                raise AttributeError(f"{type(module).__name__} has no submodule '{part}' "
                                     f"(looking for '{target}')")
            module = child
        return module

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Call ``fn`` on every child (recursively), then on this module; return this module.

        The usual use is a custom initialization:

        >>> import downhill as dh
        >>> def init(m):
        ...     if isinstance(m, dh.nn.Linear):
        ...         dh.nn.init.zeros_(m.bias)
        >>> net = dh.nn.Sequential(dh.nn.Linear(2, 2), dh.nn.Tanh()).apply(init)
        >>> net[0].bias.tolist()
        [0.0, 0.0]
        """
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    # ----------------------------------------------------------- modes
    def train(self, mode: bool = True) -> Module:
        """Set training mode (``mode=True``) or evaluation mode here and in every child.

        Some layers act differently: Dropout drops values only in training.

        >>> import downhill as dh
        >>> net = dh.nn.Sequential(dh.nn.Dropout(0.5))
        >>> net.eval()[0].training
        False
        """
        if not isinstance(mode, bool):
            raise InputError(f"training mode is expected to be a bool, got {type(mode).__name__}")
        self.training = mode
        for module in self.children():
            module.train(mode)
        return self

    def eval(self) -> Module:
        """Evaluation mode: the same as ``train(False)``."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Switch gradients on or off for every Parameter (to freeze part of a model).

        >>> import downhill as dh
        >>> layer = dh.nn.Linear(2, 2).requires_grad_(False)
        >>> layer.weight.requires_grad
        False
        """
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every Parameter's gradient (to None, or to zeros with ``set_to_none=False``).

        >>> import downhill as dh
        >>> layer = dh.nn.Linear(2, 1)
        >>> layer(dh.ones((1, 2))).sum().backward()
        >>> layer.zero_grad()
        >>> layer.weight.grad is None
        True
        """
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            elif p.grad.data.flags.writeable:
                p.grad.data[...] = 0
            else:
                p.grad = np.zeros(p.shape, dtype=p.dtype)

    # ----------------------------------------------------------- dtypes
    def to(self, *args, **kwargs) -> Module:
        """Cast floating-point Parameters and buffers to a dtype, in place; return this module.

        PyTorch's forms: ``to(dh.float64)``, ``to("cpu")``, ``to(device, dtype)``,
        ``dtype=``/``device=``. The Parameter objects stay the same (an
        optimizer holding them still works); their values are replaced. Any
        device but the CPU raises :class:`~downhill.errors.DeviceError`, which
        says how to move the model to PyTorch (``dh.nn.to_torch``).

        >>> import downhill as dh
        >>> dh.nn.Linear(2, 2).to("float64").weight.dtype
        dtype('float64')
        """
        from ..autodiff.torch_names import parse_to

        kwargs.pop("copy", None)  # a module is always cast in place, as in PyTorch
        dtype, _ = parse_to(args, kwargs, "model")
        if dtype is None:
            return self
        if dtype.kind != "f":
            raise InputTypeError(f"Module.to only accepts floating point dtypes, got {dtype}")

        def cast(module):
            for tensor in list(module._parameters.values()) + list(module._buffers.values()):
                if tensor is None or tensor.dtype.kind != "f":
                    continue
                tensor.data = tensor.data.astype(dtype)
                if tensor._grad is not None:
                    tensor._grad = Tensor(tensor._grad.data.astype(dtype))

        return self.apply(cast)

    def float(self) -> Module:
        """Cast to float32 (PyTorch's default dtype)."""
        return self.to(np.float32)

    def double(self) -> Module:
        """Cast to float64 (what tests against PyTorch use)."""
        return self.to(np.float64)

    def cpu(self) -> Module:
        """This module: downhill computes on the CPU."""
        return self

    def cuda(self, device=None) -> Module:
        """Refused with :class:`~downhill.errors.DeviceError`: it says how to move the model to PyTorch."""
        from ..autodiff.torch_names import check_device

        check_device("cuda" if device is None else f"cuda:{device}", "model")

    # ------------------------------------------------------- saving state
    def state_dict(self, destination=None, prefix: str = "", keep_vars: bool = False):
        """Every Parameter and persistent buffer by dotted name, in an OrderedDict.

        Values are detached *copies* (``keep_vars=True`` gives the Parameters
        themselves), so a saved dict does not change as training goes on. The
        keys are PyTorch's for the same model.

        >>> import downhill as dh
        >>> net = dh.nn.Sequential(dh.nn.Linear(2, 4), dh.nn.Tanh(), dh.nn.Linear(4, 1))
        >>> list(net.state_dict())
        ['0.weight', '0.bias', '2.weight', '2.bias']
        """
        return _state.state_dict(self, destination, prefix, keep_vars)

    def load_state_dict(self, state_dict, strict: bool = True):
        """Copy values from ``state_dict`` into this module's Parameters and buffers, in place.

        Values may be Tensors or NumPy arrays (or anything NumPy can read);
        they are cast to each Parameter's dtype. With ``strict=True`` (the
        default) missing and unexpected keys are an error; shape mismatches
        always are, and then nothing is loaded. Returns
        ``(missing_keys, unexpected_keys)``.

        >>> import downhill as dh
        >>> a, b = dh.nn.Linear(2, 1, generator=0), dh.nn.Linear(2, 1, generator=1)
        >>> b.load_state_dict(a.state_dict())
        IncompatibleKeys(missing_keys=[], unexpected_keys=[])
        >>> bool((a.weight.data == b.weight.data).all())
        True
        """
        return _state.load_state_dict(self, state_dict, strict)

    # --------------------------------------------------------------- hooks
    def register_forward_pre_hook(self, hook) -> RemovableHandle:
        """Call ``hook(module, args)`` before each forward; it may return new args.

        >>> import downhill as dh
        >>> layer = dh.nn.Identity()
        >>> _ = layer.register_forward_pre_hook(lambda m, args: (args[0] * 10,))
        >>> layer(dh.tensor(1.0))
        tensor(10.)
        """
        handle = RemovableHandle(self._forward_pre_hooks)
        self._forward_pre_hooks[handle.id] = hook
        return handle

    def register_forward_hook(self, hook) -> RemovableHandle:
        """Call ``hook(module, args, output)`` after each forward; it may return a new output.

        >>> import downhill as dh
        >>> layer = dh.nn.Tanh()
        >>> shapes = []
        >>> _ = layer.register_forward_hook(lambda m, args, out: shapes.append(out.shape))
        >>> _ = layer(dh.zeros((4, 3)))
        >>> shapes
        [(4, 3)]
        """
        handle = RemovableHandle(self._forward_hooks)
        self._forward_hooks[handle.id] = hook
        return handle

    def register_full_backward_hook(self, hook) -> RemovableHandle:
        """Call ``hook(module, grad_input, grad_output)`` during the backward pass.

        ``grad_output`` holds the gradients of the loss with respect to the
        module's outputs; ``grad_input`` those with respect to its *inputs*
        (its positional Tensor arguments; ``None`` for one that does not
        require a gradient, such as the data fed to the first layer), not
        with respect to its parameters. As in PyTorch, the hook may return a
        replacement for ``grad_input`` (here only for a module with a single
        input that requires a gradient). See :mod:`downhill.nn.hooks`.

        >>> import downhill as dh
        >>> layer = dh.nn.Linear(3, 2)
        >>> seen = []
        >>> _ = layer.register_full_backward_hook(
        ...     lambda m, gin, gout: seen.append((gin[0].shape, gout[0].shape)))
        >>> x = dh.ones((5, 3), requires_grad=True)
        >>> layer(x).sum().backward()
        >>> seen
        [((5, 3), (5, 2))]
        """
        handle = RemovableHandle(self._backward_hooks)
        self._backward_hooks[handle.id] = hook
        return handle

    # -------------------------------------------------------------- printing
    def extra_repr(self) -> str:
        """The settings shown inside the parentheses of ``repr`` (override in layers)."""
        return ""

    def _get_name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({name}): " + _addindent(repr(module), 2)
                       for name, module in self._modules.items()]
        lines = extra_lines + child_lines
        text = self._get_name() + "("
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                text += extra_lines[0]
            else:
                text += "\n  " + "\n  ".join(lines) + "\n"
        return text + ")"
