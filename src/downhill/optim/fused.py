"""Many climbers in one compiled loop: descend's trace turned into a fused kernel (numba).

The NumPy path of :mod:`downhill.optim.descend` pays one pass over memory per
operation per step. Here the same trace (the landscape's graph, read link by
link as :mod:`downhill.autodiff.compile` reads it) is written out as scalar
code, together with the optimizer's update rule, into one Python module that
numba compiles: a block of climbers small enough for the L1 cache takes
*every* step before the next block starts, blocks run on all cores, and a step
allocates nothing.

Numbers. The optimizer part repeats the in-place rules of
:mod:`downhill.optim.functional` operation for operation (IEEE arithmetic, no
fused multiply-add: numba's default, without ``fastmath``), and the landscape
part repeats the forward functions and derivative rules of
:mod:`downhill.autodiff.ops`. Additions, products, quotients, square roots
and whole powers round exactly as on the NumPy path, so polynomial landscapes
give bit-identical climbers. ``exp``, ``log``, ``sin``, ... come from the C
library here and from NumPy's vectorised loops there; they may differ in the
last bit, so the two paths agree to about 1e-12 relative (more only where the
landscape itself amplifies rounding). On this path, a climber run alone (a
batch of one) and the same climber inside a batch are bit-identical.

Compiled kernels are cached on disk (numba's ``cache=True``) beside the
generated module, under ``$DOWNHILL_CACHE_DIR`` or ``~/.cache/downhill``, so a
fresh process loads a kernel instead of compiling it. Set ``DOWNHILL_FUSED=0``
to use the NumPy path. Without numba installed (``pip install
"downhill[fast]"``), descend uses the NumPy path.

The generated code is written by this module from the op table and the
optimizer's name; a formula typed by a person reaches it only as the graph of
downhill ops that the safe parser built, with numbers as ``repr`` of floats.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .fused_landscape import HELPERS, NotFusable, landscape_source

__all__ = ["available", "climb", "kernel_source", "NotFusable", "BLOCK", "WORTH_COMPILING"]

# Climbers per block: a block's working arrays (coordinates, gradients,
# optimizer state, value) stay in the 32-48 KiB L1 cache while it takes all its steps.
BLOCK = 512
STATUS = ("max_steps", "converged", "diverged")


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


def _lerp(target, weight, one_minus):
    return [f"d = g - {target}",
            f"if abs({weight}) < 0.5:", f"    d = d * {weight}", f"    {target} = {target} + d",
            "else:", f"    d = d * {one_minus}", f"    {target} = g - d"]


def _sgd(flags):
    lines = _direction(flags)
    state = []
    if flags["momentum"]:
        state.append("buf")
        lines += ["if t == 0:", "    s_buf = g", "else:", "    s_buf = s_buf * H_momentum",
                  "    s_buf = s_buf + (g if H_dampening == 0 else g * H_one_minus_dampening)"]
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


def kernel_source(formula, variables, optimizer, options, record=False):
    """The Python source of the fused kernel (what numba compiles), for reading.

    With ``record`` the kernel also writes every step of every climber into
    ``rec_point`` (steps + 1, n, d), ``rec_value`` and ``rec_norm2`` (steps + 1, n),
    and the module has ``fill``, which holds each stopped climber where it stopped.

    >>> src = kernel_source("x**2 + y**2", ("x", "y"), "sgd", {})
    >>> "def climb(" in src and "= x0 * x0" in src
    True
    """
    if optimizer not in _OPTIMIZERS:
        raise NotFusable(f"no fused form of {optimizer!r}")
    d = len(variables)
    flags = _flags(optimizer, options)
    state, rule = _OPTIMIZERS[optimizer](flags)
    H, R = _hyper(optimizer, options, [0.0])
    coords = range(d)
    L = []
    # Threads come from Python (nogil): numba's parallel=True would cost a
    # second or more to load from the cache in every fresh process.
    L.append("@njit(error_model='numpy', cache=True, nogil=True)")
    L.append("def climb(P, first, last, steps, tol2, max_value, H, RS, out_point, out_value, out_norm2, out_steps, "
             "out_status" + (", rec_point, rec_value, rec_norm2):" if record else "):"))
    for i, key in enumerate(H):
        L.append(f"    H_{key} = H[{i}]")
    for i, key in enumerate(R):
        L.append(f"    R_{key} = RS[{i}]")
    L.append(f"    for lo in range(first, last, {BLOCK}):")
    L.append(f"        m = min(last, lo + {BLOCK}) - lo")
    L.append("        ids = np.arange(lo, lo + m)")
    arrays = [f"X{k}" for k in coords] + [f"G{k}" for k in coords] + [
        f"S{name}{k}" for name in state for k in coords] + ["V", "N2"]
    for a in arrays:
        L.append(f"        {a} = np.empty(m)")
    for k in coords:
        L.append(f"        for j in range(m):")
        L.append(f"            X{k}[j] = P[lo + j, {k}]")
        for name in state:
            init = "H_initial" if name == "sum" else "0.0"
            L.append(f"            S{name}{k}[j] = {init}")
    L.append("        for t in range(steps + 1):")
    L.append("            stops = 0")
    L.append("            for j in range(m):")
    L.append(f"                r = _slope({', '.join(f'X{k}[j]' for k in coords)})")
    L.append("                V[j] = r[0]")
    for k in coords:
        L.append(f"                G{k}[j] = r[{k + 1}]")
    L.append("                n2 = r[1] * r[1]")
    for k in range(1, d):
        L.append(f"                n2 = n2 + r[{k + 1}] * r[{k + 1}]")
    L.append("                N2[j] = n2")
    if record:
        L.append("                i = ids[j]")
        L.append("                rec_value[t, i] = r[0]")
        L.append("                rec_norm2[t, i] = n2")
        for k in coords:
            L.append(f"                rec_point[t, i, {k}] = X{k}[j]")
    # & rather than ``and``: no branch, so the loop over the block can be vectorised.
    L.append("                ok = (abs(r[0]) <= max_value) & (n2 < INF) & (n2 > tol2)")
    L.append("                stops += 0 if ok else 1")
    L.append("            if stops or t == steps:")
    L.append("                keep = 0")
    L.append("                for j in range(m):")
    L.append("                    diverged = not (abs(V[j]) <= max_value) or not (N2[j] < INF)")
    L.append("                    converged = (not diverged) and N2[j] <= tol2")
    L.append("                    if diverged or converged or t == steps:")
    L.append("                        i = ids[j]")
    for k in coords:
        L.append(f"                        out_point[i, {k}] = X{k}[j]")
    L.append("                        out_value[i] = V[j]")
    L.append("                        out_norm2[i] = N2[j]")
    L.append("                        out_steps[i] = t")
    L.append("                        out_status[i] = 2 if diverged else (1 if converged else 0)")
    L.append("                    else:")
    L.append("                        ids[keep] = ids[j]")
    for a in arrays:
        L.append(f"                        {a}[keep] = {a}[j]")
    L.append("                        keep += 1")
    L.append("                m = keep")
    L.append("                if m == 0:")
    L.append("                    break")
    L.append("            for j in range(m):")
    for k in coords:
        L.append(f"                x = X{k}[j]")
        L.append(f"                G = G{k}[j]")
        for name in state:
            L.append(f"                s_{name} = S{name}{k}[j]")
        L.extend("                " + line for line in rule)
        L.append(f"                X{k}[j] = x")
        for name in state:
            L.append(f"                S{name}{k}[j] = s_{name}")
    if record:
        # A climber that stopped at step s stays there for the rest of the record.
        L += ["", "", "@njit(error_model='numpy', cache=True, nogil=True)",
              "def fill(rec_point, rec_value, rec_norm2, out_steps, taken):",
              "    for i in range(out_steps.shape[0]):",
              "        s = out_steps[i]",
              "        for t in range(s + 1, taken + 1):",
              "            rec_value[t, i] = rec_value[s, i]",
              "            rec_norm2[t, i] = rec_norm2[s, i]",
              "            for k in range(rec_point.shape[2]):",
              "                rec_point[t, i, k] = rec_point[s, i, k]"]
    head = ("# Generated by downhill.optim.fused from the landscape's trace; do not edit.\n"
            f"# formula: {formula!r} variables: {tuple(variables)!r} optimizer: {optimizer} "
            f"flags: {sorted(k for k, v in flags.items() if v)}{' record' if record else ''}\n"
            "import math\nimport numpy as np\nfrom numba import njit\n\n"
            "INF = math.inf\nNAN = math.nan\n")
    return head + HELPERS + "\n\n" + landscape_source(formula, variables) + "\n\n" + "\n".join(L) + "\n"


def threads() -> int:
    """Threads for one call: ``DOWNHILL_THREADS``, else the CPUs this process may use."""
    wanted = os.environ.get("DOWNHILL_THREADS")
    if wanted:
        return max(1, int(wanted))
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


_LOADED = {}
_LOCK = threading.Lock()


def _kernel(formula, variables, optimizer, options, compile_new=True, record=False):
    """The compiled kernel's module; None when it would have to be compiled and ``compile_new`` is False."""
    flags = _flags(optimizer, options)
    key = (formula, tuple(variables), optimizer, tuple(sorted(flags.items())), record)
    kernel = _LOADED.get(key)
    if kernel is not None:
        return kernel
    with _LOCK:
        kernel = _LOADED.get(key)
        if kernel is not None:
            return kernel
        source = kernel_source(formula, variables, optimizer, options, record)
        version = importlib.metadata.version("numba")
        digest = hashlib.sha256((source + version).encode()).hexdigest()[:24]
        folder = cache_dir()
        path = os.path.join(folder, f"k_{digest}.py")
        if not os.path.exists(path):
            if not compile_new:
                return None
            try:
                os.makedirs(folder, exist_ok=True)
            except OSError as error:  # a read-only home: the NumPy path still works
                raise NotFusable(f"cannot write the kernel cache {folder}: {error}") from error
            # Written once under a temporary name and renamed: a reader never
            # sees half a file, and numba's cache (keyed by the file's time
            # stamp) stays valid because the file is never rewritten.
            temporary = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"
            with open(temporary, "w") as handle:
                handle.write(source)
            os.replace(temporary, path)
        name = f"downhill_kernel_{digest}"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # numba's cache locates functions through their module
        spec.loader.exec_module(module)
        kernel = _LOADED[key] = module
    return kernel


def climb(formula, variables, optimizer, options, start, rates, steps, tol, max_value, record=False):
    """Run every climber of ``start`` (n, d) through the fused kernel; the per-climber results.

    ``rates`` is the learning rate of each step (length ``steps``). Returns a
    dict of ``final_point``, ``final_value``, ``final_norm2``, ``steps_taken``,
    ``status`` and ``diverged_at`` (as descend's NumPy path fills them), and
    with ``record`` the path: ``points`` (taken + 1, n, d), ``values`` and
    ``norm2s`` (taken + 1, n), taken the most steps any climber took. Raises
    :class:`NotFusable` for what has no fused form. descend calls it for
    batches of climbers; :func:`kernel_source` shows the code it runs.
    """
    if not all(isinstance(v, (int, float, np.integer, np.floating, bool, tuple)) for v in options.values()):
        raise NotFusable("array-valued options (one per climber) run on the NumPy path")
    n, d = start.shape
    eager = os.environ.get("DOWNHILL_FUSED") == "1" or n * (steps + 1) >= WORTH_COMPILING
    module = _kernel(formula, variables, optimizer, options, compile_new=eager, record=record)
    if module is None:
        raise NotFusable("a small batch: the NumPy path is quicker than compiling a new kernel")
    H, R = _hyper(optimizer, options, [float(r) for r in rates] or [0.0])
    h = np.array(list(H.values()), dtype=np.float64)
    rs = np.zeros((max(len(R), 1), max(steps, 1)))
    for i, values in enumerate(R.values()):
        rs[i, :len(values)] = values[:steps] if steps else 0.0
    out_point = np.empty((n, d))
    out_value, out_norm2 = np.empty(n), np.empty(n)
    out_steps = np.zeros(n, dtype=np.int64)
    out_status = np.zeros(n, dtype=np.int8)
    start = np.ascontiguousarray(start, dtype=np.float64)
    tol2 = float(tol) * float(tol)
    # The record's rows past the last step taken are never written: np.empty
    # leaves them as untouched (unmapped) memory.
    tracks = (np.empty((steps + 1, n, d)), np.empty((steps + 1, n)), np.empty((steps + 1, n))) if record else ()

    def run(first):
        module.climb(start, first, min(n, first + span), int(steps), tol2, float(max_value), h, rs,
                     out_point, out_value, out_norm2, out_steps, out_status, *tracks)

    # Each thread takes a contiguous run of whole blocks; the kernel lets go of the GIL.
    workers = max(1, min(threads(), -(-n // BLOCK)))
    span = max(1, -(-n // (workers * BLOCK))) * BLOCK
    firsts = range(0, n, span)
    if len(firsts) > 1:
        with ThreadPoolExecutor(len(firsts)) as pool:
            list(pool.map(run, firsts))
    elif n:
        run(0)
    status = np.array(STATUS)[out_status]
    result = {"final_point": out_point, "final_value": out_value, "final_norm2": out_norm2,
              "steps_taken": out_steps, "status": status,
              "diverged_at": np.where(out_status == 2, out_steps, -1)}
    if record:
        taken = int(out_steps.max(initial=0))
        module.fill(*tracks, out_steps, taken)
        result.update(points=tracks[0][:taken + 1], values=tracks[1][:taken + 1], norm2s=tracks[2][:taken + 1])
    return result
