"""vmap over the whole rule table: every primitive, batched in one evaluation, equals a loop.

For each entry, on seeded random examples within the function's domain:
``vmap(f)`` equals stacking ``f`` on each example, and ``vmap(grad(loss))``
equals a loop of ``grad(loss)`` (``loss`` contracts ``f`` with a fixed random
cotangent, so every entry of the output counts). ``fallback="raise"`` makes
sure the batched path ran, not the loop. The last tests keep the table
complete: a primitive that no entry exercises, or that has no batch rule,
fails the suite.
"""

from __future__ import annotations

import numpy as np
import pytest

import downhill as dh
from downhill.autodiff.batching import BATCH_RULES
from downhill.autodiff.ops import OPS, Op
from downhill.autodiff.tensor import MASK_OPS, apply
from downhill.autodiff.vmap import NotBatchable, _graph, _trace

BATCH = 4


def real(*shape):
    return lambda rng: rng.normal(size=shape)


def positive(*shape):
    return lambda rng: rng.uniform(0.5, 2.0, size=shape)


def unit(*shape):
    return lambda rng: rng.uniform(-0.9, 0.9, size=shape)


def above_one(*shape):
    return lambda rng: rng.uniform(1.2, 3.0, size=shape)


def off_whole(*shape):
    # away from the jumps of floor, round, mod: n + 0.1 .. n + 0.4
    return lambda rng: rng.integers(-3, 3, size=shape) + rng.uniform(0.1, 0.4, size=shape)


def well_conditioned(n, m=None):
    return lambda rng: rng.normal(size=(n, m or n)) + (3.0 * np.eye(n, m or n))


def spd(n):
    def draw(rng):
        a = rng.normal(size=(n, n))
        return a @ a.T + n * np.eye(n)
    return draw


def separated_spd(n):
    # distinct eigenvalues 1, 3, 5, ... in a random basis: eigh's derivative is finite
    def draw(rng):
        q, _ = np.linalg.qr(rng.normal(size=(n, n)))
        return q @ np.diag(1.0 + 2.0 * np.arange(n) + rng.uniform(0, 0.5, n)) @ q.T
    return draw


def tall(m, n):
    # distinct singular values: svd's derivative is finite
    def draw(rng):
        u, _ = np.linalg.qr(rng.normal(size=(m, n)))
        v, _ = np.linalg.qr(rng.normal(size=(n, n)))
        return u @ np.diag(1.0 + 1.5 * np.arange(n)) @ v.T
    return draw


L = dh.linalg
ENTRIES = {
    # arithmetic, broadcasting a (3,) against a (2, 3)
    "add": (lambda x, y: x + y, (real(3), real(2, 3))),
    "subtract": (lambda x, y: x - y, (real(2, 3), real(3))),
    "multiply": (lambda x, y: x * y, (real(3), real(2, 3))),
    "divide": (lambda x, y: x / y, (real(2, 3), positive(3))),
    "negative": (lambda x: -x, (real(3),)),
    "power": (lambda x, y: dh.power(x, y) + x ** 3, (positive(3), real(3))),
    # elementwise, one input
    "exp": (dh.exp, (real(3),)), "log": (dh.log, (positive(3),)), "log1p": (dh.log1p, (positive(3),)),
    "expm1": (dh.expm1, (real(3),)), "sqrt": (dh.sqrt, (positive(3),)), "abs": (dh.abs, (real(3),)),
    "sign": (lambda x: dh.sign(x) * x, (real(3),)), "sin": (dh.sin, (real(3),)), "cos": (dh.cos, (real(3),)),
    "tan": (dh.tan, (unit(3),)), "arctan": (dh.arctan, (real(3),)), "sinh": (dh.sinh, (real(3),)),
    "cosh": (dh.cosh, (real(3),)), "tanh": (dh.tanh, (real(3),)), "sigmoid": (dh.sigmoid, (real(3),)),
    "softplus": (dh.softplus, (real(3),)), "erf": (dh.erf, (real(3),)), "erfc": (dh.erfc, (real(3),)),
    "relu": (dh.relu, (real(2, 3),)), "arcsin": (dh.arcsin, (unit(3),)), "arccos": (dh.arccos, (unit(3),)),
    "arcsinh": (dh.arcsinh, (real(3),)), "arccosh": (dh.arccosh, (above_one(3),)),
    "arctanh": (dh.arctanh, (unit(3),)), "log2": (dh.log2, (positive(3),)), "log10": (dh.log10, (positive(3),)),
    "exp2": (dh.exp2, (real(3),)), "sinc": (dh.sinc, (real(3),)),
    "steps": (lambda x: dh.floor(x) * x + dh.ceil(x) + dh.trunc(x) * x + dh.round(x, 1), (off_whole(2, 3),)),
    "nan_to_num": (lambda x: dh.nan_to_num(x) * x, (real(3),)),
    # elementwise, two inputs
    "maximum": (dh.maximum, (real(3), real(2, 3))), "arctan2": (dh.arctan2, (real(3), real(3))),
    "hypot": (dh.hypot, (real(3), real(2, 3))), "logaddexp": (dh.logaddexp, (real(3), real(3))),
    "logaddexp2": (dh.logaddexp2, (real(3), real(3))), "fmax": (dh.fmax, (real(3), real(3))),
    "fmin": (dh.fmin, (real(3), real(3))),
    "remainders": (lambda x, y: dh.mod(x, y) + dh.fmod(x, y) + x // y,
                   (off_whole(3), lambda rng: np.ones(3) * rng.choice([-1.0, 1.0]))),
    "where_clip": (lambda x, y: dh.where(x > y, x, 2.0 * y) + dh.clip(x, -0.5, 0.5), (real(3), real(3))),
    "masks": (lambda x, y: dh.where(((x < y) & (x <= 0.5)) | ~(x >= y) | (x == y), x, y)
              + dh.where((x != 0.25) & (y > -1.0), y, x), (real(2, 3), real(3))),
    "astype": (lambda x: dh.astype(dh.astype(x, "float32"), "float64") * x, (real(3),)),
    # reductions and scans
    "sum": (lambda x: dh.sum(x, axis=1) + dh.sum(x), (real(2, 3),)),
    "max": (lambda x: dh.max(x, axis=0), (real(2, 3),)),
    "norm": (lambda x: dh.norm(x, axis=1) + dh.norm(x), (real(2, 3),)),
    "cumsum": (lambda x: dh.cumsum(x, axis=1) + dh.reshape(dh.cumsum(x), (2, 3)), (real(2, 3),)),
    "cumprod": (lambda x: dh.cumprod(x, axis=0), (real(3, 2),)),
    "softmax_logsumexp_std": (lambda x: dh.softmax(x) + dh.logsumexp(x, axis=0) + dh.std(x, axis=0),
                              (real(2, 3),)),
    # shapes and indexing
    "reshape": (lambda x: dh.reshape(x, (3, 2)), (real(2, 3),)),
    "transpose": (lambda x: dh.transpose(x) * 2.0, (real(2, 3),)),
    "broadcast_to": (lambda x: dh.broadcast_to(x, (2, 3)), (real(3),)),
    "getitem_scatter": (lambda x: x[1, ::2] * x[0, 1] + x[:, [0, 2]].sum(), (real(2, 3),)),
    "concatenate": (lambda x, y: dh.concatenate([x, y, x], axis=1), (real(2, 3), real(2, 1))),
    # products
    "matmul": (lambda x, y: x @ y + (y @ x.T).T + x[0] @ y, (real(2, 3), real(3, 3))),
    "einsum": (lambda x, y: dh.einsum("ij,jk->ik", x, y) + dh.einsum("ii->i", y)[:2, None], (real(2, 3), real(3, 3))),
    # linear algebra
    "inv": (L.inv, (well_conditioned(3),)),
    "det": (L.det, (well_conditioned(3),)),
    "logabsdet": (lambda a: L.slogdet(a)[1], (well_conditioned(3),)),
    "solve": (lambda a, b, c: L.solve(a, b) + L.solve(a, c)[:, 0], (well_conditioned(3), real(3), real(3, 2))),
    "pinv": (L.pinv, (tall(3, 2),)),
    "cholesky": (L.cholesky, (spd(3),)),
    "eigh": (lambda a: L.eigh(a)[0] + dh.sum(L.eigh(a)[1] ** 2, axis=0), (separated_spd(3),)),
    "svd": (lambda a: L.svd(a, full_matrices=False)[1] + dh.sum(L.svd(a, full_matrices=False)[0] ** 2, axis=0),
            (tall(3, 2),)),
    "qr": (lambda a: dh.sum(L.qr(a)[1] ** 2, axis=0) + dh.sum(L.qr(a)[0] ** 2, axis=0), (tall(3, 2),)),
}


def _batch(samplers, seed):
    rng = np.random.default_rng(seed)
    return [np.stack([draw(rng) for _ in range(BATCH)]) for draw in samplers]


def _loss(f, cotangent):
    return lambda *xs: dh.sum(f(*xs) * cotangent)


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_vmap_and_vmap_of_grad_equal_a_loop(name):
    f, samplers = ENTRIES[name]
    inputs = _batch(samplers, seed=len(name))
    examples = list(zip(*inputs))

    looped = np.stack([f(*[dh.tensor(x) for x in xs]).numpy() for xs in examples])
    np.testing.assert_allclose(dh.vmap(f, fallback="raise")(*inputs), looped, rtol=1e-12, atol=1e-14)

    cotangent = np.random.default_rng(99).normal(size=looped.shape[1:])
    g = dh.grad(_loss(f, cotangent), argnums=tuple(range(len(inputs))))
    batched = dh.vmap(g, fallback="raise")(*inputs)
    per_example = [g(*xs) for xs in examples]
    for i in range(len(inputs)):
        np.testing.assert_allclose(batched[i], np.stack([p[i] for p in per_example]), rtol=1e-10, atol=1e-12,
                                   err_msg=f"gradient of input {i}")


def _names_in(f, samplers):
    inputs = _batch(samplers, seed=0)
    names = set()
    cotangent = None
    for fn in (f, "grad"):
        if fn == "grad":
            fn = dh.grad(_loss(f, cotangent), argnums=tuple(range(len(inputs))))
        outputs, *_ = _trace(fn, inputs, list(range(len(inputs))), 0)
        if cotangent is None:
            cotangent = np.ones(outputs[0].shape)
        names |= {t._op.name for t in _graph(outputs) if t._op is not None}
    return names


def _exercised():
    names = set()
    for f, samplers in ENTRIES.values():
        names |= _names_in(f, samplers)
    return names


# Recorded only while vmap traces (not in OPS): the masks and softmax's stop_gradient.
TRACE_ONLY = {op.name for op in MASK_OPS.values()} | {"stop_gradient"}


def test_every_primitive_is_exercised_by_the_table_and_has_a_batch_rule():
    wanted = set(OPS) | TRACE_ONLY
    missing = wanted - _exercised()
    assert not missing, f"primitives that no vmap entry exercises: {sorted(missing)}; add entries to ENTRIES"
    assert not wanted - set(BATCH_RULES), f"no batch rule: {sorted(wanted - set(BATCH_RULES))}"


def test_a_new_primitive_without_an_entry_fails_the_check(monkeypatch):
    monkeypatch.setitem(OPS, "cube", Op("cube", lambda x: x ** 3, (lambda F, g, ans, x: 3 * g * x * x,)))
    assert set(OPS) - _exercised() == {"cube"}


def test_a_primitive_without_a_batch_rule_loops_or_says_so(monkeypatch):
    cube = Op("cube", lambda x: x ** 3, (lambda F, g, ans, x: 3 * g * x * x,))
    f = lambda x: dh.sum(apply(cube, (x,)))  # noqa: E731
    X = np.arange(6.0).reshape(3, 2)
    np.testing.assert_array_equal(dh.vmap(f)(X), (X ** 3).sum(axis=1))
    with pytest.raises(NotBatchable, match="'cube' has no batch rule"):
        dh.vmap(f, fallback="raise")(X)
