"""Property tests: random compositions on random broadcasting shapes differentiate as in PyTorch.

Hypothesis draws the program (which ops, in which order, on which shapes, reduced
over which axis) and a seed for the values; PyTorch in float64 is the oracle.
Bounded and derandomized so that every run checks the same examples.

Each property against PyTorch is two tests:

- ``..._live`` (marked ``oracle``, run with ``pytest -m oracle``): Hypothesis
  draws the examples and PyTorch answers now. Run by ``python -m
  tests.oracle.record test_properties``, it also records each example and
  PyTorch's answer into tests/oracle/data/test_properties.npz.
- ``..._recorded`` (the default run, no torch): the same checks on the
  examples recorded there, against the recorded answers. The examples are
  replayed from the file rather than drawn again, so that another Hypothesis
  version (which may draw other examples) cannot leave them without answers.
  After changing a strategy, delete the file and re-record.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import downhill as dh
import oracle as recorded_oracle
from oracle.lazy import real_torch, torch  # torch.sin & co. import torch when called

MODULE = "test_properties"
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


# ------------------------------------------------- recorded examples and answers
def _tuples(value):
    """JSON's lists back into the tuples Hypothesis drew."""
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


def _key(prop, example):
    digest = hashlib.sha1(json.dumps(example).encode()).hexdigest()[:12]
    return f"{prop}/{digest}"


def _live(prop, example, compute):
    """PyTorch's answer (a dict of arrays) now; a recording run also keeps the example and the answer."""
    key = _key(prop, example)
    recorded_oracle.answer(MODULE, f"{key}/example", lambda: {"example": example}, "live")
    answer = compute()
    return {name: recorded_oracle.answer(MODULE, f"{key}/{name}", lambda v=v: v, "live")
            for name, v in sorted(answer.items())}


def _recorded_examples(prop):
    """(key, example) for each example recorded for property ``prop``."""
    values = recorded_oracle.load(MODULE)
    keys = sorted(k[: -len("/example")] for k in values if k.startswith(f"{prop}/") and k.endswith("/example"))
    return [pytest.param(key, _tuples(values[f"{key}/example"]["example"]), id=key.split("/")[1]) for key in keys]


def _recorded(key, names):
    return {name: recorded_oracle.reference(MODULE, f"{key}/{name}") for name in names}


PROPERTIES = ("compositions", "matmul", "second_derivatives")


def test_every_property_has_its_recorded_examples():
    # An empty parametrization would skip silently: the file must hold the examples. Hypothesis
    # runs max_examples (40) of them, some alike (31 distinct programs when recorded, 32 matmul
    # shapes, 40 reductions): each distinct one is recorded once.
    for prop in PROPERTIES:
        count = len(_recorded_examples(prop))
        assert PROPERTY.max_examples // 2 <= count <= PROPERTY.max_examples, (
            f"{prop}: {count} recorded examples in {recorded_oracle.path_for(MODULE)}; "
            f"delete the file and record them again: {recorded_oracle.record_command(MODULE)}")


def _grads_torch(torch_fn, arrays):
    torch = real_torch()
    xs = [torch.tensor(a, requires_grad=True) for a in arrays]
    t_grads = torch.autograd.grad(torch_fn(*xs).sum(), xs, materialize_grads=True)
    return [g.numpy() for g in t_grads]


def _grads_dh(dh_fn, arrays):
    argnums = tuple(range(len(arrays)))
    return dh.grad(lambda *xs: dh.sum(dh_fn(*xs)), argnums=argnums)(*arrays)


# ------------------------------------------------------------ random compositions
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


def _composition_inputs(program):
    shapes, seed = program[0], program[-1]
    rng = np.random.default_rng(seed)
    return [rng.uniform(-2.0, 2.0, shape) for shape in shapes]


def _torch_composition(program):
    torch = real_torch()  # only in the live oracle run and the recorder
    arrays = _composition_inputs(program)
    t_f = _build(program, torch)
    t_value = t_f(*[torch.tensor(a) for a in arrays])
    t_grads = _grads_torch(t_f, arrays)
    return {"value": t_value.numpy(), **{f"grad{i}": g for i, g in enumerate(t_grads)}}


def _check_composition(program, theirs):
    shapes = program[0]
    arrays = _composition_inputs(program)
    f = _build(program, dh)
    value = f(*[dh.tensor(a) for a in arrays])
    t_value = theirs["value"]
    assert value.shape == tuple(t_value.shape)
    np.testing.assert_allclose(value.numpy(), t_value, rtol=1e-12, atol=1e-14)
    grads = _grads_dh(f, arrays)
    for i, (g, shape) in enumerate(zip(grads, shapes, strict=True)):
        assert np.shape(g) == shape
        np.testing.assert_allclose(g, theirs[f"grad{i}"], rtol=GRAD_RTOL, atol=GRAD_ATOL)


@pytest.mark.oracle
@PROPERTY
@given(programs())
def test_random_compositions_on_broadcast_shapes_match_pytorch_live(program):
    _check_composition(program, _live("compositions", program, lambda: _torch_composition(program)))


@pytest.mark.parametrize("key, program", _recorded_examples("compositions"))
def test_random_compositions_on_broadcast_shapes_match_pytorch_recorded(key, program):
    _check_composition(program, _recorded(key, ["value", "grad0", "grad1"]))


# ------------------------------------------------------------------ batched matmul
def _matmul_inputs(example):
    input_shapes, _, seed = example
    rng = np.random.default_rng(seed)
    return [rng.normal(size=s) for s in input_shapes]


def _torch_matmul(example):
    torch = real_torch()  # only in the live oracle run and the recorder
    t_grads = _grads_torch(lambda x, y: torch.tanh(x @ y), _matmul_inputs(example))
    return {f"grad{i}": g for i, g in enumerate(t_grads)}


def _check_matmul(example, theirs):
    result_shape = example[1]
    a, b = _matmul_inputs(example)
    out = dh.matmul(dh.tensor(a), dh.tensor(b))
    assert out.shape == result_shape
    grads = _grads_dh(lambda x, y: dh.tanh(x @ y), [a, b])
    for i, g in enumerate(grads):
        np.testing.assert_allclose(g, theirs[f"grad{i}"], rtol=GRAD_RTOL, atol=GRAD_ATOL)


@pytest.mark.oracle
@PROPERTY
@given(hnp.mutually_broadcastable_shapes(signature=np.matmul.signature, max_dims=3, max_side=4),
       st.integers(0, 2 ** 32 - 1))
def test_matmul_on_random_batched_shapes_matches_pytorch_live(shapes, seed):
    example = (shapes.input_shapes, shapes.result_shape, seed)
    _check_matmul(example, _live("matmul", example, lambda: _torch_matmul(example)))


@pytest.mark.parametrize("key, example", _recorded_examples("matmul"))
def test_matmul_on_random_batched_shapes_matches_pytorch_recorded(key, example):
    _check_matmul(example, _recorded(key, ["grad0", "grad1"]))


@PROPERTY
@given(st.integers(1, 6), st.lists(st.integers(0, 5), min_size=1, max_size=12), st.integers(0, 2 ** 32 - 1))
def test_integer_indexing_gradient_counts_repeats(size, raw_index, seed):
    index = np.array([i % size for i in raw_index])
    weights = np.random.default_rng(seed).normal(size=len(index))
    slope = dh.grad(lambda x: dh.sum(x[index] * weights))(np.zeros(size))
    np.testing.assert_allclose(slope, np.bincount(index, weights=weights, minlength=size), rtol=1e-15, atol=1e-15)


# ------------------------------------------------ second derivatives of reductions
def _second_derivative_input(example):
    shape, seed, _, _ = example
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape))
    x = ((rng.permutation(n) - n / 2) * 0.3 + rng.uniform(-0.05, 0.05, n)).reshape(shape)  # no ties
    return x, rng.normal(size=shape)


def _torch_hvp(example):
    torch = real_torch()  # only in the live oracle run and the recorder
    _, _, kind, axis = example
    x, direction = _second_derivative_input(example)
    dims = tuple(range(x.ndim)) if axis is None else axis
    torch_fn = {
        "var": lambda v: torch.var(v, dim=dims, correction=0), "std": lambda v: torch.std(v, dim=dims, correction=0),
        "prod": lambda v: torch.prod(v.reshape(-1)) if axis is None else torch.prod(v, dim=axis),
        "max": lambda v: torch.amax(v, dim=dims), "logsumexp": lambda v: torch.logsumexp(v, dim=dims),
        "softmax": lambda v: torch.softmax(v, dim=-1 if axis is None else axis) ** 2,
    }[kind]
    t = torch.tensor(x, requires_grad=True)
    (g,) = torch.autograd.grad(torch_fn(t).sum(), t, create_graph=True)
    if g.requires_grad:
        (t_hvp,) = torch.autograd.grad((g * torch.tensor(direction)).sum(), t, materialize_grads=True)
    else:
        t_hvp = torch.zeros_like(t)
    return {"hvp": t_hvp.numpy()}


def _check_hvp(example, theirs):
    _, _, kind, axis = example
    x, direction = _second_derivative_input(example)
    dh_fn = {
        "var": lambda v: dh.var(v, axis=axis), "std": lambda v: dh.std(v, axis=axis),
        "prod": lambda v: dh.prod(v, axis=axis), "max": lambda v: dh.max(v, axis=axis),
        "logsumexp": lambda v: dh.logsumexp(v, axis=axis),
        "softmax": lambda v: dh.softmax(v, axis=-1 if axis is None else axis) ** 2,
    }[kind]
    hvp = dh.grad(lambda v: dh.sum(dh.grad(lambda w: dh.sum(dh_fn(w)))(v) * direction))(x)
    np.testing.assert_allclose(hvp, theirs["hvp"], rtol=GRAD_RTOL, atol=GRAD_ATOL)


@pytest.mark.oracle
@PROPERTY
@given(hnp.array_shapes(min_dims=1, max_dims=3, max_side=3), st.integers(0, 2 ** 32 - 1), st.data())
def test_second_derivatives_of_random_reductions_match_pytorch_live(shape, seed, data):
    kind = data.draw(st.sampled_from(["var", "std", "prod", "max", "logsumexp", "softmax"]))
    axis = data.draw(st.sampled_from([None] + list(range(-len(shape), len(shape)))))
    count = int(np.prod(shape)) if axis is None else shape[axis]
    if kind == "std" and count < 2:
        kind = "var"
    example = (shape, seed, kind, axis)
    _check_hvp(example, _live("second_derivatives", example, lambda: _torch_hvp(example)))


@pytest.mark.parametrize("key, example", _recorded_examples("second_derivatives"))
def test_second_derivatives_of_random_reductions_match_pytorch_recorded(key, example):
    _check_hvp(example, _recorded(key, ["hvp"]))
