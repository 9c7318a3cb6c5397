"""Test mountains for the optimizer tests, and drivers that climb them.

Each function is written with arithmetic operators only, so the same code
evaluates NumPy arrays, downhill tensors and torch tensors; gradients are
also given in closed form, in NumPy, so the pure-function tests depend on
nothing but NumPy (exact mathematics, independent of the engine).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Callable

import numpy as np

import downhill as dh
from downhill import optim


@dataclass(frozen=True)
class Mountain:
    name: str
    f: Callable  # f(x, y) with operators only
    grad: Callable  # grad(x, y) -> (df/dx, df/dy), NumPy

    def grad_array(self, p: np.ndarray) -> np.ndarray:
        """The gradient at ``p[..., :2]``, shaped like ``p`` (works on batches of climbers)."""
        gx, gy = self.grad(p[..., 0], p[..., 1])
        return np.stack([gx, gy], axis=-1)


def _rosenbrock(x, y):
    return 100 * (y - x**2) ** 2 + (1 - x) ** 2


def _rosenbrock_grad(x, y):
    return -400 * x * (y - x**2) - 2 * (1 - x), 200 * (y - x**2)


def _himmelblau(x, y):
    return (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2


def _himmelblau_grad(x, y):
    a = x**2 + y - 11
    b = x + y**2 - 7
    return 4 * x * a + 2 * b, 2 * a + 4 * y * b


def _booth(x, y):
    return (x + 2 * y - 7) ** 2 + (2 * x + y - 5) ** 2


def _booth_grad(x, y):
    a = x + 2 * y - 7
    b = 2 * x + y - 5
    return 2 * a + 4 * b, 4 * a + 2 * b


def _matyas(x, y):
    return 0.26 * (x**2 + y**2) - 0.48 * x * y


def _matyas_grad(x, y):
    return 0.52 * x - 0.48 * y, 0.52 * y - 0.48 * x


def _beale(x, y):
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2


def _beale_grad(x, y):
    a = 1.5 - x + x * y
    b = 2.25 - x + x * y**2
    c = 2.625 - x + x * y**3
    gx = 2 * a * (y - 1) + 2 * b * (y**2 - 1) + 2 * c * (y**3 - 1)
    gy = 2 * a * x + 2 * b * 2 * x * y + 2 * c * 3 * x * y**2
    return gx, gy


def _parabola(x, y):
    return x**2 + 10 * y**2


def _parabola_grad(x, y):
    return 2 * x, 20 * y


ROSENBROCK = Mountain("rosenbrock", _rosenbrock, _rosenbrock_grad)
HIMMELBLAU = Mountain("himmelblau", _himmelblau, _himmelblau_grad)
BOOTH = Mountain("booth", _booth, _booth_grad)
MATYAS = Mountain("matyas", _matyas, _matyas_grad)
BEALE = Mountain("beale", _beale, _beale_grad)
PARABOLA = Mountain("parabola", _parabola, _parabola_grad)

HIMMELBLAU_MINIMA = [
    (3.0, 2.0),
    (-2.805118, 3.131312),
    (-3.779310, -3.283186),
    (3.584428, -1.848126),
]


# ----------------------------------------------------------------------
# Drivers: the same run three ways.
# ----------------------------------------------------------------------


def run_functional(name: str, options: dict, mountain: Mountain, start, steps: int, lrs=None) -> np.ndarray:
    """Points visited by the pure functions (analytic NumPy gradients), start included."""
    init, update = optim.get_functional(name).bind(**options)
    p = np.array(start, dtype=np.float64)
    state = init(p)
    path = [p]
    for t in range(steps):
        extra = {} if lrs is None else {"lr": lrs[t]}
        p, state = update(p, mountain.grad_array(p), state, **extra)
        path.append(p)
    return np.array(path)


def run_downhill(name: str, options: dict, mountain: Mountain, start, steps: int) -> np.ndarray:
    """Points visited by the downhill class, gradients by downhill's backward()."""
    p = dh.tensor(np.array(start, dtype=np.float64), requires_grad=True)
    opt = optim.get(name)([p], **options)
    path = [p.data.copy()]
    for _ in range(steps):
        opt.zero_grad()
        mountain.f(p[0], p[1]).backward()
        opt.step()
        path.append(p.data.copy())
    return np.array(path)


class _TorchClasses(Mapping):
    """torch.optim's classes by our names, importing torch only when one is asked for
    (so that importing this module, as the torch-free tests do, never imports torch)."""

    _NAMES = {"sgd": "SGD", "adam": "Adam", "adamw": "AdamW", "rmsprop": "RMSprop", "adagrad": "Adagrad"}

    def __getitem__(self, name):
        import torch

        return getattr(torch.optim, self._NAMES[name])

    def __iter__(self):
        return iter(self._NAMES)

    def __len__(self):
        return len(self._NAMES)


TORCH_CLASSES = _TorchClasses()


def run_torch(name: str, options: dict, mountain: Mountain, start, steps: int) -> np.ndarray:
    """Points visited by torch.optim (the oracle), in float64."""
    import torch

    p = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    opt = TORCH_CLASSES[name]([p], **options)
    path = [p.detach().numpy().copy()]
    for _ in range(steps):
        opt.zero_grad()
        mountain.f(p[0], p[1]).backward()
        opt.step()
        path.append(p.detach().numpy().copy())
    return np.array(path)


def plain(value):
    """``value`` as JSON gives it back (tuples become lists, recursively): how a
    recorded PyTorch value compares with downhill's own, e.g. ``betas``."""
    if isinstance(value, (tuple, list)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def split_options(name: str, options: dict) -> tuple[dict, dict]:
    """Options for init and for update of a functional optimizer (for direct calls)."""
    import inspect

    fo = optim.get_functional(name)

    def keywords(function):
        return {k for k, v in inspect.signature(function).parameters.items() if v.kind is v.KEYWORD_ONLY}

    init_keys, update_keys = keywords(fo.init), keywords(fo.update)
    return (
        {k: v for k, v in options.items() if k in init_keys},
        {k: v for k, v in options.items() if k in update_keys},
    )


def negated(mountain: Mountain) -> Mountain:
    """``-f``: climbing it with ``maximize=True`` is descending ``f``."""

    def grad(x, y):
        gx, gy = mountain.grad(x, y)
        return -gx, -gy

    return Mountain(f"-{mountain.name}", lambda x, y: -mountain.f(x, y), grad)


# Learning rates that keep each family stable for 200 steps on each mountain,
# and out of chaotic regimes: torch's kernels round differently from NumPy in
# the last bit (fused multiply-adds), and a chaotic run (RMSprop at lr 1e-2 on
# Rosenbrock, say) amplifies that bit past any tolerance. See
# test_grid_is_not_chaotic.
LR = {
    ("sgd", "rosenbrock"): 1e-4,
    ("sgd", "himmelblau"): 5e-3,
    ("adam", "rosenbrock"): 0.05,
    ("adam", "himmelblau"): 0.05,
    ("adamw", "rosenbrock"): 0.05,
    ("adamw", "himmelblau"): 0.05,
    ("rmsprop", "rosenbrock"): 2e-3,
    ("rmsprop", "himmelblau"): 0.01,
    ("adagrad", "rosenbrock"): 0.5,
    ("adagrad", "himmelblau"): 0.5,
}

# A grid of option sets per optimizer (the learning rate comes from LR).
GRID = [
    ("sgd", {}),
    ("sgd", {"momentum": 0.9}),
    ("sgd", {"momentum": 0.9, "dampening": 0.3}),
    ("sgd", {"momentum": 0.9, "nesterov": True}),
    ("sgd", {"momentum": 0.5, "weight_decay": 0.1}),
    ("sgd", {"weight_decay": 0.1}),
    ("sgd", {"momentum": 0.9, "maximize": True}),
    ("adam", {}),
    ("adam", {"betas": (0.8, 0.99), "eps": 1e-6}),
    ("adam", {"amsgrad": True}),
    ("adam", {"weight_decay": 0.1}),
    ("adam", {"weight_decay": 0.1, "amsgrad": True, "maximize": True}),
    ("adam", {"weight_decay": 0.1, "decoupled_weight_decay": True}),
    # beta1 < 0.5 takes the other branch of torch.lerp.
    ("adam", {"betas": (0.4, 0.99), "lr": 0.01}),
    ("adamw", {}),
    ("adamw", {"weight_decay": 0.3, "amsgrad": True}),
    ("adamw", {"maximize": True}),
    ("rmsprop", {}),
    ("rmsprop", {"centered": True}),
    ("rmsprop", {"momentum": 0.9}),
    ("rmsprop", {"momentum": 0.5, "centered": True, "weight_decay": 0.1}),
    ("rmsprop", {"alpha": 0.95, "eps": 1e-6, "weight_decay": 0.1}),
    ("rmsprop", {"alpha": 0.3, "centered": True}),  # 1 - alpha >= 0.5: the other branch of torch.lerp
    ("rmsprop", {"maximize": True}),
    ("adagrad", {}),
    ("adagrad", {"lr_decay": 0.01}),
    ("adagrad", {"initial_accumulator_value": 0.1}),
    ("adagrad", {"weight_decay": 0.1, "eps": 1e-6}),
    ("adagrad", {"lr_decay": 0.05, "initial_accumulator_value": 1.0, "maximize": True}),
]

STARTS = {"rosenbrock": (-1.5, 2.0), "himmelblau": (-1.0, 0.5)}


def grid_cases():
    """(id, optimizer name, full options, mountain, start) for every grid row on both mountains."""
    for name, options in GRID:
        for mountain in (ROSENBROCK, HIMMELBLAU):
            full = {"lr": LR[name, mountain.name], **options}
            climbed = negated(mountain) if options.get("maximize") else mountain
            label = ",".join(f"{k}={v}" for k, v in options.items()) or "defaults"
            yield f"{name}[{label}]-{mountain.name}", name, full, climbed, STARTS[mountain.name]
