"""What one request of the class mix costs a worker, per kind of request: before and after a change.

Each kind of request that ``load_web.py`` sends (descend of 1 to 5 climbers
x 200 to 1000 steps, a 100 x 100 surface, a 25-rate sweep, a 60 x 60 basin
map) is answered as a worker answers it (``downhill.web.app.compute``: the
handler's checks, the library, the JSON), plus the gzip that the server adds
on the way out (level 1, as the app's middleware; counted once, wherever it
runs), in the same process, every request computed (no kept answers), one request after another: no HTTP, no pool.
The bodies are the load test's own (seeded), so both sides answer the same
requests.

``--against DIR`` times a second source tree (``DIR`` holds the ``downhill``
package, such as an export of the last commit) in the same run: each side
runs in its own process, in alternating blocks (A B A B ...), each block at
least ``--block`` CPU seconds of each kind; CPU time per request (which
varies less than wall time when other jobs share the cores), medians over the
blocks, min-max, and the ratio. On a shared machine only the ratios mean much.

Run by hand:
    python benchmarks/web_requests.py
    git archive HEAD src | tar -x -C /tmp/base && python benchmarks/web_requests.py --against /tmp/base/src
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(os.path.dirname(HERE), "src")
KINDS = ("/api/descend", "/api/surface", "/api/lr_sweep", "/api/basins")
WEIGHTS = {"/api/descend": 12, "/api/surface": 3, "/api/lr_sweep": 2, "/api/basins": 1, "/api/landscapes": 1}


def bodies(count: int = 4000) -> dict[str, list[dict]]:
    """The load test's requests (seeded), by route."""
    sys.path.insert(0, HERE)
    import load_web

    rng = random.Random(0)
    found: dict[str, list[dict]] = {}
    for _ in range(count):
        _, path, body = load_web.class_request(rng)
        found.setdefault(path, []).append(body)
    return found


def child(block: float, rounds: int) -> None:
    """In a process of its own: time each kind ``rounds`` times, print one JSON line per round."""
    from downhill.optim import descend
    from downhill.web import api, app

    descend.WORKERS = 1  # as in a worker of the pool
    functions = {handler.path: handler.function for handler in api.ROUTES}
    requests = bodies()

    def answer(path, body):
        result = app.compute((functions[path], body))
        assert result[0] == "ok", result
        if len(result) == 4:  # ("ok", content, encoding, seconds): the worker compressed it already
            return result[1]
        content = result[1]  # ("ok", content, seconds): the server's middleware compressed it
        return gzip.compress(content, 1) if len(content) >= 1000 else content

    for path in KINDS:  # warm up: traced programs, imports
        for body in requests[path][:2]:
            answer(path, body)
    for _ in range(rounds):
        line = {}
        for path in KINDS:
            # CPU seconds of this process: on a machine shared with other jobs they
            # vary far less than wall time, which counts the waits for a core.
            done, started = 0, time.process_time()
            while True:
                answer(path, requests[path][done % len(requests[path])])
                done += 1
                if time.process_time() - started >= block and done >= 3:
                    break
            line[path] = (time.process_time() - started) / done
        print(json.dumps(line), flush=True)


def run_side(source: str, block: float) -> dict[str, float]:
    environment = {**os.environ, "PYTHONPATH": source}
    output = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", "--block", str(block),
                             "--rounds", "1"], env=environment, capture_output=True, text=True, check=True)
    return json.loads(output.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", help="another source tree (a folder holding the downhill package)")
    parser.add_argument("--blocks", type=int, default=5, help="blocks per side")
    parser.add_argument("--block", type=float, default=1.0, help="seconds of each kind per block")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--rounds", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.block, args.rounds)
        return 0
    sides = {"this": SOURCE}
    if args.against:
        sides["against"] = os.path.abspath(args.against)
    print(f"CPU per request as a worker pays it (compute + JSON + gzip level 1), {args.blocks} blocks of "
          f">= {args.block:g} CPU s per kind; load average {os.getloadavg()[0]:.2f}")
    for name, source in sides.items():
        print(f"  {name}: {source}")
    times: dict[str, dict[str, list[float]]] = {name: {path: [] for path in KINDS} for name in sides}
    for _ in range(args.blocks):
        for name, source in sides.items():  # alternating blocks: A B A B ...
            for path, seconds in run_side(source, args.block).items():
                times[name][path].append(seconds)
    mix = {name: sum(WEIGHTS[p] * statistics.median(times[name][p]) for p in KINDS) / sum(WEIGHTS.values())
           for name in sides}
    header = f"  {'request':<16}" + "".join(f"{name + ' ms (min-max)':>26}" for name in sides)
    print(header + (f"{'this / against':>16}" if len(sides) > 1 else ""))
    for path in KINDS:
        row = f"  {path:<16}"
        for name in sides:
            values = times[name][path]
            row += f"{statistics.median(values) * 1000:>10.2f} ({min(values) * 1000:.2f}-{max(values) * 1000:.2f})".rjust(26)
        if len(sides) > 1:
            row += f"{statistics.median(times['this'][path]) / statistics.median(times['against'][path]):>16.2f}"
        print(row)
    row = f"  {'mix (weighted)':<16}" + "".join(f"{mix[name] * 1000:>26.2f}" for name in sides)
    if len(sides) > 1:
        row += f"{mix['this'] / mix['against']:>16.2f}"
    print(row)
    print("  (mix: the load test's weights 12:3:2:1 and the catalogue, which no worker computes, at 0)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
