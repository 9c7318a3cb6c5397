"""Race several optimizers (or learning rates) down the same mountain."""

from __future__ import annotations

from dataclasses import dataclass

from .descend import descend
from .parallel import run_all
from .trajectory import Trajectory

# A sensible learning rate per optimizer when none is given: adaptive methods
# move about lr per step, plain SGD moves lr times the slope.
DEFAULT_LRS = {"sgd": 1e-3, "adam": 0.05, "adamw": 0.05, "rmsprop": 0.01, "adagrad": 0.5}


@dataclass
class Run:
    """One contender of a race: its label, optimizer, options, learning rate and path."""

    label: str
    optimizer: str
    options: dict
    lr: float
    trajectory: Trajectory


def compare_optimizers(f, start, contenders, lrs=None, steps=1000, tol=1e-8, executor=None, progress=False):
    """Run each contender from ``start``; return one :class:`Run` per contender.

    ``contenders`` is a list of optimizer names, or of ``(label, name, options)``
    triples (e.g. ``("momentum", "sgd", {"momentum": 0.9})``). ``lrs`` gives one
    rate for all or one per contender (default: a rate suited to each).
    ``executor`` (any ``concurrent.futures.Executor``) races them side by side,
    with the same result, bit for bit (see :mod:`downhill.optim.parallel`).
    ``progress=True`` shows a progress bar on a terminal.

    >>> from downhill.optim.compare import compare_optimizers
    >>> runs = compare_optimizers("booth", [0.0, 0.0], ["sgd", "adam"], lrs=[0.05, 0.1], steps=500)
    >>> [(r.label, r.trajectory.status) for r in runs]
    [('sgd', 'converged'), ('adam', 'converged')]
    """
    specs = [(c, c, {}) if isinstance(c, str) else tuple(c) for c in contenders]
    if not specs:
        raise ValueError("compare_optimizers needs at least one contender")
    if lrs is not None:
        lrs = list(lrs)
        if len(lrs) == 1:
            lrs = lrs * len(specs)
        if len(lrs) != len(specs):
            raise ValueError(f"give one learning rate, or one per contender ({len(specs)}); got {len(lrs)}")
    rates = [float(lrs[k]) if lrs is not None else DEFAULT_LRS.get(name, 0.01)
             for k, (label, name, options) in enumerate(specs)]
    jobs = [(f, start, name, lr, steps, tol, dict(options)) for (label, name, options), lr in zip(specs, rates)]
    trajectories = run_all(_race, jobs, executor, "compare_optimizers", progress)
    return [Run(label, name, dict(options), lr, trajectory)
            for (label, name, options), lr, trajectory in zip(specs, rates, trajectories)]


def _race(f, start, name, lr, steps, tol, options):
    """One contender's climb (module-level, so that worker processes can run it)."""
    return descend(f, start, optimizer=name, lr=lr, steps=steps, tol=tol, **options)


__all__ = ["compare_optimizers", "Run", "DEFAULT_LRS"]
