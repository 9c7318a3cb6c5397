"""Users' mistakes, one from each corner of the library, raise the family with a message that helps.

Each case is a mistake a learner or an engineer makes; each must raise a
:class:`~downhill.errors.DownhillError` that is also the built-in a PyTorch or
NumPy user would catch, and its message must name what was wrong and say what
is accepted. Then the same policy seen from the command, in a real process:
a mistake is one line and exit status 2, a bug is a traceback and exit status 1.
"""

from __future__ import annotations

import os
import pathlib
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import downhill as dh
from downhill import errors
from downhill.autodiff import graph_of
from downhill.landscapes import resolve
from downhill.explain import gradient_at


def _optimizer():
    return dh.optim.SGD([dh.tensor([1.0, 2.0], requires_grad=True)], lr=0.1)


def _x():
    return dh.ones((2, 3), requires_grad=True)


def _backward_twice(general_loop=False):
    y = (_x() * 2).sum()
    y.backward()
    if general_loop:  # anomaly mode takes the general loop, which finds the freed node in its own walk
        with dh.detect_anomaly():
            y.backward()
    y.backward()


def _graph_of_a_freed_graph():
    y = (_x() * 2).sum()
    y.backward()
    graph_of(y)


def _in_place(how):
    x = _x()
    if how == "+=":
        x += 1
    elif how == "[]":
        x[0] = 1.0
    else:
        x.zero_()


def _switch_off_requires_grad_of_a_result():
    (_x() * 2).requires_grad = False


def _full_backward_hook(returns, module=None, inputs=None):
    module = module or dh.nn.Linear(3, 1)
    module.register_full_backward_hook(lambda m, grad_input, grad_output: returns)
    inputs = inputs if inputs is not None else (dh.ones((2, 3), requires_grad=True),)
    module(*inputs).sum().backward()


class _Two(dh.nn.Module):
    def forward(self, a, b):
        return a * b


def _plateau_after_a_group_was_added():
    optimizer = _optimizer()
    scheduler = dh.optim.lr_scheduler.ReduceLROnPlateau(optimizer, patience=0, min_lr=[0.0])
    optimizer.add_param_group({"params": [dh.tensor(1.0, requires_grad=True)]})
    scheduler.step(1.0)
    scheduler.step(2.0)  # worse: the rates would be cut, for two groups with one min_lr


# (mistake, the family member, the built-in users catch, words the message must hold)
MISTAKES = [
    # autodiff
    pytest.param(lambda: dh.sum(_x(), axis=5), errors.InputAxisError, IndexError,
                 ["axis 5", "2 dimension", "accepted: -2..1"], id="autodiff-axis-out-of-range"),
    pytest.param(lambda: dh.sum(_x(), axis=5), errors.InputAxisError, ValueError,
                 ["axis 5"], id="autodiff-axis-is-a-valueerror-too"),
    pytest.param(lambda: dh.sum(_x(), axis=5), errors.InputAxisError, np.exceptions.AxisError,
                 ["axis 5"], id="autodiff-axis-is-numpys-axiserror-too"),
    pytest.param(lambda: _x().size(2), errors.InputAxisError, IndexError,
                 ["size(2)", "(2, 3)", "accepted: -2 to 1"], id="autodiff-size-dim"),
    pytest.param(lambda: dh.mean(_x(), axis="rows"), errors.InputTypeError, TypeError,
                 ["'rows'", "an int or a tuple of ints"], id="autodiff-axis-type"),
    pytest.param(lambda: _x()[5], errors.InputIndexError, IndexError,
                 ["getitem", "(2, 3)", "index 5", "size 2"], id="autodiff-index-past-the-end"),
    pytest.param(lambda: _x().reshape(4), errors.InputError, ValueError,
                 ["reshape", "(2, 3)", "(4,)"], id="autodiff-reshape"),
    pytest.param(lambda: _x() + dh.ones(4), errors.InputError, ValueError,
                 ["add", "(2, 3)", "(4,)", "equal or one of them 1"], id="autodiff-broadcast"),
    pytest.param(lambda: _x() < dh.ones(4), errors.InputError, ValueError,
                 ["comparison", "(2, 3)", "(4,)", "equal or one of them 1"], id="autodiff-compare-broadcast"),
    pytest.param(lambda: dh.grad(lambda v: v * 2)(np.ones(2)), errors.InputTypeError, TypeError,
                 ["shape (2,)", ".sum()", "jacobian"], id="autodiff-grad-of-non-scalar"),
    pytest.param(lambda: dh.grad(lambda v: v * v, argnums=3)(1.0), errors.InputError, ValueError,
                 ["argnums=3", "1 positional", "from -1 to 0"], id="autodiff-argnums"),
    pytest.param(lambda: dh.tensor({"a": 1}), errors.InputTypeError, TypeError,
                 ["dict", "numbers"], id="autodiff-tensor-of-a-dict"),
    pytest.param(lambda: dh.tensor([1, 2]).requires_grad_(), errors.InputTypeError, TypeError,
                 ["int64", "dtype=float"], id="autodiff-int-requires-grad"),
    pytest.param(lambda: dh.stack([dh.ones(2), dh.ones(3)]), errors.InputError, ValueError,
                 ["same shape", "(2,)", "(3,)"], id="autodiff-stack"),
    pytest.param(lambda: dh.jvp(lambda v: v * v, (1.0,), (np.ones(3),)), errors.InputError, ValueError,
                 ["tangent has shape (3,)", "primal has shape ()"], id="autodiff-jvp-tangent"),
    pytest.param(lambda: graph_of(dh.tensor(2.0) * 3), errors.InputError, ValueError,
                 ["no graph", "requires_grad=True"], id="autodiff-graph-of-nothing"),
    pytest.param(lambda: dh.tensor([[1.0], [1.0, 2.0]]), errors.InputError, ValueError,
                 ["[[1.0], [1.0, 2.0]]", "inhomogeneous", "of one shape"], id="autodiff-ragged-list"),
    pytest.param(lambda: dh.tensor([1.0], dtype="flaot"), errors.InputTypeError, TypeError,
                 ["dtype='flaot'", "not understood", "dtype float, int, bool"], id="autodiff-dtype-name"),
    pytest.param(lambda: dh.zeros((2, -1)), errors.InputError, ValueError,
                 ["zeros((2, -1))", "negative dimensions", "help(dh.zeros)"], id="autodiff-negative-size"),
    pytest.param(lambda: dh.linspace(0, 1, -3), errors.InputError, ValueError,
                 ["linspace(0, 1, -3)", "non-negative"], id="autodiff-linspace-count"),
    # autodiff: mistakes of state, a RuntimeError in PyTorch and here (UsageError)
    pytest.param(lambda: (_x() * 2).backward(), errors.UsageError, RuntimeError,
                 ["single-number output", "shape (2, 3)", "y.sum()", "gradient="], id="autodiff-backward-non-scalar"),
    pytest.param(lambda: (dh.tensor(2.0) * 3).backward(), errors.UsageError, RuntimeError,
                 ["does not require grad", "requires_grad=True", "no_grad"], id="autodiff-backward-without-grad"),
    pytest.param(_backward_twice, errors.UsageError, RuntimeError,
                 ["second time", "freed", "backward(retain_graph=True) the first time"],
                 id="autodiff-backward-twice"),
    pytest.param(lambda: _backward_twice(general_loop=True), errors.UsageError, RuntimeError,
                 ["second time", "backward(retain_graph=True) the first time"], id="autodiff-backward-twice-general"),
    pytest.param(_graph_of_a_freed_graph, errors.UsageError, RuntimeError,
                 ["graph_of", "freed", "before backward()", "retain_graph=True"], id="autodiff-graph-of-freed"),
    pytest.param(lambda: _in_place("+="), errors.UsageError, RuntimeError,
                 ["in-place +=", "requires grad", "dh.no_grad()"], id="autodiff-in-place-add"),
    pytest.param(lambda: _in_place("[]"), errors.UsageError, RuntimeError,
                 ["item assignment", "dh.no_grad()"], id="autodiff-item-assignment"),
    pytest.param(lambda: _in_place("zero_"), errors.UsageError, RuntimeError,
                 ["zero_()", "dh.no_grad()"], id="autodiff-zero-in-place"),
    pytest.param(_switch_off_requires_grad_of_a_result, errors.UsageError, RuntimeError,
                 ["leaf tensor", ".detach()"], id="autodiff-requires-grad-off-a-result"),
    pytest.param(lambda: dh.ones(2).register_hook(lambda g: g), errors.UsageError, RuntimeError,
                 ["does not require grad", "requires_grad=True", ".requires_grad_()"], id="autodiff-hook-without-grad"),
    # nn: backward hooks that return what cannot be used
    pytest.param(lambda: _full_backward_hook((None, None)), errors.UsageError, RuntimeError,
                 ["Linear returned 2 gradient(s)", "1 input(s)", "one entry per input"], id="nn-hook-returns-too-many"),
    pytest.param(lambda: _full_backward_hook((dh.ones((2, 3)),), inputs=(dh.ones((2, 3)),)), errors.UsageError,
                 RuntimeError, ["no input of Linear requires a gradient", "return None"], id="nn-hook-nothing-to-replace"),
    pytest.param(lambda: _full_backward_hook((dh.ones(2), dh.ones(2)), _Two(),
                                             (dh.ones(2, requires_grad=True), dh.ones(2, requires_grad=True))),
                 errors.UsageError, RuntimeError, ["only for a module with one input", "register_hook"],
                 id="nn-hook-replaces-two-inputs"),
    # lr_scheduler
    pytest.param(_plateau_after_a_group_was_added, errors.UsageError, RuntimeError,
                 ["param groups in the optimizer (2)", "initialized (1)", "min_lrs"], id="lr-scheduler-plateau-groups"),
    # optim
    pytest.param(lambda: dh.optim.SGD([dh.tensor(1.0, requires_grad=True)], lr=-1), errors.InputError,
                 ValueError, ["-1", "lr must be >= 0"], id="optim-negative-lr"),
    pytest.param(lambda: dh.optim.Adam([dh.tensor(1.0, requires_grad=True)], betas=(1.5, 0.9)),
                 errors.InputError, ValueError, ["1.5", "0 <= beta < 1"], id="optim-betas"),
    pytest.param(lambda: dh.optim.SGD(dh.tensor(1.0, requires_grad=True), lr=0.1), errors.InputTypeError,
                 TypeError, ["a single Tensor", "wrap it in a list"], id="optim-one-tensor"),
    pytest.param(lambda: dh.optim.SGD([], lr=0.1), errors.InputError, ValueError,
                 ["empty parameter list", "at least one Tensor"], id="optim-no-parameters"),
    pytest.param(lambda: _optimizer().add_param_group({"lr": 0.1}), errors.InputError, ValueError,
                 ['"params" entry', "['lr']"], id="optim-group-without-params"),
    pytest.param(lambda: _optimizer().load_state_dict({"state": {}, "param_groups": []}), errors.InputError,
                 ValueError, ["0 parameter groups", "has 1"], id="optim-state-dict"),
    pytest.param(lambda: dh.optim.SGD([dh.tensor(1.0, requires_grad=True)], lr=0.1, nesterov=True),
                 errors.InputError, ValueError, ["Nesterov", "momentum > 0"], id="optim-nesterov"),
    # lr_scheduler
    pytest.param(lambda: dh.optim.lr_scheduler.StepLR(_optimizer(), step_size=0), errors.InputError,
                 ValueError, ["step_size", "positive integer", "0"], id="lr-scheduler-step-size"),
    pytest.param(lambda: dh.optim.lr_scheduler.StepLR(_optimizer(), step_size=2, last_epoch=3),
                 errors.InputKeyError, KeyError, ["initial_lr", "last_epoch=3", "last_epoch=-1"],
                 id="lr-scheduler-resume-without-initial-lr"),
    # nn
    pytest.param(lambda: dh.nn.Linear(-1, 3), errors.InputError, ValueError,
                 ["in_features", ">= 0", "-1"], id="nn-linear-size"),
    pytest.param(lambda: dh.nn.Sequential(dh.nn.Linear(2, 2))[5], errors.InputIndexError, IndexError,
                 ["index 5", "length 1", "accepted: -1 to 0"], id="nn-sequential-index"),
    pytest.param(lambda: dh.nn.Sequential(dh.nn.Linear(2, 2))["first"], errors.InputTypeError, TypeError,
                 ["whole number or a slice", "str 'first'"], id="nn-sequential-index-type"),
    pytest.param(lambda: dh.nn.functional.cross_entropy(dh.ones((2, 3)), np.array([0, 7])),
                 errors.InputIndexError, IndexError, ["target 7", "3 classes", "0 to 2"], id="nn-target-class"),
    pytest.param(lambda: dh.nn.Flatten(start_dim=3)(dh.ones((2, 3))), errors.InputAxisError, IndexError,
                 ["dimension 3", "(2, 3)", "accepted: -2 to 1"], id="nn-flatten-dim"),
    pytest.param(lambda: dh.nn.Linear(2, 2).register_parameter("a.b", None), errors.InputKeyError, KeyError,
                 ["'a.b'", "can't be empty or contain"], id="nn-parameter-name"),
    pytest.param(lambda: dh.nn.History()["val_loss"], errors.InputKeyError, KeyError,
                 ["'val_loss'", "it has []"], id="nn-history-key"),
    # landscapes
    pytest.param(lambda: resolve("nosuch"), errors.UnknownNameError, ValueError,
                 ["'nosuch'", "rosenbrock"], id="landscapes-unknown-name"),
    pytest.param(lambda: resolve("__import__('os')"), errors.InputError, ValueError,
                 ["'__import__' is not an allowed function", "A formula may use"], id="landscapes-formula"),
    pytest.param(lambda: dh.descend("x**2 + y**2", start=(1.0,), steps=3), errors.InputError, ValueError,
                 ["2 variable(s)", "start has 1"], id="landscapes-start-size"),
    # a point typed as text: NumPy's "could not convert string to float" named neither argument nor form
    pytest.param(lambda: dh.descend("sphere", "a"), errors.InputError, ValueError,
                 ["descend: start must be numbers", "'a'"], id="descend-start-text"),
    pytest.param(lambda: dh.lr_sweep("sphere", "ab", [0.1]), errors.InputError, ValueError,
                 ["lr_sweep: start must be numbers"], id="lr-sweep-start-text"),
    pytest.param(lambda: dh.lr_advice("sphere", [None, "x"]), errors.InputError, ValueError,
                 ["lr_advice: point must be numbers", "[None, 'x']"], id="lr-advice-point-text"),
    pytest.param(lambda: gradient_at("sphere", "a"), errors.InputError, ValueError,
                 ["the point must be numbers"], id="gradient-at-point-text"),
]


@pytest.mark.parametrize("mistake, member, builtin, words", MISTAKES)
def test_a_mistake_raises_the_family_with_a_message_that_helps(mistake, member, builtin, words):
    with pytest.raises(builtin) as caught:
        mistake()
    assert isinstance(caught.value, member) and isinstance(caught.value, errors.DownhillError), type(caught.value)
    message = str(caught.value)
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"
    if builtin is KeyError:  # printed as the sentence it is, not in a KeyError's quotes
        assert message == caught.value.args[0]


def test_echoed_input_is_cut_short():
    with pytest.raises(errors.InputTypeError) as caught:
        dh.mean(dh.ones(3), axis="r" * 10_000)
    assert len(str(caught.value)) < 300 and "10002 characters" in str(caught.value)


def _through_tblib(error):
    # dask.distributed ships errors with tblib's reducer, which skips __init__
    # for classes with their own; NumPy's AxisError keeps its message in a slot
    # that __init__ sets (it once came back unprintable that way).
    support = pytest.importorskip("tblib.pickling_support")
    rebuild, args, *_ = support.pickle_exception(error)
    return rebuild(*args)


@pytest.mark.parametrize("trip", [lambda e: pickle.loads(pickle.dumps(e)), _through_tblib], ids=["pickle", "tblib"])
@pytest.mark.parametrize("error", [errors.InputKeyError("no 'x' here"), errors.InputIndexError("index 5 of 3"),
                                   errors.InputAxisError("axis 5 of 2"), errors.InputError("lr must be >= 0")])
def test_the_family_crosses_a_process_boundary_whole(trip, error):
    # The playground's workers and dask's send errors back pickled: the kind and the words survive.
    back = trip(error)
    assert type(back) is type(error) and str(back) == str(error) and back.args == error.args


# ------------------------------------------------------------- the command, in a real process

SRC = pathlib.Path(dh.__file__).parent.parent


def _downhill(code: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(SRC), "MPLBACKEND": "Agg"}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          env=env, timeout=120)


def test_a_users_mistake_through_the_command_is_one_line_and_exit_two():
    done = _downhill("""
        from downhill.cli import main
        main(["descend", "sphere", "--start", "1,2", "--optimizer", "sgd", "--nesterov"])
    """)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("downhill: Nesterov momentum requires a momentum > 0")


def test_a_usage_mistake_through_the_command_is_one_line_and_exit_two():
    # No command can make a RuntimeError-kind mistake of its own (each builds a
    # fresh graph from a scalar formula), so it is planted where `gradient`
    # calls the library: the command must read UsageError as the user's, not as
    # the bug a plain RuntimeError is (the case below).
    done = _downhill("""
        import downhill.explain
        from downhill.cli import main
        from downhill.errors import UsageError

        def planted_mistake(*args, **kwargs):
            raise UsageError("backward through the graph a second time; call backward(retain_graph=True) first")

        downhill.explain.gradient_at = planted_mistake
        main(["gradient", "x**2 + y**2", "--at", "1,2"])
    """)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert done.stderr == "downhill: backward through the graph a second time; call backward(retain_graph=True) first\n"


@pytest.mark.parametrize("bug, shows", [
    ("import numpy as np; np.zeros(3).reshape(2)", "ValueError: cannot reshape array of size 3"),
    ("{}['steepness']", "KeyError: 'steepness'"),
    ("len(3)", "TypeError: object of type 'int' has no len()"),
    ("raise RuntimeError('an invariant failed')", "RuntimeError: an invariant failed"),
])
def test_a_bug_through_the_command_shows_its_traceback(bug, shows):
    # A plain ValueError/KeyError/TypeError deep in the library is a bug, not bad input.
    done = _downhill(f"""
        import downhill.explain
        from downhill.cli import main

        def planted_bug(*args, **kwargs):
            {bug}

        downhill.explain.gradient_at = planted_bug
        main(["gradient", "x**2 + y**2", "--at", "1,2"])
    """)
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith("Traceback (most recent call last):")
    assert "in planted_bug" in done.stderr and shows in done.stderr
    assert done.stderr.rstrip().splitlines()[-1].startswith("downhill: this is a bug in downhill")
