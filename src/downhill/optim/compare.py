"""Race several optimizers (or learning rates) down the same mountain."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import InputError
from ..results import Result, jsonable
from .descend import descend
from .parallel import run_all
from .trajectory import Trajectory

# A sensible learning rate per optimizer when none is given: adaptive methods
# move about lr per step, plain SGD moves lr times the slope.
DEFAULT_LRS = {"sgd": 1e-3, "adam": 0.05, "adamw": 0.05, "rmsprop": 0.01, "adagrad": 0.5}


@dataclass
class Run(Result):
    """One contender of a race: its label, optimizer, options, learning rate and path."""

    label: str
    optimizer: str
    options: dict
    lr: float
    trajectory: Trajectory

    def __str__(self) -> str:
        return f"{self.label} (lr={self.lr:g}): {self.trajectory.summary()}"

    def to_dict(self) -> dict:
        """Strict JSON: the label and learning rate, then the trajectory's fields."""
        return jsonable({"label": self.label, "lr": self.lr, **self.trajectory.to_dict()})


class Race(list, Result):
    """The runs of :func:`compare_optimizers`, in the order given: a list, with a table and JSON.

    >>> race = compare_optimizers("booth", [0.0, 0.0], ["sgd", "adam"], lrs=[0.05, 0.1], steps=500)
    >>> print(race)  # doctest: +NORMALIZE_WHITESPACE
    optimizer          lr  status      steps  final value
    sgd              0.05  converged     185  2.34833e-17
    adam              0.1  converged     420  7.75822e-18
    """

    def __str__(self) -> str:
        lines = [f"{'optimizer':<12} {'lr':>8}  {'status':<10} {'steps':>6}  final value"]
        for run in self:
            lines.append(f"{run.label:<12} {run.lr:>8g}  {run.trajectory.status:<10} "
                         f"{run.trajectory.steps_taken:>6}  {run.trajectory.final_value:.6g}")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """Strict JSON: ``{"runs": [run.to_dict(), ...]}``."""
        return jsonable({"runs": list(self)})


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
        raise InputError("compare_optimizers needs at least one contender")
    if lrs is not None:
        lrs = list(lrs)
        if len(lrs) == 1:
            lrs = lrs * len(specs)
        if len(lrs) != len(specs):
            raise InputError(f"give one learning rate, or one per contender ({len(specs)}); got {len(lrs)}")
    rates = [float(lrs[k]) if lrs is not None else DEFAULT_LRS.get(name, 0.01)
             for k, (label, name, options) in enumerate(specs)]
    jobs = [(f, start, name, lr, steps, tol, dict(options)) for (label, name, options), lr in zip(specs, rates)]
    trajectories = run_all(_race, jobs, executor, "compare_optimizers", progress)
    return Race(Run(label, name, dict(options), lr, trajectory)
                for (label, name, options), lr, trajectory in zip(specs, rates, trajectories))


def _race(f, start, name, lr, steps, tol, options):
    """One contender's climb (module-level, so that worker processes can run it)."""
    return descend(f, start, optimizer=name, lr=lr, steps=steps, tol=tol, **options)


__all__ = ["compare_optimizers", "Run", "Race", "DEFAULT_LRS"]
