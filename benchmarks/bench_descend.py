"""descend() against the same climb written in PyTorch (and JAX when installed).

(1) One climber, 1000 plain gradient-descent steps on the 2-D Rosenbrock
    function, end to end (set-up and tracing included): downhill.descend vs
    the same loop in PyTorch eager with torch.optim.SGD (and JAX's jit, timed
    cold: compilation included, as a first call pays it).
(2) 1,000,000 climbers x 100 steps on Rosenbrock with record=False: downhill
    (fused numba kernel when installed, and its NumPy path) vs JAX jit(fori_loop)
    warm, PyTorch autograd on the whole batch, and NumPy written by hand, in
    place; then the whole first call in fresh processes (downhill with its
    kernel cache warm, JAX cold).

Run by hand: python benchmarks/bench_descend.py [--rounds N]
Each engine runs in blocks of consecutive calls (>= 0.2 s), blocks alternating
(see harness.py); medians, min-max, ratios downhill / peer.
"""

from __future__ import annotations

import argparse
import os

import numpy as np

import downhill as dh
from harness import MIN_BLOCK, Result, Row, alternate, in_subprocess, ratio, report, threads
from downhill.landscapes import field as landscape_field

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
    landscape_field._program_for.cache_clear()  # where descend's traces are kept
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


def many_jax_fn():
    """JAX jit(fori_loop) on the same batch, compiled once (warm)."""
    def rosenbrock(p):
        return 100 * (p[1] - p[0] ** 2) ** 2 + (1 - p[0]) ** 2

    slope = jax.vmap(jax.grad(rosenbrock), in_axes=1, out_axes=1)

    @jax.jit
    def climb(p):
        return jax.lax.fori_loop(0, BATCH_STEPS, lambda _, q: q - BATCH_LR * slope(q), p)

    def run(start):
        return np.asarray(climb(start).block_until_ready()).T

    return run


def numpy_path(start):
    """downhill without the fused kernel (what runs without numba)."""
    previous = os.environ.get("DOWNHILL_FUSED")
    os.environ["DOWNHILL_FUSED"] = "0"
    try:
        return many_downhill(start)
    finally:
        if previous is None:
            del os.environ["DOWNHILL_FUSED"]
        else:
            os.environ["DOWNHILL_FUSED"] = previous


# The fresh-process scripts. Each library is imported before the clock starts
# (downhill, NumPy; JAX): the timed call is what a user's first call costs
# after ``import``. downhill's call includes what it loads lazily (llvmlite and
# the kernel's machine code from the cache, or numba where that cannot be
# used); JAX's includes tracing and compiling. The second figure is the whole
# process: imports, data and first call.
FRESH_DOWNHILL = f"""
import time
t0 = time.perf_counter()
import json, sys, numpy as np
import downhill as dh
start = np.random.default_rng(0).uniform(-2, 2, size=({N_BATCH}, 2))
t = time.perf_counter()
dh.descend("rosenbrock", start, lr={BATCH_LR}, steps={BATCH_STEPS}, tol=0.0, record=False)
end = time.perf_counter()
print(json.dumps([end - t, end - t0, "numba" in sys.modules]))
"""

FRESH_JAX = f"""
import time
t0 = time.perf_counter()
import json, numpy as np, jax, jax.numpy as jnp
jax.config.update("jax_enable_x64", True)
start = np.random.default_rng(0).uniform(-2, 2, size=({N_BATCH}, 2))
t = time.perf_counter()
def rosenbrock(p):
    return 100 * (p[1] - p[0] ** 2) ** 2 + (1 - p[0]) ** 2
slope = jax.vmap(jax.grad(rosenbrock), in_axes=1, out_axes=1)
climb = jax.jit(lambda p: jax.lax.fori_loop(0, {BATCH_STEPS}, lambda _, q: q - {BATCH_LR} * slope(q), p))
np.asarray(climb(jnp.asarray(start.T)).block_until_ready())
end = time.perf_counter()
print(json.dumps([end - t, end - t0, False]))
"""

FRESH_PROCESSES = 7


def fresh(rounds):
    """The whole first call in fresh processes, alternating: downhill (kernel cache warm) vs JAX cold.

    At least FRESH_PROCESSES processes per engine (a fresh process's figure
    varies more than a block's). Python's compiled bytecode is kept between
    the processes (in a temporary folder, as an installed package keeps it),
    even where PYTHONDONTWRITEBYTECODE is set, for both engines alike.
    """
    import tempfile

    with tempfile.TemporaryDirectory() as pycache:
        env = {"PYTHONPYCACHEPREFIX": pycache, "PYTHONDONTWRITEBYTECODE": None}
        in_subprocess(FRESH_DOWNHILL, env=env)  # fills the kernel cache if it was empty, and the bytecode
        if jax is not None:
            in_subprocess(FRESH_JAX, env=env)
        times = {"downhill": [], "jax": []}
        numba_imported = False
        for _ in range(max(rounds, FRESH_PROCESSES)):
            times["downhill"].append(in_subprocess(FRESH_DOWNHILL, env=env))
            numba_imported |= times["downhill"][-1][2]
            if jax is not None:
                times["jax"].append(in_subprocess(FRESH_JAX, env=env))
    if numba_imported:
        print("   note: a fresh downhill process imported numba (the kernel's machine code could not be loaded alone)")
    call = {k: Result(k, [c for c, _, _ in v], len(v)) for k, v in times.items() if v}
    whole = {k: Result(k, [w for _, w, _ in v], len(v)) for k, v in times.items() if v}
    return call, whole


def collect(rounds=5, min_block=MIN_BLOCK):
    rows = []
    print(f"   {threads()}")
    one = alternate([("downhill", one_downhill), ("torch eager+SGD", one_torch if torch else None),
                     ("jax jit (cold)", one_jax_cold if jax else None)], rounds, min_block)
    report(f"(W1) one climber, {STEPS} SGD steps on Rosenbrock, end to end (fresh trace each call)", one)
    if torch:
        r = ratio(one, "torch eager+SGD")
        peers = f"PyTorch eager + `torch.optim.SGD` {one['torch eager+SGD'].median * 1e3:.1f} ms"
        met = r <= 0.05
        if jax:
            peers += f"; JAX `jit`, cold {one['jax jit (cold)'].median * 1e3:.1f} ms"
            met = met and one["downhill"].median < one["jax jit (cold)"].median
        rows.append(Row("W1", f'`descend("rosenbrock")`, {STEPS} plain steps, end to end with tracing',
                        "bench_descend.py", f"{one['downhill'].median * 1e3:.2f} ms", peers,
                        f"{r:.3f}x" + (f"; {ratio(one, 'jax jit (cold)'):.2f}x JAX" if jax else ""),
                        "<= 0.05x; faster than JAX cold", met))
    start = batch_start()
    many_jax = many_jax_fn() if jax else None
    start_t = np.ascontiguousarray(start.T)
    many = alternate([
        ("downhill", lambda: many_downhill(start)),
        ("downhill, NumPy path", lambda: numpy_path(start)),
        ("jax jit (warm)", (lambda: many_jax(start_t)) if jax else None),
        ("torch autograd", (lambda: many_torch(start)) if torch else None),
        ("numpy by hand", lambda: many_numpy(start)),
    ], rounds, min_block)
    report(f"(W3) {N_BATCH:,} climbers x {BATCH_STEPS} SGD steps on Rosenbrock, record=False", many)
    ours = many["downhill"].value
    for name, result in many.items():
        if name != "downhill" and not np.allclose(result.value, ours, rtol=1e-9, atol=1e-12):
            print(f"   warning: {name} ended elsewhere: {np.asarray(result.value).ravel()[:4]}")
    cold, whole = fresh(rounds)
    report("(W3) the same in a fresh process, the whole first call after the imports (downhill: kernel cache "
           "warm; JAX: cold jit); one sample per process", cold)
    report("(W3) the same, the whole process: imports, data and first call", whole)
    if jax:
        r = ratio(many, "jax jit (warm)")
        rows.append(Row("W3", f"{N_BATCH:,} climbers x {BATCH_STEPS} steps on Rosenbrock, `record=False`, warm",
                        "bench_descend.py", f"{many['downhill'].median * 1e3:.0f} ms",
                        f"JAX `jit(fori_loop)` {many['jax jit (warm)'].median * 1e3:.0f} ms; NumPy by hand "
                        f"{many['numpy by hand'].median * 1e3:.0f} ms", f"{r:.2f}x", "<= 0.5x JAX", r <= 0.5))
        r = cold["downhill"].median / cold["jax"].median
        rows.append(Row("W3", "the same, whole first call in a fresh process, imports excluded for both "
                        "(kernel cache warm vs JAX cold jit)",
                        "bench_descend.py", f"{cold['downhill'].median * 1e3:.0f} ms",
                        f"JAX {cold['jax'].median * 1e3:.0f} ms", f"{r:.2f}x", "<= 1x JAX cold", r <= 1))
        r = whole["downhill"].median / whole["jax"].median
        rows.append(Row("W3", "the same, whole fresh process: imports (downhill; JAX), data, first call",
                        "bench_descend.py", f"{whole['downhill'].median * 1e3:.0f} ms",
                        f"JAX {whole['jax'].median * 1e3:.0f} ms", f"{r:.2f}x", "none (for reading)", None))
    if torch:
        r = many["downhill, NumPy path"].median / many["torch autograd"].median
        rows.append(Row("W3", "the same without numba (NumPy path)", "bench_descend.py",
                        f"{many['downhill, NumPy path'].median * 1e3:.0f} ms",
                        f"PyTorch autograd on the batch {many['torch autograd'].median * 1e3:.0f} ms",
                        f"{r:.2f}x", "<= 0.8x PyTorch", r <= 0.8))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--min-block", type=float, default=MIN_BLOCK)
    args = parser.parse_args()
    for row in collect(args.rounds, args.min_block):
        print(row.verdict())


if __name__ == "__main__":
    main()
