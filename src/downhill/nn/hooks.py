"""Module hooks: handles that take a hook off, and the full backward hook.

A *forward* hook is easy: the Module calls it around ``forward``. A *backward*
hook has to be called from inside the backward pass, when the gradients that
flow out of and into the module are known. It is built from the engine's
tensor hooks (``Tensor.register_hook``):

1. each input that requires a gradient goes through an identity node, and
   the module's ``forward`` sees that node instead of the input;
2. each output is passed through an identity node too, and the caller gets
   that node;
3. the backward pass reaches the output nodes first: their hooks write down
   ``grad_output``; then it reaches the input nodes: their hooks collect
   ``grad_input``, and when the last one has arrived the user's hook runs as
   ``hook(module, grad_input, grad_output)``.

``grad_input`` holds the gradients of the loss with respect to the module's
*inputs* (its positional Tensor arguments; ``None`` for an input that does not
require a gradient), never with respect to its parameters: exactly PyTorch's
``register_full_backward_hook``.
"""

from __future__ import annotations

import itertools
import weakref

import numpy as np

from ..autodiff.mode import is_grad_enabled
from ..autodiff.ops import astype
from ..autodiff.tensor import Tensor
from ..errors import UsageError

_next_id = itertools.count()


class RemovableHandle:
    """What ``register_*_hook`` returns: ``remove()`` takes the hook off again.

    Also a context manager that removes the hook on exit.

    >>> import downhill as dh
    >>> layer = dh.nn.Identity()
    >>> seen = []
    >>> with layer.register_forward_hook(lambda m, args, out: seen.append(out.item())):
    ...     _ = layer(dh.tensor(1.0))
    >>> _ = layer(dh.tensor(2.0))
    >>> seen
    [1.0]
    """

    def __init__(self, hooks: dict):
        self.id = next(_next_id)
        self._hooks = weakref.ref(hooks) if _weakrefable(hooks) else (lambda: hooks)

    def remove(self) -> None:
        hooks = self._hooks()
        if hooks is not None:
            hooks.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
        return False


def _weakrefable(obj) -> bool:
    try:
        weakref.ref(obj)
    except TypeError:
        return False
    return True


class _HookDict(dict):
    """A plain dict that a weak reference can point to (so handles do not keep modules alive)."""


def _identity(x: Tensor) -> Tensor:
    # A cast to its own dtype without a copy: a new node whose gradient is
    # exactly the gradient of ``x``, to hang a tensor hook on.
    return astype(x, x.dtype, copy=False)


class BackwardHookCall:
    """One forward call of a module with full backward hooks: wraps its inputs and outputs."""

    def __init__(self, module, hooks):
        self.module = module
        self.hooks = list(hooks)
        self.grad_outputs: list = []
        self.grad_inputs: list = []
        self.inputs_needed = 0   # inputs that require a gradient
        self.outputs_needed = 0  # outputs that require a gradient
        self._reset()

    def _reset(self):
        # Ready for another backward pass through the same graph (retain_graph=True).
        self.waiting = self.inputs_needed
        self.outputs_waiting = self.outputs_needed

    def wrap_inputs(self, args: tuple) -> tuple:
        if not is_grad_enabled():
            return args
        wrapped = []
        self.grad_inputs = [None] * len(args)
        for i, arg in enumerate(args):
            if isinstance(arg, Tensor) and arg.requires_grad:
                node = _identity(arg)
                node.register_hook(self._input_hook(i))
                self.inputs_needed += 1
                self.waiting += 1
                wrapped.append(node)
            else:
                wrapped.append(arg)
        return tuple(wrapped)

    def wrap_outputs(self, output):
        if not is_grad_enabled():
            return output
        single = isinstance(output, Tensor)
        outputs = (output,) if single else output
        if not isinstance(outputs, tuple) or not any(
            isinstance(o, Tensor) and o.requires_grad for o in outputs
        ):
            return output
        self.grad_outputs = [None] * len(outputs)
        wrapped = []
        for i, out in enumerate(outputs):
            if isinstance(out, Tensor) and out.requires_grad:
                node = _identity(out)
                node.register_hook(self._output_hook(i))
                self.outputs_needed += 1
                wrapped.append(node)
            else:
                wrapped.append(out)
        self.outputs_waiting = self.outputs_needed
        return wrapped[0] if single else tuple(wrapped)

    def _output_hook(self, i):
        def hook(grad):
            self.grad_outputs[i] = grad
            self.outputs_waiting -= 1
            if self.inputs_needed == 0 and self.outputs_waiting == 0:
                # No input needs a gradient (the first layer, fed with data):
                # the hook runs now, with grad_input all None, as in PyTorch.
                self._run(None)
                self._reset()
            return None

        return hook

    def _input_hook(self, i):
        def hook(grad):
            self.grad_inputs[i] = grad
            self.waiting -= 1
            if self.waiting == 0:
                replaced = self._run(i)
                self._reset()
                return replaced
            return None

        return hook

    def _run(self, last):
        """Call the user's hooks; return the replacement gradient for input ``last``, if any."""
        grad_input = tuple(self.grad_inputs)
        grad_output = tuple(self.grad_outputs)
        replacement = None
        for hook in self.hooks:
            result = hook(self.module, grad_input, grad_output)
            if result is None:
                continue
            result = tuple(result) if isinstance(result, (tuple, list)) else (result,)
            if len(result) != len(grad_input):
                raise UsageError(
                    f"backward hook of {type(self.module).__name__} returned {len(result)} "
                    f"gradient(s), but the module has {len(grad_input)} input(s); return a tuple "
                    "with one entry per input (None keeps that input's gradient), or None"
                )
            if last is None:
                raise UsageError(
                    "a full backward hook returned new grad_input, but no input of "
                    f"{type(self.module).__name__} requires a gradient: there is nothing to replace; "
                    "return None from the hook (it may still read grad_output)"
                )
            others = [j for j, g in enumerate(grad_input) if g is not None and j != last]
            if others:
                raise UsageError(
                    "a full backward hook can replace grad_input only for a module with one "
                    "input that requires a gradient (downhill passes each input's gradient on "
                    "as soon as it is complete); return None from this hook and change an "
                    "input's gradient with a tensor hook instead (x.register_hook(fn))"
                )
            grad_input = result
            new = result[last]
            if new is not None:  # None leaves the gradient as it was
                replacement = new if isinstance(new, Tensor) else Tensor(np.asarray(new))
        return replacement
