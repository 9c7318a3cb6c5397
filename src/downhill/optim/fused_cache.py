"""Fused kernels compiled once, kept on disk, and loaded in a fresh process without numba.

numba compiles a kernel (the ``cfunc`` that :func:`.fused.kernel_source`
writes) in seconds, and even loading one from numba's own cache costs a fresh
process about half a second: importing numba (0.15-0.3 s) and readying its
compiler's tables, which imports SciPy's linear algebra (0.2-0.4 s), before
the first climber moves. So next to numba's cache this module keeps the
kernel's machine code itself, an object file, and loads it with llvmlite
(numba's own code generator, 30 ms to import) into a small in-process linker:
the same machine code, so the same numbers, called through ctypes (which lets
go of the GIL, so threads climb on every core).

An object file is kept only when nothing in it needs numba at run time: its
external functions must be the C math library's (``exp``, ``sin``, ...),
found in this process when it loads. Otherwise, and wherever llvmlite cannot
load it, the kernel comes from numba as before. The file name holds a digest
of the kernel's source, llvmlite's version and this CPU's name and features
(the code is compiled for this CPU), so a changed kernel or another machine
never picks up a stale file; files are written under a temporary name and
renamed.
"""

from __future__ import annotations

import ctypes
import hashlib
import importlib.util
import json
import os
import re
import sys
import threading

from ..files import write_atomically

__all__ = ["load", "FORMAT"]

# Bumped whenever what the files hold changes.
FORMAT = 2

# External functions an object file may call: the C math library's, which
# llvmlite finds in any process (NumPy has loaded libm). Intrinsics that LLVM
# turns into one of these are listed by the name they become.
_C_MATH = {"exp", "expm1", "log", "log1p", "log2", "log10", "exp2", "pow", "sqrt", "sin", "cos", "tan", "asin",
           "acos", "atan", "atan2", "sinh", "cosh", "tanh", "asinh", "acosh", "atanh", "hypot", "fmod", "erf",
           "erfc", "cbrt", "fabs", "floor", "ceil", "trunc", "round", "rint", "copysign", "fmin", "fmax",
           "memset", "memcpy", "memmove"}
# Intrinsics that compile to instructions, never to a call.
_INSTRUCTIONS = {"sqrt", "fabs", "copysign", "floor", "ceil", "trunc", "rint", "nearbyint", "round", "fma",
                 "fmuladd", "minnum", "maxnum", "minimum", "maximum", "lifetime", "assume", "expect",
                 "ctpop", "ctlz", "cttz", "abs", "smax", "smin", "umax", "umin", "experimental", "vector",
                 "sadd", "ssub", "smul", "uadd", "usub", "umul", "stacksave", "stackrestore", "is", "prefetch"}

_LOCK = threading.Lock()
_MACHINE = {}


def _llvm():
    """llvmlite's binding and this CPU's description (name and features), made once per process."""
    if not _MACHINE:
        import llvmlite
        import llvmlite.binding as ll

        for start in ("initialize_native_target", "initialize_native_asmprinter"):
            getattr(ll, start, lambda: None)()
        _MACHINE.update(ll=ll, version=llvmlite.__version__, cpu=ll.get_host_cpu_name(),
                        features=ll.get_host_cpu_features().flatten())
    return _MACHINE


def _engine(ll, machine):
    """An empty in-process linker (MCJIT) for this CPU, as numba makes its own."""
    target = ll.Target.from_triple(ll.get_process_triple())
    arch = target.name
    options = dict(cpu=machine["cpu"], features=machine["features"], opt=3, codemodel="jitdefault",
                   reloc="static" if arch.startswith("x86") else ("pic" if arch.startswith("ppc") else "default"))
    try:
        tm = target.create_target_machine(jit=True, **options)
    except TypeError:  # an llvmlite without the jit argument
        tm = target.create_target_machine(**options)
    module = ll.parse_assembly("")
    module.triple = ll.get_process_triple()
    return ll.create_mcjit_compiler(module, tm)


# numba's wrapper around a kernel keeps a path for an error raised inside it
# (none of ours can raise: error_model='numpy', no bounds checks, no
# allocation) that holds the GIL while Python's error is set; its three
# helpers from numba's runtime, written again here for the loaded copy:
# taking and giving back the GIL, and freeing memory numba allocated, which a
# kernel that allocates nothing (NRT_MemInfo_alloc is not among its symbols)
# never holds.
_SHIMS = """
declare i32 @PyGILState_Ensure()
declare void @PyGILState_Release(i32)
define void @numba_gil_ensure(ptr %state) {
  %s = call i32 @PyGILState_Ensure()
  store i32 %s, ptr %state
  ret void
}
define void @numba_gil_release(ptr %state) {
  %s = load i32, ptr %state
  call void @PyGILState_Release(i32 %s)
  ret void
}
define void @NRT_MemInfo_call_dtor(ptr %meminfo) {
  ret void
}
"""
_SHIMMED = {"numba_gil_ensure", "numba_gil_release", "NRT_MemInfo_call_dtor"}


def required_symbols(ir):
    """The outside functions and globals a kernel's final LLVM module needs, or None when one of them
    is neither the C math library's, nor Python's, nor one of the three helpers of ``_SHIMS``."""
    needed = set()
    for name in re.findall(r'^@"?([\w.$]+)"? = external ', ir, re.M):
        if not name.startswith("Py"):
            return None
        needed.add(name)
    for name in re.findall(r'^declare [^@]*@"?([\w.$]+)"?\(', ir, re.M):
        if name.startswith("llvm."):
            base = name.split(".")[1]
            if base in _INSTRUCTIONS or base in ("x86", "aarch64"):
                continue
            if base not in _C_MATH:
                return None  # llvm.powi becomes __powidf2, from a compiler runtime not always loaded
            needed.add(base)
        elif name in _C_MATH or name.startswith("Py"):
            needed.add(name)
        elif name not in _SHIMMED:
            return None
    return sorted(needed | {"PyGILState_Ensure", "PyGILState_Release"})


def _write(path, data):
    # The project's one way to write a file: a temporary beside it, renamed; on a full disk or a kill
    # the temporary goes (or the next write removes it) and no half file is ever read as a kernel.
    write_atomically(path, lambda file: file.write(data), what="kernel cache file", error=OSError)


def _fast(base, machine):
    """(ctypes function, what keeps it alive) from the object file at ``base``, or None."""
    try:
        with open(base + ".json") as handle:
            meta = json.load(handle)
        with open(base + ".o", "rb") as handle:
            code = handle.read()
    except (OSError, ValueError):
        return None
    if meta.get("format") != FORMAT or hashlib.sha256(code).hexdigest() != meta.get("sha256"):
        return None
    ll = machine["ll"]
    engine = _engine(ll, machine)  # makes the process's own symbols (libm) visible to the linker
    if any(not ll.address_of_symbol(name) for name in meta["symbols"]):
        return None  # resolving a missing function would abort the process: numba's way instead
    shims = ll.parse_assembly(_SHIMS)
    shims.triple = ll.get_process_triple()
    engine.add_module(shims)
    engine.add_object_file(ll.ObjectFileRef.from_data(code))
    engine.finalize_object()
    address = engine.get_function_address(meta["name"])
    if not address:
        return None
    return address, engine


def _loaded(base, machine):
    """:func:`_fast`, or None where llvmlite refuses the file (numba's way serves instead)."""
    try:
        return _fast(base, machine)
    except (RuntimeError, ValueError, OSError):
        return None


def _object_of(cfunc_object):
    """(object code, symbol, C functions it calls) of a numba cfunc, or None when it needs numba at run time."""
    library = cfunc_object._library
    if getattr(library, "_disable_inspection", True):
        return None  # loaded from numba's cache: its module text (what it calls) is not at hand
    try:
        code = library._get_compiled_object()
        ir = library.get_llvm_str()
    except (AttributeError, ValueError, RuntimeError):
        return None
    if "define " not in ir:
        return None
    symbols = required_symbols(ir)
    if symbols is None:
        return None
    return code, cfunc_object.native_name, symbols


def load(source, folder, signature, compile_new=True):
    """The kernel of ``source`` as a ctypes function ``signature``, and what keeps it alive; None when it
    would have to be compiled and ``compile_new`` is False.

    Looks for the object file first (no numba), then numba's cache (the
    generated module beside it), and compiles with numba only when neither
    is there. Raises OSError when the folder cannot be written.
    """
    machine = _llvm()
    identity = "\n".join([source, str(FORMAT), machine["version"], machine["cpu"], machine["features"]])
    digest = hashlib.sha256(identity.encode()).hexdigest()[:24]
    base = os.path.join(folder, f"k_{digest}")
    with _LOCK:
        found = _loaded(base, machine)
        if found is not None:
            return signature(found[0]), found[1]
        path = base + ".py"
        if not os.path.exists(path):
            if not compile_new:
                return None
            os.makedirs(folder, exist_ok=True)
            # Written once and never rewritten: numba's cache is keyed by the file's time stamp.
            _write(path, source.encode())
        name = f"downhill_kernel_{digest}"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # numba's cache locates functions through their module
        spec.loader.exec_module(module)
        kernel = module.climb
        kept = _object_of(kernel)
        if kept is not None:
            code, symbol, symbols = kept
            meta = {"format": FORMAT, "name": symbol, "symbols": symbols,
                    "sha256": hashlib.sha256(code).hexdigest()}
            try:
                _write(base + ".o", code)
                _write(base + ".json", json.dumps(meta).encode())
            except OSError:  # numba's copy serves this process; the next one compiles or loads numba's cache
                pass
            else:
                # This process runs the loaded copy too: one machine code for every process.
                found = _loaded(base, machine)
                if found is not None:
                    return signature(found[0]), found[1]
        return signature(kernel.address), kernel


def c_signature(codes):
    """The ctypes prototype for argument type codes (see :data:`.fused.ARGUMENT_TYPES`)."""
    kinds = {"i": ctypes.c_int64, "d": ctypes.c_double, "p": ctypes.c_void_p, "q": ctypes.c_void_p,
             "u": ctypes.c_void_p}
    return ctypes.CFUNCTYPE(None, *[kinds[c] for c in codes])
