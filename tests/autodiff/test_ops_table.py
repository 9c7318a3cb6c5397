"""Every primitive and public function, over shapes and settings, against central differences and PyTorch.

The cases come from the table in ``cases.py``. Each runs twice:

* ``dh.gradcheck``: first and second derivatives against central differences in float64;
* PyTorch 2 in float64: values (rtol 1e-12), gradients of a random cotangent
  contraction (rtol 1e-9), and Hessian-vector products along a random
  direction (rtol 1e-9). PyTorch's answers come from the ``oracle`` fixture:
  recorded in tests/oracle/data/test_ops_table.npz (two arrays per case: the
  value, in its dtype and shape, and the gradients and Hessian-vector products
  of all inputs end to end), or computed live under ``pytest -m oracle``.
  The rows for functions PyTorch lacks (pad's modes, interp) take JAX's
  answers the same way.

The last tests make sure the table keeps up with the engine: a primitive
added to ``OPS`` without a row here fails the suite.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

import downhill as dh
from downhill.autodiff.ops import OPS, Op, _PerInput

from .cases import CASES, PUBLIC, TABLE

VALUE_RTOL = 1e-12
GRAD_RTOL = 1e-9
# Absolute floors for entries that are (nearly) zero, where a relative
# tolerance means nothing: a few units of rounding at the scale of the inputs.
VALUE_ATOL = 1e-14
GRAD_ATOL = 1e-12


def _ids(case):
    return case.id


@pytest.mark.parametrize("case", [c for c in CASES if c.spec.gradcheck and not c.spec.integer], ids=_ids)
def test_gradcheck_first_and_second_order(case):
    assert dh.gradcheck(case.dh_call, *case.inputs(), second_order=True) is True


def _probes(case, inputs):
    """A random cotangent for the output and a random direction per input (seeded by the case)."""
    value = case.dh_call(*[dh.tensor(x) for x in inputs])
    rng = np.random.default_rng(len(case.id))
    cotangent = rng.normal(size=value.shape)
    directions = [rng.normal(size=x.shape) for x in inputs]
    return value, cotangent, directions


def _torch_derivatives(case, inputs, cotangent, directions):
    import torch  # only in the live oracle run and the recorder

    xs = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in inputs]
    out = case.torch_call(*xs)
    loss = (out * torch.as_tensor(cotangent)).sum()
    grads = torch.autograd.grad(loss, xs, create_graph=True, materialize_grads=True)
    along = sum((g * torch.as_tensor(d)).sum() for g, d in zip(grads, directions, strict=True))
    if along.requires_grad:
        hvps = torch.autograd.grad(along, xs, allow_unused=True, materialize_grads=True)
    else:  # the gradient does not depend on the inputs: a linear function
        hvps = [torch.zeros_like(x) for x in xs]
    return out.detach().numpy(), [g.detach().numpy() for g in grads], [h.detach().numpy(force=True) for h in hvps]


def _packed(derivatives):
    """(value, gradients, Hessian-vector products) as stored: the value, and one float64
    array holding the gradients and then the products of every input, flattened in order."""
    value, grads, hvps = derivatives
    return {"value": value, "derivatives": np.concatenate([np.ravel(a) for a in [*grads, *hvps]])}


def _unpacked(derivatives, inputs):
    """Gradients and Hessian-vector products back in the shapes of the inputs."""
    sizes = [x.size for x in inputs] * 2
    assert derivatives.shape == (sum(sizes),) and derivatives.dtype == np.float64, "recorded derivatives"
    parts = np.split(derivatives, np.cumsum(sizes)[:-1])
    shapes = [x.shape for x in inputs] * 2
    arrays = [part.reshape(shape) for part, shape in zip(parts, shapes, strict=True)]
    return arrays[:len(inputs)], arrays[len(inputs):]


def _oracle_derivatives(oracle, case, inputs, cotangent, directions):
    """PyTorch's (or JAX's) value, gradients and Hessian-vector products, recorded or live."""
    live = _torch_derivatives if case.spec.torch_fn is not None else _jax_derivatives

    def compute():
        value, grads, hvps = live(case, inputs, cotangent, directions)
        for i, (x, g, h) in enumerate(zip(inputs, grads, hvps, strict=True)):
            # stored by the inputs' shapes: an oracle answer of another shape must show here
            assert np.shape(g) == x.shape and np.shape(h) == x.shape, f"oracle's derivative of input {i}: shape"
        return _packed((value, grads, hvps))

    answer = functools.cache(compute)
    value = oracle(f"{case.id}/value", lambda: answer()["value"])
    grads, hvps = _unpacked(oracle(f"{case.id}/derivatives", lambda: answer()["derivatives"]), inputs)
    return value, grads, hvps


def _downhill_derivatives(case, inputs, cotangent, directions):
    argnums = tuple(range(len(inputs)))

    def loss(*xs):
        return dh.sum(case.dh_call(*xs) * cotangent)

    first = dh.grad(loss, argnums=argnums)

    def along(*xs):
        return sum(dh.sum(g * d) for g, d in zip(first(*xs), directions, strict=True))

    return first(*inputs), dh.grad(along, argnums=argnums)(*inputs)


def _close(actual, expected, rtol, atol, what):
    actual = np.asarray(actual)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape}, PyTorch {expected.shape}"
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, err_msg=what)


def _jax_derivatives(case, inputs, cotangent, directions):
    """The same three things as PyTorch's, from JAX in 64-bit (for functions PyTorch lacks)."""
    jax = pytest.importorskip("jax", reason="JAX is the oracle for functions PyTorch lacks")
    jax.config.update("jax_enable_x64", True)
    argnums = tuple(range(len(inputs)))

    def loss(*xs):
        return (case.jax_call(*xs) * cotangent).sum()

    first = jax.grad(loss, argnums=argnums)

    def along(*xs):
        return sum((g * d).sum() for g, d in zip(first(*xs), directions, strict=True))

    xs = [jax.numpy.asarray(x) for x in inputs]
    value = np.asarray(case.jax_call(*xs))
    grads = [np.asarray(g) for g in first(*xs)]
    hvps = [np.asarray(h) for h in jax.grad(along, argnums=argnums)(*xs)]
    return value, grads, hvps


@pytest.mark.parametrize("case", [c for c in CASES if c.spec.integer], ids=_ids)
def test_positions_and_counts_match_pytorch(case, oracle):
    # argmax, argsort, count_nonzero: integer answers outside the graph (PyTorch's too).
    inputs = case.inputs()
    xs = [dh.tensor(x, requires_grad=True) for x in inputs]
    out = case.dh_call(*xs)
    assert out.dtype.kind == "i" and not out.requires_grad and out.grad_fn is None

    def compute():
        import torch  # only in the live oracle run and the recorder

        return case.torch_call(*[torch.tensor(x, dtype=torch.float64) for x in inputs]).numpy()

    expected = oracle(f"{case.id}/positions", compute)
    assert expected.dtype.kind == "i"
    np.testing.assert_array_equal(out.numpy(), expected)


@pytest.mark.parametrize("case", [c for c in CASES if not c.spec.integer], ids=_ids)
def test_matches_pytorch(case, oracle):
    inputs = case.inputs()
    value, cotangent, directions = _probes(case, inputs)
    t_value, t_grads, t_hvps = _oracle_derivatives(oracle, case, inputs, cotangent, directions)
    grads, hvps = _downhill_derivatives(case, inputs, cotangent, directions)

    assert value.dtype == t_value.dtype, "value dtype"
    _close(value.numpy(), t_value, VALUE_RTOL, VALUE_ATOL, "value")
    for i, (g, t_g) in enumerate(zip(grads, t_grads, strict=True)):
        assert np.asarray(g).dtype == np.float64
        _close(g, t_g, GRAD_RTOL, GRAD_ATOL, f"gradient of input {i}")
    for i, (h, t_h) in enumerate(zip(hvps, t_hvps, strict=True)):
        _close(h, t_h, GRAD_RTOL, GRAD_ATOL, f"Hessian-vector product of input {i}")


# --------------------------------------------------------- the table keeps up
def _ops_in_graph(out):
    """Names of the primitives recorded in the graph that produced ``out`` (iteratively)."""
    names, seen, stack = set(), set(), [out]
    while stack:
        node = stack.pop()
        if not isinstance(node, dh.Tensor) or node.grad_fn is None or id(node) in seen:
            continue
        seen.add(id(node))
        names.add(node.grad_fn.name)
        stack.extend(node._parents)
    return names


def primitives_exercised():
    exercised = set()
    for case in CASES:
        xs = [dh.tensor(x, requires_grad=True) for x in case.inputs()]
        exercised |= _ops_in_graph(case.dh_call(*xs))
    return exercised


def test_every_primitive_is_exercised_by_the_table():
    missing = set(OPS) - primitives_exercised()
    assert not missing, f"primitives with no generated test: {sorted(missing)}; add rows to cases.TABLE"


def test_a_new_primitive_without_a_row_fails_the_coverage_check(monkeypatch):
    # The check above is not vacuous: a primitive nobody tests is reported.
    monkeypatch.setitem(OPS, "cube", Op("cube", lambda x: x ** 3, (lambda F, g, ans, x: 3 * g * x * x,)))
    assert set(OPS) - primitives_exercised() == {"cube"}


class _CountingRules:
    """Stands in for an op's ``vjps``: hands out its rules wrapped to count their calls."""

    def __init__(self, name, rules, calls):
        self.name, self.rules, self.calls = name, rules, calls

    def __getitem__(self, i):
        rule = self.rules[i]
        if rule is None:
            return None

        def counted(*args, **kwargs):
            self.calls.add((self.name, i))
            return rule(*args, **kwargs)

        return counted


def test_every_derivative_rule_is_called_by_the_table(monkeypatch):
    calls = set()
    expected = set()
    for name, op in OPS.items():
        # concatenate's and einsum's rules are per input (the table joins up to 3 operands)
        n_inputs = 3 if isinstance(op.vjps, _PerInput) else len(op.vjps)
        expected |= {(name, i) for i in range(n_inputs) if op.vjps[i] is not None}
        monkeypatch.setattr(op, "vjps", _CountingRules(name, op.vjps, calls))
    for case in CASES:
        if case.spec.integer:
            continue
        inputs = case.inputs()
        grads = dh.grad(lambda *xs, case=case: dh.sum(case.dh_call(*xs)), argnums=tuple(range(len(inputs))))(*inputs)
        assert len(grads) == len(inputs)
    assert expected - calls == set(), f"rules never called: {sorted(expected - calls)}"


def _public(name):
    """``dh.<name>``, also for dotted names such as ``linalg.inv``."""
    value = dh
    for part in name.split("."):
        value = getattr(value, part)
    return value


# The modules whose exported functions are array functions that need a row.
_ARRAY_MODULES = ("ops", "composites", "elementwise", "reductions", "shape_ops", "indexing", "products",
                  "array_api", "linalg")
# Exported from those modules but not array functions of their own (or tested elsewhere).
_NOT_ROWS = {"weighted_logsumexp"}  # logsumexp(b=...) has the rows


def exported_array_functions():
    names = set()
    for name in dir(dh):
        fn = getattr(dh, name)
        module = getattr(fn, "__module__", "") or ""
        if callable(fn) and not isinstance(fn, type) and module.rsplit(".", 1)[-1] in _ARRAY_MODULES \
                and module.startswith("downhill.autodiff"):
            names.add(name)
    names |= {f"linalg.{name}" for name in dh.linalg.__all__ if not isinstance(getattr(dh.linalg, name), type)}
    return names - _NOT_ROWS


def test_the_table_covers_every_public_function():
    names = {spec.name for spec in TABLE}
    assert set(PUBLIC) <= names, f"public functions with no row: {sorted(set(PUBLIC) - names)}"
    missing = exported_array_functions() - names
    assert not missing, f"exported array functions with no row in cases.TABLE: {sorted(missing)}"
    unknown = names - set(PUBLIC) - set(OPS) - exported_array_functions()
    assert not unknown, f"rows for unknown functions: {sorted(unknown)}"
    for name in names:
        assert callable(_public(name)), name


def test_an_exported_function_without_a_row_fails_the_coverage_check(monkeypatch):
    # Not vacuous: a new exported function nobody wrote a row for is reported.
    def cube(x):
        return x * x * x

    cube.__module__ = "downhill.autodiff.elementwise"
    monkeypatch.setattr(dh, "cube", cube, raising=False)
    assert "cube" in exported_array_functions() - {spec.name for spec in TABLE}


def test_case_ids_are_unique_and_name_their_inputs():
    # A recorder may store an oracle's answers per case id: each id must be one case,
    # and its inputs must come back the same from the id alone.
    ids = [case.id for case in CASES]
    assert len(set(ids)) == len(ids), sorted({i for i in ids if ids.count(i) > 1})[:10]
    for case in CASES[::50]:
        for first, again in zip(case.inputs(), case.inputs(), strict=True):
            np.testing.assert_array_equal(first, again)
