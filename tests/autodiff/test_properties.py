"""Property tests: random compositions on random broadcasting shapes differentiate as in PyTorch.

Hypothesis draws the program (which ops, in which order, on which shapes, reduced
over which axis) and a seed for the values; PyTorch in float64 is the oracle.
Bounded and derandomized so that every run checks the same examples.
"""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import downhill as dh

PROPERTY = settings(max_examples=40, deadline=None, derandomize=True, database=None)
GRAD_RTOL, GRAD_ATOL = 1e-9, 1e-12

# Smooth on the whole real line and bounded growth, so any chain of them stays finite.
UNARY = {
    "sin": (dh.sin, torch.sin), "cos": (dh.cos, torch.cos), "tanh": (dh.tanh, torch.tanh),
    "sigmoid": (dh.sigmoid, torch.sigmoid), "arctan": (dh.arctan, torch.atan),
    "softplus": (dh.softplus, torch.nn.functional.softplus), "square": (dh.square, torch.square),
    "exp_tanh": (lambda x: dh.exp(dh.tanh(x)), lambda x: torch.exp(torch.tanh(x))),
    "negative": (dh.negative, torch.neg), "scale": (lambda x: x * 1.5 - 0.25, lambda x: x * 1.5 - 0.25),
}
BINARY = {
    "add": (dh.add, torch.add), "subtract": (dh.subtract, torch.sub), "multiply": (dh.multiply, torch.mul),
    "divide_by_1_plus_square": (lambda a, b: a / (1 + b * b), lambda a, b: a / (1 + b * b)),
    "hypot": (lambda a, b: dh.sqrt(a * a + b * b + 1), lambda a, b: torch.sqrt(a * a + b * b + 1)),
}


def _reduce(kind, x, axis, keepdims, lib):
    if lib is dh:
        return {"sum": dh.sum, "mean": dh.mean, "logsumexp": dh.logsumexp,
                "norm": dh.norm}[kind](x, axis=axis, keepdims=keepdims)
    dims = tuple(range(x.ndim)) if axis is None else axis
    if kind == "norm":
        return torch.linalg.vector_norm(x, dim=dims, keepdim=keepdims)
    if x.ndim == 0:
        return x
    return {"sum": torch.sum, "mean": torch.mean, "logsumexp": torch.logsumexp}[kind](x, dim=dims, keepdim=keepdims)


def _grads_both(dh_fn, torch_fn, arrays):
    argnums = tuple(range(len(arrays)))
    grads = dh.grad(lambda *xs: dh.sum(dh_fn(*xs)), argnums=argnums)(*arrays)
    xs = [torch.tensor(a, requires_grad=True) for a in arrays]
    t_grads = torch.autograd.grad(torch_fn(*xs).sum(), xs, materialize_grads=True)
    return grads, [g.numpy() for g in t_grads]


@st.composite
def programs(draw):
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3))
    left = draw(st.lists(st.sampled_from(sorted(UNARY)), max_size=3))
    right = draw(st.lists(st.sampled_from(sorted(UNARY)), max_size=3))
    join = draw(st.sampled_from(sorted(BINARY)))
    after = draw(st.lists(st.sampled_from(sorted(UNARY)), max_size=2))
    ndim = len(shapes.result_shape)
    axes = [None] + (list(range(-ndim, ndim)) if ndim else [])
    if ndim >= 2:
        axes.append((0, ndim - 1))
    reduction = (draw(st.sampled_from(["sum", "mean", "logsumexp", "norm"])), draw(st.sampled_from(axes)),
                 draw(st.booleans()))
    seed = draw(st.integers(0, 2 ** 32 - 1))
    return shapes.input_shapes, left, right, join, after, reduction, seed


def _build(program, lib):
    _, left, right, join, after, (kind, axis, keepdims), _ = program
    k = 0 if lib is dh else 1

    def f(a, b):
        for name in left:
            a = UNARY[name][k](a)
        for name in right:
            b = UNARY[name][k](b)
        y = BINARY[join][k](a, b)
        for name in after:
            y = UNARY[name][k](y)
        return _reduce(kind, y, axis, keepdims, lib)

    return f


@PROPERTY
@given(programs())
def test_random_compositions_on_broadcast_shapes_match_pytorch(program):
    shapes, seed = program[0], program[-1]
    rng = np.random.default_rng(seed)
    arrays = [rng.uniform(-2.0, 2.0, shape) for shape in shapes]
    f, t_f = _build(program, dh), _build(program, torch)
    value = f(*[dh.tensor(a) for a in arrays])
    t_value = t_f(*[torch.tensor(a) for a in arrays])
    assert value.shape == tuple(t_value.shape)
    np.testing.assert_allclose(value.numpy(), t_value.numpy(), rtol=1e-12, atol=1e-14)
    grads, t_grads = _grads_both(f, t_f, arrays)
    for g, t_g, shape in zip(grads, t_grads, shapes, strict=True):
        assert np.shape(g) == shape
        np.testing.assert_allclose(g, t_g, rtol=GRAD_RTOL, atol=GRAD_ATOL)


@PROPERTY
@given(hnp.mutually_broadcastable_shapes(signature=np.matmul.signature, max_dims=3, max_side=4),
       st.integers(0, 2 ** 32 - 1))
def test_matmul_on_random_batched_shapes_matches_pytorch(shapes, seed):
    rng = np.random.default_rng(seed)
    a, b = (rng.normal(size=s) for s in shapes.input_shapes)
    out = dh.matmul(dh.tensor(a), dh.tensor(b))
    assert out.shape == shapes.result_shape
    grads, t_grads = _grads_both(lambda x, y: dh.tanh(x @ y), lambda x, y: torch.tanh(x @ y), [a, b])
    for g, t_g in zip(grads, t_grads, strict=True):
        np.testing.assert_allclose(g, t_g, rtol=GRAD_RTOL, atol=GRAD_ATOL)


@PROPERTY
@given(st.integers(1, 6), st.lists(st.integers(0, 5), min_size=1, max_size=12), st.integers(0, 2 ** 32 - 1))
def test_integer_indexing_gradient_counts_repeats(size, raw_index, seed):
    index = np.array([i % size for i in raw_index])
    weights = np.random.default_rng(seed).normal(size=len(index))
    slope = dh.grad(lambda x: dh.sum(x[index] * weights))(np.zeros(size))
    np.testing.assert_allclose(slope, np.bincount(index, weights=weights, minlength=size), rtol=1e-15, atol=1e-15)


@PROPERTY
@given(hnp.array_shapes(min_dims=1, max_dims=3, max_side=3), st.integers(0, 2 ** 32 - 1), st.data())
def test_second_derivatives_of_random_reductions_match_pytorch(shape, seed, data):
    kind = data.draw(st.sampled_from(["var", "std", "prod", "max", "logsumexp", "softmax"]))
    axis = data.draw(st.sampled_from([None] + list(range(-len(shape), len(shape)))))
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape))
    x = ((rng.permutation(n) - n / 2) * 0.3 + rng.uniform(-0.05, 0.05, n)).reshape(shape)  # no ties
    count = n if axis is None else shape[axis]
    if kind == "std" and count < 2:
        kind = "var"
    dims = tuple(range(len(shape))) if axis is None else axis
    dh_fn = {
        "var": lambda v: dh.var(v, axis=axis), "std": lambda v: dh.std(v, axis=axis),
        "prod": lambda v: dh.prod(v, axis=axis), "max": lambda v: dh.max(v, axis=axis),
        "logsumexp": lambda v: dh.logsumexp(v, axis=axis),
        "softmax": lambda v: dh.softmax(v, axis=-1 if axis is None else axis) ** 2,
    }[kind]
    torch_fn = {
        "var": lambda v: torch.var(v, dim=dims, correction=0), "std": lambda v: torch.std(v, dim=dims, correction=0),
        "prod": lambda v: torch.prod(v.reshape(-1)) if axis is None else torch.prod(v, dim=axis),
        "max": lambda v: torch.amax(v, dim=dims), "logsumexp": lambda v: torch.logsumexp(v, dim=dims),
        "softmax": lambda v: torch.softmax(v, dim=-1 if axis is None else axis) ** 2,
    }[kind]
    direction = rng.normal(size=shape)
    hvp = dh.grad(lambda v: dh.sum(dh.grad(lambda w: dh.sum(dh_fn(w)))(v) * direction))(x)
    t = torch.tensor(x, requires_grad=True)
    (g,) = torch.autograd.grad(torch_fn(t).sum(), t, create_graph=True)
    if g.requires_grad:
        (t_hvp,) = torch.autograd.grad((g * torch.tensor(direction)).sum(), t, materialize_grads=True)
    else:
        t_hvp = torch.zeros_like(t)
    np.testing.assert_allclose(hvp, t_hvp.numpy(), rtol=GRAD_RTOL, atol=GRAD_ATOL)
