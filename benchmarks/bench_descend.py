"""descend() against the same climb written in PyTorch (and JAX when installed).

(1) One climber, 1000 plain gradient-descent steps on the 2-D Rosenbrock
    function, end to end (set-up and tracing included): downhill.descend vs
    the same loop in PyTorch eager with torch.optim.SGD (and JAX's jit, timed
    cold: compilation included, as a first call pays it).
(2) 1,000,000 climbers x 100 steps on Rosenbrock with record=False vs PyTorch
    autograd on the whole batch, and NumPy written by hand, in place.

Run by hand: python benchmarks/bench_descend.py [--repeats N]
Timings are medians of interleaved runs; ratios are downhill / peer.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import downhill as dh
from downhill.optim import descend as descend_module

try:
    import torch
except ImportError:
    torch = None
try:
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
except ImportError:
    jax = None

START = (-1.5, 2.0)
LR = 1e-3
STEPS = 1000
N_BATCH = 1_000_000
BATCH_STEPS = 100
BATCH_LR = 1e-4


def one_downhill():
    # A fresh trace each time: "end to end, compilation included".
    descend_module._program_for.cache_clear()
    return dh.descend("rosenbrock", START, lr=LR, steps=STEPS, tol=0.0).final_point


def one_torch():
    p = torch.tensor(START, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([p], lr=LR)
    for _ in range(STEPS):
        opt.zero_grad()
        x, y = p[0], p[1]
        loss = 100 * (y - x**2) ** 2 + (1 - x) ** 2
        loss.backward()
        opt.step()
    return p.detach().numpy()


def one_jax_cold():
    def rosenbrock(p):
        return 100 * (p[1] - p[0] ** 2) ** 2 + (1 - p[0]) ** 2

    def climb(p):
        step = lambda _, q: q - LR * jax.grad(rosenbrock)(q)  # noqa: E731
        return jax.lax.fori_loop(0, STEPS, step, p)

    jax.clear_caches()  # cold: tracing and compilation are part of the cost
    return np.asarray(jax.jit(climb)(jnp.array(START)))


def batch_start():
    return np.random.default_rng(0).uniform(-2, 2, size=(N_BATCH, 2))


def many_downhill(start):
    return dh.descend("rosenbrock", start, lr=BATCH_LR, steps=BATCH_STEPS, tol=0.0, record=False).final_point


def many_torch(start):
    p = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    for _ in range(BATCH_STEPS):
        x, y = p[:, 0], p[:, 1]
        loss = (100 * (y - x**2) ** 2 + (1 - x) ** 2).sum()
        loss.backward()
        with torch.no_grad():
            p -= BATCH_LR * p.grad
        p.grad = None
    return p.detach().numpy()


def many_numpy(start):
    x = start[:, 0].copy()
    y = start[:, 1].copy()
    r = np.empty_like(x)
    gx = np.empty_like(x)
    for _ in range(BATCH_STEPS):
        np.multiply(x, x, out=r)
        np.subtract(y, r, out=r)                   # r = y - x^2
        np.multiply(r, -400 * BATCH_LR, out=gx)
        np.multiply(gx, x, out=gx)                 # -lr * d/dx of the first term ...
        np.subtract(1.0, x, out=x)                 # reuse x as 1 - x for a moment
        np.multiply(x, -2 * BATCH_LR, out=x)
        np.add(gx, x, out=gx)                      # ... plus the second term
        np.divide(x, -2 * BATCH_LR, out=x)
        np.subtract(1.0, x, out=x)                 # x back
        np.subtract(x, gx, out=x)
        np.multiply(r, 200 * BATCH_LR, out=r)
        np.subtract(y, r, out=y)
    return np.stack([x, y], axis=1)


def median_time(fn, *args):
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result


def run(name, contenders, repeats, args=()):
    times = {label: [] for label, fn in contenders if fn is not None}
    results = {}
    for _ in range(repeats):  # interleaved
        for label, fn in contenders:
            if fn is None:
                continue
            elapsed, results[label] = median_time(fn, *args)
            times[label].append(elapsed)
    medians = {label: statistics.median(v) for label, v in times.items()}
    ours = medians["downhill"]
    print(name)
    for label, value in medians.items():
        ratio = "" if label == "downhill" else f"   downhill/{label} = {ours / value:.3f}x"
        print(f"   {label:<18} {value * 1e3:10.2f} ms{ratio}")
    reference = results["downhill"]
    for label, value in results.items():
        if label != "downhill" and not np.allclose(value, reference, rtol=1e-9, atol=1e-12):
            print(f"   warning: {label} ended elsewhere: {np.asarray(value).ravel()[:4]}")
    return medians


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--batch-repeats", type=int, default=3)
    args = parser.parse_args()
    one = run(f"(1) one climber, {STEPS} SGD steps on Rosenbrock, end to end", [
        ("downhill", one_downhill),
        ("torch eager+SGD", one_torch if torch else None),
        ("jax jit (cold)", one_jax_cold if jax else None),
    ], args.repeats)
    start = batch_start()
    many = run(f"(2) {N_BATCH:,} climbers x {BATCH_STEPS} steps, record=False", [
        ("downhill", many_downhill),
        ("torch autograd", many_torch if torch else None),
        ("numpy by hand", many_numpy),
    ], args.batch_repeats, (start,))
    if torch:
        print(f"bars: (1) <= 0.1x torch: {one['downhill'] <= 0.1 * one['torch eager+SGD']}", end="")
        if jax:
            print(f", faster than cold jax jit: {one['downhill'] < one['jax jit (cold)']}", end="")
        print(f"; (2) no slower than torch: {many['downhill'] <= many['torch autograd']}")


if __name__ == "__main__":
    main()
