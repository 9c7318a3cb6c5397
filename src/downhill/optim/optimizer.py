"""The ``Optimizer`` base class: PyTorch's book-keeping around a pure update rule.

An optimizer holds parameter groups (each a dict of parameters and the options
that apply to them), and per-parameter state (momentum buffers, moving
averages). The mathematics lives in :mod:`downhill.optim.functional`; a
subclass names its pure ``init``/``update`` functions and the base class does
the rest: on ``step()`` it applies the update's in-place form
(``<name>_update_``, the same arithmetic) to ``p.data`` and ``p.grad.data`` of
each parameter that has a gradient, so every reference to the parameter sees
the new value, and a step allocates nothing: the state's arrays are updated in
place and the temporaries live in one :class:`~downhill.optim.functional.Scratch`
per parameter (not part of ``state``, so ``state_dict`` is PyTorch's).

Parameters are duck-typed: anything with a NumPy array ``.data`` and a
``.grad`` attribute (``None`` or an object with ``.data``) can be optimized,
which covers downhill's ``Tensor`` and its subclass ``Parameter``.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from typing import Any, Callable, ClassVar

import numpy as np

from ..errors import InputError, InputTypeError, shorten
from .functional import Scratch

__all__ = ["Optimizer"]


class _ParamState(MutableMapping):
    """Per-parameter state: a ``defaultdict(dict)`` keyed by parameter *identity*.

    Tensors compare elementwise, so they cannot be ordinary dict keys; this
    mapping looks them up by ``id`` and keeps the parameter alive alongside its
    state, as PyTorch's ``optimizer.state`` does. Reading a missing parameter
    creates an empty entry, exactly like PyTorch's ``defaultdict(dict)``.
    """

    def __init__(self) -> None:
        self._items: dict[int, tuple[Any, dict]] = {}

    def __getitem__(self, key) -> dict:
        entry = self._items.get(id(key))
        if entry is None:
            entry = self._items[id(key)] = (key, {})
        return entry[1]

    def __setitem__(self, key, value: dict) -> None:
        self._items[id(key)] = (key, value)

    def __delitem__(self, key) -> None:
        del self._items[id(key)]

    def __contains__(self, key) -> bool:
        return id(key) in self._items

    def get(self, key, default=None):
        entry = self._items.get(id(key))
        return default if entry is None else entry[1]

    def setdefault(self, key, default=None):
        entry = self._items.get(id(key))
        if entry is None:
            entry = self._items[id(key)] = (key, default)
        return entry[1]

    def __iter__(self) -> Iterator:
        return (key for key, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def items(self):  # type: ignore[override]
        return list(self._items.values())

    def __repr__(self) -> str:
        return f"{{{', '.join(f'{type(k).__name__}@{id(k):#x}: {v!r}' for k, v in self._items.values())}}}"


def _is_param(obj) -> bool:
    # Look for ``grad`` on the type: reading a non-leaf tensor's .grad warns.
    return isinstance(getattr(obj, "data", None), np.ndarray) and (
        hasattr(type(obj), "grad") or "grad" in getattr(obj, "__dict__", ())
    )


def _copy_state_value(value, param=None, key=None):
    """A deep copy of one state entry; arrays are cast to the parameter's float dtype.

    ``step`` keeps its type (PyTorch likewise never casts its step counter).
    """
    if isinstance(value, np.ndarray):
        if (
            param is not None
            and key != "step"
            and np.issubdtype(value.dtype, np.floating)
            and np.issubdtype(param.data.dtype, np.floating)
        ):
            return np.array(value, dtype=param.data.dtype, copy=True)
        return value.copy()
    return copy.deepcopy(value)


class Optimizer:
    """Base class of all optimizers, with PyTorch's public shape.

    ``param_groups`` is a list of dicts, each holding ``"params"`` (a list of
    parameters) and its options; options missing from a group are filled from
    ``defaults``. ``state`` maps each parameter to a dict of NumPy arrays and a
    step count. ``step()`` applies one update; ``zero_grad()`` clears gradients;
    ``state_dict()``/``load_state_dict()`` save and restore everything.

    Subclasses set ``_init_fn``, ``_update_fn`` (the in-place form), ``_state_type``
    and the option names each function takes; see :class:`downhill.optim.SGD`.
    Options are checked once, here, for the defaults and for each group that
    brings options of its own.

    >>> import downhill as dh
    >>> from downhill.optim import SGD
    >>> w = dh.tensor([1.0, 2.0], requires_grad=True)
    >>> b = dh.tensor(0.5, requires_grad=True)
    >>> opt = SGD([{"params": [w]}, {"params": [b], "lr": 0.5}], lr=0.1)
    >>> [group["lr"] for group in opt.param_groups]
    [0.1, 0.5]
    """

    # The pure functions and option names a subclass plugs in.
    _init_fn: ClassVar[Callable | None] = None
    _update_fn: ClassVar[Callable | None] = None
    _state_type: ClassVar[type | None] = None
    _init_keys: ClassVar[tuple[str, ...]] = ()
    _update_keys: ClassVar[tuple[str, ...]] = ()
    _check_fn: ClassVar[Callable | None] = None

    def __init__(self, params, defaults: dict[str, Any]) -> None:
        if self._check_fn is not None:
            type(self)._check_fn(**defaults)
        self.defaults = dict(defaults)
        self.state = _ParamState()
        self.param_groups: list[dict[str, Any]] = []
        self._scratch: dict[int, Any] = {}

        if _is_param(params):
            raise InputTypeError(
                "params given to the optimizer should be an iterable of Tensors or dicts, "
                f"but got a single {type(params).__name__}; wrap it in a list: [{type(params).__name__.lower()}]"
            )
        if isinstance(params, dict):
            raise InputTypeError(
                "params given to the optimizer should be an iterable of Tensors or of dicts; "
                'got one dict: wrap it in a list, e.g. [{"params": [w], "lr": 0.1}]'
            )
        groups = list(params)
        if len(groups) == 0:
            raise InputError("optimizer got an empty parameter list; pass at least one Tensor to optimize")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # ------------------------------------------------------------------
    # parameter groups
    # ------------------------------------------------------------------

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own options (the rest from ``defaults``).

        Useful to start training part of a model later, or to give a part its
        own learning rate.

        >>> import downhill as dh
        >>> from downhill.optim import SGD
        >>> opt = SGD([dh.tensor(1.0, requires_grad=True)], lr=0.1)
        >>> opt.add_param_group({"params": [dh.tensor(2.0, requires_grad=True)], "lr": 0.01})
        >>> [group["lr"] for group in opt.param_groups]
        [0.1, 0.01]
        """
        if not isinstance(param_group, dict):
            raise InputTypeError('param_group must be a dict such as {"params": [w], "lr": 0.1}, '
                                 f"but got {type(param_group).__name__}")
        if "params" not in param_group:
            raise InputError('param_group must have a "params" entry listing the Tensors to optimize; '
                             f"it has {shorten(sorted(map(str, param_group)))}")
        params = param_group["params"]
        if _is_param(params):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise InputTypeError(
                "optimizer parameters need to be organized in ordered collections, but the "
                "ordering of tensors in sets will change between runs; use a list instead"
            )
        else:
            params = list(params)

        # (name, tensor) pairs, as from named_parameters(), record the names.
        names = [p[0] for p in params if isinstance(p, tuple)]
        if names:
            if len(names) != len(params):
                raise InputError(
                    "all optimizer params should be with or without names; some param names are missing: "
                    "give all (name, tensor) pairs, as named_parameters() does, or all plain tensors"
                )
            params = [p[1] for p in params]
            param_group["param_names"] = names
        param_group["params"] = params

        for p in params:
            if not _is_param(p):
                raise InputTypeError(
                    "optimizer can only optimize Tensors, but one of the params is "
                    f"{type(p).__name__}; make one with dh.tensor(value, requires_grad=True)"
                )
            if getattr(p, "is_leaf", True) is False:
                raise InputError(
                    "can't optimize a non-leaf Tensor (one computed from others); "
                    "optimize the leaf tensors it was computed from"
                )

        own_options = any(name in param_group for name in self.defaults)
        for name, default in self.defaults.items():
            param_group.setdefault(name, default)
        if own_options and self._check_fn is not None:  # the defaults alone were checked in __init__
            type(self)._check_fn(**{name: param_group[name] for name in self.defaults})

        if len({id(p) for p in params}) != len(params):
            warnings.warn(
                "optimizer contains a parameter group with duplicate parameters; "
                "each parameter will be updated once per appearance",
                stacklevel=3,
            )
        seen = {id(p) for group in self.param_groups for p in group["params"]}
        if any(id(p) in seen for p in params):
            raise InputError("some parameters appear in more than one parameter group; give each tensor to one group only")
        for group in self.param_groups:
            if ("param_names" in group) != ("param_names" in param_group):
                raise InputError(
                    "all optimizer param groups should be with or without names; cannot add a group "
                    f"{'with' if 'param_names' in param_group else 'without'} names to this optimizer"
                )
        self.param_groups.append(param_group)

    def _params(self) -> Iterable:
        for group in self.param_groups:
            yield from group["params"]

    # ------------------------------------------------------------------
    # stepping
    # ------------------------------------------------------------------

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the gradients of all parameters before the next ``backward()``.

        With ``set_to_none=True`` (the default, as in PyTorch) each ``.grad`` becomes
        ``None``, and a parameter with no gradient is skipped by ``step()``;
        with ``False`` the gradient arrays are filled with zeros in place, and
        the step still runs (momentum keeps moving the parameter).

        >>> import downhill as dh
        >>> from downhill.optim import SGD
        >>> x = dh.tensor(3.0, requires_grad=True)
        >>> (x * x).backward()
        >>> SGD([x]).zero_grad()
        >>> x.grad is None
        True
        """
        for p in self._params():
            if p.grad is not None:
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.data[...] = 0

    def step(self, closure: Callable[[], Any] | None = None):
        """Take one optimization step; return the closure's loss, if one was given.

        The closure re-evaluates the model: it should clear the gradients,
        compute the loss, call ``backward()`` and return the loss. It runs with
        gradient recording on.

        >>> import downhill as dh
        >>> from downhill.optim import SGD
        >>> x = dh.tensor(3.0, requires_grad=True)
        >>> opt = SGD([x], lr=0.1)
        >>> def closure():
        ...     opt.zero_grad()
        ...     loss = x * x
        ...     loss.backward()
        ...     return loss
        >>> float(opt.step(closure).data), round(float(x.data), 6)
        (9.0, 2.4)
        """
        if self._update_fn is None:
            raise NotImplementedError(
                f"{type(self).__name__} must implement step() or set _init_fn/_update_fn"
            )
        loss = None
        if closure is not None:
            import downhill  # imported here: downhill imports this package first

            with downhill.enable_grad():
                loss = closure()

        cls = type(self)
        for group in self.param_groups:
            init_options = {name: group[name] for name in self._init_keys}
            update_options = {name: group[name] for name in self._update_keys}
            for p in group["params"]:
                if p.grad is None:
                    continue
                stored = self.state.get(p)
                if stored:
                    state = cls._state_type(**stored)
                else:
                    state = cls._init_fn(p.data, **init_options)
                work = self._scratch.get(id(p))
                if work is None or not work.fits(p.data):
                    work = self._scratch[id(p)] = Scratch(p.data)
                # In place, so that the Tensor (and anything holding it) sees the step.
                new_state = cls._update_fn(p.data, p.grad.data, state, scratch=work, **update_options)
                self._store_state(p, new_state)
        return loss

    def _store_state(self, p, state) -> None:
        # Absent entries (None) are left out, as PyTorch never creates them.
        values = {key: value for key, value in state._asdict().items() if value is not None}
        if values:
            self.state[p] = values

    # ------------------------------------------------------------------
    # saving and loading
    # ------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """Return the optimizer's state as a dict of plain values, keyed as PyTorch's.

        ``{"state": {0: {...}, 1: {...}}, "param_groups": [{..., "params": [0, 1]}]}``:
        parameters are replaced by their position across all groups. State
        arrays are copies, so later steps do not change a saved dict. ``step``
        is an ``int`` here (PyTorch stores a float32 tensor).

        >>> import downhill as dh
        >>> from downhill.optim import SGD
        >>> x = dh.tensor([1.0], requires_grad=True)
        >>> opt = SGD([x], lr=0.1, momentum=0.9)
        >>> (x * x).sum().backward(); opt.step()
        >>> saved = opt.state_dict()
        >>> saved["state"], saved["param_groups"][0]["params"]
        ({0: {'momentum_buffer': array([2.])}}, [0])
        """
        index: dict[int, int] = {}
        param_groups = []
        for group in self.param_groups:
            packed = {key: copy.deepcopy(value) for key, value in group.items() if key != "params"}
            packed["params"] = [index.setdefault(id(p), len(index)) for p in group["params"]]
            param_groups.append(packed)

        state: dict[Any, dict] = {}
        for p, values in sorted(self.state.items(), key=lambda item: index.get(id(item[0]), len(index))):
            key = index.get(id(p), p)
            state[key] = {name: _copy_state_value(value) for name, value in values.items()}
        return {"state": state, "param_groups": param_groups}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Load a state saved by :meth:`state_dict` (from this or another optimizer).

        Parameters are matched by position, so the new optimizer must have the
        same groups of the same sizes. Arrays are copied (and cast to each
        parameter's float dtype), never shared with the dict.

        >>> import downhill as dh
        >>> from downhill.optim import Adam
        >>> x = dh.tensor([1.0, 2.0], requires_grad=True)
        >>> opt = Adam([x], lr=0.1)
        >>> (x * x).sum().backward(); opt.step()
        >>> fresh = Adam([dh.tensor(x.data, requires_grad=True)], lr=0.1)
        >>> fresh.load_state_dict(opt.state_dict())
        >>> fresh.state_dict()["state"][0]["step"]
        1
        """
        groups = self.param_groups
        saved_groups = copy.deepcopy(list(state_dict["param_groups"]))
        if len(groups) != len(saved_groups):
            raise InputError(
                f"loaded state dict has {len(saved_groups)} parameter groups, but this optimizer "
                f"has {len(groups)}; build the optimizer with the same groups before loading"
            )
        for i, (group, saved) in enumerate(zip(groups, saved_groups)):
            if len(group["params"]) != len(saved["params"]):
                raise InputError(
                    f"loaded state dict contains a parameter group (index {i}) with "
                    f"{len(saved['params'])} parameters, but this optimizer's group has "
                    f"{len(group['params'])}; build the optimizer over the same parameters before loading"
                )

        id_map = {
            saved_id: p
            for saved, group in zip(saved_groups, groups)
            for saved_id, p in zip(saved["params"], group["params"])
        }
        state = _ParamState()
        for key, values in state_dict["state"].items():
            p = id_map.get(key)
            if p is None:
                # State not tied to a parameter is kept as is (as PyTorch does).
                state[key] = copy.deepcopy(values)
            else:
                state[p] = {
                    name: _copy_state_value(value, param=p, key=name) for name, value in values.items()
                }

        for group, saved in zip(groups, saved_groups):
            saved["params"] = group["params"]
            if "param_names" in group and "param_names" not in saved:
                saved["param_names"] = group["param_names"]
        self.state = state
        self.param_groups = saved_groups

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines.extend(f"    {key}: {group[key]}" for key in sorted(group) if key != "params")
        lines.append(")")
        return "\n".join(lines)
