"""The playground's server under load: latency of the heavy routes, then many clients at once.

Starts ``downhill.web.server.serve`` (uvicorn) on 127.0.0.1 at a free port in a
subprocess, then, over real HTTP on loopback only:

(1) latency, the median over repeats of one request at a time (the whole
    answer received, JSON included):
      - POST /api/descend, one climber, 1000 steps       must be <= 20 ms
      - POST /api/surface, 200 x 200 with gradients      must be <= 50 ms
      - POST /api/basins, 100 x 100 starts, 200 steps    must be <= 1 s
(2) a bounded load test: 32 concurrent clients (httpx.AsyncClient, one
    connection each) sending 1000-step descend requests for 20 seconds;
    reports throughput, p50/p99 latency and the error count (must be zero).

Prints a table; exits 1 if a check fails. Stops the server by itself.

Run by hand: python benchmarks/load_web.py [--clients 32] [--seconds 20] [--repeats 30]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import select
import signal
import statistics
import subprocess
import sys
import time

import httpx

DESCEND = {"landscape": "himmelblau", "start": [0.0, 0.0], "lr": 0.001, "steps": 1000, "tol": 0.0}
SURFACE = {"landscape": "rosenbrock", "n": 200, "gradients": True}
BASINS = {"landscape": "himmelblau", "optimizer": "sgd", "lr": 0.01, "grid": 100, "steps": 200}


def start_server(timeout: float = 60.0):
    """uvicorn in a subprocess on 127.0.0.1, a free port; returns (process, base URL)."""
    code = "from downhill.web.server import serve; serve(host='127.0.0.1', port=0)"
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
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
    """Median seconds of one request at a time (after one warm-up), the server's part, the answer's size."""
    response = client.post(path, json=body)  # warm-up: the tracer's cache, imports
    response.raise_for_status()
    times, server = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        response = client.post(path, json=body)
        size = len(response.content)
        times.append(time.perf_counter() - started)
        response.raise_for_status()
        server.append(server_seconds(response))
    return statistics.median(times), statistics.median(server), size


async def load(url: str, clients: int, seconds: float):
    """``clients`` coroutines posting descend requests until ``seconds`` have passed."""
    latencies: list[float] = []
    errors: list[str] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=30.0, limits=limits) as client:
        deadline = time.perf_counter() + seconds

        async def one_client(k: int):
            body = {**DESCEND, "start": [0.01 * (k % 10), -0.01 * (k % 7)]}
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                try:
                    response = await client.post("/api/descend", json=body)
                    await response.aread()
                    if response.status_code != 200:
                        errors.append(f"HTTP {response.status_code}: {response.text[:100]}")
                        continue
                except httpx.HTTPError as error:
                    errors.append(f"{type(error).__name__}: {error}")
                    continue
                latencies.append(time.perf_counter() - started)

        began = time.perf_counter()
        await asyncio.gather(*(one_client(k) for k in range(clients)))
        elapsed = time.perf_counter() - began
    return latencies, errors, elapsed


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--repeats", type=int, default=30, help="repeats of the descend latency check")
    args = parser.parse_args(argv)

    print(f"downhill playground load test: Python {platform.python_version()}, {os.cpu_count()} CPU(s), "
          f"{platform.machine()}")
    process, url = start_server()
    rows, failures = [], []
    try:
        print(f"server: {url} (uvicorn, subprocess {process.pid})")
        with httpx.Client(base_url=url, timeout=60.0) as client:
            for label, path, body, repeats, limit in (
                ("descend, 1 climber x 1000 steps", "/api/descend", DESCEND, args.repeats, 0.020),
                ("surface, 200 x 200 with gradients", "/api/surface", SURFACE, max(10, args.repeats // 2), 0.050),
                ("basins, 100 x 100 starts x 200 steps", "/api/basins", BASINS, 5, 1.0),
            ):
                seconds, server, size = median_latency(client, path, body, repeats)
                ok = seconds <= limit
                failures += [] if ok else [label]
                rows.append((label, f"{seconds * 1000:.1f} ms", f"{server * 1000:.1f} ms", f"<= {limit * 1000:g} ms",
                             f"{size / 1e6:.2f} MB", f"median of {repeats}", "ok" if ok else "TOO SLOW"))
        latencies, errors, elapsed = asyncio.run(load(url, args.clients, args.seconds))
    finally:
        stop_server(process)

    width = max(len(r[0]) for r in rows)
    print()
    print(f"{'latency check':<{width}}  {'median':>10}  {'(server)':>10}  {'limit':>11}  {'answer':>8}  "
          f"{'':<13}  result")
    for label, median, server, limit, size, repeats, result in rows:
        print(f"{label:<{width}}  {median:>10}  {server:>10}  {limit:>11}  {size:>8}  {repeats:<13}  {result}")
    print("(median: the whole request as the client sees it; server: computing and encoding the answer)")
    print()
    throughput = len(latencies) / elapsed if elapsed else 0.0
    print(f"load: {args.clients} concurrent clients, POST /api/descend (1000 steps), {elapsed:.1f} s")
    print(f"{'requests':>10}  {'req/s':>8}  {'p50':>9}  {'p99':>9}  {'max':>9}  {'errors':>6}")
    print(f"{len(latencies):>10}  {throughput:>8.1f}  {percentile(latencies, 50) * 1000:>7.1f}ms  "
          f"{percentile(latencies, 99) * 1000:>7.1f}ms  {max(latencies, default=float('nan')) * 1000:>7.1f}ms  "
          f"{len(errors):>6}")
    if errors:
        failures.append(f"{len(errors)} errors under load, e.g. {errors[0]}")
    if not latencies:
        failures.append("no request completed under load")
    print()
    print("all checks passed" if not failures else "FAILED: " + "; ".join(failures))
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
