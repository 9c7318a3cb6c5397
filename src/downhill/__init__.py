"""downhill: the engine of optimization you can see through.

Exact derivatives of Python functions by the chain rule (reverse-mode
automatic differentiation over NumPy arrays), with PyTorch's and JAX's
conventions.

>>> import downhill as dh
>>> dh.grad(lambda x: x ** 2)(3.0)
6.0
"""

from . import random
from .autodiff import (
    AnomalyError, GradcheckError, Tensor, abs, add, arange, arctan, astype, broadcast_to, clip,
    concatenate, cos, cosh, derivative, detect_anomaly, divide, dot, enable_grad, erf, exp,
    expand_dims, expm1, eye, flatten, full, getitem, grad, gradcheck, hessian,
    is_grad_enabled, jacobian, jvp, linspace, log, log1p, log_softmax, logsumexp, matmul, max,
    maximum, mean, min, minimum, multiply, negative, no_grad, norm, numerical_derivative,
    numerical_grad, ones, ones_like, outer, power, prod, relu, reshape, scatter,
    set_grad_enabled, sigmoid, sign, sin, sinh, softmax, softplus, sqrt, square, squeeze, stack,
    std, subtract, sum, swapaxes, tan, tanh, tensor, transpose, value_and_grad, var, vjp, where,
    zeros, zeros_like,
)
from .autodiff import custom_jvp, custom_vjp, vmap  # noqa: E402
from .autodiff.elementwise import *  # noqa: E402, F403
from .autodiff.reductions import *  # noqa: E402, F403
from .autodiff.shape_ops import *  # noqa: E402, F403
from .autodiff.indexing import *  # noqa: E402, F403
from .autodiff.products import *  # noqa: E402, F403
from .autodiff.array_api import *  # noqa: E402, F403
from . import linalg  # noqa: E402
# PyTorch's habits, with PyTorch's meaning (see autodiff/torch_names.py).
from .autodiff import (  # noqa: E402
    ValuesIndices, argmax, argmin, as_tensor, cat, cuda, from_numpy, device, double, float16, float32, float64, half, int8,
    int16, int32, int64, long, manual_seed, rand, randint, randn, short, uint8,
)
from .autodiff import bool  # noqa: E402,A004
# Main's star imports above bring the array functions in as written; give the
# ones with axis= PyTorch's dim=/keepdim= too, by the same one mechanism.
from .autodiff.torch_names import accept_dim_everywhere as _accept_dim_everywhere  # noqa: E402

_accept_dim_everywhere(globals())

from . import errors, landscapes, optim  # noqa: E402
from .errors import DownhillError  # noqa: E402
from .checkpoint import CheckpointError, load, save  # noqa: E402
from .optim.basins import BasinMap, basins  # noqa: E402
from .optim.three_rates import three_rates  # noqa: E402
from .optim.descend import descend  # noqa: E402
from .optim.lr_tools import lr_advice, lr_sweep  # noqa: E402
from .optim.trajectory import Trajectory  # noqa: E402

__version__ = "0.1.0"

# `bool` (the dtype, as torch.bool) stays out of `from downhill import *`: it would hide the builtin.
__all__ = [name for name in dir() if not name.startswith("_") and name != "bool"] + [
    "viz", "nn", "data", "datasets"]


def __getattr__(name):
    # Pictures (matplotlib) and the network layers load on first use, so that
    # `import downhill` stays quick for the engine alone.
    if name in ("viz", "nn", "data", "datasets"):
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'downhill' has no attribute {name!r}")
