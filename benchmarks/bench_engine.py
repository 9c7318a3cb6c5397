"""Engine speed against PyTorch eager: blocks of consecutive calls, alternating, medians and ratios.

(a) 1000 steps of plain gradient descent on the 2-D Rosenbrock function: two
    0-d tensors, backward(), and the in-place update under no_grad.
(b) forward and backward through 50 layers x = tanh(w_i * x + b_i) on
    length-8 vectors.

Run by hand: python benchmarks/bench_engine.py [--rounds N]
Each engine runs blocks of >= 0.2 s of consecutive calls, blocks alternating (harness.py).
"""

from __future__ import annotations

import argparse

import numpy as np

import downhill as dh
from harness import MIN_BLOCK, Row, alternate, ratio, report, threads

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


def collect(rounds=5, min_block=MIN_BLOCK):
    print(f"   {threads()}")
    a = alternate([("downhill", rosenbrock_downhill), ("torch eager", rosenbrock_torch if torch else None)],
                  rounds, min_block)
    report(f"(W1) Rosenbrock GD, 0-d tensors, backward(): time per {STEPS} steps", a)
    b = alternate([("downhill", tanh_stack_downhill), ("torch eager", tanh_stack_torch if torch else None)],
                  rounds, min_block)
    report(f"(W2) {LAYERS} x tanh(w*x+b), length 8, forward + backward: time per pass", b, "us", 1e6)
    rows = []
    if torch:
        r = ratio(a, "torch eager")
        rows.append(Row("W1", f"{STEPS} steps of gradient descent on 2-D Rosenbrock, two 0-d tensors, "
                        "`backward()`, in-place update", "bench_engine.py",
                        f"{a['downhill'].median / STEPS * 1e6:.1f} µs a step",
                        f"PyTorch eager {a['torch eager'].median / STEPS * 1e6:.1f} µs", f"{r:.2f}x", "<= 0.15x",
                        r <= 0.15))
        r = ratio(b, "torch eager")
        rows.append(Row("W2", f"forward + backward of {LAYERS} layers `tanh(w*x + b)`, length-8 vectors",
                        "bench_engine.py", f"{b['downhill'].median * 1e6:.0f} µs",
                        f"PyTorch eager {b['torch eager'].median * 1e6:.0f} µs", f"{r:.2f}x", "<= 0.45x", r <= 0.45))
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
