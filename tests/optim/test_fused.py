"""The fused kernel (numba) computes what descend's NumPy path computes.

Every catalogue landscape, every optimizer and a typed formula run through
both paths on the same starts: the same statuses and step counts, final
points equal to 1e-12 relative (bit for bit on polynomial landscapes, whose
arithmetic is all + - * / and whole powers), and on the fused path a climber
alone equals the same climber inside a batch, bit for bit.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest

import downhill as dh
from downhill.optim import fused

pytestmark = pytest.mark.skipif(importlib.util.find_spec("numba") is None,
                                reason="numba is not installed (the 'fast' extra)")

POLYNOMIAL = {"sphere", "booth", "matyas", "rosenbrock", "himmelblau", "beale", "three_hump_camel",
              "six_hump_camel", "styblinski_tang", "goldstein_price"}


@pytest.fixture(scope="module", autouse=True)
def kernel_cache(tmp_path_factory):
    # DOWNHILL_FUSED=1: compile kernels even for the small batches of these tests.
    folder = tmp_path_factory.mktemp("kernels")
    saved = {key: os.environ.get(key) for key in ("DOWNHILL_CACHE_DIR", "DOWNHILL_FUSED")}
    os.environ.update(DOWNHILL_CACHE_DIR=str(folder), DOWNHILL_FUSED="1")
    yield folder
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def _both(f, start, monkeypatch, **settings):
    fast = dh.descend(f, start, record=False, **settings)
    monkeypatch.setenv("DOWNHILL_FUSED", "0")
    plain = dh.descend(f, start, record=False, **settings)
    monkeypatch.setenv("DOWNHILL_FUSED", "1")
    return fast, plain


def _starts(landscape, n=64, seed=0):
    rng = np.random.default_rng(seed)
    low, high = np.array(landscape.domain, dtype=float).T if landscape.domain else (-2.0, 2.0)
    return rng.uniform(low, high, size=(n, len(landscape.variables)))


def _same(fast, plain, exact):
    assert list(fast.status) == list(plain.status)
    np.testing.assert_array_equal(fast.steps_taken, plain.steps_taken)
    np.testing.assert_array_equal(fast.diverged_at, plain.diverged_at)
    finite = np.isfinite(plain.final_point).all(axis=1) & (plain.status != "diverged")
    if exact:
        np.testing.assert_array_equal(fast.final_point[finite], plain.final_point[finite])
        np.testing.assert_array_equal(fast.final_value[finite], plain.final_value[finite])
    else:
        np.testing.assert_allclose(fast.final_point[finite], plain.final_point[finite], rtol=1e-12, atol=1e-300)
        np.testing.assert_allclose(fast.final_value[finite], plain.final_value[finite], rtol=1e-12, atol=1e-12)


OPTIMIZERS = [
    ("sgd", {}),
    ("sgd", {"momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    ("sgd", {"momentum": 0.5, "dampening": 0.3}),
    ("adam", {"amsgrad": True, "weight_decay": 0.01}),
    ("adamw", {"betas": (0.6, 0.95)}),
    ("rmsprop", {"momentum": 0.9, "centered": True}),
    ("rmsprop", {"maximize": True, "weight_decay": 0.1}),
    ("adagrad", {"lr_decay": 0.01, "initial_accumulator_value": 0.1}),
]
# Each landscape with one optimizer setting (a kernel per pair costs seconds to
# compile): every landscape and every setting is covered, and every setting
# meets a polynomial landscape, where the two paths must agree bit for bit.
CASES = [(name, *OPTIMIZERS[i % len(OPTIMIZERS)]) for i, name in enumerate(dh.landscapes.names())]


def test_the_cases_cover_every_landscape_and_setting_on_a_polynomial():
    assert {name for name, _, _ in CASES} == set(dh.landscapes.names())
    exact = {(optimizer, str(options)) for name, optimizer, options in CASES if name in POLYNOMIAL}
    assert exact == {(optimizer, str(options)) for optimizer, options in OPTIMIZERS}


@pytest.mark.parametrize(("name", "optimizer", "options"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_every_landscape_and_optimizer_matches_the_numpy_path(name, optimizer, options, monkeypatch):
    landscape = dh.landscapes.get(name)
    start = _starts(landscape, n=200)
    lr = 1e-3 if optimizer == "sgd" else 0.01
    fast, plain = _both(name, start, monkeypatch, optimizer=optimizer, lr=lr, steps=60, tol=1e-6, **options)
    assert fused._LOADED, "the fused path did not run"
    _same(fast, plain, exact=name in POLYNOMIAL)


def test_schedules_divergence_and_a_typed_formula(monkeypatch):
    start = np.random.default_rng(2).uniform(-3, 3, size=(300, 2))
    typed = dh.landscapes.resolve("x**4 + 3*sin(y) + exp(0.1*x*y)")
    fast, plain = _both(typed, start, monkeypatch, lr=0.05, steps=50,
                        schedule=lambda t: 0.05 / (1 + t), tol=1e-4)
    _same(fast, plain, exact=False)
    fast, plain = _both("rosenbrock", start, monkeypatch, lr=0.002, steps=50, max_value=1e8)
    assert (plain.status == "diverged").any() and (plain.status != "diverged").any()
    _same(fast, plain, exact=True)


def test_a_lone_climber_equals_itself_inside_a_batch():
    start = np.random.default_rng(3).uniform(-2, 2, size=(1500, 2))  # several blocks and threads
    batch = dh.descend("ackley", start, optimizer="adam", lr=0.01, steps=100, record=False)
    for i in (0, 255, 256, 511, 512, 1499):  # the ends of blocks (256 climbers for adam) and of threads
        alone = dh.descend("ackley", start[i:i + 1], optimizer="adam", lr=0.01, steps=100, record=False)
        np.testing.assert_array_equal(alone.final_point[0], batch.final_point[i])
        assert alone.status[0] == batch.status[i] and alone.steps_taken[0] == batch.steps_taken[i]


def test_without_numba_the_numpy_path_runs(monkeypatch):
    monkeypatch.setattr(fused, "available", lambda: False)
    before = dict(fused._LOADED)
    out = dh.descend(dh.landscapes.resolve("x**2 + 2*y**2 + 0.5"), np.ones((3, 2)), lr=0.1, steps=20, record=False)
    assert fused._LOADED == before
    assert (out.final_value > 0.5).all()


def _fresh_process(kernel_cache, code):
    env = {**os.environ, "DOWNHILL_CACHE_DIR": str(kernel_cache), "NUMBA_DEBUG_CACHE": "1", "DOWNHILL_FUSED": "1",
           "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)


FRESH = ("import sys, numpy as np, downhill as dh\n"
         "start = np.random.default_rng(5).uniform(-3, 3, size=(1200, 2))\n"
         "t = dh.descend('LANDSCAPE', start, optimizer='adam', lr=0.05, steps=40, record=False)\n"
         "print(t.final_point.tobytes().hex(), t.steps_taken.sum(), 'numba' in sys.modules)")


@pytest.mark.parametrize("landscape", ["booth", "ackley"])
def test_a_fresh_process_loads_the_kept_machine_code_without_numba(kernel_cache, landscape):
    # ackley's kernel calls exp, cos and sqrt: the C math library's functions,
    # found in the fresh process by the loader.
    code = FRESH.replace("LANDSCAPE", landscape)
    first = _fresh_process(kernel_cache, code).stdout.splitlines()[-1].split()
    objects = list(kernel_cache.glob("kernels/k_*.o"))
    second = _fresh_process(kernel_cache, code).stdout.splitlines()[-1].split()
    assert objects and list(kernel_cache.glob("kernels/k_*.json"))
    assert second[:2] == first[:2]  # the same numbers, bit for bit
    assert second[2] == "False"  # numba was never imported
    here = dh.descend(landscape, np.random.default_rng(5).uniform(-3, 3, size=(1200, 2)), optimizer="adam",
                      lr=0.05, steps=40, record=False)
    assert here.final_point.tobytes().hex() == first[0]


def test_without_a_usable_object_file_numbas_cache_serves(kernel_cache):
    code = FRESH.replace("LANDSCAPE", "matyas")
    first = _fresh_process(kernel_cache, code)
    (obj,) = [p for p in kernel_cache.glob("kernels/k_*.o")
              if "0.26*(x**2 + y**2)" in p.with_suffix(".py").read_text().splitlines()[1]
              and p.with_suffix(".py").read_text().splitlines()[1].endswith("optimizer: adam flags: []")]
    obj.write_bytes(obj.read_bytes()[:-8] + b"damaged!")  # a damaged file is not loaded (its digest is kept)
    second = _fresh_process(kernel_cache, code)
    assert "[cache] data loaded" in second.stdout + second.stderr
    assert second.stdout.splitlines()[-1].split()[:2] == first.stdout.splitlines()[-1].split()[:2]
    assert second.stdout.splitlines()[-1].split()[2] == "True"


def test_threads_give_the_numbers_of_one_thread(monkeypatch):
    start = np.random.default_rng(6).uniform(-2, 2, size=(5000, 2))  # ten blocks
    runs = {}
    for count in ("1", "2", "3"):
        monkeypatch.setenv("DOWNHILL_THREADS", count)
        runs[count] = dh.descend("himmelblau", start, optimizer="rmsprop", lr=0.01, steps=70, tol=1e-3,
                                 record=False)
    for count in ("2", "3"):
        np.testing.assert_array_equal(runs[count].final_point, runs["1"].final_point)
        np.testing.assert_array_equal(runs[count].steps_taken, runs["1"].steps_taken)
        assert list(runs[count].status) == list(runs["1"].status)


def test_only_the_c_math_library_and_python_are_allowed_outside_the_object():
    from downhill.optim.fused_cache import required_symbols

    ir = ("declare double @llvm.exp.f64(double)\ndeclare double @llvm.fabs.f64(double)\n"
          "declare void @numba_gil_ensure(ptr)\ndeclare double @tanh(double)\n@PyExc_SystemError = external global i8\n")
    assert required_symbols(ir) == ["PyExc_SystemError", "PyGILState_Ensure", "PyGILState_Release", "exp", "tanh"]
    assert required_symbols(ir + "declare ptr @NRT_MemInfo_alloc_aligned(i64, i32)\n") is None
    assert required_symbols(ir + "declare double @llvm.powi.f64.i32(double, i32)\n") is None
    assert required_symbols(ir + "@_ZN08NumbaEnv1x = external global ptr\n") is None


def test_small_batches_do_not_wait_for_a_compiler(monkeypatch):
    # Unset, DOWNHILL_FUSED lets a small batch of a new landscape take the NumPy
    # path instead of waiting seconds for numba; a compiled kernel is used at once.
    monkeypatch.delenv("DOWNHILL_FUSED")
    typed = dh.landscapes.resolve("x**2 + 0.25*y**4 + 0.125")
    before = dict(fused._LOADED)
    dh.descend(typed, np.ones((5, 2)), lr=0.1, steps=10, record=False)
    assert fused._LOADED == before
    monkeypatch.setattr(fused, "WORTH_COMPILING", 50)
    dh.descend(typed, np.ones((5, 2)), lr=0.1, steps=10, record=False)
    assert len(fused._LOADED) == len(before) + 1


def test_kernel_source_is_readable_and_written_from_the_trace():
    source = fused.kernel_source("(x - 1)**2 + y**2", ("x", "y"), "sgd", {"momentum": 0.9})
    assert "def _slope(x0, x1):" in source and "later = s_buf * H_momentum" in source
    with pytest.raises(fused.NotFusable):
        fused.kernel_source("x + y", ("x", "y"), "lbfgs", {})


@pytest.mark.parametrize(("name", "optimizer", "options", "exact"), [
    ("himmelblau", "sgd", {"lr": 0.003, "momentum": 0.5}, True),  # polynomial: bit for bit
    ("mccormick", "adam", {"lr": 0.05}, False),  # sin from the C library: to 1e-12
])
def test_the_kernel_records_every_step_as_the_numpy_path_does(monkeypatch, name, optimizer, options, exact):
    landscape = dh.landscapes.get(name)
    start = np.vstack([_starts(landscape, n=700, seed=4), [[1e3, 1e3]], landscape.minima[0].point])
    kwargs = dict(optimizer=optimizer, steps=80, tol=1e-3, **options)
    fast = dh.descend(name, start, **kwargs)
    monkeypatch.setenv("DOWNHILL_FUSED", "0")
    plain = dh.descend(name, start, **kwargs)
    # Some climbers stop early (converged, or fell off), others later or not at all.
    assert len(set(plain.status)) >= 2 and plain.steps_taken.min() < plain.steps_taken.max()
    _same(fast, plain, exact)
    for field in ("points", "values", "grad_norms"):
        a, b = getattr(fast, field), getattr(plain, field)
        assert a.shape == b.shape == (plain.steps_taken.max() + 1, *plain.final_value.shape, 2)[:b.ndim], field
        if exact:
            np.testing.assert_array_equal(a, b, err_msg=field)
        else:
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-300, err_msg=field)
    np.testing.assert_array_equal(fast.lrs, plain.lrs)
    # A stopped climber stays where it stopped, to the end of the record.
    i = int(np.argmin(plain.steps_taken))
    k = plain.steps_taken[i]
    assert (fast.points[k:, i] == fast.points[k, i]).all() and (fast.values[k:, i] == fast.values[k, i]).all()


def test_the_scalar_helpers_give_numpys_answers_at_nan_zeros_and_infinities():
    # _maximum and _minimum are one comparison each: check them (compiled, as the
    # kernels use them) against NumPy on every pair of awkward values. (The sign of
    # a zero on a tie of -0.0 and 0.0 is not compared: the helpers keep the first,
    # NumPy's SIMD loops do not promise either.)
    import math

    import numba

    from downhill.optim.fused_landscape import HELPERS

    def njit(**options):
        options.pop("cache")  # code from a string has no file to cache beside
        return numba.njit(**options)

    namespace = {"njit": njit, "math": math, "NAN": math.nan, "INF": math.inf}
    exec(HELPERS, namespace)  # our own generated source, not user input
    values = [math.nan, -math.inf, -2.5, -0.0, 0.0, 1.0, 2.5, math.inf]
    for name, reference in (("_maximum", np.maximum), ("_minimum", np.minimum)):
        helper = namespace[name]
        for a in values:
            for b in values:
                got, want = helper(a, b), float(reference(a, b))
                assert (np.isnan(got) and np.isnan(want)) or got == want, (name, a, b, got, want)


@pytest.mark.parametrize("record", [False, True])
def test_no_climbers_one_climber_and_no_steps_match_the_numpy_path(monkeypatch, record):
    for n in (0, 1, 3, 600):
        for steps in (0, 1, 5):
            start = np.random.default_rng(n).uniform(-3, 3, size=(n, 2))
            fast = dh.descend("booth", start, lr=0.01, steps=steps, record=record)
            monkeypatch.setenv("DOWNHILL_FUSED", "0")
            plain = dh.descend("booth", start, lr=0.01, steps=steps, record=record)
            monkeypatch.setenv("DOWNHILL_FUSED", "1")
            for field in ("final_point", "final_value", "final_grad_norm", "steps_taken", "diverged_at", "status",
                          "lrs") + (("points", "values", "grad_norms") if record else ()):
                a, b = getattr(fast, field), getattr(plain, field)
                assert a.dtype == b.dtype, (n, steps, field)
                np.testing.assert_array_equal(a, b, err_msg=f"{n} climbers, {steps} steps: {field}")
