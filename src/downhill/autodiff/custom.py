"""Giving a function its own derivative rule: ``custom_vjp`` and ``custom_jvp``, as in JAX.

Use them when the chain rule through a function's steps is numerically poor
(a ratio of two overflowing exponentials), slow (an iterative solver), or
undefined where a sensible value exists (a clipped gradient, a subgradient).

``custom_vjp``: ``f.defvjp(fwd, bwd)``. ``fwd(*args)`` returns ``(value,
residuals)``; ``bwd(residuals, g)`` returns one cotangent per argument (a
tuple, None for an argument without one). ``custom_jvp``: ``f.defjvp(rule)``
with ``rule(primals, tangents) -> (value, tangent_out)``, linear in the
tangents. This engine works in reverse mode, so a jvp rule is turned into
its vjp by transposing it: the tangent computation is recorded once, with
the tangents as placeholders, and each backward pass differentiates it with
respect to them (exact, because the rule is linear in the tangents).

Both record the rule as one node of the graph. Written with downhill's own
functions, the rules are differentiable again (``grad(grad(f))`` works):
``fwd`` runs on the inputs with the graph kept, so residuals remember how
they depend on the inputs.

Adding a primitive to the engine's own rule table is the other way (for a
function everybody needs): in ``ops.py`` write
``NAME = defop("name", numpy_forward, vjp_for_input_0, vjp_for_input_1, ...)``,
each rule ``rule(F, g, ans, *inputs, **params)`` returning the cotangent of
its input, computed with ``F.`` functions (NumPy during a first-order pass,
downhill under ``create_graph``, so the rule is differentiable itself); then
a public function calling ``_apply1(NAME, x)`` / ``_apply2`` / ``apply``, a
row in the op-table tests (``tests/autodiff/cases.py``), which compare
values, first and second derivatives with PyTorch and central differences,
and a batch rule for ``vmap`` (``batching.py``; elementwise ops share one)
with an entry in ``tests/autodiff/test_vmap_table.py``. The suite fails
while either is missing. A function given its own rule with ``custom_vjp``
or ``custom_jvp`` runs under ``vmap`` as a loop over the examples.
"""

from __future__ import annotations

import functools
import threading

import numpy as np

from ..errors import InputTypeError
from .backward import grad_of
from .mode import enable_grad, is_grad_enabled
from .ops import NP
from .tensor import Op, Tensor, _wrap, apply

__all__ = ["custom_vjp", "custom_jvp"]


def _needs_graph(args):
    recording = is_grad_enabled()
    return recording and any(isinstance(a, Tensor) and a.requires_grad for a in args)


class _Running(threading.local):
    """The custom functions whose rule this thread is evaluating: a rule that
    calls its own function (``return f(x), ...``, as JAX's examples do) gets
    the plain function, not the rule again."""

    def __init__(self):
        self.functions = set()


_RUNNING = _Running()


def _run_rule(owner, rule, *args):
    running = _RUNNING.functions
    running.add(id(owner))
    try:
        with enable_grad():
            return rule(*args)
    finally:
        running.discard(id(owner))


def _data(value):
    return value._data if isinstance(value, Tensor) else value


def _tree_data(tree):
    """Residuals with every Tensor replaced by its NumPy value (for a first-order pass)."""
    if isinstance(tree, Tensor):
        return tree._data
    if isinstance(tree, (tuple, list)):
        return type(tree)(_tree_data(t) for t in tree)
    if isinstance(tree, dict):
        return {k: _tree_data(v) for k, v in tree.items()}
    return tree


def _cotangent(value, recorded):
    """A rule's answer as the backward pass needs it: a Tensor when the pass is
    recorded, a NumPy value otherwise (None stays None: no gradient)."""
    if value is None:
        return None
    if recorded:
        return value if isinstance(value, Tensor) else _wrap(np.asarray(value)[()])
    return np.asarray(_data(value))[()]


def _single_output(value, name):
    if isinstance(value, (tuple, list)):
        raise InputTypeError(
            f"{name}: the function returned a {type(value).__name__}; custom rules here support one "
            "array output. Return a single Tensor (stack several outputs with dh.stack)."
        )
    return value


class custom_vjp:
    """Decorate ``f`` to give it its own reverse-mode rule (JAX's ``jax.custom_vjp``).

    >>> import downhill as dh
    >>> @dh.custom_vjp
    ... def clip_gradient(x):
    ...     return x
    >>> def fwd(x):
    ...     return x, None
    >>> def bwd(residuals, g):
    ...     return (dh.clip(g, -1.0, 1.0),)
    >>> clip_gradient.defvjp(fwd, bwd)
    >>> dh.grad(lambda x: 5.0 * clip_gradient(x))(2.0)  # the slope 5 is clipped to 1
    1.0

    Without ``defvjp`` (or when nothing needs a gradient) ``f`` itself runs.
    """

    def __init__(self, fun):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.fwd = None
        self.bwd = None

    def defvjp(self, fwd, bwd):
        """Set the rule: ``fwd(*args) -> (value, residuals)``, ``bwd(residuals, g) -> cotangents``."""
        self.fwd = fwd
        self.bwd = bwd

    def __call__(self, *args):
        if self.fwd is None:
            raise InputTypeError(
                f"custom_vjp {self.__name__}: no rule yet; call {self.__name__}.defvjp(fwd, bwd) first"
            )
        if not _needs_graph(args) or id(self) in _RUNNING.functions:
            return self.fun(*args)
        result = _run_rule(self, self.fwd, *args)
        if not (isinstance(result, tuple) and len(result) == 2):
            raise InputTypeError(f"custom_vjp {self.__name__}: fwd must return a pair (value, residuals)")
        value, residuals = result
        value = _single_output(value, f"custom_vjp {self.__name__}")
        bwd, name, n = self.bwd, self.__name__, len(args)
        raw_residuals = _tree_data(residuals)
        last = [None, None]  # the cotangent seen last and bwd's answer: one bwd call per pass

        def rule(i, F, g, ans, *inputs):
            if last[0] is not g:
                recorded = F is not NP
                out = bwd(residuals if recorded else raw_residuals, g)
                if not isinstance(out, (tuple, list)) or len(out) != n:
                    raise InputTypeError(
                        f"custom_vjp {name}: bwd must return a tuple with one cotangent per argument "
                        f"({n}); got {type(out).__name__}"
                        + (f" of length {len(out)}" if isinstance(out, (tuple, list)) else "")
                    )
                last[0], last[1] = g, tuple(_cotangent(o, recorded) for o in out)
            return last[1][i]

        op = Op(f"custom_vjp:{name}", lambda *datas: _data(value), tuple(
            functools.partial(rule, i) for i in range(n)))
        return apply(op, args)


class custom_jvp:
    """Decorate ``f`` to give it its own forward-mode rule (JAX's ``jax.custom_jvp``).

    The rule also serves reverse mode (grad, backward), by transposition.

    >>> import downhill as dh
    >>> @dh.custom_jvp
    ... def cube(x):
    ...     return x * x * x
    >>> @cube.defjvp
    ... def cube_jvp(primals, tangents):
    ...     (x,), (t,) = primals, tangents
    ...     return cube(x), 3 * x * x * t   # calling cube inside its rule gives the plain function
    >>> dh.grad(cube)(2.0), dh.grad(dh.grad(cube))(2.0)
    (12.0, 12.0)
    """

    def __init__(self, fun):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.jvp = None

    def defjvp(self, jvp):
        """Set the rule ``jvp(primals, tangents) -> (value, tangent_out)``; returns it (a decorator)."""
        self.jvp = jvp
        return jvp

    def __call__(self, *args):
        if self.jvp is None:
            raise InputTypeError(
                f"custom_jvp {self.__name__}: no rule yet; decorate one with @{self.__name__}.defjvp"
            )
        if not _needs_graph(args) or id(self) in _RUNNING.functions:
            return self.fun(*args)
        name = self.__name__
        # The tangents as placeholders: zeros that require a gradient, one per
        # argument that needs one. The rule is linear in them, so the gradient
        # of <g, tangent_out> with respect to them is the vjp.
        tangents = []
        for a in args:
            if isinstance(a, Tensor) and a.requires_grad:
                u = _wrap(np.zeros(a.shape, dtype=a.dtype)[()])
                u.requires_grad = True
            else:
                u = np.zeros(np.shape(_data(a)))[()]
            tangents.append(u)
        result = _run_rule(self, self.jvp, tuple(args), tuple(tangents))
        if not (isinstance(result, tuple) and len(result) == 2):
            raise InputTypeError(f"custom_jvp {name}: the rule must return a pair (value, tangent_out)")
        value, tangent_out = result
        value = _single_output(value, f"custom_jvp {name}")
        if not isinstance(tangent_out, Tensor):
            tangent_out = _wrap(np.asarray(tangent_out, dtype=np.result_type(_data(value), np.float64)))
        position = {i: k for k, i in enumerate(i for i, u in enumerate(tangents) if isinstance(u, Tensor))}
        wrt = [tangents[i] for i in position]
        last = [None, None]

        def rule(i, F, g, ans, *inputs):
            if i not in position:
                return None
            if last[0] is not g:
                recorded = F is not NP
                with enable_grad():
                    pairing = (tangent_out * g).sum()
                    last[0], last[1] = g, grad_of(pairing, wrt, retain_graph=True, create_graph=recorded) \
                        if pairing.requires_grad else [np.zeros(u.shape, dtype=u.dtype)[()] for u in wrt]
            return last[1][position[i]]

        op = Op(f"custom_jvp:{name}", lambda *datas: _data(value), tuple(
            functools.partial(rule, i) for i in range(len(args))))
        return apply(op, args)
