"""Many climbers in one compiled loop: descend's trace turned into a fused kernel (numba).

The NumPy path of :mod:`downhill.optim.descend` pays one pass over memory per
operation per step. Here the same trace (the landscape's graph, read link by
link as :mod:`downhill.autodiff.compile` reads it) is written out as scalar
code, together with the optimizer's update rule, into one C-callable function
that numba compiles: a block of climbers small enough for the L1 cache takes
*every* step before the next block starts, one pass over the block per step
(each climber's slope, stopping test and update), blocks run on all cores, and
a step allocates nothing.

Numbers. The optimizer part repeats the in-place rules of
:mod:`downhill.optim.functional` operation for operation (IEEE arithmetic, no
fused multiply-add: numba's default, without ``fastmath``), and the landscape
part repeats the forward functions and derivative rules of
:mod:`downhill.autodiff.ops`. Additions, products, quotients, square roots
and whole powers round exactly as on the NumPy path, so polynomial landscapes
give bit-identical climbers. ``exp``, ``log``, ``sin``, ... come from the C
library here and from NumPy's vectorised loops there; they may differ in the
last bit, so the two paths agree to about 1e-12 relative (more only where the
landscape itself amplifies rounding). The loop over a block is vectorised
(SIMD) without reassociating anything, so each lane rounds as the scalar code
does: on this path, a climber run alone (a batch of one) and the same climber
inside a batch, on any thread, are bit-identical. (Where numba uses Intel's
SVML for vectorised ``exp``, ``sin``, ..., found with conda's ``icc_rt``, those
may differ from the C library in the last bit; ``NUMBA_DISABLE_INTEL_SVML=1``
keeps the C library's.)

Compiled kernels are kept on disk under ``$DOWNHILL_CACHE_DIR`` or
``~/.cache/downhill``: the generated module with numba's cache beside it, and
the kernel's machine code, which a fresh process loads without importing
numba (:mod:`.fused_cache`). Set ``DOWNHILL_FUSED=0`` to use the NumPy path.
Without numba installed (``pip install "downhill[fast]"``), descend uses the
NumPy path.

The generated code is written by this module from the op table and the
optimizer's name; a formula typed by a person reaches it only as the graph of
downhill ops that the safe parser built, with numbers as ``repr`` of floats.
"""

from __future__ import annotations

import importlib.util
import os
import re
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .fused_landscape import HELPERS, NotFusable, landscape_source

__all__ = ["available", "climb", "kernel_source", "NotFusable", "block_size", "WORTH_COMPILING"]

# Bytes of a block's working rows (coordinates twice, the optimizer's state,
# the climbers' ids): they stay in a core's 32-48 KiB L1 cache, beside the
# stack, while the block takes all its steps.
BLOCK_BYTES = 24 * 1024


def block_size(rows):
    """Climbers per block for a kernel with ``rows`` working rows: a power of two from 64 to 1024.

    >>> block_size(4), block_size(8), block_size(40)
    (512, 256, 64)
    """
    size = 1024
    while size > 64 and (rows + 1) * 8 * size > BLOCK_BYTES:
        size //= 2
    return size


STATUS = ("max_steps", "converged", "diverged")
STATUS_WIDTH = 9


# Climber-steps below which compiling a new kernel (seconds) costs more than
# the NumPy path would take (about 0.05 s per million climber-steps here);
# kernels already compiled, in this process or on disk, are used for any size.
WORTH_COMPILING = 20_000_000


def available() -> bool:
    """True when numba is installed and ``DOWNHILL_FUSED`` is not ``0``.

    ``DOWNHILL_FUSED=1`` compiles a kernel for every batch, however small;
    unset, a new kernel is compiled only for work worth it (see ``WORTH_COMPILING``).

    >>> isinstance(available(), bool)
    True
    """
    if os.environ.get("DOWNHILL_FUSED") == "0":
        return False
    return importlib.util.find_spec("numba") is not None


def cache_dir() -> str:
    """Where generated kernels and numba's compiled code are kept."""
    root = os.environ.get("DOWNHILL_CACHE_DIR")
    if not root:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        root = os.path.join(base, "downhill")
    return os.path.join(root, "kernels")


# ----------------------------------------------------------------- the optimizers
# Each rule: (state names per coordinate, code updating coordinate "x" with
# gradient "G" and its state "s_<name>", per step t). The order of operations
# is functional.<name>_update_'s, line for line; hyperparameters that the
# NumPy rule computes in Python (1 - beta, -lr, ...) arrive precomputed in H
# (fixed) and R (per step), so they round identically.


def _direction(flags):
    if flags["weight_decay"]:
        sign = "-" if flags["maximize"] else "+"
        return ["g = x * H_wd", f"g = g {sign} G"]
    return ["g = -G"] if flags["maximize"] else ["g = G"]


# A rule's branches are on numbers fixed for the whole call (``{weight}_small``,
# ``T_first``): both sides are computed and one is kept, so that the loop over a
# block stays branch-free and vectorised, each side with the NumPy rule's rounding.


def _lerp(target, weight, one_minus):
    return [f"d = g - {target}", f"near = d * {weight}", f"near = {target} + near",
            f"far = d * {one_minus}", f"far = g - far", f"{target} = near if {weight}_small else far"]


def _sgd(flags):
    lines = _direction(flags)
    state = []
    if flags["momentum"]:
        state.append("buf")
        # g * (1 - 0) is g exactly, so one product serves both the damped and the plain rule.
        lines += ["later = s_buf * H_momentum", "damped = g * H_one_minus_dampening", "later = later + damped",
                  "s_buf = g if T_first else later"]
        lines += ["ahead = s_buf * H_momentum", "g = ahead + g"] if flags["nesterov"] else ["g = s_buf"]
    lines += ["x = x + g * R_neg_lr[t]"]
    return state, lines


def _adam(flags):
    lines = []
    if flags["weight_decay"] and flags["decoupled"]:
        lines.append("x = x * R_decay[t]")
        lines += ["g = -G"] if flags["maximize"] else ["g = G"]
    else:
        lines += _direction(flags)
    lines += _lerp("s_m", "H_w1", "H_one_minus_w1")
    lines += ["s_v = s_v * H_beta2", "sq = g * H_one_minus_beta2", "sq = sq * g", "s_v = s_v + sq"]
    state = ["m", "v"]
    if flags["amsgrad"]:
        state.append("vmax")
        lines += ["s_vmax = _maximum(s_vmax, s_v)", "den = _sqrt(s_vmax)"]
    else:
        lines += ["den = _sqrt(s_v)"]
    lines += ["den = den / R_bc2[t]", "den = den + H_eps",
              "ch = s_m * R_neg_step[t]", "ch = ch / den", "x = x + ch"]
    return state, lines


def _rmsprop(flags):
    lines = _direction(flags)
    lines += ["s_sq = s_sq * H_alpha", "tmp = g * H_one_minus_alpha", "tmp = tmp * g", "s_sq = s_sq + tmp"]
    state = ["sq"]
    if flags["centered"]:
        state.append("ga")
        lines += _lerp("s_ga", "H_w_alpha", "H_one_minus_w_alpha")
        lines += ["avg = s_ga * s_ga", "avg = s_sq - avg", "avg = _sqrt(avg)"]
    else:
        lines += ["avg = _sqrt(s_sq)"]
    lines += ["avg = avg + H_eps"]
    if flags["momentum"]:
        state.append("buf")
        lines += ["s_buf = s_buf * H_momentum", "s_buf = s_buf + g / avg", "x = x + s_buf * R_neg_lr[t]"]
    else:
        lines += ["ch = g * R_neg_lr[t]", "ch = ch / avg", "x = x + ch"]
    return state, lines


def _adagrad(flags):
    lines = _direction(flags)
    lines += ["s_sum = s_sum + g * g", "sd = _sqrt(s_sum)", "sd = sd + H_eps",
              "ch = g * R_neg_clr[t]", "ch = ch / sd", "x = x + ch"]
    return ["sum"], lines


_OPTIMIZERS = {"sgd": _sgd, "adam": _adam, "adamw": _adam, "rmsprop": _rmsprop, "adagrad": _adagrad}


def _flags(name, options):
    """The choices that change the code (the numbers travel at run time)."""
    return {
        "weight_decay": options.get("weight_decay", 0) != 0, "maximize": bool(options.get("maximize", False)),
        "momentum": options.get("momentum", 0) != 0, "nesterov": bool(options.get("nesterov", False)),
        "amsgrad": bool(options.get("amsgrad", False)), "centered": bool(options.get("centered", False)),
        "decoupled": name == "adamw" or bool(options.get("decoupled_weight_decay", False)),
    }


def _hyper(name, options, rates):
    """(H: fixed numbers, R: per-step arrays), computed in Python exactly as functional.py does."""
    steps = len(rates)
    H, R = {"wd": float(options.get("weight_decay", 0))}, {}
    R["neg_lr"] = np.array([-lr for lr in rates], dtype=np.float64)
    if name == "sgd":
        momentum, dampening = float(options.get("momentum", 0)), float(options.get("dampening", 0))
        H.update(momentum=momentum, dampening=dampening, one_minus_dampening=1.0 - dampening)
    elif name in ("adam", "adamw"):
        beta1, beta2 = options.get("betas", (0.9, 0.999))
        w1 = 1 - beta1
        H.update(w1=w1, one_minus_w1=1.0 - w1, beta2=beta2, one_minus_beta2=1.0 - beta2,
                 eps=float(options.get("eps", 1e-8)))
        wd = options.get("weight_decay", 0)
        R["decay"] = np.array([1 - lr * wd for lr in rates], dtype=np.float64)
        R["neg_step"] = np.array([-(lr / (1 - beta1 ** (t + 1))) for t, lr in enumerate(rates)], dtype=np.float64)
        R["bc2"] = np.array([(1 - beta2 ** (t + 1)) ** 0.5 for t in range(steps)], dtype=np.float64)
    elif name == "rmsprop":
        alpha = options.get("alpha", 0.99)
        w = 1 - alpha
        H.update(alpha=alpha, one_minus_alpha=1.0 - alpha, w_alpha=w, one_minus_w_alpha=1.0 - w,
                 momentum=float(options.get("momentum", 0)), eps=float(options.get("eps", 1e-8)))
    elif name == "adagrad":
        decay = options.get("lr_decay", 0)
        H.update(eps=float(options.get("eps", 1e-10)), initial=float(options.get("initial_accumulator_value", 0)))
        R["neg_clr"] = np.array([-(lr / (1 + t * decay)) for t, lr in enumerate(rates)], dtype=np.float64)
    return H, R


def _hoisted(lines):
    """The rule's per-step numbers ``R_<name>[t]`` read once per step, before the loop over climbers."""
    names = sorted(set(re.findall(r"R_(\w+)\[t\]", "\n".join(lines))))
    return [f"Rt_{name} = R_{name}[t]" for name in names], [re.sub(r"R_(\w+)\[t\]", r"Rt_\1", line) for line in lines]


ARGUMENTS = ("mode", "P_", "n", "first", "last", "steps", "tol2", "max_value", "H_", "RS_", "width",
             "out_point_", "out_value_", "out_norm_", "out_steps_", "out_diverged_", "out_status_", "text_",
             "W_", "ids_", "rec_point_", "rec_value_", "rec_norm_", "taken")
# The C types of ARGUMENTS, in order: i = int64, d = float64, p = pointer to float64,
# q = pointer to int64, u = pointer to uint32 (how fused_cache builds both signatures).
ARGUMENT_TYPES = "ipiiiiddppipppqquupqpppi"


def _record_row(indent, coords, point):
    """Kernel lines writing climber ``i``'s row of the record at step ``t``; ``point`` names coordinate k."""
    return [f"{indent}rec_value[t, i] = r[0]", f"{indent}rec_norm[t, i] = _sqrt(n2)",
            *(f"{indent}rec_point[t, i, {k}] = {point.format(k)}" for k in coords)]


def kernel_source(formula, variables, optimizer, options, record=False):
    """The Python source of the fused kernel (what numba compiles), for reading.

    One C-callable function ``climb`` (numba's ``cfunc``) over raw pointers,
    so that a compiled copy loads without numba (see :mod:`.fused_cache`).
    ``mode`` 0 climbs the climbers ``first`` to ``last`` of ``P`` (n, d) in
    blocks (:func:`block_size`): each block takes every step before the next starts,
    its coordinates double-buffered in ``W`` (one pass over the block per
    step: the slope, the stopping test and the optimizer's update of each
    climber; a stopped climber's figures are computed again from the buffer
    it left, the same arithmetic, so the same numbers). With ``record`` it
    also writes every step into ``rec_point`` (steps + 1, n, d), ``rec_value``
    and ``rec_norm``, and mode 1 holds each stopped climber where it stopped
    up to row ``taken``.

    >>> src = kernel_source("x**2 + y**2", ("x", "y"), "sgd", {})
    >>> "def climb(" in src and "= x0 * x0" in src
    True
    """
    if optimizer not in _OPTIMIZERS:
        raise NotFusable(f"no fused form of {optimizer!r}")
    d = len(variables)
    flags = _flags(optimizer, options)
    state, rule = _OPTIMIZERS[optimizer](flags)
    per_step, rule = _hoisted(rule)
    H, R = _hyper(optimizer, options, [0.0])
    coords = range(d)
    # W's rows: the coordinates (two buffers), then the optimizer's state.
    rows = {f"A{k}": k for k in coords}
    rows.update({f"B{k}": d + k for k in coords})
    rows.update({f"S{name}{k}": 2 * d + i * d + k for i, name in enumerate(state) for k in coords})
    block = block_size(len(rows))
    L = [f"@cfunc(SIGNATURE, error_model='numpy', cache=True)", f"def climb({', '.join(ARGUMENTS)}):"]
    L.append(f"    P = carray(P_, (n, {d}))")
    L.append(f"    out_point = carray(out_point_, (n, {d}))")
    L += ["    out_value = carray(out_value_, (n,))", "    out_norm = carray(out_norm_, (n,))",
          "    out_steps = carray(out_steps_, (n,))", "    out_diverged = carray(out_diverged_, (n,))",
          # The status as NumPy's '<U9' text (9 UTF-32 code units a climber), from the rows of text.
          f"    out_status = carray(out_status_, (n, {STATUS_WIDTH}))",
          f"    text = carray(text_, ({len(STATUS)}, {STATUS_WIDTH}))"]
    if record:
        L += [f"    rec_point = carray(rec_point_, (steps + 1, n, {d}))",
              "    rec_value = carray(rec_value_, (steps + 1, n))", "    rec_norm = carray(rec_norm_, (steps + 1, n))",
              "    if mode == 1:",
              "        # A climber that stopped at step s stays there for the rest of the record.",
              "        for i in range(first, last):",
              "            s = out_steps[i]",
              "            for t in range(s + 1, taken + 1):",
              "                rec_value[t, i] = rec_value[s, i]",
              "                rec_norm[t, i] = rec_norm[s, i]"]
        L += [f"                rec_point[t, i, {k}] = rec_point[s, i, {k}]" for k in coords]
        L += ["        return"]
    L += [f"    H = carray(H_, ({max(len(H), 1)},))", f"    RS = carray(RS_, ({max(len(R), 1)}, width))",
          f"    W = carray(W_, ({len(rows)}, {block}))", f"    ids = carray(ids_, ({block},))"]
    for i, key in enumerate(H):
        L.append(f"    H_{key} = H[{i}]")
    for key in sorted(set(re.findall(r"\b(H_\w+)_small\b", "\n".join(rule)))):
        L.append(f"    {key}_small = abs({key}) < 0.5")
    for i, key in enumerate(R):
        L.append(f"    R_{key} = RS[{i}]")
    for name, row in rows.items():
        if name[0] != "A" and name[0] != "B":
            L.append(f"    {name} = W[{row}]")
    L.append(f"    for lo in range(first, last, {block}):")
    L.append(f"        m = min(last, lo + {block}) - lo")
    L.append("        for j in range(m):")
    L.append("            ids[j] = lo + j")
    for k in coords:
        L.append(f"            W[{k}, j] = P[lo + j, {k}]")
        for name in state:
            init = "H_initial" if name == "sum" else "0.0"
            L.append(f"            S{name}{k}[j] = {init}")
    L.append("        for t in range(steps + 1):")
    # X: where the climbers are at step t; Y: where the step takes them.
    L.append("            if t % 2 == 0:")
    L += [f"                X{k} = W[{k}]" for k in coords] + [f"                Y{k} = W[{d + k}]" for k in coords]
    L.append("            else:")
    L += [f"                X{k} = W[{d + k}]" for k in coords] + [f"                Y{k} = W[{k}]" for k in coords]
    L.append("            stops = 0")
    L.append("            if t < steps:")
    L += ["                " + line for line in per_step + ["T_first = t == 0"]]
    L.append("                for j in range(m):")
    for k in coords:
        L.append(f"                    x{k} = X{k}[j]")
    L.append(f"                    r = _slope({', '.join(f'x{k}' for k in coords)})")
    L.append("                    n2 = r[1] * r[1]")
    for k in range(1, d):
        L.append(f"                    n2 = n2 + r[{k + 1}] * r[{k + 1}]")
    # & rather than ``and``: no branch, so the loop over the block can be vectorised.
    L.append("                    ok = (abs(r[0]) <= max_value) & (n2 < INF) & (n2 > tol2)")
    L.append("                    stops += 0 if ok else 1")
    if record:
        L.append("                    i = ids[j]")
        L.extend(_record_row(" " * 20, coords, "x{}"))
    # Every climber steps, those that stop at t too (their step is dropped below).
    for k in coords:
        L.append(f"                    x = x{k}")
        L.append(f"                    G = r[{k + 1}]")
        for name in state:
            L.append(f"                    s_{name} = S{name}{k}[j]")
        L.extend("                    " + line for line in rule)
        L.append(f"                    Y{k}[j] = x")
        for name in state:
            L.append(f"                    S{name}{k}[j] = s_{name}")
    L.append("            if stops or t == steps:")
    L.append("                keep = 0")
    L.append("                for j in range(m):")
    L.append(f"                    r = _slope({', '.join(f'X{k}[j]' for k in coords)})")
    L.append("                    n2 = r[1] * r[1]")
    for k in range(1, d):
        L.append(f"                    n2 = n2 + r[{k + 1}] * r[{k + 1}]")
    L.append("                    diverged = not (abs(r[0]) <= max_value) or not (n2 < INF)")
    L.append("                    converged = (not diverged) and n2 <= tol2")
    L.append("                    if diverged or converged or t == steps:")
    L.append("                        i = ids[j]")
    for k in coords:
        L.append(f"                        out_point[i, {k}] = X{k}[j]")
    L.append("                        out_value[i] = r[0]")
    L.append("                        out_norm[i] = _sqrt(n2)")
    L.append("                        out_steps[i] = t")
    L.append("                        out_diverged[i] = t if diverged else -1")
    L.append("                        code = 2 if diverged else (1 if converged else 0)")
    L.append(f"                        for c in range({STATUS_WIDTH}):")
    L.append("                            out_status[i, c] = text[code, c]")
    if record:
        L.append("                        if t == steps:")
        L.extend(_record_row(" " * 28, coords, "X{}[j]"))
    L.append("                    else:")
    L.append("                        ids[keep] = ids[j]")
    for k in coords:
        L.append(f"                        Y{k}[keep] = Y{k}[j]")
        for name in state:
            L.append(f"                        S{name}{k}[keep] = S{name}{k}[j]")
    L.append("                        keep += 1")
    L.append("                m = keep")
    L.append("                if m == 0:")
    L.append("                    break")
    head = ("# Generated by downhill.optim.fused from the landscape's trace; do not edit.\n"
            f"# formula: {formula!r} variables: {tuple(variables)!r} optimizer: {optimizer} "
            f"flags: {sorted(k for k, v in flags.items() if v)}{' record' if record else ''}\n"
            "import math\nfrom numba import carray, cfunc, njit, types\n\n"
            "INF = math.inf\nNAN = math.nan\n"
            f"SIGNATURE = types.void({', '.join(_NUMBA_TYPES[c] for c in ARGUMENT_TYPES)})\n")
    return head + HELPERS + "\n\n" + landscape_source(formula, variables) + "\n\n" + "\n".join(L) + "\n"


_NUMBA_TYPES = {"i": "types.int64", "d": "types.float64", "p": "types.CPointer(types.float64)",
                "q": "types.CPointer(types.int64)", "u": "types.CPointer(types.uint32)"}


def threads() -> int:
    """Threads for one call: ``DOWNHILL_THREADS``, else the CPUs this process may use."""
    wanted = os.environ.get("DOWNHILL_THREADS")
    if wanted:
        return max(1, int(wanted))
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


_LOADED = {}
_LOCK = threading.Lock()
_SIGNATURE = None


def _kernel(formula, variables, optimizer, options, compile_new=True, record=False):
    """The compiled kernel (a ctypes function); None when it would have to be compiled and ``compile_new`` is False."""
    global _SIGNATURE
    flags = _flags(optimizer, options)
    key = (formula, tuple(variables), optimizer, tuple(sorted(flags.items())), record)
    kernel = _LOADED.get(key)
    if kernel is not None:
        return kernel
    from . import fused_cache

    with _LOCK:
        kernel = _LOADED.get(key)
        if kernel is not None:
            return kernel
        if _SIGNATURE is None:
            _SIGNATURE = fused_cache.c_signature(ARGUMENT_TYPES)
        source = kernel_source(formula, variables, optimizer, options, record)
        try:
            loaded = fused_cache.load(source, cache_dir(), _SIGNATURE, compile_new)
        except OSError as error:  # a read-only home: the NumPy path still works
            raise NotFusable(f"cannot write the kernel cache {cache_dir()}: {error}") from error
        if loaded is None:
            return None
        kernel = _LOADED[key] = loaded
    return kernel


def _address(array):
    return array.ctypes.data if array is not None else 0


def climb(formula, variables, optimizer, options, start, rates, steps, tol, max_value, record=False):
    """Run every climber of ``start`` (n, d) through the fused kernel; the per-climber results.

    ``rates`` is the learning rate of each step (length ``steps``). Returns a
    dict of ``final_point``, ``final_value``, ``final_grad_norm``, ``steps_taken``,
    ``status`` and ``diverged_at`` (as descend's NumPy path fills them), and
    with ``record`` the path: ``points`` (taken + 1, n, d), ``values`` and
    ``grad_norms`` (taken + 1, n), taken the most steps any climber took. Raises
    :class:`NotFusable` for what has no fused form. descend calls it for
    batches of climbers; :func:`kernel_source` shows the code it runs.
    """
    if not all(isinstance(v, (int, float, np.integer, np.floating, bool, tuple)) for v in options.values()):
        raise NotFusable("array-valued options (one per climber) run on the NumPy path")
    n, d = start.shape
    eager = os.environ.get("DOWNHILL_FUSED") == "1" or n * (steps + 1) >= WORTH_COMPILING
    loaded = _kernel(formula, variables, optimizer, options, compile_new=eager, record=record)
    if loaded is None:
        raise NotFusable("a small batch: the NumPy path is quicker than compiling a new kernel")
    kernel = loaded[0]
    H, R = _hyper(optimizer, options, [float(r) for r in rates] or [0.0])
    h = np.array(list(H.values()) or [0.0], dtype=np.float64)
    width = max(steps, 1)
    rs = np.zeros((max(len(R), 1), width))
    for i, values in enumerate(R.values()):
        rs[i, :len(values)] = values[:steps] if steps else 0.0
    out_point = np.empty((n, d))
    out_value, out_norm = np.empty(n), np.empty(n)
    out_steps, out_diverged = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
    status = np.empty(n, dtype=f"<U{STATUS_WIDTH}")
    start = np.ascontiguousarray(start, dtype=np.float64)
    tol2 = float(tol) * float(tol)
    # The record's rows past the last step taken are never written: np.empty
    # leaves them as untouched (unmapped) memory.
    tracks = (np.empty((steps + 1, n, d)), np.empty((steps + 1, n)), np.empty((steps + 1, n))) if record else (
        None, None, None)
    rows = _rows(optimizer, options, d)
    block = block_size(rows)
    common = (_address(start), n)
    outs = (_address(h), _address(rs), width, _address(out_point), _address(out_value), _address(out_norm),
            _address(out_steps), _address(out_diverged), _address(status), _address(_TEXT))
    recs = tuple(_address(a) for a in tracks)

    def run(first):
        # Each thread its own working rows (coordinates twice, the optimizer's state) and ids.
        work = np.empty((rows, block))
        ids = np.empty(block, dtype=np.int64)
        kernel(0, *common, first, min(n, first + span), int(steps), tol2, float(max_value), *outs,
               _address(work), _address(ids), *recs, 0)

    # The climbers go in runs of whole blocks, eight runs per thread, each thread taking the next run
    # as it comes free (ctypes lets go of the GIL). With one fixed half per thread, a core that the
    # machine's other work slowed kept the whole call waiting (W3 warm ranged 38-76 ms in one run).
    workers = max(1, min(threads(), -(-n // block)))
    pieces = 8 * workers if workers > 1 else 1
    span = max(1, -(-n // (pieces * block))) * block
    firsts = range(0, n, span)
    if workers > 1 and len(firsts) > 1:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(run, firsts))
    else:
        for first in firsts:
            run(first)
    result = {"final_point": out_point, "final_value": out_value, "final_grad_norm": out_norm,
              "steps_taken": out_steps, "status": status, "diverged_at": out_diverged}
    if record:
        taken = int(out_steps.max(initial=0))
        kernel(1, *common, 0, n, int(steps), tol2, float(max_value), *outs, 0, 0, *recs, taken)
        result.update(points=tracks[0][:taken + 1], values=tracks[1][:taken + 1], grad_norms=tracks[2][:taken + 1])
    return result


# The statuses as NumPy stores them in a '<U9' array: 9 UTF-32 code units each, padded with zeros.
_TEXT = np.array(STATUS, dtype=f"<U{STATUS_WIDTH}").view(np.uint32).reshape(len(STATUS), STATUS_WIDTH).copy()


def _rows(optimizer, options, d):
    """Rows of a thread's working array: the coordinates twice, then the optimizer's state."""
    state, _ = _OPTIMIZERS[optimizer](_flags(optimizer, options))
    return 2 * d + len(state) * d
