"""Leslie Smith's learning-rate range test: raise the learning rate until the loss blows up.

Train for ``num_iter`` mini-batches while the learning rate grows exponentially
from ``start_lr`` to ``end_lr``; record the loss at every step. Too small a rate
and the loss barely moves; a good one and it falls fast; too big and it shoots
up. The test (Smith, arXiv:1506.01186, section 3.3; popularised by fastai's
``lr_find``):

1. save the model's and the optimizer's state;
2. for each step ``i``: set ``lr_i = start_lr * (end_lr / start_lr) ** (i / (num_iter - 1))``,
   take one training step, record ``(lr_i, loss_i)``;
3. smooth the losses with a bias-corrected exponential moving average
   (``avg = smooth * avg + (1 - smooth) * loss``; ``smoothed_i = avg / (1 - smooth ** (i + 1))``)
   and stop early once the smoothed loss exceeds ``diverge`` times its best
   value (or the loss is NaN or infinite);
4. restore the saved state exactly, and suggest learning rates from the
   smoothed curve against ``log(lr)``.

Suggestions (computed, as fastai does, on the points between the first tenth
of ``num_iter`` and the last five points, cut at the first non-finite value):

- ``"valley"`` (fastai's default, credited to ESRI): find the longest
  strictly decreasing subsequence of the smoothed losses; take the valley from
  its length back from where it ends, and suggest the point about halfway
  down it. (fastai's code starts the valley one point too early, an
  off-by-one; here it starts at ``end - length + 1``.)
- ``"steep"``: the left end of the interval where the smoothed loss falls
  fastest per unit of ``log(lr)``.
- ``"minimum"``: a tenth of the learning rate at the lowest smoothed loss.
"""

from __future__ import annotations

import copy
import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError, InputTypeError
from ..notebook import shows_in_notebook
from ..autodiff.tensor import Tensor
from ..results import Result, jsonable
from .training import _restore_rng_states, _rng_states, forward_loss

__all__ = ["lr_range_test", "LRRangeTestResult", "valley", "steep", "minimum"]


# --------------------------------------------------------------------------- suggestion rules


def valley(lrs, losses) -> int:
    """Index of the learning rate halfway down the longest valley of ``losses``.

    ``lds[i]`` is the length of the longest strictly decreasing subsequence
    ending at ``i`` (an O(n^2) scan); the valley ends at ``argmax(lds)`` and is
    taken to start ``lds - 1`` points before; the suggestion sits
    ``floor(s) + floor(s / 2)`` points in, with ``s`` a third of its length.

    >>> import numpy as np
    >>> from downhill.nn.lr_range import valley
    >>> lrs = np.logspace(-5, 0, 11)
    >>> losses = [2.0, 2.0, 1.9, 1.6, 1.2, 0.8, 0.5, 0.4, 0.45, 1.5, 4.0]
    >>> i = valley(lrs, losses); i, float(lrs[i])
    (4, 0.001)
    """
    losses = np.asarray(losses, dtype=np.float64)
    n = len(losses)
    if n == 0:
        raise InputError("valley needs at least one point")
    lds = np.ones(n, dtype=np.int64)
    for i in range(1, n):
        earlier = lds[:i][losses[:i] > losses[i]]
        if earlier.size:
            lds[i] = earlier.max() + 1
    max_end = int(np.argmax(lds))
    max_start = max(max_end - int(lds[max_end]) + 1, 0)
    sections = (max_end - max_start) / 3
    return max_start + int(sections) + int(sections / 2)


def steep(lrs, losses) -> int:
    """Index of the left end of the steepest descent of ``losses`` against ``log(lr)``.

    >>> import numpy as np
    >>> from downhill.nn.lr_range import steep
    >>> lrs = np.logspace(-4, 0, 5)
    >>> steep(lrs, [2.0, 1.9, 1.0, 0.8, 3.0])
    1
    """
    lrs = np.asarray(lrs, dtype=np.float64)
    losses = np.asarray(losses, dtype=np.float64)
    if len(losses) < 2:
        raise InputError("steep needs at least two points")
    slopes = np.diff(losses) / np.diff(np.log(lrs))
    return int(np.argmin(slopes))


def minimum(lrs, losses) -> int:
    """Index of the lowest loss (the suggestion is a tenth of its learning rate).

    >>> from downhill.nn.lr_range import minimum
    >>> minimum([1e-3, 1e-2, 1e-1], [1.0, 0.5, 2.0])
    1
    """
    return int(np.argmin(np.asarray(losses, dtype=np.float64)))


_RULES = {"valley": valley, "steep": steep, "minimum": minimum}


def suggest(lrs, smoothed, num_iter: int, methods=("valley", "steep", "minimum")) -> dict:
    """Suggested learning rates from a range test's curve (fastai's trimming, then each rule).

    Keeps the points from ``num_iter // 10`` to five before the end, cut at
    the first non-finite loss. A rule that has too few points gives None.

    >>> import numpy as np
    >>> from downhill.nn.lr_range import suggest
    >>> lrs = np.logspace(-6, 1, 100)
    >>> losses = 2.0 - 1.5 / (1 + np.exp(-3 * (np.log10(lrs) + 3)))  # falls around lr = 1e-3
    >>> losses[lrs > 1e-1] = 2.0 + 10 * np.log10(lrs[lrs > 1e-1] / 1e-1)  # and then blows up
    >>> rates = suggest(lrs, losses, num_iter=100)
    >>> 1e-4 < rates["valley"] < 1e-2, 1e-4 < rates["steep"] < 1e-2
    (True, True)
    """
    lrs = np.asarray(lrs, dtype=np.float64)
    smoothed = np.asarray(smoothed, dtype=np.float64)
    start, stop = num_iter // 10, len(lrs) - 5
    lrs, smoothed = lrs[start:stop], smoothed[start:stop]
    bad = np.flatnonzero(~np.isfinite(smoothed))
    if bad.size:
        lrs, smoothed = lrs[: bad[0]], smoothed[: bad[0]]
    result: dict[str, float | None] = {}
    for name in methods:
        rule = _RULES[name]
        needed = 2 if name == "steep" else 1
        if len(smoothed) < max(needed, 3):
            result[name] = None
            continue
        index = rule(lrs, smoothed)
        lr = float(lrs[index])
        result[name] = lr / 10 if name == "minimum" else lr
    return result


# --------------------------------------------------------------------------- the test


@shows_in_notebook
@dataclass
class LRRangeTestResult(Result):
    """What :func:`lr_range_test` measured: one entry per step taken.

    ``lrs``, ``losses`` (raw) and ``smoothed`` are float64 arrays;
    ``suggestions`` maps ``"valley"``, ``"steep"`` and ``"minimum"`` to a
    learning rate (or None when too few points were recorded); ``suggestion``
    is the valley one; ``stopped_early`` says the loss diverged before
    ``num_iter`` steps.
    """

    lrs: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray
    suggestions: dict
    stopped_early: bool
    best_loss: float
    options: dict = field(default_factory=dict)

    @property
    def suggestion(self) -> float | None:
        """The ``"valley"`` suggestion: a good learning rate to start from."""
        return self.suggestions.get("valley")

    def to_dict(self) -> dict:
        """JSON-ready lists and numbers (NaN and inf become None).

        >>> import numpy as np
        >>> from downhill.nn.lr_range import LRRangeTestResult
        >>> LRRangeTestResult(np.array([0.1]), np.array([np.inf]), np.array([1.0]), {}, True, 1.0).to_dict()["losses"]
        [None]
        """
        return jsonable({
            "lrs": np.asarray(self.lrs, dtype=np.float64), "losses": np.asarray(self.losses, dtype=np.float64),
            "smoothed": np.asarray(self.smoothed, dtype=np.float64), "suggestions": dict(self.suggestions),
            "suggestion": self.suggestion, "stopped_early": self.stopped_early, "best_loss": self.best_loss,
            "options": dict(self.options),
        })

    def __str__(self) -> str:
        lines = [f"LR range test: {len(self.lrs)} steps from {self.lrs[0]:.3g} to {self.lrs[-1]:.3g}"
                 + (" (stopped early: the loss diverged)" if self.stopped_early else "")]
        for name, lr in self.suggestions.items():
            lines.append(f"  {name:<8} {'-' if lr is None else f'{lr:.3g}'}")
        return "\n".join(lines)


def _snapshot_model(model):
    return {key: np.array(value.data if isinstance(value, Tensor) else value, copy=True)
            for key, value in model.state_dict().items()}


def lr_range_test(model, loss_fn, optimizer, train_loader, start_lr: float = 1e-7, end_lr: float = 10.0,
                  num_iter: int = 100, smooth: float = 0.98, diverge: float = 4.0,
                  executor=None) -> LRRangeTestResult:
    """Run the learning-rate range test; leave the model and optimizer exactly as they were.

    Args:
        model, loss_fn, optimizer, train_loader: as for :func:`downhill.nn.fit`
            (batches ``(inputs..., target)``); the loader is cycled if it has
            fewer than ``num_iter`` batches. Every parameter group gets the
            same learning rate at each step.
        start_lr, end_lr: the range, swept exponentially (``lr_i = start_lr *
            (end_lr / start_lr) ** (i / (num_iter - 1))``, so both ends are hit).
        num_iter: the number of steps (at least 6, as in fastai).
        smooth: the EMA factor of the smoothed loss (bias-corrected).
        diverge: stop once the smoothed loss exceeds ``diverge`` times its best.
        executor: any ``concurrent.futures.Executor`` (a ``ProcessPoolExecutor``,
            dask's ``Client.get_executor()``); the test runs there, on copies
            of the model, optimizer and loader, and gives the same result bit
            for bit. One test is a chain of steps, each from the last, so it
            runs in one worker: the gain is to keep this process free, or to
            run several tests at once (one per optimizer, say) from threads
            or with ``executor.submit(lr_range_test, ...)``.

    Afterwards the model's parameters and buffers, its train/eval mode, the
    optimizer's state and learning rates, the loader's epoch count and the
    random generators of ``downhill.nn`` (dropout's masks) are restored bit
    for bit (gradients are cleared), so training afterwards goes exactly as it
    would have without the test. NumPy's overflow warnings
    are silenced during the test: blowing up is what it looks for.

    >>> import downhill as dh
    >>> from downhill import nn
    >>> from downhill.data import TensorDataset, DataLoader
    >>> from downhill.datasets import regression_1d
    >>> from downhill.nn.lr_range import lr_range_test
    >>> X, y = regression_1d(256, seed=0)
    >>> loader = DataLoader(TensorDataset(X, y), batch_size=32, shuffle=True, seed=0)
    >>> _ = nn.manual_seed(0)
    >>> model = nn.Sequential(nn.Linear(1, 16, dtype="float64"), nn.Tanh(), nn.Linear(16, 1, dtype="float64"))
    >>> optimizer = dh.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    >>> before = model[0].weight.data.copy()
    >>> result = lr_range_test(model, nn.MSELoss(), optimizer, loader, num_iter=100)
    >>> bool((model[0].weight.data == before).all()), optimizer.param_groups[0]["lr"]
    (True, 0.01)
    >>> result.stopped_early, len(result.lrs) < 100, 1e-4 < result.suggestion < 1e-1
    (True, True, True)
    """
    if executor is not None:
        from ..optim.parallel import run_all

        settings = dict(start_lr=start_lr, end_lr=end_lr, num_iter=num_iter, smooth=smooth, diverge=diverge)
        (result,) = run_all(_range_test_job, [(model, loss_fn, optimizer, train_loader, settings)],
                            executor, "lr_range_test")
        return result
    if not 0 < start_lr < end_lr:
        raise InputError(f"need 0 < start_lr < end_lr, got start_lr={start_lr}, end_lr={end_lr}")
    if isinstance(num_iter, bool) or not isinstance(num_iter, int) or num_iter < 6:
        raise InputError(f"num_iter must be an int >= 6 (the suggestions need points), got {num_iter!r}")
    if not 0 <= smooth < 1:
        raise InputError(f"smooth must be in [0, 1), got {smooth}")
    if not diverge > 1:
        raise InputError(f"diverge must be > 1 (a factor over the best smoothed loss), got {diverge}")
    groups = getattr(optimizer, "param_groups", None)
    if not groups:
        raise InputTypeError(f"optimizer must be a downhill.optim optimizer with param_groups, got {type(optimizer).__name__}")

    saved_model = _snapshot_model(model)
    saved_optimizer = copy.deepcopy(optimizer.state_dict())
    saved_training = getattr(model, "training", True)
    saved_loader = train_loader.state_dict() if hasattr(train_loader, "state_dict") else None
    saved_rng = _rng_states(model)  # dropout masks: the test leaves no trace on later training

    lrs, losses, smoothed = [], [], []
    average, best = 0.0, math.inf
    stopped_early = False
    ratio = end_lr / start_lr
    try:
        model.train()
        batches = iter(train_loader)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            for i in range(num_iter):
                lr = start_lr * ratio ** (i / (num_iter - 1))
                for group in optimizer.param_groups:
                    group["lr"] = lr
                try:
                    batch = next(batches)
                except StopIteration:
                    batches = iter(train_loader)
                    try:
                        batch = next(batches)
                    except StopIteration:
                        raise InputError("train_loader yielded no batches") from None
                optimizer.zero_grad()
                _, _, loss = forward_loss(model, loss_fn, batch)
                value = float(loss.item())
                lrs.append(lr)
                losses.append(value)
                if not math.isfinite(value):
                    smoothed.append(math.nan)
                    stopped_early = True
                    break
                average = smooth * average + (1 - smooth) * value
                current = average / (1 - smooth ** (i + 1))
                smoothed.append(current)
                best = min(best, current)
                if best > 0 and current > diverge * best:
                    stopped_early = True
                    break
                loss.backward()
                optimizer.step()
    finally:
        model.load_state_dict(saved_model)
        optimizer.load_state_dict(saved_optimizer)
        optimizer.zero_grad()
        if saved_training:
            model.train()
        else:
            model.eval()
        if saved_loader is not None:
            train_loader.load_state_dict(saved_loader)
        _restore_rng_states(model, saved_rng)

    lrs_array = np.array(lrs, dtype=np.float64)
    smoothed_array = np.array(smoothed, dtype=np.float64)
    suggestions = suggest(lrs_array, smoothed_array, num_iter)
    if suggestions.get("valley") is None:
        warnings.warn(
            f"the range test stopped after {len(lrs)} steps, too few to suggest a learning rate; "
            "lower start_lr or end_lr, or raise num_iter",
            UserWarning,
            stacklevel=2,
        )
    return LRRangeTestResult(
        lrs=lrs_array,
        losses=np.array(losses, dtype=np.float64),
        smoothed=smoothed_array,
        suggestions=suggestions,
        stopped_early=stopped_early,
        best_loss=best,
        options={"start_lr": start_lr, "end_lr": end_lr, "num_iter": num_iter, "smooth": smooth,
                 "diverge": diverge},
    )


def _range_test_job(model, loss_fn, optimizer, train_loader, settings):
    """The whole test in a worker (module-level, so that worker processes can run it)."""
    return lr_range_test(model, loss_fn, optimizer, train_loader, **settings)
