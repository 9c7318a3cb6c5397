"""Training-step speed and peak memory: downhill.nn against PyTorch eager.

A 784-512-512-10 MLP (ReLU), batch 256, float32, cross-entropy loss, plain
SGD. (1) Time per training step (forward, backward, optimizer step): each
library in a fresh process of its own (processes alternating between the
libraries), each process's steps back to back after 10 untimed ones, in
blocks of >= 0.5 s; medians and min-max over the blocks. Not in one process:
PyTorch's OpenMP threads and NumPy's OpenBLAS threads then hand two cores
back and forth at every block's start, and 0.2 s blocks in one process
measured PyTorch's step at 7.5-8 ms against 5.8 ms on its own (downhill/torch
0.79x there, 1.07x as a user runs it); see benchmarks/README.md. (2) Peak memory (peak resident size)
of a process that imports one library and trains 30 steps, each in its own
fresh subprocess. Also a NumPy-by-hand step for reference.

Run by hand: python benchmarks/bench_mlp.py [--rounds N]
"""

from __future__ import annotations

import argparse

import numpy as np
from harness import Result, Row, in_subprocess, ratio, report, threads

SIZES = (784, 512, 512, 10)
BATCH = 256
LR = 0.01
# Seconds per timed block inside an engine's own process.
PROCESS_BLOCK = 0.5


def data(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(BATCH, SIZES[0])).astype(np.float32)
    y = rng.integers(0, SIZES[-1], size=BATCH)
    return x, y


def downhill_step_fn():
    import downhill as dh
    from downhill import nn

    nn.init.manual_seed(0) if hasattr(nn.init, "manual_seed") else None
    layers = []
    for i, (a, b) in enumerate(zip(SIZES[:-1], SIZES[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(SIZES) - 2:
            layers.append(nn.ReLU())
    model = nn.Sequential(*layers)
    loss_fn = nn.CrossEntropyLoss()
    opt = dh.optim.SGD(model.parameters(), lr=LR)
    x, y = data()
    xt, yt = dh.tensor(x), dh.tensor(y)

    def step():
        opt.zero_grad()
        loss = loss_fn(model(xt), yt)
        loss.backward()
        opt.step()
        return loss

    return step


def torch_step_fn():
    import torch

    torch.manual_seed(0)
    layers = []
    for i, (a, b) in enumerate(zip(SIZES[:-1], SIZES[1:])):
        layers.append(torch.nn.Linear(a, b))
        if i < len(SIZES) - 2:
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    loss_fn = torch.nn.CrossEntropyLoss()
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    x, y = data()
    xt, yt = torch.tensor(x), torch.tensor(y)

    def step():
        opt.zero_grad()
        loss = loss_fn(model(xt), yt)
        loss.backward()
        opt.step()
        return loss

    return step


def numpy_step_fn():
    rng = np.random.default_rng(0)
    Ws = [(rng.uniform(-1, 1, size=(b, a)) / np.sqrt(a)).astype(np.float32) for a, b in zip(SIZES[:-1], SIZES[1:])]
    bs = [np.zeros(b, np.float32) for b in SIZES[1:]]
    x, y = data()
    rows = np.arange(BATCH)

    def step():
        hs = [x]
        for k, (W, b) in enumerate(zip(Ws, bs)):
            h = hs[-1] @ W.T + b
            if k < len(Ws) - 1:
                np.maximum(h, 0, out=h)
            hs.append(h)
        z = hs[-1]
        z = z - z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        g = p
        g[rows, y] -= 1
        g /= BATCH
        for k in range(len(Ws) - 1, -1, -1):
            gW = g.T @ hs[k]
            gb = g.sum(axis=0)
            if k:
                g = g @ Ws[k]
                g *= hs[k] > 0
            Ws[k] -= LR * gW
            bs[k] -= LR * gb

    return step


def measure_memory(which, steps=30):
    # VmHWM is the peak resident size of this process image; getrusage's
    # ru_maxrss would also count the parent's peak, which Linux carries
    # across fork and exec.
    code = f"""
import bench_mlp as b
step = b.{which}_step_fn()
for _ in range({steps}):
    step()
print([line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM")][0])
"""
    return int(in_subprocess(code)) / 1024  # KiB -> MiB


def time_in_process(which, blocks=3, min_block=PROCESS_BLOCK):
    """Seconds per step of one engine in a fresh process: a list, one per block, and the step count."""
    code = f"""
import json, time
import bench_mlp as b
step = b.{which}_step_fn()
for _ in range(10):
    step()
samples, calls = [], 0
for _ in range({blocks}):
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < {min_block}:
        step()
        n += 1
    samples.append((time.perf_counter() - start) / n)
    calls += n
print(json.dumps([samples, calls]))
"""
    return in_subprocess(code)


def collect(rounds=3, min_block=PROCESS_BLOCK):
    """Time and memory of one training step; the rows for the README's table."""
    engines = [("downhill", "downhill"), ("torch eager", "torch" if torch_available() else None),
               ("numpy by hand", "numpy")]
    results = {name: Result(name) for name, key in engines if key is not None}
    for _ in range(rounds):  # processes alternate: downhill, torch, numpy, downhill, ...
        for name, key in engines:
            if key is None:
                continue
            samples, calls = time_in_process(key, min_block=min_block)
            results[name].samples += samples
            results[name].calls += calls
    print(f"MLP {'-'.join(map(str, SIZES))}, batch {BATCH}, float32, SGD: time per training step "
          f"({rounds} fresh processes per engine, alternating; 3 blocks of >= {min_block} s each)")
    print(f"   {threads()}")
    report("", results)
    memory = {name: measure_memory(key) for name, key in (("downhill", "downhill"), ("torch eager", "torch"))
              if name in results}
    print("peak memory (VmHWM) of a fresh process training 30 steps:")
    for name, value in memory.items():
        print(f"   {name:<14} {value:8.1f} MiB")
    rows = []
    if "torch eager" in results:
        r = ratio(results, "torch eager")
        rows.append(Row("W4", f"MLP {'-'.join(map(str, SIZES))}, batch {BATCH}, float32, SGD: one training step",
                        "bench_mlp.py", f"{results['downhill'].median * 1e3:.2f} ms",
                        f"PyTorch eager {results['torch eager'].median * 1e3:.2f} ms; "
                        f"NumPy by hand {results['numpy by hand'].median * 1e3:.2f} ms",
                        f"{r:.2f}x", "<= 0.8x", r <= 0.8))
        m = memory["downhill"] / memory["torch eager"]
        rows.append(Row("W4", "the same, peak memory of a fresh process (VmHWM)", "bench_mlp.py",
                        f"{memory['downhill']:.1f} MiB", f"PyTorch {memory['torch eager']:.1f} MiB",
                        f"{m:.2f}x", "<= 0.2x", m <= 0.2))
    return rows


def torch_available():
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="fresh processes per engine")
    parser.add_argument("--min-block", type=float, default=PROCESS_BLOCK)
    args = parser.parse_args()
    for row in collect(args.rounds, args.min_block):
        print(row.verdict())


if __name__ == "__main__":
    main()
