"""vmap over the composites a user calls: batched in one evaluation where the graph allows, else a loop.

The composites are built from primitives (each with a batch rule, see
``test_vmap_table.py``); these tests make sure their own steps (softmax's
shift, std's zero test, select's masks, the matrix parts) do not send them
to the loop, and that those that pick by value (sort, median) loop and still
give the loop's numbers.
"""

from __future__ import annotations

import numpy as np
import pytest

import downhill as dh
from downhill.autodiff.vmap import NotBatchable

RNG = np.random.default_rng(3)
X = RNG.normal(size=(5, 2, 3))
A = RNG.normal(size=(5, 3, 3)) + 3 * np.eye(3)
V = RNG.normal(size=(5, 3))
L = dh.linalg

BATCHED = {
    "mean": (lambda x: dh.mean(x, axis=0), X), "var": (lambda x: dh.var(x, axis=1, ddof=1), X),
    "std": (lambda x: dh.std(x, axis=0), X), "prod": (lambda x: dh.prod(x, axis=1), X),
    "min": (lambda x: dh.min(x, axis=1), X), "ptp": (lambda x: dh.ptp(x, axis=1), X),
    "softmax": (lambda x: dh.softmax(x, axis=0), X), "log_softmax": (lambda x: dh.log_softmax(x), X),
    "logsumexp": (lambda x: dh.logsumexp(x, axis=1), X),
    "average": (lambda x: dh.average(x, axis=1, weights=np.array([1.0, 2.0, 3.0])), X),
    "cumprod": (lambda x: dh.cumprod(x, axis=1), X),
    "tensordot": (lambda x: dh.tensordot(x, x, axes=([1], [1])), X), "kron": (lambda x: dh.kron(x, x[0]), X),
    "cross": (lambda x: dh.cross(x, x[::-1]), X), "outer": (lambda v: dh.outer(v, v), V),
    "dot": (lambda x: dh.dot(x, x.T), X), "inner": (lambda x: dh.inner(x, x), X), "vdot": (lambda x: dh.vdot(x, x), X),
    "vecdot": (lambda x: dh.vecdot(x, x), X), "trace": (dh.trace, A), "diagonal": (lambda a: dh.diagonal(a, 1), A),
    "tril": (dh.tril, A), "triu": (lambda a: dh.triu(a, 1), A),
    "pad": (lambda x: dh.pad(x, 1, mode="reflect") + dh.pad(x, 1, mode="edge"), X),
    "roll_flip_rot90": (lambda x: dh.roll(x, 1, axis=1) + dh.flip(x) + dh.rot90(x, 2), X),
    "diff": (lambda x: dh.diff(x, axis=1), X), "tile_repeat": (lambda x: dh.tile(x, 2)[:, 1:4] + dh.repeat(x, 2, axis=1)[:, ::2], X),
    "take": (lambda x: dh.take(x, [0, 2], axis=1) + dh.take_along_axis(x, np.array([[0, 2], [1, 1]]), 1), X),
    "interp": (lambda v: dh.interp(np.array([0.1, 1.5]), np.array([0.0, 1.0, 2.0]), v), V),
    "gradient_meshgrid": (lambda v: dh.gradient(v) + dh.meshgrid(v, v)[0], V),
    "select": (lambda x: dh.select([x > 0, x < -1], [x, 2 * x], default=x ** 2), X),
    "split_stack": (lambda x: dh.stack(dh.split(x, 3, axis=1)) * dh.sum(dh.vstack([x, x])), X),
    "matrix_power": (lambda a: L.matrix_power(a, -2), A), "slogdet": (lambda a: L.slogdet(a)[1], A),
    "norms": (lambda a: L.norm(a, "nuc") + L.norm(a, 1) + L.norm(a[0], np.inf) + L.norm(a[1], 3), A),
    "eigvalsh": (lambda a: L.eigvalsh(a + dh.swapaxes(a, -1, -2)), A),
    "cross_entropy": (lambda x: dh.nn.CrossEntropyLoss()(x, np.array([0, 2])), X),
    "pieces": (lambda x: dh.clip(x, -1, 1) + dh.where(x > 0, x, 0.0) + dh.nan_to_num(x) + dh.minimum(x, 0.2), X),
}


@pytest.mark.parametrize("name", sorted(BATCHED))
def test_composite_is_batched_in_one_evaluation(name):
    f, data = BATCHED[name]
    looped = np.stack([np.asarray(f(dh.tensor(d)).data) for d in data])
    np.testing.assert_allclose(dh.vmap(f, fallback="raise")(data), looped, rtol=1e-12, atol=1e-13)
    g = dh.grad(lambda x: dh.sum(f(x) ** 2))
    np.testing.assert_allclose(dh.vmap(g, fallback="raise")(data), np.stack([g(d) for d in data]),
                               rtol=1e-10, atol=1e-12)


LOOPED = {
    "sort": (lambda x: dh.sort(x), X), "median": (lambda x: dh.median(x, axis=1), X),
    "interp_at_mapped_points": (lambda v: dh.interp(v, np.array([-3.0, 0.0, 3.0]), np.array([1.0, 2.0, 0.0])), V),
    "lstsq": (lambda a: L.lstsq(a[:, :2], a[:, 2])[0], A),
    "logsumexp_b": (lambda x: dh.logsumexp(x, b=np.ones(3), axis=1), X),
}


@pytest.mark.parametrize("name", sorted(LOOPED))
def test_composites_that_pick_by_value_loop_with_the_loops_numbers(name):
    f, data = LOOPED[name]
    with pytest.raises(NotBatchable, match="reads the values"):
        dh.vmap(f, fallback="raise")(data)
    np.testing.assert_array_equal(dh.vmap(f)(data), np.stack([np.asarray(f(dh.tensor(d)).data) for d in data]))
    g = dh.grad(lambda x: dh.sum(f(x) ** 2))
    np.testing.assert_array_equal(dh.vmap(g)(data), np.stack([g(d) for d in data]))


def test_std_with_a_zero_variance_in_a_middle_example():
    # std's test for a zero variance looked at the traced example only; the middle one has
    # variance 0 and needs the 0 gradient (not NaN) that the loop gives.
    data = np.array([[1.0, 2.0], [3.0, 3.0], [0.0, 2.0]])
    g = dh.grad(dh.std)
    np.testing.assert_array_equal(dh.vmap(g, fallback="raise")(data), np.stack([g(d) for d in data]))


def test_max_ties_in_a_middle_example_share_the_gradient():
    data = np.array([[1.0, 2.0, 0.0], [3.0, 3.0, 1.0], [0.0, 2.0, 1.0]])
    g = dh.grad(dh.max)
    out = dh.vmap(g, fallback="raise")(data)
    np.testing.assert_array_equal(out, [[0, 1, 0], [0.5, 0.5, 0], [0, 1, 0]])


def test_fmax_picks_per_example_in_the_middle_too():
    # fmax's rule read which input won from the traced example: with the first and the last
    # example alike, the middle one got their choice.
    data = np.array([[1.0, 0.5], [0.2, 0.5], [2.0, 0.5]])
    g = dh.grad(lambda v: dh.fmax(v[0], v[1]))
    np.testing.assert_array_equal(dh.vmap(g, fallback="raise")(data), [[1, 0], [0, 1], [1, 0]])
