"""``python -m downhill.demo``: a short tour of the five ideas, in numbers.

A derivative (the speedometer), a gradient (which way is downhill), a few
steps of gradient descent, a gradient through two layers (the chain rule),
and learning rates that arrive or fall off. (``downhill tour`` is the long
one, with pictures.)
"""

from __future__ import annotations

import numpy as np

import downhill as dh


def demo() -> str:
    """The demo's text.

    >>> demo().splitlines()[0]
    'downhill: Python does the hard math for you.'
    """
    lines = []
    say = lines.append

    say("downhill: Python does the hard math for you.\n")

    say("1. The derivative, a speedometer: how fast f(x) = x**3 changes at x = 2")
    f = lambda x: x**3  # noqa: E731
    exact = dh.derivative(f)(2.0)
    measured = dh.numerical_derivative(f, 2.0)
    say(f"   exact (chain rule) f'(2) = {exact:.10f}   measured (central differences) = {measured:.10f}\n")

    say("2. The gradient, on a foggy mountain: f(x, y) = x**2 + 3*y**2 at (1, 2)")
    bowl = lambda p: p[0] ** 2 + 3 * p[1] ** 2  # noqa: E731
    point = np.array([1.0, 2.0])
    slope = dh.grad(bowl)(point)
    downhill_dir = -slope / np.linalg.norm(slope)
    say(f"   gradient = {slope}, steepness = {np.linalg.norm(slope):.4f}")
    say(f"   downhill is the direction {np.round(downhill_dir, 4)}\n")

    say("3. Gradient descent: feel the ground, take a step, repeat (learning rate 0.1)")
    p = dh.tensor(point, requires_grad=True)
    for step in range(6):
        height = bowl(p)
        height.backward()
        say(f"   step {step}: point = {np.round(p.data, 4)}, height = {height.item():.5f}")
        with dh.no_grad():
            p -= 0.1 * p.grad
        p.grad = None
    say("")

    say("4. The chain rule, a bicycle chain: a gradient through two layers")
    rng = np.random.default_rng(0)
    w1 = dh.tensor(rng.normal(size=(3, 2)), requires_grad=True)
    w2 = dh.tensor(rng.normal(size=(1, 3)), requires_grad=True)
    x = dh.tensor([[0.5], [-1.0]])
    target = 1.0
    hidden = dh.tanh(w1 @ x)
    output = w2 @ hidden
    error = ((output - target) ** 2).sum()
    error.backward()
    say(f"   error = {error.item():.6f}")
    say(f"   d error / d w2 (the last link)  = {np.round(w2.grad.data, 4).tolist()}")
    say(f"   d error / d w1 (through layer 2) = {np.round(w1.grad.data, 4).tolist()}")
    check = dh.gradcheck(lambda a, b: ((b @ dh.tanh(a @ x) - target) ** 2).sum(), w1.data, w2.data)
    say(f"   checked against central differences: {check}\n")

    say("5. The learning rate: for f = x**2 + 3*y**2 the steepest curvature is L = 6,")
    say("   so steps larger than 2/L = 0.333 fall off the mountain:")
    for lr in (0.01, 0.3, 0.34):
        q = dh.tensor(point, requires_grad=True)
        for _ in range(50):
            bowl(q).backward()
            with dh.no_grad():
                q -= lr * q.grad
            q.grad = None
        say(f"   lr = {lr:<5} after 50 steps height = {bowl(q).item():.3e}")
    return "\n".join(lines)


def main() -> None:
    """Print the demo."""
    print(demo())


if __name__ == "__main__":
    main()
