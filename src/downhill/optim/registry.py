"""Look optimizers up by name: the classes and their pure (init, update) pairs.

``descend(f, start, optimizer="adam", lr=0.1)`` and the command line name
optimizers with strings; this module turns a name into the class or into the
pure functions, and checks the options given against what the optimizer takes.
"""

from __future__ import annotations

import difflib
import functools
import inspect
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from ..errors import InputError, InputTypeError, UnknownNameError, shorten
from . import checks
from . import functional as F
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["ALIASES", "FunctionalOptimizer", "get", "get_functional", "names", "resolve"]

#: What people call SGD with momentum: name -> (registry name, preset options).
#: The command, the playground and ``descend`` accept these; the classes do not
#: (``SGD(params, momentum=0.9)`` is the one way to build them).
ALIASES: Mapping[str, tuple[str, Mapping[str, Any]]] = MappingProxyType({
    "momentum": ("sgd", MappingProxyType({"momentum": 0.9})),
    "nesterov": ("sgd", MappingProxyType({"momentum": 0.9, "nesterov": True})),
})


def _keyword_defaults(function: Callable) -> dict[str, Any]:
    return {
        name: parameter.default
        for name, parameter in inspect.signature(function).parameters.items()
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY
    }


@dataclass(frozen=True)
class FunctionalOptimizer:
    """An optimizer as a pair of pure functions, with its options and their defaults.

    Unpacks as ``init, update``. :meth:`bind` checks options once and returns
    the pair with the options filled in, ready for a loop over steps (or over a
    batch of climbers of shape ``(n, d)``).

    >>> import numpy as np
    >>> from downhill.optim import get_functional
    >>> init, update = get_functional("sgd").bind(lr=0.1, momentum=0.9)
    >>> x = np.array([[1.0, 2.0], [-3.0, 0.5]])      # two climbers at once
    >>> state = init(x)
    >>> x, state = update(x, 2 * x, state)
    >>> x
    array([[ 0.8,  1.6],
           [-2.4,  0.4]])
    """

    name: str
    init: Callable
    update: Callable
    defaults: Mapping[str, Any]
    check: Callable

    def __iter__(self) -> Iterator[Callable]:
        yield self.init
        yield self.update

    @property
    def options(self) -> tuple[str, ...]:
        """Every option this optimizer accepts, for its init or its update."""
        return tuple(self.defaults)

    def bind(self, **options) -> tuple[Callable, Callable]:
        """Check ``options`` and return ``(init(param), update(param, grad, state))``.

        ``lr`` may be an array that broadcasts against the parameters, e.g.
        shape ``(n, 1)`` for one learning rate per climber.

        >>> from downhill.optim import get_functional
        >>> get_functional("adam").bind(momentum=0.9)
        Traceback (most recent call last):
        ...
        downhill.errors.InputTypeError: adam got an unknown option 'momentum'; it accepts: lr, betas, eps, weight_decay, amsgrad, maximize, decoupled_weight_decay
        """
        unknown = [name for name in options if name not in self.defaults]
        if unknown:
            close = difflib.get_close_matches(unknown[0], self.defaults, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise InputTypeError(
                f"{self.name} got an unknown option {unknown[0]!r}{hint}; "
                f"it accepts: {', '.join(self.defaults)}"
            )
        full = {**self.defaults, **options}
        self.check(**full)
        init_options = {name: full[name] for name in _keyword_defaults(self.init)}
        update_options = {name: full[name] for name in _keyword_defaults(self.update)}
        return (
            functools.partial(self.init, **init_options),
            functools.partial(self.update, **update_options),
        )


def _functional(name, init, update, check, **overrides) -> FunctionalOptimizer:
    # The check function mirrors the class constructor, so its parameters
    # order and default the options; keep those that init or update takes.
    accepted = {*_keyword_defaults(init), *_keyword_defaults(update)}
    defaults = {
        option: parameter.default
        for option, parameter in inspect.signature(check).parameters.items()
        if option in accepted
    }
    defaults.update(overrides)
    return FunctionalOptimizer(name, init, update, MappingProxyType(defaults), check)


_CLASSES: dict[str, type[Optimizer]] = {
    "sgd": SGD,
    "adam": Adam,
    "adamw": AdamW,
    "rmsprop": RMSprop,
    "adagrad": Adagrad,
}

_FUNCTIONAL: dict[str, FunctionalOptimizer] = {
    "sgd": _functional("sgd", F.sgd_init, F.sgd_update, checks.check_sgd_options),
    "adam": _functional("adam", F.adam_init, F.adam_update, checks.check_adam_options),
    "adamw": _functional("adamw", F.adamw_init, F.adamw_update, checks.check_adam_options, weight_decay=1e-2),
    "rmsprop": _functional("rmsprop", F.rmsprop_init, F.rmsprop_update, checks.check_rmsprop_options),
    "adagrad": _functional("adagrad", F.adagrad_init, F.adagrad_update, checks.check_adagrad_options),
}


def _normalize(name: str) -> str:
    if not isinstance(name, str):
        raise InputTypeError(f"an optimizer name must be a string such as 'adam', got {type(name).__name__}")
    key = name.strip().lower()
    if key in _CLASSES:
        return key
    if key in ("momentum", "heavy_ball", "heavy-ball", "nesterov"):
        raise InputError(
            f"{name!r} is not a separate optimizer: it is SGD with momentum; "
            "use 'sgd' with momentum=0.9" + (" and nesterov=True" if key == "nesterov" else "")
        )
    close = difflib.get_close_matches(key, [*_CLASSES, *ALIASES], n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise UnknownNameError(f"unknown optimizer {shorten(name, 40)!r}; known optimizers: {', '.join(_CLASSES)} "
                           f"(and {', '.join(ALIASES)}: SGD with momentum){hint}")


def names(aliases: bool = False) -> list[str]:
    """The names :func:`get` and :func:`get_functional` accept (and :data:`ALIASES` with ``aliases``).

    >>> from downhill.optim import names
    >>> names()
    ['sgd', 'adam', 'adamw', 'rmsprop', 'adagrad']
    >>> names(aliases=True)[-2:]
    ['momentum', 'nesterov']
    """
    return [*_CLASSES, *ALIASES] if aliases else list(_CLASSES)


def resolve(name: str, options: Mapping[str, Any] | None = None) -> tuple[str, dict]:
    """``(registry name, options)`` for an optimizer name or an alias of :data:`ALIASES`.

    The alias's preset options come first; ``options`` given override them.

    >>> from downhill.optim.registry import resolve
    >>> resolve("Nesterov")
    ('sgd', {'momentum': 0.9, 'nesterov': True})
    >>> resolve("momentum", {"momentum": 0.5})
    ('sgd', {'momentum': 0.5})
    >>> resolve("adam", {"betas": (0.8, 0.99)})
    ('adam', {'betas': (0.8, 0.99)})
    """
    key = name.strip().lower() if isinstance(name, str) else name
    if key in ALIASES:
        base, preset = ALIASES[key]
        return base, {**preset, **(options or {})}
    return _normalize(name), dict(options or {})


def get(name: str) -> type[Optimizer]:
    """The optimizer class called ``name`` (case does not matter).

    >>> from downhill.optim import get
    >>> get("Adam").__name__
    'Adam'
    >>> get("momentum")
    Traceback (most recent call last):
    ...
    downhill.errors.InputError: 'momentum' is not a separate optimizer: it is SGD with momentum; use 'sgd' with momentum=0.9
    """
    return _CLASSES[_normalize(name)]


def get_functional(name: str) -> FunctionalOptimizer:
    """The pure ``(init, update)`` pair of the optimizer called ``name``.

    >>> import numpy as np
    >>> from downhill.optim import get_functional
    >>> init, update = get_functional("adagrad")
    >>> x = np.array([1.0]); state = init(x)
    >>> x, state = update(x, 2 * x, state, lr=0.5)
    >>> x
    array([0.5])
    """
    return _FUNCTIONAL[_normalize(name)]
