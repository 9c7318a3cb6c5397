"""Trajectory: everything a climb recorded, step by step.

One climber: ``points`` has shape (steps_taken + 1, d), and ``values`` and
``grad_norms`` one entry per point; ``lrs[t]`` is the learning rate of step t.
Many climbers: ``points`` has shape (steps + 1, n, d) and the per-climber
figures (``status``, ``steps_taken``, ``diverged_at``) are arrays; a climber
that stopped early stays where it stopped in the later rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..results import Result, jsonable, null_value
from ..notebook import shows_in_notebook


def rounded(point, digits: int = 6) -> list:
    """The coordinates of ``point`` rounded to ``digits`` decimals, for a sentence.

    Python's ``round``: NumPy's overflows to inf for coordinates past about
    1e302 (it multiplies by ``10**digits`` first), which would show a huge
    but finite point as ``inf``.

    >>> rounded([1 / 3, 1e308])
    [0.333333, 1e+308]
    """
    return [round(float(c), digits) for c in np.ravel(point)]


STATUSES = ("converged", "diverged", "max_steps")


@shows_in_notebook
@dataclass
class Trajectory(Result):
    """The path of one climber (or many) down a mountain.

    >>> import downhill as dh
    >>> t = dh.descend("sphere", [1.0, 2.0], lr=0.5, steps=100)
    >>> t.status, t.steps_taken, t.final_point
    ('converged', 1, array([0., 0.]))
    """

    points: np.ndarray | None
    values: np.ndarray | None
    grad_norms: np.ndarray | None
    lrs: np.ndarray
    status: Any
    steps_taken: Any
    diverged_at: Any
    final_point: np.ndarray
    final_value: Any
    final_grad_norm: Any = None
    optimizer: str = "sgd"
    options: dict = field(default_factory=dict)
    landscape: str | None = None

    @property
    def batched(self) -> bool:
        """True when this trajectory holds many climbers."""
        return np.ndim(self.final_point) == 2

    @property
    def converged(self):
        """Whether the climber (each climber) reached a flat spot."""
        return self.status == "converged" if not self.batched else np.asarray(self.status) == "converged"

    @property
    def diverged(self):
        """Whether the climber (each climber) fell off the mountain."""
        return self.status == "diverged" if not self.batched else np.asarray(self.status) == "diverged"

    def summary(self) -> str:
        """One plain sentence about how the climb went.

        >>> import downhill as dh
        >>> print(dh.descend("sphere", [1.0, 1.0], lr=1.5, steps=50).summary())
        diverged at step 20: the value grew past 1e+12, so the steps were too big (fell off the mountain)
        """
        if self.batched:
            counts = {s: int(np.sum(np.asarray(self.status) == s)) for s in STATUSES}
            return ", ".join(f"{counts[s]} {s}" for s in STATUSES) + f" out of {len(self.status)} climbers"
        if self.status == "converged":
            return (f"converged after {self.steps_taken} steps at {rounded(self.final_point)} "
                    f"with value {self.final_value:.6g}")
        if self.status == "diverged":
            # max_value is None after a JSON round trip of max_value=inf.
            limit = self.options.get("max_value", 1e12)
            if not math.isfinite(self.final_value):
                why = "the value became NaN or infinite"
            elif limit is not None and abs(self.final_value) > limit:
                why = f"the value grew past {limit:g}"
            else:  # the value stayed in bounds, but the slope's length overflowed
                why = "the slope became NaN or infinite"
            if self.diverged_at == 0:  # no step was taken: the start itself is off the mountain
                why = why.replace("became", "is").replace("grew", "is already")
                return (f"diverged at step 0: {why} at the start, before any step was taken; "
                        "start where the formula is finite and not huge")
            return (f"diverged at step {self.diverged_at}: {why}, so the steps were too big "
                    "(fell off the mountain)")
        return (f"ran out of steps after {self.steps_taken}: now at {rounded(self.final_point)} "
                f"with value {self.final_value:.6g} and slope {self.final_grad_norm:.3g}")

    def to_dict(self, arrays: bool = False) -> dict:
        """Strict JSON (:func:`downhill.results.jsonable`): NaN and inf become None, noted in ``non_finite``.

        ``arrays=True`` leaves finite arrays as NumPy arrays (for
        :func:`downhill.results.json_bytes`, which writes them directly).

        >>> import downhill as dh, json
        >>> t = dh.descend("booth", [0.0, 0.0], lr=0.05, steps=3)
        >>> sorted(json.loads(json.dumps(t.to_dict())))[:4]
        ['diverged_at', 'final_grad_norm', 'final_point', 'final_value']
        """
        diverged_at = self.diverged_at
        if self.batched:  # -1 marks a climber that did not diverge
            diverged_at = [None if d < 0 else int(d) for d in np.asarray(diverged_at).tolist()]
        return jsonable({
            "points": self.points, "values": self.values, "grad_norms": self.grad_norms, "lrs": self.lrs,
            "status": self.status, "steps_taken": self.steps_taken, "diverged_at": diverged_at,
            "final_point": self.final_point, "final_value": self.final_value,
            "final_grad_norm": self.final_grad_norm, "optimizer": self.optimizer,
            "options": self.options, "landscape": self.landscape,
        }, arrays=arrays)

    def __str__(self) -> str:
        return self.summary()

    @classmethod
    def from_dict(cls, data: dict) -> "Trajectory":
        """Rebuild a Trajectory from :meth:`to_dict` output.

        >>> import downhill as dh
        >>> t = dh.descend("booth", [0.0, 0.0], lr=0.05, steps=3)
        >>> dh.Trajectory.from_dict(t.to_dict()).final_value == t.final_value
        True
        """
        batched = np.ndim(data["final_point"]) == 2
        notes = data.get("non_finite") or {}

        def arr(key):
            value = data.get(key)
            return None if value is None else _array(value, null_value(data, key))

        status = data["status"]
        steps_taken = data["steps_taken"]
        diverged_at = data["diverged_at"]
        final_value = data["final_value"]
        if batched:
            status = np.asarray(status, dtype=object).astype(str)
            steps_taken = np.asarray(steps_taken, dtype=np.int64)
            diverged_at = np.array([-1 if d is None else d for d in diverged_at], dtype=np.int64)
            final_value = arr("final_value")
        else:
            final_value = null_value(data, "final_value") if final_value is None else float(final_value)
        return cls(
            points=arr("points"), values=arr("values"), grad_norms=arr("grad_norms"),
            lrs=arr("lrs"), status=status, steps_taken=steps_taken, diverged_at=diverged_at,
            final_point=arr("final_point"), final_value=final_value,
            final_grad_norm=(arr("final_grad_norm") if batched else
                             (null_value(data, "final_grad_norm") if data.get("final_grad_norm") is None
                              else float(data["final_grad_norm"]))),
            optimizer=data.get("optimizer", "sgd"),
            options={k: null_value(data, f"options.{k}") if v is None and f"options.{k}" in notes else v
                     for k, v in data.get("options", {}).items()},
            landscape=data.get("landscape"),
        )

    def __repr__(self) -> str:
        where = f" on {self.landscape}" if self.landscape else ""
        return f"<Trajectory{where} with {self.optimizer}: {self.summary()}>"


def _array(value, missing=math.nan):
    def clean(v):
        if isinstance(v, list):
            return [clean(x) for x in v]
        return missing if v is None else v

    return np.asarray(clean(value), dtype=np.float64)
