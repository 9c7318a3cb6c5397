"""Training-step speed and peak memory: downhill.nn against PyTorch eager.

A 784-512-512-10 MLP (ReLU), batch 256, float32, cross-entropy loss, plain
SGD. (1) Time per training step (forward, backward, optimizer step), both
libraries in one process, interleaved, medians. (2) Peak memory (peak resident size) of
a process that imports one library and trains 30 steps, each in its own fresh
subprocess. Also a NumPy-by-hand step for reference.

Run by hand: python benchmarks/bench_mlp.py [--repeats N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

SIZES = (784, 512, 512, 10)
BATCH = 256
LR = 0.01


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
import sys
sys.path.insert(0, {repr(str(Path(__file__).resolve().parent))})
import bench_mlp as b
step = b.{which}_step_fn()
for _ in range({steps}):
    step()
print([line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM")][0])
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(out.stdout.strip().splitlines()[-1]) / 1024  # KiB -> MiB


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()
    steps = {"downhill": downhill_step_fn(), "torch": torch_step_fn(), "numpy by hand": numpy_step_fn()}
    for step in steps.values():
        for _ in range(3):
            step()
    times = {name: [] for name in steps}
    for _ in range(args.repeats):
        for name, step in steps.items():
            start = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - start)
    med = {name: statistics.median(v) * 1e3 for name, v in times.items()}
    print(f"MLP {'-'.join(map(str, SIZES))}, batch {BATCH}, float32, SGD: median ms per training step "
          f"({args.repeats} interleaved)")
    for name, value in med.items():
        ratio = "" if name == "downhill" else f"   downhill/{name} = {med['downhill'] / value:.3f}x"
        print(f"   {name:<14} {value:8.3f} ms{ratio}")
    memory = {name: measure_memory(name) for name in ("downhill", "torch")}
    print("peak memory (VmHWM) of a fresh process training 30 steps:")
    for name, value in memory.items():
        print(f"   {name:<14} {value:8.1f} MiB")
    print(f"bars: time <= 1.1x torch: {med['downhill'] <= 1.1 * med['torch']}; "
          f"memory <= 0.5x torch: {memory['downhill'] <= 0.5 * memory['torch']}")
    print(json.dumps({"ms": med, "MiB": memory}))


if __name__ == "__main__":
    main()
