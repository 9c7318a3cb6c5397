"""Toy datasets drawn from a seed: two moons, circles, spirals, XOR, blobs, a noisy curve.

Every generator takes ``n_samples``, ``noise`` (the standard deviation of
Gaussian noise added to each coordinate) and ``seed`` (an int, a
``numpy.random.Generator``, or None for fresh randomness). Classification sets
return ``X`` float64 ``(n_samples, 2)`` and ``y`` int64 ``(n_samples,)``, classes
as balanced as ``n_samples`` allows (class ``k`` gets one sample more than
class ``k + 1`` at most), rows shuffled.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..random import generator

__all__ = ["moons", "circles", "spirals", "xor", "blobs", "regression_1d"]


def _check(n_samples, noise, minimum=1):
    if isinstance(n_samples, bool) or not isinstance(n_samples, int | np.integer) or n_samples < minimum:
        raise InputError(f"n_samples must be an int >= {minimum}, got {n_samples!r}")
    if not noise >= 0:
        raise InputError(f"noise must be >= 0 (a standard deviation), got {noise!r}")


def _class_sizes(n_samples: int, n_classes: int) -> list[int]:
    """``n_samples`` split as evenly as possible, the first classes taking the remainder."""
    base, extra = divmod(n_samples, n_classes)
    return [base + (k < extra) for k in range(n_classes)]


def _finish(rng, parts, noise):
    """Stack per-class point sets, add noise, shuffle; return (X float64, y int64)."""
    X = np.concatenate(parts).astype(np.float64)
    y = np.concatenate([np.full(len(p), k, dtype=np.int64) for k, p in enumerate(parts)])
    if noise > 0:
        X = X + rng.normal(0.0, noise, size=X.shape)
    order = rng.permutation(len(X))
    return X[order], y[order]


def moons(n_samples: int = 200, noise: float = 0.1, seed=0):
    """Two interleaving half circles (the classic "two moons").

    Class 0 is the upper moon ``(cos t, sin t)``, class 1 the lower one
    ``(1 - cos t, 0.5 - sin t)``, ``t`` evenly spaced in ``[0, pi]``.

    Returns ``(X, y)``: float64 ``(n_samples, 2)`` and int64 ``(n_samples,)``.

    >>> from downhill.datasets import moons
    >>> X, y = moons(6, noise=0.0, seed=0)
    >>> X.shape, sorted(y.tolist())
    ((6, 2), [0, 0, 0, 1, 1, 1])
    """
    _check(n_samples, noise, 2)
    rng = generator(seed)
    n_upper, n_lower = _class_sizes(n_samples, 2)
    t_upper = np.linspace(0.0, np.pi, n_upper)
    t_lower = np.linspace(0.0, np.pi, n_lower)
    upper = np.stack([np.cos(t_upper), np.sin(t_upper)], axis=1)
    lower = np.stack([1.0 - np.cos(t_lower), 0.5 - np.sin(t_lower)], axis=1)
    return _finish(rng, [upper, lower], noise)


def circles(n_samples: int = 200, noise: float = 0.05, factor: float = 0.5, seed=0):
    """A circle inside a circle: class 0 on the unit circle, class 1 on radius ``factor``.

    Returns ``(X, y)``: float64 ``(n_samples, 2)`` and int64 ``(n_samples,)``.

    >>> from downhill.datasets import circles
    >>> import numpy as np
    >>> X, y = circles(8, noise=0.0, factor=0.5, seed=0)
    >>> np.round(np.hypot(X[:, 0], X[:, 1]), 6)[np.argsort(y, kind="stable")].tolist()
    [1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5]
    """
    _check(n_samples, noise, 2)
    if not 0 < factor < 1:
        raise InputError(f"factor (inner radius / outer radius) must be in (0, 1), got {factor!r}")
    rng = generator(seed)
    n_outer, n_inner = _class_sizes(n_samples, 2)
    t_outer = np.linspace(0.0, 2 * np.pi, n_outer, endpoint=False)
    t_inner = np.linspace(0.0, 2 * np.pi, n_inner, endpoint=False)
    outer = np.stack([np.cos(t_outer), np.sin(t_outer)], axis=1)
    inner = factor * np.stack([np.cos(t_inner), np.sin(t_inner)], axis=1)
    return _finish(rng, [outer, inner], noise)


def spirals(n_samples: int = 200, noise: float = 0.05, n_classes: int = 2, turns: float = 1.25, seed=0):
    """``n_classes`` interleaved spiral arms winding out from the centre.

    Arm ``k`` is ``r (cos(a + 2 pi k / n_classes), sin(...))`` with the angle
    ``a`` running from ``0.5`` to ``2 pi turns`` and the radius ``r = a / (2 pi turns)``
    growing to 1; points are spread evenly along each arm at random
    positions. Neighbouring arms are ``1 / (turns * n_classes)`` apart, so keep
    ``noise`` well below that.

    Returns ``(X, y)``: float64 ``(n_samples, 2)`` and int64 ``(n_samples,)``.

    >>> from downhill.datasets import spirals
    >>> X, y = spirals(300, n_classes=3, seed=1)
    >>> X.shape, [int((y == k).sum()) for k in range(3)]
    ((300, 2), [100, 100, 100])
    """
    _check(n_samples, noise, n_classes)
    if isinstance(n_classes, bool) or not isinstance(n_classes, int | np.integer) or n_classes < 2:
        raise InputError(f"n_classes must be an int >= 2, got {n_classes!r}")
    if not turns > 0:
        raise InputError(f"turns must be > 0, got {turns!r}")
    rng = generator(seed)
    end = 2 * np.pi * turns
    start = min(0.5, end / 2)
    parts = []
    for k, size in enumerate(_class_sizes(n_samples, n_classes)):
        # Angle a with a**2 uniform: equally many points per unit of arc length.
        angle = np.sqrt(rng.uniform(start**2, end**2, size=size))
        radius = angle / end
        phase = angle + 2 * np.pi * k / n_classes
        parts.append(np.stack([radius * np.cos(phase), radius * np.sin(phase)], axis=1))
    return _finish(rng, parts, noise)


def xor(n_samples: int = 200, noise: float = 0.0, margin: float = 0.1, seed=0):
    """The XOR problem: class 1 where the two coordinates have opposite signs.

    Points are uniform in the four quadrants of ``[-1, 1]^2``, kept at least
    ``margin`` away from the axes (before noise) so that the classes are
    separable; class 0 fills the quadrants where ``x0 * x1 > 0``. No single line
    separates them: the smallest problem a linear model cannot learn.

    Returns ``(X, y)``: float64 ``(n_samples, 2)`` and int64 ``(n_samples,)``.

    >>> import numpy as np
    >>> from downhill.datasets import xor
    >>> X, y = xor(100, seed=0)
    >>> bool(np.all((X[:, 0] * X[:, 1] < 0) == (y == 1)))
    True
    """
    _check(n_samples, noise, 2)
    if not 0 <= margin < 1:
        raise InputError(f"margin must be in [0, 1), got {margin!r}")
    rng = generator(seed)
    parts = []
    for k, size in enumerate(_class_sizes(n_samples, 2)):
        magnitude = rng.uniform(margin, 1.0, size=(size, 2))
        sign_x = rng.choice([-1.0, 1.0], size=size)
        # class 0: same signs; class 1: opposite signs
        sign_y = sign_x if k == 0 else -sign_x
        parts.append(magnitude * np.stack([sign_x, sign_y], axis=1))
    return _finish(rng, parts, noise)


def blobs(n_samples: int = 200, centers=3, cluster_std: float = 1.0, n_features: int = 2,
          center_box=(-8.0, 8.0), seed=0):
    """Gaussian clusters ("blobs"), one class per cluster.

    ``centers`` is a number of clusters (their centres drawn uniformly in
    ``center_box``) or an array of centres, shape ``(n_classes, n_features)``.
    ``cluster_std`` is the standard deviation of each cluster (the noise).

    Returns ``(X, y)``: float64 ``(n_samples, n_features)`` (``n_features = 2``
    by default) and int64 ``(n_samples,)``.

    >>> from downhill.datasets import blobs
    >>> X, y = blobs(90, centers=[[0, 0], [5, 5], [-5, 5]], cluster_std=0.5, seed=0)
    >>> X.shape, int(y.max())
    ((90, 2), 2)
    """
    rng = generator(seed)
    if isinstance(centers, int | np.integer) and not isinstance(centers, bool):
        if centers < 1:
            raise InputError(f"centers must be >= 1, got {centers}")
        low, high = center_box
        centre_array = rng.uniform(low, high, size=(int(centers), n_features))
    else:
        centre_array = np.asarray(centers, dtype=np.float64)
        if centre_array.ndim != 2:
            raise InputError(f"centers must be an int or an array of shape (n_classes, n_features); got shape {centre_array.shape}")
    _check(n_samples, cluster_std, len(centre_array))
    parts = [
        np.broadcast_to(centre, (size, centre_array.shape[1]))
        for centre, size in zip(centre_array, _class_sizes(n_samples, len(centre_array)))
    ]
    return _finish(rng, parts, cluster_std)


def regression_1d(n_samples: int = 100, noise: float = 0.1, function: str = "sin", low: float = -3.0,
                  high: float = 3.0, seed=0):
    """A noisy curve to fit: ``y = f(x) + noise``, ``x`` uniform in ``[low, high]``.

    ``function`` is ``"sin"``, ``"cubic"`` (``x**3 / 10 - x / 2``), ``"abs"`` or
    ``"linear"`` (``2 x + 1``).

    Returns ``(X, y)``: ``X`` float64 ``(n_samples, 1)``, one feature per row,
    and ``y`` float64 ``(n_samples, 1)``: the same shape as the output of a
    model ending in ``Linear(..., 1)``, so that ``MSELoss`` compares like with
    like (a target of shape ``(n,)`` against an output of shape ``(n, 1)``
    would broadcast to ``(n, n)``).

    >>> from downhill.datasets import regression_1d
    >>> X, y = regression_1d(50, noise=0.0, function="linear", seed=0)
    >>> X.shape, y.shape, bool(abs(y - (2 * X + 1)).max() < 1e-12)
    ((50, 1), (50, 1), True)
    """
    _check(n_samples, noise)
    functions = {
        "sin": np.sin,
        "cubic": lambda x: x**3 / 10 - x / 2,
        "abs": np.abs,
        "linear": lambda x: 2 * x + 1,
    }
    if function not in functions:
        raise InputError(f"function must be one of {sorted(functions)}, got {function!r}")
    if not high > low:
        raise InputError(f"need low < high, got low={low}, high={high}")
    rng = generator(seed)
    X = rng.uniform(low, high, size=(n_samples, 1))
    y = functions[function](X)
    if noise > 0:
        y = y + rng.normal(0.0, noise, size=y.shape)
    return X.astype(np.float64), y.astype(np.float64)
