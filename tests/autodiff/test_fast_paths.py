"""The engine's fast paths compute what its general paths compute, bit for bit.

The operators (``x + y``, ``2 * x``, ``x ** 2`` ...) have lean methods of
their own (``_binary`` in tensor.py) beside the general ``_apply2`` that
``dh.add`` and friends use; the in-place update of a 0-d tensor skips its
checks when the result has the tensor's own type. Each must give the same
value, of the same type, and the same graph node: every slot alike.
"""

from __future__ import annotations

import operator
import sys

import numpy as np
import pytest

import downhill as dh
from downhill.autodiff.backward import propagate
from downhill.autodiff.ops import OPS as OPS_TABLE
from downhill.nn import Parameter

T = sys.modules["downhill.autodiff.tensor"]  # (the module: dh.autodiff.tensor is the function)
OPS = {"add": (operator.add, T.ADD), "sub": (operator.sub, T.SUB), "mul": (operator.mul, T.MUL),
       "truediv": (operator.truediv, T.DIV), "pow": (operator.pow, T.POW)}
SLOTS = ("_data", "_grad", "_rg", "_op", "_parents", "_inputs", "_params", "_extra", "_pending")


def _operands():
    """Every kind of operand the methods see: Tensors (recorded or not, 0-d and
    arrays, float32), Parameters, Python and NumPy numbers, arrays, a list
    holding a Tensor."""
    rng = np.random.default_rng(3)
    leaf = dh.tensor(1.7, requires_grad=True)
    return {
        "tensor0d_rg": leaf,
        "tensor0d": dh.tensor(-0.6),
        "tensor_rg": dh.tensor(rng.uniform(0.5, 2, size=3), requires_grad=True),
        "tensor32": dh.tensor(np.float32(1.25), dtype="float32", requires_grad=True),
        "parameter": Parameter(dh.tensor(rng.uniform(0.5, 2, size=3))),
        "data_read": _with_data_read(dh.tensor(0.8, requires_grad=True)),
        "int2": 2,
        "int3": 3,
        "float": 2.0,
        "float_half": 0.5,
        "np_float64": np.float64(1.5),
        "np_float32": np.float32(2.0),
        "np_int64": np.int64(2),
        "array": rng.uniform(0.5, 2, size=3),
        "list_with_tensor": [leaf, 2.0, 3.0],
    }


def _with_data_read(t):
    t.data  # noqa: B018  (from now on the tensor holds a real 0-d array, not a NumPy scalar)
    return t


def _slots(t):
    return {name: getattr(t, name) for name in SLOTS}


def _same_value(a, b):
    assert type(a) is type(b)
    assert np.shape(a) == np.shape(b) and np.result_type(a) == np.result_type(b)
    np.testing.assert_array_equal(a, b)


def _same_node(fast, general):
    f, g = _slots(fast), _slots(general)
    _same_value(f.pop("_data"), g.pop("_data"))
    f_inputs, g_inputs = f.pop("_inputs"), g.pop("_inputs")
    f_parents, g_parents = f.pop("_parents"), g.pop("_parents")
    assert f == g  # the op, the flags and the empty slots
    if g_inputs is None:
        assert f_inputs is None and f_parents is None and g_parents is None
        return
    assert len(f_parents) == len(g_parents) == 2
    for a, b in zip(f_parents, g_parents):
        # The same parent objects (the list is stacked afresh by each path: compare its values)
        assert (a is None) == (b is None)
        if a is not None and a._op is None:
            assert a is b
    for a, b in zip(f_inputs, g_inputs):
        _same_value(a, b)


@pytest.mark.parametrize("recording", [True, False], ids=["recording", "no_grad"])
@pytest.mark.parametrize("name", sorted(OPS))
def test_operator_methods_make_the_node_apply2_makes(name, recording):
    fn, op = OPS[name]
    operands = _operands()
    tensors = [k for k, v in operands.items() if isinstance(v, dh.Tensor)]
    checked = 0
    with np.errstate(all="ignore"), (dh.enable_grad() if recording else dh.no_grad()):
        for left in tensors:
            for right, other in operands.items():
                a = operands[left]
                for x, y in ((a, other), (other, a)):  # the method and the reflected one
                    try:
                        general = T._apply2(op, x, y)
                    except (ValueError, TypeError) as error:
                        with pytest.raises(type(error)):
                            fn(x, y)
                        continue
                    _same_node(fn(x, y), general)
                    checked += 1
    assert checked > 100


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_squaring_by_the_operator_equals_the_power_primitive_bit_for_bit(dtype):
    rng = np.random.default_rng(0)
    with np.errstate(all="ignore"):  # float32 overflows (to inf) and squares past the range are values too
        values = np.concatenate([rng.normal(size=200) * 10.0 ** rng.integers(-150, 150, size=200),
                                 [0.0, -0.0, np.inf, -np.inf, np.nan, 1e200, -3e-200]]).astype(dtype)
        for v in values:
            for exponent in (2, 2.0):
                t = dh.tensor(v, dtype=dtype)
                _same_value((t ** exponent)._data, T.POW.forward(t._data, exponent))
        whole = dh.tensor(values, dtype=dtype)
        _same_value((whole ** 2)._data, T.POW.forward(whole._data, 2))


def test_the_fast_and_general_backward_loops_agree_on_add_and_subtract_chains():
    # add and subtract pass the cotangent on (as it is or negated) without a call in the fast loop
    x = dh.tensor([0.5, -1.0, 2.0], requires_grad=True)
    y = dh.tensor(3.0, requires_grad=True)
    out = dh.sum(-((x - y) + (y - x * x) - (2.0 - x) + (x + 1.0)) * (y - 3.5))
    fast, _ = propagate(out, np.float64(1.0), retain_graph=True, fast=True)
    general, _ = propagate(out, np.float64(1.0), retain_graph=True, fast=False)
    for leaf in (x, y):
        _same_value(fast[id(leaf)][1], general[id(leaf)][1])
    # d/dx of -(x - y + y - x^2 - 2 + x + x + 1) * (y - 3.5) = -(3 - 2x) * (y - 3.5)
    np.testing.assert_array_equal(fast[id(x)][1], -(3 - 2 * x.data) * (3.0 - 3.5))


def test_in_place_update_of_a_0d_tensor_keeps_its_type_and_value():
    for dtype, other in [("float64", 0.25), ("float64", np.float64(0.25)), ("float32", 0.25),
                         ("float32", np.float64(0.1)), ("float32", np.float32(0.1))]:
        x = dh.tensor(1.0, dtype=dtype, requires_grad=True)
        expected = np.asarray(np.asarray(1.0, dtype=dtype) - other).astype(dtype)  # computed, then stored
        with dh.no_grad():
            x -= other
        _same_value(x._data, expected[()])
    with pytest.raises(ValueError, match="0-d tensor"):
        with dh.no_grad():
            x -= np.ones(2)


@pytest.mark.parametrize("recording", [True, False], ids=["recording", "no_grad"])
def test_one_input_ops_fill_the_slots_fill_would(recording):
    rng = np.random.default_rng(5)
    inputs = [dh.tensor(rng.normal(size=(2, 3)), requires_grad=True), dh.tensor(0.4, requires_grad=True),
              dh.tensor(rng.normal(size=3)), rng.normal(size=3), 0.5]
    calls = [(OPS_TABLE["tanh"], None), (OPS_TABLE["exp"], None), (OPS_TABLE["sum"], {"axis": (1,), "keepdims": False}),
             (OPS_TABLE["sum"], None)]
    checked = 0
    with dh.enable_grad() if recording else dh.no_grad():
        for x in inputs:
            for op, params in calls:
                if params and np.ndim(x) < 2:
                    continue
                got = T._apply1(op, x, params)
                data = x._data if isinstance(x, dh.Tensor) else x
                out = op.forward(data, **params) if params else op.forward(data)
                if type(out) in (float, int):
                    out = np.asarray(out)[()]
                if recording and isinstance(x, dh.Tensor) and x.requires_grad:
                    expected = T._node(out, op, (x,), (data,), params)
                else:
                    expected = T._wrap(out)
                _same_node1(got, expected)
                checked += 1
    assert checked == 16


def _same_node1(got, expected):
    g, e = _slots(got), _slots(expected)
    _same_value(g.pop("_data"), e.pop("_data"))
    g_inputs, e_inputs = g.pop("_inputs"), e.pop("_inputs")
    assert g == e
    assert (g_inputs is None) == (e_inputs is None)
    if g_inputs is not None:
        assert len(g_inputs) == 1 and g_inputs[0] is e_inputs[0]
