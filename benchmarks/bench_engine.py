"""Engine speed against PyTorch eager, in one run, interleaved, medians and ratios.

(a) 1000 steps of plain gradient descent on the 2-D Rosenbrock function: two
    0-d tensors, backward(), and the in-place update under no_grad.
(b) forward and backward through 50 layers x = tanh(w_i * x + b_i) on
    length-8 vectors.

Run by hand: python benchmarks/bench_engine.py [--repeats N]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import downhill as dh

try:
    import torch
except ImportError:  # the benchmark still reports downhill alone
    torch = None

STEPS = 1000
LR = 1e-3
LAYERS = 50


def rosenbrock_downhill():
    x = dh.tensor(-1.5, requires_grad=True)
    y = dh.tensor(2.0, requires_grad=True)
    for _ in range(STEPS):
        loss = 100 * (y - x**2) ** 2 + (1 - x) ** 2
        loss.backward()
        with dh.no_grad():
            x -= LR * x.grad
            y -= LR * y.grad
        x.grad = None
        y.grad = None
    return x.item(), y.item()


def rosenbrock_torch():
    x = torch.tensor(-1.5, dtype=torch.float64, requires_grad=True)
    y = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    for _ in range(STEPS):
        loss = 100 * (y - x**2) ** 2 + (1 - x) ** 2
        loss.backward()
        with torch.no_grad():
            x -= LR * x.grad
            y -= LR * y.grad
        x.grad = None
        y.grad = None
    return x.item(), y.item()


def _layer_params(seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(LAYERS, 8)) * 0.5, rng.normal(size=(LAYERS, 8)) * 0.1, rng.normal(size=8)


W, B, X0 = _layer_params()
DH_W = [dh.tensor(w, requires_grad=True) for w in W]
DH_B = [dh.tensor(b, requires_grad=True) for b in B]


def tanh_stack_downhill():
    x = dh.tensor(X0)
    for w, b in zip(DH_W, DH_B):
        x = dh.tanh(w * x + b)
    x.sum().backward()
    for p in DH_W + DH_B:
        p.grad = None
    return x


if torch is not None:
    T_W = [torch.tensor(w, requires_grad=True) for w in W]
    T_B = [torch.tensor(b, requires_grad=True) for b in B]


def tanh_stack_torch():
    x = torch.tensor(X0)
    for w, b in zip(T_W, T_B):
        x = torch.tanh(w * x + b)
    x.sum().backward()
    for p in T_W + T_B:
        p.grad = None
    return x


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def compare(name, ours, theirs, repeats, per):
    ours(), theirs and theirs()  # warm up both
    times = {"downhill": [], "torch": []}
    for _ in range(repeats):  # interleaved, so drift hits both alike
        times["downhill"].append(timed(ours))
        if theirs:
            times["torch"].append(timed(theirs))
    med = {k: statistics.median(v) for k, v in times.items() if v}
    line = f"{name:<44} downhill {med['downhill'] / per * 1e6:9.2f} us"
    if "torch" in med:
        line += f"   torch {med['torch'] / per * 1e6:9.2f} us   ratio {med['downhill'] / med['torch']:.3f}x"
    print(line)
    return med


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    print(f"median of {args.repeats} interleaved runs; times per step / per pass")
    a = compare("(a) Rosenbrock GD step, 0-d tensors", rosenbrock_downhill,
                rosenbrock_torch if torch else None, args.repeats, STEPS)
    b = compare("(b) 50 x tanh(w*x+b), length 8, fwd+bwd", lambda: [tanh_stack_downhill() for _ in range(20)],
                (lambda: [tanh_stack_torch() for _ in range(20)]) if torch else None, args.repeats, 20)
    if torch:
        print(f"bars: (a) ratio <= 0.2: {a['downhill'] / a['torch'] <= 0.2};"
              f" (b) ratio <= 0.5: {b['downhill'] / b['torch'] <= 0.5}")


if __name__ == "__main__":
    main()
