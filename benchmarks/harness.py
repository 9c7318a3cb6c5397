"""How every benchmark here measures: blocks of consecutive calls, alternating engines.

Each engine runs a *block*: the same call repeated back to back until at least
``min_block`` seconds (0.2 s) have passed, after one untimed call that lets it
wake its thread pool. The time per call of that block is one sample. Blocks
alternate between engines (A-block, B-block, C-block, A-block, ...), so drift
in the machine's load hits all of them alike, and a user's steady state (one
library's calls back to back) is what gets timed. We print the median over
blocks and the min-max, and ratios of medians.

Why not one call of each engine in turn: BLAS and OpenMP thread pools keep
spinning for a while after a call returns. Alternating single calls makes each
library's threads fight the other's idle spinners for the same cores, and
slows whichever library comes second by up to 10x on small matmuls (see
benchmarks/README.md). Nobody trains that way, so we never measure that way.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field

MIN_BLOCK = 0.2


@dataclass
class Result:
    """Per-call times (seconds) of one engine, one sample per block."""

    name: str
    samples: list = field(default_factory=list)
    calls: int = 0
    value: object = None

    @property
    def median(self):
        return statistics.median(self.samples)

    def line(self, unit, scale, reference=None):
        lo, hi = min(self.samples), max(self.samples)
        text = (f"   {self.name:<30} {self.median * scale:10.3f} {unit}"
                f"   [{lo * scale:.3f}-{hi * scale:.3f}]  ({len(self.samples)} blocks, {self.calls} calls)")
        if reference is not None and reference is not self:
            text += f"   downhill/{self.name} = {reference.median / self.median:.3f}x"
        return text


def block(fn, min_block=MIN_BLOCK, warm=True):
    """Run ``fn`` back to back for at least ``min_block`` seconds; (seconds per call, calls, last result)."""
    if warm:
        fn()
    calls = 0
    start = time.perf_counter()
    while True:
        result = fn()
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_block:
            return elapsed / calls, calls, result


def alternate(contenders, rounds=5, min_block=MIN_BLOCK, warm=True):
    """Blocks of each contender in turn, ``rounds`` times. ``contenders``: [(name, fn or None)]."""
    results = {name: Result(name) for name, fn in contenders if fn is not None}
    for _ in range(rounds):
        for name, fn in contenders:
            if fn is None:
                continue
            per_call, calls, value = block(fn, min_block, warm)
            results[name].samples.append(per_call)
            results[name].calls += calls
            results[name].value = value
    return results


def report(title, results, unit="ms", scale=1e3):
    """Print one table: downhill first, then its peers with downhill/peer ratios."""
    print(title)
    ours = results.get("downhill")
    for result in results.values():
        print(result.line(unit, scale, ours))


def ratio(results, peer):
    return results["downhill"].median / results[peer].median


def in_subprocess(code, timeout=600, env=None):
    """Run ``code`` in a fresh Python (same interpreter, same sys.path); its last stdout line as JSON.

    ``env``: variables to set for it (None removes one).
    """
    extra = env or {}
    env = {k: v for k, v in {**os.environ, **extra}.items() if v is not None}
    here = os.path.dirname(os.path.abspath(__file__))
    env["PYTHONPATH"] = os.pathsep.join([here] + [p for p in sys.path if p])
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=timeout)
    if out.returncode:
        raise RuntimeError(f"benchmark subprocess failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def threads():
    """The thread pools each library would use here, to print beside the figures."""
    parts = [f"{os.cpu_count()} CPUs", f"load {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else ""]
    try:
        from threadpoolctl import threadpool_info

        for pool in threadpool_info():
            kernel = f" {pool['architecture']} kernel" if pool.get("architecture") else ""
            line = f"{pool['prefix']} ({pool['user_api']}){kernel}: {pool['num_threads']} threads"
            if line not in parts:  # the same library loaded twice (NumPy's and SciPy's copy) says it once
                parts.append(line)
    except ImportError:
        parts.append("NumPy BLAS threads unknown (pip install threadpoolctl)")
    if "torch" in sys.modules:
        parts.append(f"torch {sys.modules['torch'].get_num_threads()} threads")
    if "numba" in sys.modules:
        parts.append(f"numba {sys.modules['numba'].config.NUMBA_NUM_THREADS} threads")
    parts.append(f"Python {platform.python_version()}")
    return "; ".join(p for p in parts if p)


@dataclass
class Row:
    """One line of the README's speed table."""

    workload: str
    what: str
    command: str
    ours: str
    peers: str
    ratio: str
    bar: str
    met: bool | None  # None: a figure to read, with no bar

    @property
    def outcome(self):
        return "" if self.met is None else ("met" if self.met else "NOT met")

    def markdown(self):
        outcome = f" ({self.outcome})" if self.outcome else ""
        return (f"| {self.workload}: {self.what} (`{self.command}`) | {self.ours} | {self.peers} | "
                f"{self.ratio} | {self.bar}{outcome} |")

    def verdict(self):
        return f"{self.workload} {self.what}: {self.ratio} (bar {self.bar}{': ' + self.outcome if self.outcome else ''})"
