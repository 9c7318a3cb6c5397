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

from ..notebook import shows_in_notebook

STATUSES = ("converged", "diverged", "max_steps")


@shows_in_notebook
@dataclass
class Trajectory:
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
            return (f"converged after {self.steps_taken} steps at {np.round(self.final_point, 6).tolist()} "
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
        return (f"ran out of steps after {self.steps_taken}: now at {np.round(self.final_point, 6).tolist()} "
                f"with value {self.final_value:.6g} and slope {self.final_grad_norm:.3g}")

    def to_dict(self) -> dict:
        """Plain lists and numbers, ready for ``json.dumps`` (NaN and inf become None).

        >>> import downhill as dh, json
        >>> t = dh.descend("booth", [0.0, 0.0], lr=0.05, steps=3)
        >>> sorted(json.loads(json.dumps(t.to_dict())))[:4]
        ['diverged_at', 'final_grad_norm', 'final_point', 'final_value']
        """
        return {
            "points": _jsonable(self.points),
            "values": _jsonable(self.values),
            "grad_norms": _jsonable(self.grad_norms),
            "lrs": _jsonable(self.lrs),
            "status": _jsonable(self.status),
            "steps_taken": _jsonable(self.steps_taken),
            "diverged_at": _jsonable(self.diverged_at),
            "final_point": _jsonable(self.final_point),
            "final_value": _jsonable(self.final_value),
            "final_grad_norm": _jsonable(self.final_grad_norm),
            "optimizer": self.optimizer,
            "options": {k: _jsonable(v) for k, v in self.options.items()},
            "landscape": self.landscape,
        }

    @classmethod
    def from_dict(cls, data: dict) -> "Trajectory":
        """Rebuild a Trajectory from :meth:`to_dict` output.

        >>> import downhill as dh
        >>> t = dh.descend("booth", [0.0, 0.0], lr=0.05, steps=3)
        >>> dh.Trajectory.from_dict(t.to_dict()).final_value == t.final_value
        True
        """
        batched = np.ndim(data["final_point"]) == 2

        def arr(key):
            value = data.get(key)
            return None if value is None else _array(value)

        status = data["status"]
        steps_taken = data["steps_taken"]
        diverged_at = data["diverged_at"]
        final_value = data["final_value"]
        if batched:
            status = np.asarray(status, dtype=object).astype(str)
            steps_taken = np.asarray(steps_taken, dtype=np.int64)
            diverged_at = np.array([-1 if d is None else d for d in diverged_at], dtype=np.int64)
            final_value = _array(final_value)
        else:
            final_value = float("nan") if final_value is None else float(final_value)
        return cls(
            points=arr("points"), values=arr("values"), grad_norms=arr("grad_norms"),
            lrs=_array(data["lrs"]), status=status, steps_taken=steps_taken, diverged_at=diverged_at,
            final_point=_array(data["final_point"]), final_value=final_value,
            final_grad_norm=(_array(data["final_grad_norm"]) if batched else
                             (float("nan") if data.get("final_grad_norm") is None
                              else float(data["final_grad_norm"]))),
            optimizer=data.get("optimizer", "sgd"), options=dict(data.get("options", {})),
            landscape=data.get("landscape"),
        )

    def __repr__(self) -> str:
        where = f" on {self.landscape}" if self.landscape else ""
        return f"<Trajectory{where} with {self.optimizer}: {self.summary()}>"


def _jsonable(value):
    if value is None:
        return None
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "f":
            return [_jsonable(v) for v in value] if value.ndim > 1 else [
                float(v) if math.isfinite(v) else None for v in value.tolist()
            ] if value.ndim == 1 else _jsonable(float(value))
        if value.dtype.kind in "iu":
            if value.ndim == 1 and value.dtype.kind == "i":
                return [None if v < 0 else int(v) for v in value.tolist()] if value.min(initial=0) < 0 \
                    else value.tolist()
            return value.tolist()
        return value.tolist()
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def _array(value):
    def clean(v):
        if isinstance(v, list):
            return [clean(x) for x in v]
        return float("nan") if v is None else v

    return np.asarray(clean(value), dtype=np.float64)
