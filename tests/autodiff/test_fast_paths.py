"""The engine's fast paths compute what its general paths compute, bit for bit.

The operators (``x + y``, ``2 * x``, ``x ** 2`` ...) have lean methods of
their own (``_binary`` in tensor.py) beside the general ``_apply2`` that
``dh.add`` and friends use; the in-place update of a 0-d tensor skips its
checks when the result has the tensor's own type. Each must give the same
value, of the same type, and the same graph node: every slot alike.

backward() has a lean loop of its own (bookkeeping on the nodes, leaves'
totals in their own slot, multiply's and add's rules inline) beside the
general loop of ``propagate(fast=False)``, and it skips the shape and dtype
check of the cotangents that a node marked ``_fits`` hands on. The marks are
checked against what the rules really return, and both loops must give the
same gradients, bit for bit and of the same dtype, also where broadcasting
and promotion (float32 with float64, 0-d with (n,)) need the check.
"""

from __future__ import annotations

import operator
import sys

import numpy as np
import pytest

import downhill as dh
from downhill.autodiff.backward import propagate
from downhill.autodiff.ops import NP
from downhill.autodiff.ops import OPS as OPS_TABLE
from downhill.nn import Parameter

T = sys.modules["downhill.autodiff.tensor"]  # (the module: dh.autodiff.tensor is the function)
OPS = {"add": (operator.add, T.ADD), "sub": (operator.sub, T.SUB), "mul": (operator.mul, T.MUL),
       "truediv": (operator.truediv, T.DIV), "pow": (operator.pow, T.POW)}
SLOTS = ("_data", "_grad", "_rg", "_op", "_parents", "_inputs", "_params", "_extra", "_pending", "_fits")


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
                    expected._fits = T._fits1(op, out, data)
                else:
                    expected = T._wrap(out)
                _same_node1(got, expected)
                checked += 1
    assert checked == 16
    assert T._fits1(OPS_TABLE["tanh"], np.tanh(inputs[0]._data), inputs[0]._data)  # (some are marked)


def _same_node1(got, expected):
    g, e = _slots(got), _slots(expected)
    _same_value(g.pop("_data"), e.pop("_data"))
    g_inputs, e_inputs = g.pop("_inputs"), e.pop("_inputs")
    assert g == e
    assert (g_inputs is None) == (e_inputs is None)
    if g_inputs is not None:
        assert len(g_inputs) == 1 and g_inputs[0] is e_inputs[0]


# ---------------------------------------------------------------- the backward pass's fast loop

FITTING = sorted(name for name, op in OPS_TABLE.items() if op.fits)


def _forms():
    """Operands of every form the marks must tell apart: NumPy scalars, 0-d
    arrays, arrays of shapes (3,), (1, 3), (2, 3), in float32 and float64,
    recorded or constant, and Python numbers."""
    rng = np.random.default_rng(11)
    forms = []
    for dtype in ("float64", "float32"):
        for shape in ((), (3,), (1, 3), (2, 3)):
            value = rng.uniform(0.5, 2.0, size=shape).astype(dtype)
            forms.append(dh.tensor(value, dtype=dtype, requires_grad=True))
            forms.append(dh.tensor(value, dtype=dtype))
        forms.append(_with_data_read(dh.tensor(np.array(1.3, dtype=dtype), dtype=dtype, requires_grad=True)))
    return forms + [2, 0.75, np.float32(1.5), np.float64(1.25), np.arange(1, 4)]


def _cotangent_like(ans):
    """A cotangent of the node's own shape, dtype and kind (as the fast loop keeps them)."""
    if type(ans) is np.ndarray:
        return np.linspace(0.5, 1.5, ans.size).reshape(ans.shape).astype(ans.dtype)
    return type(ans)(0.75)


def _nodes_of_fitting_ops():
    forms = _forms()
    binary = {"add": operator.add, "subtract": operator.sub, "multiply": operator.mul,
              "divide": operator.truediv, "power": operator.pow}
    with np.errstate(all="ignore"):
        for name in FITTING:
            op = OPS_TABLE[name]
            if name in binary:
                for a in forms:
                    for b in forms:
                        if not (isinstance(a, dh.Tensor) or isinstance(b, dh.Tensor)):
                            continue
                        try:
                            node = binary[name](a, b)  # the operator methods (and reflected ones)
                        except ValueError:  # shapes that do not broadcast
                            continue
                        if node._op is op:
                            yield node
                            yield T._apply2(op, a, b)  # the general path marks the same way
            else:
                for a in forms:
                    if isinstance(a, dh.Tensor) and a.requires_grad:
                        yield T._apply1(op, a)


def test_a_node_marked_fits_hands_on_its_inputs_shape_and_dtype():
    # The mark lets the fast loop skip the check: every rule of a marked node,
    # given a cotangent of the node's shape and dtype, must return its input's.
    marked = unmarked = 0
    with np.errstate(all="ignore"):
        for node in _nodes_of_fitting_ops():
            if not node._fits:
                unmarked += 1
                continue
            marked += 1
            g = _cotangent_like(node._data)
            for parent, raw, rule in zip(node._parents, node._inputs, node._op.vjps):
                if parent is None:
                    continue
                gi = rule(NP, g, node._data, *node._inputs)
                assert np.shape(gi) == np.shape(raw), (node._op.name, np.shape(raw), np.shape(node._data))
                assert np.result_type(gi) == np.result_type(raw), (node._op.name, np.result_type(raw))
    assert marked > 300 and unmarked > 300


@pytest.mark.parametrize("a, b", [((2, 3), (1, 3)), ((3,), ()), ((2, 3), (3,))])
def test_broadcasting_and_promoting_nodes_are_not_marked(a, b):
    rng = np.random.default_rng(2)
    x = dh.tensor(rng.uniform(0.5, 2, size=a), requires_grad=True)
    y = dh.tensor(rng.uniform(0.5, 2, size=b), requires_grad=True)
    for node in (x + y, y + x, x * y, y / x, x - y):
        assert not node._fits
    x32 = dh.tensor(rng.uniform(0.5, 2, size=a), dtype="float32", requires_grad=True)
    x64 = dh.tensor(rng.uniform(0.5, 2, size=a), requires_grad=True)
    for node in (x32 * x64, x64 + x32, x32 * np.float64(2.0), 2 ** x32, x32 ** x32):
        assert not node._fits
    assert (x32 * 2.0)._fits and (x32 ** 2)._fits and dh.tanh(x32)._fits and (x64 * x64)._fits


UNARY_OPS = [dh.tanh, dh.exp, dh.sin, dh.sigmoid, dh.relu, lambda a: -a, lambda a: a * a, dh.sign,
             lambda a: dh.sum(a, axis=-1, keepdims=True), dh.abs]
BINARY_OPS = [operator.add, operator.sub, operator.mul, lambda a, b: a / (1.5 + b * b), dh.maximum,
              lambda a, b: a ** 2 + b]


def _mixed_graph(seed, size=30):
    """Leaves in float32 and float64, of shapes (), (3,), (1, 3) and (2, 3), some
    read through .data (0-d arrays rather than NumPy scalars), joined at random:
    broadcasting and promotion on many edges, exact fits on others."""
    rng = np.random.default_rng(seed)
    leaves = []
    for dtype in ("float64", "float32"):
        for shape in ((), (3,), (1, 3), (2, 3)):
            leaves.append(dh.tensor(rng.uniform(-1.5, 1.5, size=shape), dtype=dtype, requires_grad=True))
    _with_data_read(leaves[0])
    values = list(leaves) + [dh.tensor(rng.normal(size=3), dtype="float32"), 0.5]
    with np.errstate(all="ignore"):
        for _ in range(size):
            if rng.random() < 0.4:
                a = values[rng.integers(len(values))]
                if isinstance(a, dh.Tensor):
                    values.append(UNARY_OPS[rng.integers(len(UNARY_OPS))](a))
            else:
                a, b = (values[i] for i in rng.integers(len(values), size=2))
                if isinstance(a, dh.Tensor) or isinstance(b, dh.Tensor):
                    values.append(BINARY_OPS[rng.integers(len(BINARY_OPS))](a, b))
        recorded = [v for v in values[len(leaves):] if isinstance(v, dh.Tensor) and v.requires_grad]
        root = dh.sum(recorded[-1]) + sum(dh.sum(v) for v in recorded[-5:-1])
    return leaves, root


def _same_gradient(fast, general):
    assert type(fast) is type(general)
    assert np.shape(fast) == np.shape(general) and np.result_type(fast) == np.result_type(general)
    np.testing.assert_array_equal(fast, general)


@pytest.mark.parametrize("seed", range(30))
def test_backward_equals_the_general_loop_with_broadcasting_and_promotion(seed):
    leaves, root = _mixed_graph(seed)
    with np.errstate(all="ignore"):
        general, _ = propagate(root, root.dtype.type(1), retain_graph=True, fast=False)
        fast, _ = propagate(root, root.dtype.type(1), retain_graph=True, fast=True)
        root.backward()  # the fast loop inside backward(), leaves' totals handed over under its lock
    reached = 0
    for leaf in leaves:
        assert leaf._pending is None  # nothing left behind for the next pass
        if id(leaf) not in general:
            assert id(leaf) not in fast and leaf.grad is None
            continue
        reached += 1
        expected = general[id(leaf)][1]
        if expected is None:  # reached through sign only: no gradient, zeros in .grad (PyTorch)
            assert fast[id(leaf)][1] is None
            expected = np.zeros(leaf.shape, dtype=leaf.dtype)[()]
        else:
            _same_gradient(fast[id(leaf)][1], expected)
        _same_gradient(leaf.grad._data, expected)
        assert leaf.grad.dtype == leaf.dtype and leaf.grad.shape == leaf.shape
    assert reached


def test_hooks_and_a_seed_of_another_dtype_are_checked_in_the_fast_loop():
    # A hook may hand back another dtype, and a gradient= Tensor may have one:
    # the marks assume neither, so the fast loop checks after a hook, and such a
    # seed goes the general way. Both answers are the general loop's.
    def build():
        x = dh.tensor([0.5, -1.0, 2.0], dtype="float32", requires_grad=True)
        h = dh.tanh(x * x)
        h.register_hook(lambda g: g.astype("float64") * 3)
        return x, dh.exp(h) * 2.0
    x, y = build()
    assert y._fits and y._parents[0]._fits
    general, _ = propagate(y, np.ones(3, dtype="float32"), retain_graph=True, fast=False)
    y.backward(gradient=np.ones(3, dtype="float32"))
    _same_gradient(x.grad._data, general[id(x)][1])
    assert x.grad.dtype == np.float32

    x = dh.tensor([0.5, -1.0, 2.0], dtype="float32", requires_grad=True)
    y = dh.exp(dh.tanh(x * x)) * 2.0
    seed = dh.tensor([1.0, 1.0 / 3.0, 0.1])  # float64 against a float32 output
    general, _ = propagate(y, seed._data, retain_graph=True, fast=False)
    y.backward(gradient=seed)
    _same_gradient(x.grad._data, general[id(x)][1])
    assert x.grad.dtype == np.float32


def test_the_fast_loop_leaves_no_total_behind_when_a_rule_raises():
    x = dh.tensor([1.0, 2.0], requires_grad=True)
    w = dh.tensor([0.5, 0.25], requires_grad=True)
    boom = T.Op("boom", lambda a: a, (lambda F, g, ans, a: 1 / 0,))
    y = dh.sum(T._apply1(boom, x * w) + w)
    with pytest.raises(ZeroDivisionError):
        y.backward()
    assert x._pending is None and w._pending is None
    (x * w).sum().backward()  # the next pass starts clean
    np.testing.assert_array_equal(x.grad.data, [0.5, 0.25])
    np.testing.assert_array_equal(w.grad.data, [1.0, 2.0])


def test_a_gradient_passed_on_to_two_leaves_is_not_shared():
    # add passes its cotangent on as it is: the first leaf keeps the array, the
    # second gets a copy (as the general path does), so .grad never aliases.
    x = dh.tensor([1.0, 2.0], requires_grad=True)
    y = dh.tensor([3.0, 4.0], requires_grad=True)
    (dh.tanh(x + y)).sum().backward()
    assert not np.shares_memory(x.grad.data, y.grad.data)
    np.testing.assert_array_equal(x.grad.data, y.grad.data)
    assert _slots(x.grad) == _slots(T._wrap(x.grad._data))  # .grad is made as _wrap makes it


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_tanhs_rule_gives_the_formulas_numbers_bit_for_bit(dtype):
    # float64 arrays take 1 as a ready float64 value instead of the Python 1:
    # the same subtraction, so the same bits (and NaN, inf, -0.0 alike).
    rng = np.random.default_rng(7)
    with np.errstate(all="ignore"):
        ans = np.tanh(np.concatenate([rng.normal(size=300) * 10.0 ** rng.integers(-8, 3, size=300),
                                      [0.0, -0.0, 30.0, -30.0, np.nan, np.inf]])).astype(dtype)
        rule = OPS_TABLE["tanh"].vjps[0]
        for g in (rng.normal(size=ans.size).astype(dtype), np.float32(0.5), np.float64(-1.5), 2.0):
            _same_value(rule(NP, g, ans, None), g * (1 - ans * ans))
            _same_value(rule(NP, g, ans[3], None), g * (1 - ans[3] * ans[3]))  # a NumPy scalar
