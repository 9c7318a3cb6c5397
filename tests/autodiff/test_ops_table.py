"""Every primitive and public function, over shapes and settings, against central differences and PyTorch.

The cases come from the table in ``cases.py``. Each runs twice:

* ``dh.gradcheck``: first and second derivatives against central differences in float64;
* PyTorch 2 in float64: values (rtol 1e-12), gradients of a random cotangent
  contraction (rtol 1e-9), and Hessian-vector products along a random
  direction (rtol 1e-9).

The last tests make sure the table keeps up with the engine: a primitive
added to ``OPS`` without a row here fails the suite.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import downhill as dh
from downhill.autodiff.ops import OPS, Op

from .cases import CASES, PUBLIC, TABLE

VALUE_RTOL = 1e-12
GRAD_RTOL = 1e-9
# Absolute floors for entries that are (nearly) zero, where a relative
# tolerance means nothing: a few units of rounding at the scale of the inputs.
VALUE_ATOL = 1e-14
GRAD_ATOL = 1e-12


def _ids(case):
    return case.id


@pytest.mark.parametrize("case", [c for c in CASES if c.spec.gradcheck], ids=_ids)
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


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_matches_pytorch(case):
    inputs = case.inputs()
    value, cotangent, directions = _probes(case, inputs)
    t_value, t_grads, t_hvps = _torch_derivatives(case, inputs, cotangent, directions)
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
        n_inputs = 3 if name == "concatenate" else len(op.vjps)  # concatenate's rules are per input
        expected |= {(name, i) for i in range(n_inputs) if op.vjps[i] is not None}
        monkeypatch.setattr(op, "vjps", _CountingRules(name, op.vjps, calls))
    for case in CASES:
        inputs = case.inputs()
        grads = dh.grad(lambda *xs, case=case: dh.sum(case.dh_call(*xs)), argnums=tuple(range(len(inputs))))(*inputs)
        assert len(grads) == len(inputs)
    assert expected - calls == set(), f"rules never called: {sorted(expected - calls)}"


def test_the_table_covers_every_public_function():
    names = {spec.name for spec in TABLE}
    assert set(PUBLIC) <= names, f"public functions with no row: {sorted(set(PUBLIC) - names)}"
    assert names <= set(PUBLIC) | set(OPS), f"rows for unknown functions: {sorted(names - set(PUBLIC) - set(OPS))}"
    for name in names:
        assert callable(getattr(dh, name)), name
