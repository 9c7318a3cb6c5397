"""The chain rule: tensors, the rule table, the backward pass and the transforms."""

# tensor.py first: it imports the rule table at its end, after Tensor exists.
from .tensor import Tensor  # noqa: I001

from .anomaly import AnomalyError, detect_anomaly
from .check import GradcheckError, gradcheck, numerical_derivative, numerical_grad
from .composites import (
    dot, flatten, log_softmax, logsumexp, mean, min, minimum, outer, prod, softmax,
    square, squeeze, stack, std, var,
)
from .creation import arange, eye, full, linspace, ones, ones_like, tensor, zeros, zeros_like
from .mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .ops import (
    OPS, abs, add, arctan, astype, broadcast_to, clip, concatenate, cos, cosh, divide, erf, exp,
    expand_dims, expm1, getitem, log, log1p, matmul, max, maximum, multiply, negative, norm,
    power, relu, reshape, scatter, sigmoid, sign, sin, sinh, softplus, sqrt, subtract, sum, swapaxes,
    tan, tanh, transpose, where,
)
from .tensor import Tensor
from .graph import Graph, graph_of
from .custom import custom_jvp, custom_vjp
from .vmap import NotBatchable, vmap

# More array functions, one module per kind; each lists its public names in __all__.
from .elementwise import *  # noqa: F403
from .reductions import *  # noqa: F403
from .shape_ops import *  # noqa: F403
from .indexing import *  # noqa: F403
from .products import *  # noqa: F403
from .array_api import *  # noqa: F403
from . import linalg
from .transforms import derivative, grad, hessian, jacobian, jvp, value_and_grad, vjp
