"""Tensor: a NumPy array, its gradient, and the node that made it.

A Tensor made by an operation while gradients are recorded remembers the
operation (``_op``), its inputs (``_parents``) and the operation's settings
(``_params``). That is the whole graph: the backward pass walks these links.

Zero-dimensional values are kept internally as NumPy scalars (``np.float64``)
rather than 0-d arrays because arithmetic on NumPy scalars is about eight
times faster; ``.data`` hands out (and from then on keeps) a real 0-d
``numpy.ndarray`` so that code holding ``.data`` sees in-place updates.
"""

from __future__ import annotations

import operator
import warnings
from numbers import Number

import numpy as np

from threading import get_ident

from ..errors import DownhillError, InputAxisError, InputError, InputIndexError, InputTypeError, UsageError, shorten
from .mode import ANOMALOUS, NOT_RECORDING, THREAD, TRACING
from .torch_methods import TorchMethods

_FLOAT_KINDS = ("f",)
_PY_NUMBERS = (float, int, bool)
# Checked by exact type first: isinstance against numbers.Number is slow.
_FAST_RAW = frozenset({float, int, np.ndarray, np.float64, np.float32})
_NDARRAY = np.ndarray  # (one global lookup, not two, on the hot paths)


class Op:
    """One primitive of the rule table: its forward function and its vjp rules.

    ``vjps[i](F, g, ans, *inputs, **params)`` returns the cotangent for input
    ``i`` given the output cotangent ``g`` and the output ``ans``. ``F`` is the
    namespace the rule computes with: plain NumPy during a first-order
    backward pass, downhill itself under ``create_graph=True`` so that the
    backward pass is recorded and can be differentiated again. A rule of
    ``None`` means the input has no derivative (an index, a condition).

    ``fits[i]`` is True where the op is elementwise and rule ``i`` computes in
    the dtype of the cotangent: given a cotangent of the output's shape and
    dtype it returns a cotangent of the output's shape and dtype. A node whose
    inputs that need a gradient all have the output's shape and dtype is then
    marked at its making (``Tensor._fits``), and the backward pass hands its
    cotangents on without checking them for broadcasting or promotion.
    """

    __slots__ = ("name", "forward", "vjps", "fits")

    def __init__(self, name, forward, vjps, fits=()):
        self.name = name
        self.forward = forward
        self.vjps = vjps
        self.fits = fits

    def __repr__(self):
        return f"<op {self.name}>"


def pass_on(F, g, ans, *inputs):
    """The vjp rule "the cotangent as it is" (add, subtract's first input, ...).

    A named function, not a lambda, so that the backward pass can recognise
    it and skip the call."""
    return g


def pass_negated(F, g, ans, *inputs):
    """The vjp rule "the cotangent negated" (subtract's second input, negative)."""
    return -g


def times_second(F, g, ans, x, y):
    """The vjp rule "the cotangent times the other input", for multiply's first
    input (named, as pass_on is, so that the backward pass does it inline)."""
    return g * y


def times_first(F, g, ans, x, y):
    """The vjp rule "the cotangent times the other input", for multiply's second input."""
    return g * x


class Tensor(TorchMethods):
    """An n-dimensional array that can remember how it was computed.

    Make one with :func:`downhill.tensor`. Arithmetic, indexing and the
    functions of :mod:`downhill` build a graph when an input has
    ``requires_grad=True``; ``backward()`` walks it with the chain rule.

    >>> import downhill as dh
    >>> x = dh.tensor(3.0, requires_grad=True)
    >>> y = x * x + 2 * x
    >>> y.backward()
    >>> x.grad
    tensor(8.)
    """

    __slots__ = ("_data", "_grad", "_rg", "_op", "_parents", "_inputs", "_params", "_extra",
                 "_pending", "_uses", "_fits", "__weakref__")

    # NumPy must hand mixed expressions such as ``ndarray + Tensor`` to our
    # reflected operators instead of turning the Tensor into an array.
    __array_ufunc__ = None
    __array_priority__ = 1000

    def __init__(self, data, dtype=None, requires_grad=False):
        if isinstance(data, Tensor):
            data = data.data
        elif type(data) in (list, tuple) and _holds_tensor(data):
            raise InputTypeError(
                "Tensor(...) of a list holding Tensors would copy their values and drop their "
                "gradients; use dh.tensor([...]) or dh.stack([...]), which keep the graph"
            )
        try:
            array = np.array(data, dtype=dtype)
        except (ValueError, TypeError) as error:  # ragged lists, text, a dtype name NumPy does not know
            kind = InputTypeError if isinstance(error, TypeError) else InputError
            raise kind(f"cannot make a tensor from {shorten(repr(data))}"
                       + (f" with dtype={shorten(repr(dtype))}" if dtype is not None else "")
                       + f": {str(error).splitlines()[0].rstrip('.')}. Give numbers, nested lists of numbers of one "
                       "shape (no ragged rows), or a NumPy array; dtype float, int, bool or a NumPy "
                       "dtype name") from None
        if array.dtype == object:
            raise InputTypeError(
                f"cannot make a tensor from {type(data).__name__}: give numbers, "
                "nested lists of numbers, or a NumPy array"
            )
        _fill(self, array[()] if array.ndim == 0 else array, None, None, None, None)
        if requires_grad:
            self.requires_grad = True

    # ------------------------------------------------------------------ data
    @property
    def data(self) -> np.ndarray:
        """The values, as a ``numpy.ndarray`` (shared, not copied)."""
        if TRACING and self._rg and THREAD.masks_in_graph:
            # vmap is tracing and the values of a traced tensor leave the graph
            # (.item(), float(), bool(), NumPy): the graph may depend on them.
            THREAD.values_read = True
        d = self._data
        if type(d) is not np.ndarray:
            d = self._data = np.asarray(d)
        return d

    @data.setter
    def data(self, value):
        if isinstance(value, Tensor):
            value = value.data
        self._data = np.asarray(value)

    @property
    def shape(self) -> tuple:
        return np.shape(self._data)

    @property
    def ndim(self) -> int:
        return np.ndim(self._data)

    @property
    def size(self) -> int:
        """The number of elements (NumPy's ``x.size``); called, the shape (PyTorch's ``x.size()``, ``x.size(i)``)."""
        return _Size(np.size(self._data), np.shape(self._data))

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    def __len__(self):
        if self.ndim == 0:
            raise InputTypeError("len() of a 0-d tensor: it holds a single number; use .item()")
        return self.shape[0]

    def __iter__(self):
        if self.ndim == 0:
            raise InputTypeError("iteration over a 0-d tensor: it holds a single number; use .item()")
        return (self[i] for i in range(self.shape[0]))

    def __array__(self, dtype=None, copy=None):
        if copy:
            return np.array(self.data, dtype=dtype, copy=True)
        return np.asarray(self.data, dtype=dtype)

    def numpy(self) -> np.ndarray:
        """The values as a NumPy array, sharing memory with the tensor.

        >>> import downhill as dh
        >>> dh.tensor([1.0, 2.0]).numpy()
        array([1., 2.])
        """
        return self.data

    def item(self):
        """The single value of a one-element tensor, as a Python number.

        >>> import downhill as dh
        >>> dh.tensor([[2.5]]).item()
        2.5
        """
        if self._data.size != 1:  # the NumPy value's count: cheaper than Tensor.size's callable int
            raise InputError(
                f"item() needs a tensor with exactly one element; this one has shape {self.shape}. "
                "Index it first, or use .tolist()"
            )
        return self.data.item()

    def tolist(self):
        """The values as (nested) Python lists.

        >>> import downhill as dh
        >>> dh.tensor([[1, 2], [3, 4]]).tolist()
        [[1, 2], [3, 4]]
        """
        return self.data.tolist()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __bool__(self):
        if self._data.size != 1:
            raise InputError(
                f"the truth value of a tensor with {self.size} elements is ambiguous; "
                "reduce it first, e.g. bool((t > 0).data.any()), or compare t.item() for one element"
            )
        return bool(self.item())

    __hash__ = object.__hash__

    # ------------------------------------------------------------- gradients
    @property
    def requires_grad(self) -> bool:
        return self._rg

    @requires_grad.setter
    def requires_grad(self, flag):
        flag = bool(flag)
        if flag and self._op is None and self.dtype.kind not in _FLOAT_KINDS:
            raise InputTypeError(
                f"only floating-point tensors can require gradients; this one is {self.dtype}. "
                "Make it with dtype=float (e.g. dh.tensor([1, 2], dtype=float))"
            )
        if not flag and self._op is not None:
            raise UsageError(
                "requires_grad can only be switched off on a leaf tensor; "
                "use .detach() to get a copy outside the graph"
            )
        self._rg = flag

    def requires_grad_(self, requires_grad=True):
        """Set ``requires_grad`` in place and return the tensor.

        >>> import downhill as dh
        >>> dh.zeros(3).requires_grad_().requires_grad
        True
        """
        self.requires_grad = requires_grad
        return self

    @property
    def is_leaf(self) -> bool:
        """True for tensors you made yourself; False for results of recorded ops."""
        return self._op is None

    @property
    def grad(self):
        """The gradient accumulated by ``backward()`` (a Tensor), or None."""
        if self._op is not None and self._grad is None and not self._extra_get("retain"):
            warnings.warn(
                "reading .grad of a non-leaf tensor: backward() keeps gradients only for "
                "leaves. Call .retain_grad() on this tensor before backward() to keep its gradient.",
                UserWarning,
                stacklevel=2,
            )
        return self._grad

    @grad.setter
    def grad(self, value):
        if value is not None:
            if not isinstance(value, Tensor):
                value = Tensor(value)
            if value.shape != self.shape:
                raise InputError(
                    f"cannot assign a gradient of shape {value.shape} to a tensor of shape {self.shape}; "
                    "give one of the tensor's shape (or None)"
                )
        self._grad = value

    @property
    def grad_fn(self):
        """The operation that made this tensor (None for leaves)."""
        return self._op

    def _extra_get(self, key):
        extra = self._extra
        return None if extra is None else extra.get(key)

    def _extra_set(self, key, value):
        if self._extra is None:
            self._extra = {}
        self._extra[key] = value

    def retain_grad(self):
        """Keep this non-leaf tensor's gradient in ``.grad`` after backward.

        >>> import downhill as dh
        >>> x = dh.tensor(2.0, requires_grad=True)
        >>> y = x * 3
        >>> y.retain_grad()
        >>> (y * y).backward()
        >>> y.grad
        tensor(12.)
        """
        if self._op is not None:
            self._extra_set("retain", True)
        return None

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed.

        A hook may return a replacement gradient. Returns a handle whose
        ``remove()`` takes the hook off.

        >>> import downhill as dh
        >>> x = dh.tensor(1.0, requires_grad=True)
        >>> h = x.register_hook(lambda g: g * 10)
        >>> (x * 2).backward()
        >>> x.grad
        tensor(20.)
        """
        if not self._rg:
            raise UsageError("cannot register a hook on a tensor that does not require grad; "
                             "create it with requires_grad=True or call .requires_grad_() first")
        hooks = self._extra_get("hooks")
        if hooks is None:
            hooks = []
            self._extra_set("hooks", hooks)
        hooks.append(hook)
        return _HookHandle(hooks, hook)

    # backward() is backward.backward itself (one call fewer per step), set below.

    def detach(self):
        """The same values, cut from the graph (shares memory, no gradient).

        >>> import downhill as dh
        >>> x = dh.tensor(2.0, requires_grad=True)
        >>> (x * 3).detach().requires_grad
        False
        """
        return _wrap(self._data)

    def clone(self):
        """A copy with its own memory; differentiable like ``x * 1``.

        >>> import downhill as dh
        >>> dh.tensor([1.0]).clone()
        tensor([1.])
        """
        return astype(self, self.dtype, copy=True)

    def astype(self, dtype, copy=True):
        """Cast to another dtype; the gradient is cast back.

        >>> import downhill as dh
        >>> dh.tensor([1, 2]).astype("float32").dtype
        dtype('float32')
        """
        return astype(self, dtype, copy=copy)

    # -------------------------------------------------------------- printing
    def __repr__(self):
        body = np.array2string(np.asarray(self._data), separator=", ", prefix="tensor(")
        parts = [body]
        if self._data.dtype not in (np.float64, np.int64, np.bool_):
            parts.append(f"dtype={self._data.dtype}")
        if self._op is not None:
            parts.append(f"grad_fn=<{self._op.name}>")
        elif self._rg:
            parts.append("requires_grad=True")
        if self._grad is not None:
            parts.append(f"grad={self._grad!r}")
        return "tensor(" + ", ".join(parts) + ")"

    # ------------------------------------------------------------- operators
    # + - * / ** and their reflected forms are made by _binary (below, once
    # the ops exist): the hot path of every formula, kept lean.

    def __floordiv__(self, other):
        from .elementwise import floor_divide

        return floor_divide(self, other)

    def __rfloordiv__(self, other):
        from .elementwise import floor_divide

        return floor_divide(other, self)

    def __mod__(self, other):
        from .elementwise import mod

        return mod(self, other)

    def __rmod__(self, other):
        from .elementwise import mod

        return mod(other, self)

    def __matmul__(self, other):
        return matmul(self, other)

    def __rmatmul__(self, other):
        return matmul(other, self)

    def __neg__(self):
        return _apply1(NEG, self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _apply1(ABS, self)

    def __lt__(self, other):
        return _compare(operator.lt, self, other)

    def __le__(self, other):
        return _compare(operator.le, self, other)

    def __gt__(self, other):
        return _compare(operator.gt, self, other)

    def __ge__(self, other):
        return _compare(operator.ge, self, other)

    def __eq__(self, other):
        return _compare(operator.eq, self, other)

    def __ne__(self, other):
        return _compare(operator.ne, self, other)

    def __invert__(self):
        if self.dtype != np.bool_:
            raise InputTypeError(f"~ needs a boolean tensor; this one is {self.dtype}. For numbers use -x (negation) "
                                 "or 1 - x; for a mask compare first, e.g. ~(x > 0)")
        if self._rg and THREAD.masks_in_graph:
            return apply(MASK_OPS[operator.invert], (self,))
        return _wrap(~self._data)

    def __and__(self, other):
        return _compare(operator.and_, self, other)

    def __or__(self, other):
        return _compare(operator.or_, self, other)

    # Reflected forms: `False & t` and `mask | t` (e.g. in pow's rule under create_graph).
    def __rand__(self, other):
        return _compare(operator.and_, other, self)

    def __ror__(self, other):
        return _compare(operator.or_, other, self)

    def __getitem__(self, index):
        return getitem(self, index)

    def __setitem__(self, index, value):
        needs_grad = self._rg or (isinstance(value, Tensor) and value._rg)
        if needs_grad and (not NOT_RECORDING or get_ident() not in NOT_RECORDING):
            raise UsageError(_INPLACE_MESSAGE.format(op="item assignment"))
        self.data[_normalize_index(index)] = value._data if isinstance(value, Tensor) else value

    # In-place arithmetic (+= -= *= /=), the optimizer's step ``x -= lr * x.grad``,
    # is made by _in_place below.

    # ---------------------------------------------------- NumPy-style methods
    @property
    def T(self):
        return transpose(self)

    def sum(self, axis=None, keepdims=False):
        return sum(self, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, keepdims=False):
        return mean(self, axis=axis, keepdims=keepdims)

    def var(self, axis=None, ddof=0, keepdims=False):
        return var(self, axis=axis, ddof=ddof, keepdims=keepdims)

    def std(self, axis=None, ddof=0, keepdims=False):
        return std(self, axis=axis, ddof=ddof, keepdims=keepdims)

    def max(self, axis=None, keepdims=False):
        return max(self, axis=axis, keepdims=keepdims)

    def min(self, axis=None, keepdims=False):
        return min(self, axis=axis, keepdims=keepdims)

    def prod(self, axis=None, keepdims=False):
        return prod(self, axis=axis, keepdims=keepdims)

    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return reshape(self, shape)

    def transpose(self, *axes):
        """Reverse the axes (``x.transpose()``), permute them (``x.transpose((2, 0, 1))``, NumPy),
        or swap two (``x.transpose(0, 1)``, PyTorch: two numbers always mean a swap)."""
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        elif len(axes) == 2:
            return swapaxes(self, *axes)
        return transpose(self, axes or None)

    def swapaxes(self, axis1, axis2):
        return swapaxes(self, axis1, axis2)

    def flatten(self, start_dim=0, end_dim=-1):
        """All elements in one axis; or, as PyTorch, only the axes ``start_dim`` to ``end_dim``."""
        if start_dim == 0 and end_dim == -1:
            return flatten(self)
        shape = self.shape
        ndim = len(shape) or 1  # (`max` here is downhill's)
        if not (-ndim <= start_dim < ndim and -ndim <= end_dim < ndim):
            raise InputAxisError(f"flatten: dims ({shorten(start_dim)}, {shorten(end_dim)}) out of range for shape {shape} "
                                 f"(accepted: {-ndim} to {ndim - 1})")
        first, last = start_dim % ndim, end_dim % ndim
        if first > last or not shape:
            raise InputError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for shape {shape}; "
                             "give start_dim <= end_dim")
        return reshape(self, shape[:first] + (-1,) + shape[last + 1:])

    def ravel(self):
        return flatten(self)

    def squeeze(self, axis=None):
        return squeeze(self, axis)

    def exp(self):
        return exp(self)

    def log(self):
        return log(self)

    def sqrt(self):
        return sqrt(self)

    def abs(self):
        return abs(self)

    def tanh(self):
        return tanh(self)

    def sigmoid(self):
        return sigmoid(self)

    def relu(self):
        return relu(self)

    def clip(self, a_min=None, a_max=None):
        return clip(self, a_min, a_max)

    def norm(self, axis=None, keepdims=False):
        return norm(self, axis=axis, keepdims=keepdims)

    def matmul(self, other):
        return matmul(self, other)

    def dot(self, other):
        return dot(self, other)


class _Size(int):
    """``x.size``: the element count (an int, as in NumPy) that, called, gives the shape (as in PyTorch)."""

    def __new__(cls, count, shape):
        self = super().__new__(cls, count)
        self.shape = shape
        return self

    def __reduce__(self):  # pickles (and copies) as the plain count
        return (int, (int(self),))

    def __call__(self, dim=None):
        if dim is None:
            return self.shape
        ndim = len(self.shape)
        if not -ndim <= dim < ndim:
            accepted = f"accepted: {-ndim} to {ndim - 1}" if ndim else "a 0-d tensor has no dimensions"
            raise InputAxisError(f"size({shorten(dim)}): dimension out of range for a tensor of shape {self.shape} "
                                 f"({accepted})")
        return self.shape[dim]


class _HookHandle:
    __slots__ = ("_hooks", "_hook")

    def __init__(self, hooks, hook):
        self._hooks = hooks
        self._hook = hook

    def remove(self):
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


_INPLACE_MESSAGE = (
    "{op} on a tensor that requires grad while gradients are being recorded would "
    "silently change values the backward pass needs. Do the update inside "
    "`with dh.no_grad():` (as an optimizer step does), or write `x = x - ...` "
    "to keep it in the graph."
)

_new = Tensor.__new__


def _fill(t, data, op, parents, inputs, params):
    """Set every slot of a new Tensor: the one place a graph node is made
    (the operator methods of :func:`_binary` and :func:`_apply1` fill the
    same slots inline; tests/autodiff/test_fast_paths.py compares them).

    ``op`` None makes a Tensor outside the graph (``parents``, ``inputs`` and
    ``params`` are then None too); otherwise the node remembers its op, the
    inputs that need a gradient (``parents``, None for the others), the raw
    values of all inputs for the rules (``inputs``) and the op's settings.
    ``_fits`` starts False (the backward pass checks every cotangent); the
    one- and two-input paths set it where :func:`_fits1` and :func:`_fits2` allow.
    """
    t._data = data
    t._grad = None
    t._rg = op is not None
    t._op = op
    t._parents = parents
    t._inputs = inputs
    t._params = params
    t._extra = None
    t._pending = None
    t._fits = False
    return t


def _fits1(op, out, data):
    """Whether a one-input node needs no check of its cotangent (``Tensor._fits``;
    :func:`_apply1` computes the same inline): an elementwise op keeps the
    shape, so the same NumPy scalar type, or arrays of one dtype, settle it."""
    kind = type(out)
    return bool(op.fits) and type(data) is kind and (kind is not np.ndarray or out.dtype is data.dtype)


def _fits2(fits, out, a, b, a_rg, b_rg):
    """Whether a two-input node needs no check of its cotangents in the backward
    pass (``Tensor._fits``); the operator methods compute the same inline.

    True when the rule of every input that needs a gradient keeps the
    cotangent's shape and dtype (``Op.fits``) and that input has the output's
    shape and dtype. Cheap tests only (this runs for every ``+`` and ``*``):
    the same NumPy scalar type; arrays of one shape (so no broadcasting) and the
    output's dtype; an array beside a single number (which cannot stretch it).
    Anything else, a case these tests cannot settle included, is False, which
    only costs the backward pass its check.
    """
    fits_a, fits_b = fits or (False, False)
    kind = type(out)
    if kind is not np.ndarray:  # NumPy scalars: the type is the dtype, the shape ()
        return (not a_rg or (fits_a and type(a) is kind)) and (not b_rg or (fits_b and type(b) is kind))
    if type(a) is kind:
        if type(b) is kind:
            return a.shape == b.shape and (not a_rg or (fits_a and a.dtype is out.dtype)) and (
                not b_rg or (fits_b and b.dtype is out.dtype))
        return not b_rg and fits_a and a.dtype is out.dtype
    return not a_rg and fits_b and type(b) is kind and b.dtype is out.dtype


def _node(data, op, parents, inputs, params=None):
    """A new Tensor made by ``op`` (see :func:`_fill`)."""
    return _fill(_new(Tensor), data, op, parents, inputs, params)


def _wrap(data):
    """A Tensor around ``data`` (no copy, no gradient)."""
    return _fill(_new(Tensor), data, None, None, None, None)


def _raw(value):
    """The NumPy value of a non-Tensor operand; Python numbers stay as they are
    so that NumPy treats them as weakly typed (float32 * 2.0 stays float32)."""
    if type(value) in _FAST_RAW or isinstance(value, (np.ndarray, np.generic, Number)):
        return value
    array = np.asarray(value)
    if array.dtype == object:
        raise InputTypeError(
            f"cannot use a {type(value).__name__} as an array operand: give a Tensor, "
            "a NumPy array, a number, or a nested list of numbers"
        )
    return array


def _operand(value):
    """A non-Tensor operand: its NumPy value, or a Tensor if it is a (nested)
    list or tuple holding Tensors.

    Such a list is stacked with the graph kept (as ``jnp.array([x, y])`` is),
    so that ``dh.mean([v, v + 2])`` or ``x * [x, x]`` differentiate through
    every element instead of silently reading the values as constants.
    """
    if type(value) in (list, tuple) and _holds_tensor(value):
        return _stack_nested(value)
    return _raw(value)


def _holds_tensor(seq):
    for item in seq:
        if isinstance(item, Tensor) or (type(item) in (list, tuple) and _holds_tensor(item)):
            return True
    return False


def _stack_nested(seq):
    from .composites import stack

    if not seq:
        return _raw(seq)
    parts = [_stack_nested(item) if type(item) in (list, tuple) else item for item in seq]
    parts = [p if isinstance(p, Tensor) else _wrap(np.asarray(_raw(p))[()]) for p in parts]
    return stack(parts)


def _apply1(op, x, params=None):
    """Run a one-input primitive: the forward NumPy call, then the graph link."""
    if isinstance(x, Tensor):
        data = x._data
        rg = x._rg
    else:
        x = _operand(x)
        if isinstance(x, Tensor):
            data = x._data
            rg = x._rg
        else:
            data = x
            rg = False
    try:
        out = op.forward(data, **params) if params else op.forward(data)
    except (ValueError, TypeError, IndexError, np.exceptions.AxisError) as error:
        raise _explain(op, (data,), params, error) from None
    if not rg and type(out) in _PY_NUMBERS:  # a plain number in: keep a NumPy value
        out = np.asarray(out)[()]
    # The slots of _fill, filled here: this runs for every function of every formula.
    t = _new(Tensor)
    t._data = out
    t._grad = None
    t._extra = None
    t._pending = None
    if rg and (not NOT_RECORDING or get_ident() not in NOT_RECORDING):
        t._rg = True
        t._op = op
        t._parents = (x,)
        t._inputs = (data,)
        t._params = params
        if op.fits:  # _fits1(op, out, data), inline
            kind = type(out)
            t._fits = type(data) is kind and (kind is not _NDARRAY or out.dtype is data.dtype)
        else:
            t._fits = False
    else:
        t._rg = False
        t._op = t._parents = t._inputs = t._params = None
        t._fits = False
    if ANOMALOUS and THREAD.anomaly:
        _anomaly_forward(op, t, (data,))
    return t


def _apply2(op, a, b):
    """Run a two-input primitive (the arithmetic operators' fast path)."""
    if isinstance(a, Tensor):
        ad = a._data
        a_rg = a._rg
        if isinstance(b, Tensor):
            bd = b._data
            b_rg = b._rg
        elif type(b) in _FAST_RAW:
            bd = b
            b_rg = False
        else:
            b = _operand(b)
            if isinstance(b, Tensor):
                return _apply2(op, a, b)
            bd = b
            b_rg = False
    elif isinstance(b, Tensor):
        if type(a) in _FAST_RAW:
            ad = a
        else:
            a = _operand(a)
            if isinstance(a, Tensor):
                return _apply2(op, a, b)
            ad = a
        a_rg = False
        bd = b._data
        b_rg = b._rg
    else:  # two plain values (or lists holding Tensors)
        a, b = _operand(a), _operand(b)
        if isinstance(a, Tensor) or isinstance(b, Tensor):
            return _apply2(op, a, b)
        return _apply_plain(op, a, b)
    try:
        out = op.forward(ad, bd)
    except (ValueError, TypeError) as error:
        raise _explain(op, (ad, bd), None, error) from None
    if (a_rg or b_rg) and (not NOT_RECORDING or get_ident() not in NOT_RECORDING):
        # Only inputs that need a gradient are kept as parents; the raw
        # values of both are kept for the rules.
        t = _fill(_new(Tensor), out, op, (a if a_rg else None, b if b_rg else None), (ad, bd), None)
        t._fits = _fits2(op.fits, out, ad, bd, a_rg, b_rg)
    else:
        t = _fill(_new(Tensor), out, None, None, None, None)
    if ANOMALOUS and THREAD.anomaly:
        _anomaly_forward(op, t, (ad, bd))
    return t


def _apply_plain(op, ad, bd):
    try:
        out = op.forward(ad, bd)
    except ZeroDivisionError:
        # Two Python numbers (1/0 in a typed formula): NumPy's answer, inf or
        # nan, is a value like any other, as it is for arrays and Tensors.
        out = op.forward(np.float64(ad), bd)
    except (ValueError, TypeError) as error:
        raise _explain(op, (ad, bd), None, error) from None
    if type(out) in _PY_NUMBERS:  # two Python numbers in
        out = np.asarray(out)[()]
    t = _wrap(out)
    if ANOMALOUS and THREAD.anomaly:
        _anomaly_forward(op, t, (ad, bd))
    return t


def _binary(op, name):
    """The operator methods of a two-input primitive: ``self <op> other`` and
    the reflected ``other <op> self``.

    The same result and the same node as ``_apply2(op, a, b)`` (the tests
    compare every slot), with less Python on the way, because these run for
    every ``+``, ``*`` and ``**`` of every formula: ``self`` is known to be a
    Tensor, the node is filled in place (the slots of :func:`_fill`), and the
    square ``x ** 2`` (in every loss function) multiplies at once.
    Any other operand (a list holding Tensors, an odd type) and any error go
    the general way, through :func:`_apply2`.
    """
    forward = op.forward
    square = op.name == "power"
    fits0, fits1 = op.fits or (False, False)
    ndarray = np.ndarray

    def method(self, other):
        kind = type(other)
        if kind is Tensor:
            od = other._data
            other_rg = other._rg
        elif kind in _FAST_RAW:
            od = other
            other_rg = False
        elif isinstance(other, Tensor):
            od = other._data
            other_rg = other._rg
        else:
            return _apply2(op, self, other)
        sd = self._data
        try:
            # x ** 2 is x * x, exactly as _power_forward computes it
            out = sd * sd if square and (kind is int or kind is float) and od == 2 else forward(sd, od)
        except (ValueError, TypeError):
            return _apply2(op, self, other)  # which raises, explaining
        t = _new(Tensor)
        t._data = out
        t._grad = None
        t._params = None
        t._extra = None
        t._pending = None
        self_rg = self._rg
        if (self_rg or other_rg) and (not NOT_RECORDING or get_ident() not in NOT_RECORDING):
            t._rg = True
            t._op = op
            t._parents = (self if self_rg else None, other if other_rg else None)
            t._inputs = (sd, od)
            kind = type(out)  # _fits2(op.fits, out, sd, od, self_rg, other_rg), inline
            if kind is not ndarray:
                t._fits = (not self_rg or (fits0 and type(sd) is kind)) and (
                    not other_rg or (fits1 and type(od) is kind))
            elif type(sd) is kind:
                if type(od) is kind:
                    t._fits = sd.shape == od.shape and (not self_rg or (fits0 and sd.dtype is out.dtype)) and (
                        not other_rg or (fits1 and od.dtype is out.dtype))
                else:
                    t._fits = not other_rg and fits0 and sd.dtype is out.dtype
            else:
                t._fits = not self_rg and fits1 and type(od) is kind and od.dtype is out.dtype
        else:
            t._rg = False
            t._op = t._parents = t._inputs = None
            t._fits = False
        if ANOMALOUS and THREAD.anomaly:
            _anomaly_forward(op, t, (sd, od))
        return t

    def reflected(self, other):
        # ``other`` is not a Tensor here, or its own method would have run.
        if type(other) not in _FAST_RAW:
            return _apply2(op, other, self)
        sd = self._data
        try:
            out = forward(other, sd)
        except (ValueError, TypeError):
            return _apply2(op, other, self)
        t = _new(Tensor)
        t._data = out
        t._grad = None
        t._params = None
        t._extra = None
        t._pending = None
        if self._rg and (not NOT_RECORDING or get_ident() not in NOT_RECORDING):
            t._rg = True
            t._op = op
            t._parents = (None, self)
            t._inputs = (other, sd)
            kind = type(out)  # _fits2(op.fits, out, other, sd, False, True), inline
            if kind is not ndarray:
                t._fits = fits1 and type(sd) is kind
            elif type(sd) is kind:
                t._fits = fits1 and sd.dtype is out.dtype and (type(other) is not kind or other.shape == sd.shape)
            else:
                t._fits = False
        else:
            t._rg = False
            t._op = t._parents = t._inputs = None
            t._fits = False
        if ANOMALOUS and THREAD.anomaly:
            _anomaly_forward(op, t, (other, sd))
        return t

    for function, dunder in ((method, f"__{name}__"), (reflected, f"__r{name}__")):
        function.__name__ = dunder
        function.__qualname__ = f"Tensor.{dunder}"
    return method, reflected


def apply(op, inputs, params=None):
    """Run any primitive on a sequence of inputs (Tensors, arrays or numbers)."""
    datas = []
    parents = []
    rg = False
    for value in inputs:
        if isinstance(value, Tensor):
            datas.append(value._data)
            parents.append(value if value._rg else None)
            rg = rg or value._rg
        else:
            value = _operand(value)
            if isinstance(value, Tensor):
                datas.append(value._data)
                parents.append(value if value._rg else None)
                rg = rg or value._rg
            else:
                datas.append(value)
                parents.append(None)
    try:
        out = op.forward(*datas, **params) if params else op.forward(*datas)
    except (ValueError, TypeError, IndexError, np.exceptions.AxisError) as error:
        raise _explain(op, datas, params, error) from None
    if type(out) in _PY_NUMBERS:
        out = np.asarray(out)[()]
    if rg and (not NOT_RECORDING or get_ident() not in NOT_RECORDING):
        t = _fill(_new(Tensor), out, op, tuple(parents), tuple(datas), params)
    else:
        t = _fill(_new(Tensor), out, None, None, None, None)
    if ANOMALOUS and THREAD.anomaly:
        _anomaly_forward(op, t, datas)
    return t


def _compare(fn, a, b):
    """Comparisons and logical ops give boolean tensors outside the graph."""
    ad = a._data if isinstance(a, Tensor) else _raw(a)
    bd = b._data if isinstance(b, Tensor) else _raw(b)
    try:
        if THREAD.masks_in_graph and (getattr(a, "_rg", False) or getattr(b, "_rg", False)):
            # vmap is tracing: the mask joins the graph, to be recomputed on the batch
            return apply(MASK_OPS[fn], (a, b))
        return _wrap(fn(ad, bd))
    except ValueError as error:
        raise InputError(
            f"comparison: shapes {np.shape(ad)} and {np.shape(bd)} cannot be broadcast together "
            "(NumPy's rule: compare trailing axes; each pair must be equal or one of them 1)"
        ) from error


def _in_place(fn, symbol):
    """The method ``tensor <symbol> other`` (``+=`` and the others): it updates
    the tensor's values in place, outside the graph (so only where nothing is
    recorded: under ``no_grad``, or on a tensor that needs no gradient)."""
    ufunc = _INPLACE_UFUNCS[fn]

    def method(tensor, other):
        if isinstance(other, Tensor):
            od = other._data
            other_rg = other._rg
        else:
            od = None
            other_rg = False
        if (tensor._rg or other_rg) and (not NOT_RECORDING or get_ident() not in NOT_RECORDING):
            raise UsageError(_INPLACE_MESSAGE.format(op=f"in-place {symbol}"))
        if od is None:
            od = _raw(other)
        d = tensor._data
        if type(d) is np.ndarray:
            try:
                ufunc(d, od, out=d, casting="same_kind")
            except (ValueError, TypeError) as error:
                raise InputError(
                    f"in-place {symbol}: cannot update a tensor of shape {d.shape} and dtype {d.dtype} "
                    f"with a value of shape {np.shape(od)} and dtype {np.result_type(od)}: {error}"
                ) from None
            return tensor
        result = fn(d, od)
        if type(result) is type(d):  # the same NumPy scalar type: the same dtype, shape ()
            tensor._data = result
            return tensor
        if result.shape != ():
            raise InputError(
                f"in-place {symbol}: cannot update a 0-d tensor with a value of shape {np.shape(od)}; "
                "give a single number"
            )
        if result.dtype != d.dtype:
            if not np.can_cast(result.dtype, d.dtype, casting="same_kind"):
                raise InputTypeError(
                    f"in-place {symbol}: cannot store a {result.dtype} result in a {d.dtype} tensor; "
                    "compute out of place (x = x + y) or convert first with .astype(float)"
                )
            result = d.dtype.type(result)
        tensor._data = result
        return tensor

    dunder = f"__i{fn.__name__}__"
    method.__name__, method.__qualname__ = dunder, f"Tensor.{dunder}"
    return method


# Comparisons and logical ops as graph nodes without a derivative. Outside
# vmap's tracing a mask is a plain boolean tensor; while vmap traces a
# function, a mask computed from traced values is recorded with these, so
# that it is recomputed for every example instead of kept as the first one's.
MASK_OPS = {fn: Op(name, fn, (None,) * arity) for fn, name, arity in (
    (operator.lt, "less", 2), (operator.le, "less_equal", 2), (operator.gt, "greater", 2),
    (operator.ge, "greater_equal", 2), (operator.eq, "equal", 2), (operator.ne, "not_equal", 2),
    (operator.and_, "logical_and", 2), (operator.or_, "logical_or", 2), (operator.invert, "logical_not", 1))}

_INPLACE_UFUNCS = {
    operator.add: np.add,
    operator.sub: np.subtract,
    operator.mul: np.multiply,
    operator.truediv: np.divide,
}
Tensor.__iadd__ = _in_place(operator.add, "+=")
Tensor.__isub__ = _in_place(operator.sub, "-=")
Tensor.__imul__ = _in_place(operator.mul, "*=")
Tensor.__itruediv__ = _in_place(operator.truediv, "/=")


def _normalize_index(index):
    """Turn Tensors (and lists) inside an index into NumPy arrays."""
    if isinstance(index, tuple):
        return tuple(_normalize_index_part(part) for part in index)
    return _normalize_index_part(index)


def _normalize_index_part(part):
    if isinstance(part, Tensor):
        return part.data
    if isinstance(part, list):
        return np.asarray(part)
    return part


def _explain(op, datas, params, error):
    """A clearer error for a failed forward call: name the op and the shapes."""
    shapes = " and ".join(str(np.shape(d)) for d in datas)
    message = str(error)
    if "broadcast" in message:
        return InputError(
            f"{op.name}: shapes {shapes} cannot be broadcast together "
            "(NumPy's rule: compare trailing axes; each pair must be equal or one of them 1)"
        )
    if op.name == "matmul" and ("mismatch" in message or "aligned" in message):
        return InputError(
            f"matmul: shapes {shapes} do not fit: the last axis of the first must equal "
            f"the second-to-last axis of the second (or its only axis). NumPy said: {message}"
        )
    settings = f" with {params}" if params else ""
    # NumPy refused the user's data (a reshape that does not fit, an index past
    # the end, a bad dtype): the family member of the same built-in kind.
    kind = (type(error) if isinstance(error, DownhillError)
            else InputAxisError if isinstance(error, np.exceptions.AxisError)
            else InputIndexError if isinstance(error, IndexError)
            else InputTypeError if isinstance(error, TypeError) else InputError)
    return kind(f"{op.name} on shapes {shapes}{shorten(settings, 200)}: {message}")


def _anomaly_forward(op, t, datas):
    from .anomaly import check_forward

    check_forward(op, t, datas)


# The primitive table and the functions built on it live in ops.py and
# composites.py; the Tensor methods above call them through these names,
# imported last so that the modules can import Tensor.
from .ops import (  # noqa: E402
    ABS,
    ADD,
    DIV,
    MUL,
    NEG,
    POW,
    SUB,
    astype,
    getitem,
    matmul,
    reshape,
    sum,
    max,
    swapaxes,
    transpose,
    exp,
    log,
    sqrt,
    abs,
    tanh,
    sigmoid,
    relu,
    clip,
    norm,
)
Tensor.__add__, Tensor.__radd__ = _binary(ADD, "add")
Tensor.__sub__, Tensor.__rsub__ = _binary(SUB, "sub")
Tensor.__mul__, Tensor.__rmul__ = _binary(MUL, "mul")
Tensor.__truediv__, Tensor.__rtruediv__ = _binary(DIV, "truediv")
Tensor.__pow__, Tensor.__rpow__ = _binary(POW, "pow")
from .backward import backward as _backward  # noqa: E402

Tensor.backward = _backward
from .composites import (  # noqa: E402
    dot,
    flatten,
    mean,
    min,
    prod,
    squeeze,
    std,
    var,
)
