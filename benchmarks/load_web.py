"""The playground's server under a class's load: latency, the class mix, and one learner asking for the most.

Starts the server as a teacher does, ``python -m downhill serve --workers N
--port 0`` (127.0.0.1, a free port), in a subprocess, then, over real HTTP
on loopback only, each phase bounded in time:

(1) latency, the median over repeats of one request at a time (the whole
    answer received, JSON included):
      - POST /api/descend, one climber, 1000 steps       must be <= 20 ms
      - POST /api/surface, 200 x 200 with gradients      must be <= 50 ms
      - POST /api/basins, 100 x 100 starts, 200 steps    must be <= 1 s
(2) the class mix: ``--clients`` concurrent clients (one connection each)
    for ``--seconds``, each looping over what the page sends, in the page's
    proportions (12 : 3 : 2 : 1 : 1): descend (200 to 1000 steps, 1 to 5
    climbers), surface 100 x 100, an lr-sweep (25 rates x 100 steps, the
    learning-rate panel's), a 60 x 60 basin map of 200 steps, the catalogue. Bars: 0 errors, p99 <=
    1 s, throughput >= 2 x 68 requests/s (68: one process, one computation
    at a time, before the worker pool).
(3) the same mix while one more client loops the most expensive request the
    limits allow (a basin map of a long typed formula, its steps raised until
    the cost estimate is at its bound). Bars: the others' p99 <= 1.5 s and no
    failure among them; each expensive request answered (result or the
    budget's 503) within the time budget + 1 s.

The server keeps answers for identical requests (a class sends many: the
mix's surfaces, sweeps and basin maps are 8 bodies each, its descends are
all different); the tables count the answers it sent from what it kept.
``--cache-mb 0`` makes it compute every request. The latency checks of (1)
ask for a fresh computation each time (``Cache-Control: no-cache``).

Prints tables, the machine's load average before and after (the figures
only mean something on a quiet machine), and exits 1 if a bar is missed.

Run by hand (the README's figures):
    python benchmarks/load_web.py --workers 2 --clients 64 --seconds 30
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import select
import signal
import statistics
import subprocess
import sys
import time

import httpx

from downhill.web import api, limits

DESCEND = {"landscape": "himmelblau", "start": [0.0, 0.0], "lr": 0.001, "steps": 1000, "tol": 0.0}
SURFACE = {"landscape": "rosenbrock", "n": 200, "gradients": True}
BASINS = {"landscape": "himmelblau", "optimizer": "sgd", "lr": 0.01, "grid": 100, "steps": 200}
LANDSCAPES = ("himmelblau", "rosenbrock", "booth", "rastrigin", "ackley", "beale", "six_hump_camel", "sphere")
TODAY = 68.0  # requests/s before the worker pool (README, one process, ENGINE_LOCK)

# A long typed formula, as a learner may type one (transcendental functions cost the most per operation).
LONG = ("sin(x)*cos(y) + exp(-(x-1)**2 - (y+1)**2) + log(1 + x**2 + y**2) + tanh(x*y) + sqrt(1 + x**2) "
        "+ cos(x+y)**2 + sin(x-y)**2 + exp(-x**2)*cos(3*y) + atan(x)*atan(y) + (x**2 + y - 11)**2/100 "
        "+ (x + y**2 - 7)**2/100 + abs(x)/10 + abs(y)/10 + sin(2*x)*sin(2*y) + cos(x*y/2) + x**4/100 "
        "+ y**4/100 + 0.1*x*y + sinh(x/10)*cosh(y/10) + exp(-(x+2)**2 - (y-2)**2)/2 + cos(x)*sin(y)/3")


def most_expensive(grid: int = 150) -> dict:
    """A basin map of LONG on a grid x grid, with the most steps the cost estimate admits."""
    def admitted(steps: int) -> bool:
        try:
            with limits.checking_only():
                api.basins({"expression": LONG, "grid": grid, "steps": steps, "lr": 1e-4})
        except limits.Admitted:
            return True
        except limits.RequestError:
            return False
        return True

    low, high = 1, limits.MAX_STEPS
    while low < high:
        middle = (low + high + 1) // 2
        low, high = (middle, high) if admitted(middle) else (low, middle - 1)
    return {"expression": LONG, "grid": grid, "steps": low, "lr": 1e-4}


def class_request(rng: random.Random) -> tuple[str, str, dict | None]:
    """One request of the class mix: (method, path, body)."""
    # Weights as the page sends them: opening the mountain panel (catalogue, surface, descend), a dozen
    # climbs as a learner drops climbers and changes settings, two learning-rate panels (a surface, a
    # sweep, and three descends each, counted with the climbs), one basin map.
    kind = rng.choices(("descend", "surface", "lr_sweep", "basins", "catalogue"), weights=(12, 3, 2, 1, 1))[0]
    name = rng.choice(LANDSCAPES)
    if kind == "catalogue":
        return "GET", "/api/landscapes", None
    if kind == "descend":
        starts = [[rng.uniform(-3, 3), rng.uniform(-3, 3)] for _ in range(rng.randint(1, 5))]
        return "POST", "/api/descend", {"landscape": name, "start": starts, "lr": 1e-3,
                                        "steps": rng.randint(200, 1000)}
    if kind == "surface":
        return "POST", "/api/surface", {"landscape": name, "n": 100}
    if kind == "lr_sweep":
        lrs = [round(1e-4 * 1.5**k, 8) for k in range(25)]
        return "POST", "/api/lr_sweep", {"landscape": name, "start": [1.5, -1.0], "lrs": lrs, "steps": 100}
    return "POST", "/api/basins", {"landscape": name, "grid": 60, "steps": 200, "lr": 1e-3}


def start_server(workers: int, timeout: float = 60.0, cache_mb: float | None = None):
    """``python -m downhill serve --workers N --port 0`` in a subprocess; returns (process, base URL)."""
    command = [sys.executable, "-m", "downhill", "serve", "--workers", str(workers), "--port", "0"]
    if cache_mb is not None:
        command += ["--cache-mb", f"{cache_mb:g}"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.1)
        if ready:
            line = process.stdout.readline()
            if "http://" in line:
                url = line.split()[2].rstrip("/")
                if not url.startswith("http://127.0.0.1:"):
                    raise SystemExit(f"refusing to load-test {url}: loopback only")
                return process, url
        if process.poll() is not None:
            break
    process.kill()
    raise SystemExit(f"the server did not start: {process.stderr.read()}")


def stop_server(process) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def server_seconds(response: httpx.Response) -> float:
    """The server's own time for the answer (compute and JSON), from its Server-Timing header."""
    return float(response.headers["server-timing"].split("dur=")[1]) / 1000


def median_latency(client: httpx.Client, path: str, body: dict, repeats: int) -> tuple[float, float, int]:
    """Median seconds of one request at a time (after one warm-up), the server's part, the answer's size.

    Each is computed afresh (``Cache-Control: no-cache``): the cost of computing, not of a kept answer.
    """
    fresh = {"cache-control": "no-cache"}
    response = client.post(path, json=body, headers=fresh)  # warm-up: the tracer's cache in each worker, imports
    response.raise_for_status()
    times, server = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        response = client.post(path, json=body, headers=fresh)
        size = len(response.content)
        times.append(time.perf_counter() - started)
        response.raise_for_status()
        server.append(server_seconds(response))
    return statistics.median(times), statistics.median(server), size


async def load(url: str, clients: int, seconds: float, expensive: dict | None = None, seed: int = 0):
    """``clients`` coroutines sending the class mix until ``seconds`` have passed (and the expensive one)."""
    latencies: list[float] = []
    kinds: dict[str, list[float]] = {}
    errors: list[str] = []
    heavy: list[tuple[float, int]] = []
    kept: dict[str, int] = {}
    pool = httpx.Limits(max_connections=clients + 1, max_keepalive_connections=clients + 1)
    async with httpx.AsyncClient(base_url=url, timeout=60.0, limits=pool) as client:
        deadline = time.perf_counter() + seconds

        async def one_client(k: int):
            rng = random.Random(seed + k)  # seeded: the same mix on every run
            while time.perf_counter() < deadline:
                method, path, body = class_request(rng)
                started = time.perf_counter()
                try:
                    response = await client.request(method, path, json=body)
                    await response.aread()
                except httpx.HTTPError as error:
                    errors.append(f"{path}: {type(error).__name__}: {error}")
                    continue
                if response.status_code != 200:
                    errors.append(f"{path}: HTTP {response.status_code}: {response.text[:120]}")
                    continue
                took = time.perf_counter() - started
                latencies.append(took)
                kinds.setdefault(path, []).append(took)
                if "kept" in response.headers.get("server-timing", ""):  # the server's kept answer
                    kept[path] = kept.get(path, 0) + 1

        async def expensive_client():
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                try:
                    response = await client.post("/api/basins", json=expensive)
                    await response.aread()
                    status = response.status_code
                except httpx.HTTPError:
                    status = 0
                heavy.append((time.perf_counter() - started, status))

        began = time.perf_counter()
        tasks = [one_client(k) for k in range(clients)]
        if expensive is not None:
            tasks.append(expensive_client())
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - began
    return latencies, kinds, errors, elapsed, heavy, kept


def cpu_seconds(root: int) -> dict[str, float]:
    """CPU seconds (user + system) used so far by the server process and by the processes below it (Linux)."""
    parents, used = {}, {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry)] = int(fields[1])
            used[int(entry)] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    below, todo = set(), [root]
    while todo:
        pid = todo.pop()
        children = [child for child, parent in parents.items() if parent == pid]
        below.update(children)
        todo.extend(children)
    return {"server": used.get(root, 0.0), "workers": sum(used.get(pid, 0.0) for pid in below)}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def report(title: str, latencies, kinds, errors, elapsed, kept=None) -> float:
    throughput = len(latencies) / elapsed if elapsed else 0.0
    kept = kept or {}
    print(title)
    print(f"  {'route':<18} {'requests':>9} {'p50':>9} {'p99':>9} {'max':>9} {'kept answers':>13}")
    for path, values in sorted(kinds.items()):
        print(f"  {path:<18} {len(values):>9} {percentile(values, 50) * 1000:>7.0f}ms "
              f"{percentile(values, 99) * 1000:>7.0f}ms {max(values) * 1000:>7.0f}ms {kept.get(path, 0):>13}")
    print(f"  {'all':<18} {len(latencies):>9} {percentile(latencies, 50) * 1000:>7.0f}ms "
          f"{percentile(latencies, 99) * 1000:>7.0f}ms {max(latencies, default=float('nan')) * 1000:>7.0f}ms")
    print(f"  throughput {throughput:.1f} requests/s over {elapsed:.1f} s; errors {len(errors)}"
          + (f" (first: {errors[0]})" if errors else ""))
    return throughput


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--repeats", type=int, default=30, help="repeats of the descend latency check")
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--skip-expensive", action="store_true")
    parser.add_argument("--cache-mb", type=float, default=None,
                        help="the server's --cache-mb (default: its own, 64; 0: every request computed)")
    args = parser.parse_args(argv)

    load_before = os.getloadavg()
    print(f"downhill playground load test: Python {platform.python_version()}, {os.cpu_count()} CPU(s), "
          f"{platform.machine()}; load average before {load_before[0]:.2f} {load_before[1]:.2f}")
    expensive = most_expensive()
    process, url = start_server(args.workers, cache_mb=args.cache_mb)
    failures = []
    try:
        cache = "" if args.cache_mb is None else f" --cache-mb {args.cache_mb:g}"
        print(f"server: {url} (python -m downhill serve --workers {args.workers}{cache}, subprocess {process.pid})")
        if not args.skip_latency:
            rows = []
            with httpx.Client(base_url=url, timeout=60.0) as client:
                for label, path, body, repeats, limit in (
                    ("descend, 1 climber x 1000 steps", "/api/descend", DESCEND, args.repeats, 0.020),
                    ("surface, 200 x 200 with gradients", "/api/surface", SURFACE, max(10, args.repeats // 2),
                     0.050),
                    ("basins, 100 x 100 starts x 200 steps", "/api/basins", BASINS, 5, 1.0),
                ):
                    seconds, server, size = median_latency(client, path, body, repeats)
                    ok = seconds <= limit
                    failures += [] if ok else [label]
                    rows.append((label, seconds, server, limit, size, repeats, ok))
            print("\n(1) latency, one request at a time (median; server: computing and encoding)")
            for label, seconds, server, limit, size, repeats, ok in rows:
                print(f"  {label:<38} {seconds * 1000:>7.1f} ms  server {server * 1000:>6.1f} ms  "
                      f"<= {limit * 1000:g} ms  {size / 1e6:.2f} MB  x{repeats}  {'ok' if ok else 'TOO SLOW'}")

        before, client_before = cpu_seconds(process.pid), time.process_time()
        latencies, kinds, errors, elapsed, _, kept = asyncio.run(load(url, args.clients, args.seconds))
        after, client_after = cpu_seconds(process.pid), time.process_time()
        print()
        throughput = report(f"(2) the class mix: {args.clients} clients, {args.seconds:g} s, "
                            f"--workers {args.workers}", latencies, kinds, errors, elapsed, kept)
        # CPU time per request depends far less on other jobs than wall time does: what the
        # machine could carry with its cores to itself.
        count = max(len(latencies) + len(errors), 1)
        server_ms = (after["server"] - before["server"]) / count * 1000
        workers_ms = (after["workers"] - before["workers"]) / count * 1000
        client_ms = (client_after - client_before) / count * 1000
        cores = len(os.sched_getaffinity(0))
        print(f"  CPU per request: server {server_ms:.1f} ms, workers {workers_ms:.1f} ms, this client "
              f"{client_ms:.1f} ms; {cores} cores to themselves would carry about "
              f"{cores * 1000 / (server_ms + workers_ms + client_ms):.0f} requests/s "
              f"({cores * 1000 / (server_ms + workers_ms):.0f} with the clients elsewhere)")
        p99 = percentile(latencies, 99)
        for ok, what in ((not errors, f"{len(errors)} errors"), (p99 <= 1.0, f"p99 {p99:.2f} s > 1 s"),
                         (throughput >= 2 * TODAY, f"throughput {throughput:.1f} < {2 * TODAY:.0f} requests/s")):
            if not ok:
                failures.append(f"class mix: {what}")

        if not args.skip_expensive:
            budget = limits.TIME_BUDGET_S
            latencies, kinds, errors, elapsed, heavy, kept = asyncio.run(
                load(url, args.clients, args.seconds, expensive, seed=10_000))  # not (2)'s requests again
            print()
            report(f"(3) the same, while one more client loops the most expensive request allowed "
                   f"(basins, {len(LONG)}-character formula, {expensive['grid']} x {expensive['grid']}, "
                   f"{expensive['steps']:,} steps)", latencies, kinds, errors, elapsed, kept)
            statuses = sorted({status for _, status in heavy})
            slowest = max((took for took, _ in heavy), default=float("nan"))
            print(f"  the expensive one: {len(heavy)} answered, statuses {statuses}, "
                  f"slowest {slowest:.2f} s (budget {budget:g} s)")
            p99 = percentile(latencies, 99)
            for ok, what in ((not errors, f"{len(errors)} failures among the others"),
                             (p99 <= 1.5, f"the others' p99 {p99:.2f} s > 1.5 s"),
                             (heavy and slowest <= budget + 1, f"the expensive one took {slowest:.2f} s"),
                             (all(status in (200, 503) for _, status in heavy), f"expensive statuses {statuses}")):
                if not ok:
                    failures.append(f"with the expensive one: {what}")
    finally:
        stop_server(process)

    load_after = os.getloadavg()
    print(f"\nload average after {load_after[0]:.2f} {load_after[1]:.2f} ({os.cpu_count()} CPUs; the figures are "
          "only comparable on a quiet machine)")
    print("all bars met" if not failures else "MISSED: " + "; ".join(failures))
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
