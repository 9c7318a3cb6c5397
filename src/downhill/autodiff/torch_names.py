"""PyTorch's words for the same things: ``dim=``/``keepdim=``, dtypes, devices, random tensors.

Most downhill users already write PyTorch. Here each of its habits either
works with PyTorch's meaning or says, in downhill's words, why it cannot:

* dtype objects: ``dh.float32``, ``dh.float64``, ``dh.int64``, ``dh.bool``, ...
  (they are NumPy's dtypes, so ``x.dtype == dh.float32`` just works);
* ``dim=`` and ``keepdim=`` wherever ``axis=`` and ``keepdims=`` are accepted,
  by one mechanism (:func:`accept_dim`) applied to every function and Tensor
  method whose signature has ``axis``;
* ``max``/``min`` with ``dim=`` return ``(values, indices)`` as in PyTorch;
  with ``axis=`` (or a positional axis) they return the values, as in NumPy;
* ``argmax``/``argmin``, ``cat``, ``manual_seed``, ``randn``, ``rand``, ``randint``;
* devices: everything computes on the CPU; ``"cpu"`` is accepted wherever a
  device is, and ``"cuda"`` (or any other device) raises
  :class:`~downhill.errors.DeviceError` saying how to move a model to PyTorch.

>>> import downhill as dh
>>> x = dh.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]])
>>> x.sum(dim=1, keepdim=True).shape
(2, 1)
>>> values, indices = x.max(dim=1)          # PyTorch's meaning
>>> values, indices
(tensor([5., 7.]), tensor([1, 0]))
>>> x.max(axis=1)                            # NumPy's meaning
tensor([5., 7.])
"""

from __future__ import annotations

import builtins
import functools
import inspect
from collections import namedtuple

import numpy as np

from ..errors import DeviceError, InputError, InputTypeError
from .tensor import Tensor, _wrap

# --------------------------------------------------------------------------- dtypes
# NumPy's dtype objects under PyTorch's names: `dh.tensor(x, dtype=dh.float32)`
# and `x.dtype == dh.float32` both work because they *are* the NumPy dtypes.
float16 = half = np.dtype("float16")
float32 = np.dtype("float32")
float64 = double = np.dtype("float64")
int8 = np.dtype("int8")
int16 = short = np.dtype("int16")
int32 = np.dtype("int32")
int64 = long = np.dtype("int64")
uint8 = np.dtype("uint8")
# torch.bool; exported as `dh.bool` but named bool_ here so that this module keeps the builtin.
bool_ = np.dtype("bool")
DTYPES = {
    "float16": float16, "half": float16, "float32": float32, "float": float32,
    "float64": float64, "double": float64, "int8": int8, "int16": int16, "short": int16,
    "int32": int32, "int": int32, "int64": int64, "long": int64, "uint8": uint8, "bool": bool_,
}


def as_dtype(dtype) -> np.dtype:
    """A NumPy dtype from a dtype, a NumPy or PyTorch name, or a PyTorch dtype object.

    ``torch.float32`` is accepted too (by its name), so code that still holds
    PyTorch's dtypes keeps working.

    >>> as_dtype("float32"), as_dtype(float64)
    (dtype('float32'), dtype('float64'))
    """
    text = str(dtype)
    if text.startswith("torch."):
        text = text[len("torch."):]
        if text not in DTYPES:
            raise InputTypeError(f"PyTorch dtype {dtype} has no downhill counterpart; "
                                 f"use one of {', '.join(sorted(DTYPES))}")
        return DTYPES[text]
    try:
        return np.dtype(dtype)
    except TypeError:
        raise InputTypeError(
            f"{dtype!r} is not a dtype; give dh.float32, dh.float64, dh.int64, dh.bool, "
            "a NumPy dtype or its name"
        ) from None


# --------------------------------------------------------------------------- devices
class device(str):
    """A device name, as ``torch.device``; downhill has one device, ``"cpu"``.

    Making ``dh.device("cuda")`` is allowed (as in PyTorch, where
    ``torch.device("cuda")`` never fails): moving anything there is the error.

    >>> import downhill as dh
    >>> d = dh.device("cuda" if dh.cuda.is_available() else "cpu")
    >>> d, d.type
    ('cpu', 'cpu')
    """

    __slots__ = ()

    def __new__(cls, name="cpu", index=None):
        text = str(name) if index is None else f"{name}:{index}"
        return super().__new__(cls, text)

    @property
    def type(self) -> str:
        return self.split(":")[0]


class _Cuda:
    """``dh.cuda``: answers PyTorch's questions about GPUs, truthfully (there are none)."""

    @staticmethod
    def is_available() -> bool:
        """False: downhill computes with NumPy on the CPU."""
        return False

    @staticmethod
    def device_count() -> int:
        """0: downhill computes with NumPy on the CPU."""
        return 0


cuda = _Cuda()

_MOVE_HINT = {
    "model": ("To train this model on a GPU, move it to PyTorch: `net = dh.nn.to_torch(model).to({d!r})` "
              "(weights copied exactly; `dh.nn.from_torch(net)` brings it back)."),
    "tensor": ("To compute with this tensor on a GPU, hand it to PyTorch: "
               "`torch.from_numpy(x.numpy()).to({d!r})`; models move with `dh.nn.to_torch(model)`."),
}


def is_device(value) -> bool:
    """Whether ``value`` names a device (``"cpu"``, ``"cuda:0"``, ``dh.device(...)``, ``torch.device``).

    >>> is_device("cpu"), is_device("cuda:1"), is_device("float32")
    (True, True, False)
    """
    if isinstance(value, device):
        return True
    if type(value).__name__ == "device" and hasattr(value, "type"):  # a torch.device
        return True
    if isinstance(value, str):
        return value.split(":")[0] in ("cpu", "cuda", "mps", "xpu", "meta", "xla", "hip", "npu")
    return False


def check_device(value, what="tensor"):
    """Accept ``"cpu"`` (and None); refuse any other device with the way to PyTorch.

    >>> check_device("cpu")
    >>> check_device("cuda")
    Traceback (most recent call last):
      ...
    downhill.errors.DeviceError: downhill computes on the CPU with NumPy; there is no device 'cuda'. To compute with this tensor on a GPU, hand it to PyTorch: `torch.from_numpy(x.numpy()).to('cuda')`; models move with `dh.nn.to_torch(model)`.
    """
    if value is None:
        return
    name = str(value)
    if name.split(":")[0] == "cpu":
        return
    raise DeviceError(
        f"downhill computes on the CPU with NumPy; there is no device {name!r}. "
        + _MOVE_HINT[what].format(d=name)
    )


def parse_to(args, kwargs, what="tensor"):
    """``(dtype or None, copy)`` from the arguments of PyTorch's ``.to(...)``.

    Accepts ``to(dtype)``, ``to(device)``, ``to(device, dtype)``,
    ``to(other_tensor)`` and the keywords ``dtype=``, ``device=``, ``copy=``,
    ``non_blocking=`` (ignored: there is nothing to overlap on one CPU).

    >>> parse_to(("cpu", "float32"), {})
    (dtype('float32'), False)
    """
    kwargs = dict(kwargs)
    dtype = kwargs.pop("dtype", None)
    dev = kwargs.pop("device", None)
    copy = bool(kwargs.pop("copy", False))
    kwargs.pop("non_blocking", None)
    kwargs.pop("memory_format", None)
    if kwargs:
        raise InputTypeError(f".to() got unexpected keyword(s) {sorted(kwargs)}; "
                             "accepted: dtype, device, copy, non_blocking")
    if len(args) > 2:
        raise InputTypeError(f".to() takes a dtype, a device, or a device and a dtype; got {len(args)} arguments")
    for arg in args:
        if isinstance(arg, Tensor):
            dtype = arg.dtype
        elif is_device(arg):
            dev = arg
        else:
            dtype = arg
    check_device(dev, what)
    return (None if dtype is None else as_dtype(dtype)), copy


# --------------------------------------------------------------------------- dim= and keepdim=
ValuesIndices = namedtuple("ValuesIndices", ["values", "indices"])
ValuesIndices.__doc__ = """What ``max``/``min`` with ``dim=`` return, as ``torch.max`` does: ``(values, indices)``."""


def _translate(kwargs, name):
    """axis=/keepdims= from dim=/keepdim= (a copy of kwargs; the caller's dict is left alone)."""
    kwargs = dict(kwargs)
    for torch_name, numpy_name in (("dim", "axis"), ("keepdim", "keepdims")):
        if torch_name in kwargs:
            if numpy_name in kwargs:
                raise InputTypeError(f"{name}: give {numpy_name}= (NumPy's word) or {torch_name}= "
                                     f"(PyTorch's), not both")
            kwargs[numpy_name] = kwargs.pop(torch_name)
    return kwargs


def accept_dim(function, values_and_indices=None):
    """``function`` that also takes PyTorch's ``dim=``/``keepdim=`` for ``axis=``/``keepdims=``.

    ``values_and_indices`` (for ``max``/``min``) is the arg-function whose
    indices come back beside the values when ``dim=`` is given, as in PyTorch.
    Calls without the PyTorch words go straight through.

    >>> import downhill as dh
    >>> total = accept_dim(dh.autodiff.ops.sum)
    >>> total(dh.ones((2, 3)), dim=0)
    tensor([2., 2., 2.])
    """
    name = function.__name__

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        if "dim" not in kwargs and "keepdim" not in kwargs:
            return function(*args, **kwargs)
        if values_and_indices is not None and "dim" in kwargs and kwargs["dim"] is not None:
            return _with_indices(function, values_and_indices, name, args, _translate(kwargs, name))
        return function(*args, **_translate(kwargs, name))

    try:
        signature = inspect.signature(function)
        extra = [inspect.Parameter("dim", inspect.Parameter.KEYWORD_ONLY, default=None)]
        if "keepdims" in signature.parameters:
            extra.append(inspect.Parameter("keepdim", inspect.Parameter.KEYWORD_ONLY, default=False))
        params = list(signature.parameters.values())
        at = next((i for i, p in enumerate(params) if p.kind == p.VAR_KEYWORD), len(params))
        wrapper.__signature__ = signature.replace(parameters=params[:at] + extra + params[at:])
    except (TypeError, ValueError):  # a builtin without a signature: leave help() as it is
        pass
    wrapper._accepts_dim = True
    return wrapper


def _with_indices(function, arg_function, name, args, kwargs):
    """PyTorch's ``max(x, dim=d)``: the values at the first extreme index, and those indices.

    The values are taken *by index* (``x[..., i, ...]``), so the gradient goes
    to the one element chosen, as in PyTorch (``x.max()`` without ``dim``
    shares it among ties instead, as does NumPy's meaning).
    """
    if len(args) != 1:
        raise InputTypeError(f"{name}(x, dim=...) takes one tensor; for the elementwise "
                             f"{name} of two tensors use dh.maximum / dh.minimum")
    x = args[0] if isinstance(args[0], Tensor) else _wrap(np.asarray(args[0]))
    axis = kwargs.pop("axis")
    keepdims = bool(kwargs.pop("keepdims", False))
    if kwargs:
        raise InputTypeError(f"{name}: unexpected keyword(s) {sorted(kwargs)}")
    if isinstance(axis, (tuple, list)):
        raise InputTypeError(f"{name}(dim=...) takes one dimension (PyTorch's meaning, with indices); "
                             f"for several use axis={tuple(axis)!r} (NumPy's meaning, values only)")
    if x.ndim == 0:
        _one_axis(axis, 0, name)
        return ValuesIndices(x, _wrap(np.int64(0)))
    k = _one_axis(axis, x.ndim, name)
    indices = arg_function(x, axis=k, keepdims=True)
    grids = list(np.indices(indices.shape, sparse=True))
    grids[k] = indices.data
    values = x[tuple(grids)]
    if not keepdims:
        values = values.reshape(tuple(s for i, s in enumerate(values.shape) if i != k))
        indices = _wrap(np.squeeze(indices.data, axis=k))
    return ValuesIndices(values, indices)


def _one_axis(axis, ndim, name):
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise InputTypeError(f"{name}: dim must be an int, got {axis!r}")
    size = builtins.max(ndim, 1)
    if not -size <= axis < size:
        raise InputError(f"{name}: dim {axis} is out of range for a tensor with {ndim} dimension(s)")
    return int(axis) % size


# argmax/argmin are the array functions' own (indexing.py): one copy. Here they
# give max/min(dim=) their indices.
from .indexing import argmax, argmin  # noqa: E402


def accept_dim_everywhere(namespace: dict) -> None:
    """Give every public function in ``namespace`` whose signature has ``axis`` the PyTorch words.

    One mechanism for the whole API: new NumPy-named functions with ``axis=``
    get ``dim=`` and ``keepdim=`` without code of their own. Also applied to
    the methods of :class:`Tensor`.
    """
    pairs = {"max": argmax, "min": argmin}
    for key, value in list(namespace.items()):
        if key.startswith("_") or not callable(value) or isinstance(value, type):
            continue
        if getattr(value, "_accepts_dim", False) or not _has_axis(value):
            continue
        namespace[key] = accept_dim(value, pairs.get(key))
    for cls in Tensor.__mro__[:-1]:  # Tensor and its PyTorch-methods base
        for key, value in list(vars(cls).items()):
            if key.startswith("_") or not inspect.isfunction(value) or getattr(value, "_accepts_dim", False):
                continue
            if _has_axis(value):
                setattr(cls, key, accept_dim(value, pairs.get(key)))


def _has_axis(function) -> bool:
    try:
        return "axis" in inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False


# --------------------------------------------------------------------------- random tensors
def _sizes(size, name):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    try:
        shape = tuple(int(s) for s in size)
    except (TypeError, ValueError):
        raise InputTypeError(f"{name}: the size must be whole numbers, as {name}(2, 3) or {name}((2, 3)); "
                             f"got {size!r}") from None
    if any(s < 0 for s in shape):
        raise InputError(f"{name}: sizes must be >= 0, got {shape}")
    return shape


def _generator(generator):
    from ..nn._rng import resolve  # the one generator that nn's layers and dropout draw from

    return resolve(generator)


def manual_seed(seed: int) -> np.random.Generator:
    """Seed everything random in downhill at once, as ``torch.manual_seed`` does.

    ``dh.randn``, ``dh.rand``, ``dh.randint``, new layers' weights and dropout
    all draw from one generator; returns it.

    >>> import downhill as dh
    >>> _ = dh.manual_seed(0); a = dh.randn(3)
    >>> _ = dh.manual_seed(0); bool((dh.randn(3) == a).data.all())
    True
    """
    from ..nn._rng import manual_seed as seed_nn

    return seed_nn(seed)


def randn(*size, generator=None, dtype=None, requires_grad=False):
    """Standard normal values; float32 unless ``dtype`` says otherwise (PyTorch's default).

    ``randn(2, 3)`` and ``randn((2, 3))`` both work. ``generator`` is None (the
    generator :func:`manual_seed` resets), an int seed or a NumPy Generator.

    >>> import downhill as dh
    >>> x = dh.randn(2, 3, generator=0)
    >>> x.shape, x.dtype
    ((2, 3), dtype('float32'))
    """
    values = _generator(generator).standard_normal(_sizes(size, "randn"))
    return Tensor(values, dtype=float32 if dtype is None else as_dtype(dtype), requires_grad=requires_grad)


def rand(*size, generator=None, dtype=None, requires_grad=False):
    """Values uniform in [0, 1); float32 unless ``dtype`` says otherwise.

    >>> import downhill as dh
    >>> x = dh.rand(1000, generator=0)
    >>> bool((x >= 0).data.all() and (x < 1).data.all())
    True
    """
    values = _generator(generator).random(_sizes(size, "rand"))
    return Tensor(values, dtype=float32 if dtype is None else as_dtype(dtype), requires_grad=requires_grad)


def randint(low, high=None, size=None, *, generator=None, dtype=None):
    """Whole numbers in [low, high) (int64), as ``torch.randint(low=0, high, size)``.

    >>> import downhill as dh
    >>> x = dh.randint(3, (1000,), generator=0)   # high=3, as torch.randint(3, (1000,))
    >>> sorted(set(x.tolist()))
    [0, 1, 2]
    """
    if size is None:
        if high is None:
            raise InputTypeError("randint needs a size: randint(high, size) or randint(low, high, size)")
        low, high, size = 0, low, high
    if not isinstance(size, (tuple, list)):
        raise InputTypeError(f"randint: size must be a tuple such as (3,), got {size!r}")
    if not int(high) > int(low):
        raise InputError(f"randint: need low < high, got low={low}, high={high}")
    values = _generator(generator).integers(int(low), int(high), _sizes((size,), "randint"))
    return Tensor(values, dtype=int64 if dtype is None else as_dtype(dtype))


def from_numpy(array):
    """A tensor sharing memory with a NumPy array, as ``torch.from_numpy`` (dtype kept).

    >>> import numpy as np, downhill as dh
    >>> a = np.zeros(2); t = dh.from_numpy(a); a[0] = 5.0
    >>> t
    tensor([5., 0.])
    """
    if not isinstance(array, np.ndarray):
        raise InputTypeError(f"from_numpy takes a numpy.ndarray, got {type(array).__name__}; "
                             "use dh.tensor(...) for other data")
    if array.dtype == object:
        raise InputTypeError("from_numpy: an array of Python objects holds no numbers downhill can use")
    return _wrap(array[()] if array.ndim == 0 else array)


def as_tensor(data, dtype=None):
    """``data`` as a tensor, without a copy where it already is one of that dtype (``torch.as_tensor``).

    >>> import downhill as dh
    >>> t = dh.tensor([1.0]); dh.as_tensor(t) is t
    True
    """
    if isinstance(data, Tensor) and (dtype is None or as_dtype(dtype) == data.dtype):
        return data
    if isinstance(data, np.ndarray) and (dtype is None or as_dtype(dtype) == data.dtype):
        return from_numpy(data)
    return Tensor(data, dtype=None if dtype is None else as_dtype(dtype))


def cat(tensors, dim=0):
    """Join tensors along an existing dimension: ``torch.cat``, downhill's ``concatenate``.

    >>> import downhill as dh
    >>> dh.cat([dh.ones((1, 2)), dh.zeros((1, 2))], dim=0).shape
    (2, 2)
    """
    from .ops import concatenate

    return concatenate(tensors, axis=dim)


__all__ = [
    "float16", "half", "float32", "float64", "double", "int8", "int16", "short", "int32", "int64",
    "long", "uint8", "bool_", "device", "cuda", "argmax", "argmin", "cat", "from_numpy", "as_tensor", "manual_seed", "randn",
    "rand", "randint", "ValuesIndices", "accept_dim",
]
