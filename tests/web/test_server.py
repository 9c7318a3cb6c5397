"""serve(): uvicorn on 127.0.0.1, its address printed, the app answering over real HTTP.

The module's server is started as a user starts it: the ``downhill serve``
command (``python -m downhill serve``, the same command), ``--workers 2``, on
a real port.
"""

from __future__ import annotations

import inspect
import os
import select
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest

from downhill.web import server
from downhill.web.server import allowed_hosts_for, serve, url_for

START = "from downhill.web.server import serve; serve(port=0)"
START_LINES: dict[int, str] = {}
RUNNING: dict[str, subprocess.Popen] = {}  # the module's server, by its address  # process id -> the line the server printed first
COMMAND = [sys.executable, "-m", "downhill", "serve", "--workers", "2", "--port", "0"]


def start_server(code: str = START, timeout: float = 30.0, command: list[str] | None = None):
    """Run ``code`` (or ``command``) in a fresh Python; return the process and the address it printed."""
    process = subprocess.Popen(command or [sys.executable, "-c", code], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.1)
        if ready:
            line = process.stdout.readline()
            if "http://" in line:
                START_LINES[process.pid] = line
                return process, line.split()[2]
        if process.poll() is not None:
            break
    process.kill()
    raise AssertionError(f"the server printed no address: {process.stderr.read()}")


def stop(process) -> int:
    process.send_signal(signal.SIGINT)
    try:
        return process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        raise


@pytest.fixture(scope="module")
def running():
    process, url = start_server(command=COMMAND)
    RUNNING[url] = process
    try:
        yield url
    finally:
        if process.poll() is None:
            stop(process)


def descendants(pid: int) -> dict[int, int]:
    """Process id -> nice value of every process below ``pid`` (Linux /proc)."""
    children: dict[int, list[int]] = {}
    nice = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry))
            nice[int(entry)] = int(fields[16])
    found, todo = {}, [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found[child] = nice[child]
            todo.append(child)
    return found


def settled_descendants(pid: int, light: int, heavy: int | None = None, seconds: float = 10) -> dict[int, int]:
    """``descendants(pid)`` once ``light`` workers show nice 5 (and ``heavy`` nice 15).

    A worker sets its own nice value after it starts, so for a moment a new one reads 0.
    """
    deadline = time.monotonic() + seconds
    while True:
        found = descendants(pid)
        values = list(found.values())
        if (values.count(5) == light and (heavy is None or values.count(15) == heavy)) or time.monotonic() > deadline:
            return found
        time.sleep(0.02)


def test_the_command_starts_two_workers_below_the_server(running):
    # The server, its fork server (nice 0) and two workers (nice 5) that compute.
    server = RUNNING[running]
    with httpx.Client(base_url=running, timeout=60) as client:
        body = {"landscape": "himmelblau", "grid": 50, "steps": 200, "lr": 1e-3}
        assert client.post("/api/basins", json=body).status_code == 200
    below = settled_descendants(server.pid, light=2)
    assert sorted(below.values()).count(5) == 2, below
    workers = [pid for pid, nice in below.items() if nice == 5]
    # Two requests at once are computed by the two workers: both answer. (Each
    # its own learning rate: an identical request would get the kept answer.)
    import concurrent.futures

    def post(k):
        with httpx.Client(base_url=running, timeout=60) as client:
            response = client.post("/api/basins", json={**body, "lr": 1e-3 * (2 + k / 8)})
            return response.status_code, "kept" in response.headers["server-timing"]

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        assert list(pool.map(post, range(4))) == [(200, False)] * 4
    assert sorted(pid for pid, nice in descendants(server.pid).items() if nice == 5) == sorted(workers)


def test_the_command_prints_how_many_workers_and_keeps_answers_only_if_asked():
    process, url = start_server(command=[sys.executable, "-m", "downhill", "serve", "--workers", "3", "--port", "0",
                                         "--cache-mb", "0"])
    try:
        assert httpx.get(url + "api/landscapes", timeout=10).status_code == 200
        body = {"landscape": "booth", "n": 30}
        for _ in range(2):  # kept nowhere: computed each time
            response = httpx.post(url + "api/surface", json=body, timeout=60)
            assert response.status_code == 200 and "kept" not in response.headers["server-timing"]
    finally:
        assert stop(process) == 0
    assert "3 workers" in START_LINES.get(process.pid, "")


@pytest.mark.parametrize("option, message", [
    (["--workers", "0"], "--workers must be a whole number from 1 to 256, got 0"),
    (["--cache-mb", "-1"], "--cache-mb must be from 0 to 65536 megabytes, got -1"),
])
def test_the_command_refuses_a_bad_worker_count_or_cache_size(option, message):
    done = subprocess.run([sys.executable, "-m", "downhill", "serve", *option], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2 and message in done.stderr
    assert "Traceback" not in done.stderr


def test_serve_binds_loopback_by_default():
    parameters = inspect.signature(serve).parameters
    assert parameters["host"].default == "127.0.0.1"
    assert parameters["port"].default == 8000
    assert parameters["open_browser"].default is False


def test_the_printed_address_answers(running):
    assert running.startswith("http://127.0.0.1:") and running.endswith("/")
    with httpx.Client(base_url=running, timeout=10) as client:
        response = client.get("/api/landscapes")
        assert response.status_code == 200 and response.json()["landscapes"]
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "script-src 'self'" in response.headers["content-security-policy"]
        assert "server" not in response.headers  # uvicorn does not announce itself
        response = client.post("/api/descend", json={"landscape": "sphere", "start": [1, 1], "lr": 0.5})
        assert response.status_code == 200 and response.json()["status"] == "converged"
        # Asked again: the kept answer, the same bytes, compressed as the browser allows.
        again = client.post("/api/descend", json={"landscape": "sphere", "start": [1, 1], "lr": 0.5})
        assert again.content == response.content and 'desc="kept"' in again.headers["server-timing"]
        body = {"landscape": "rosenbrock", "start": [[-1, 1], [0, 2]], "lr": 1e-3, "steps": 500}
        first = client.post("/api/descend", json=body)
        second = client.post("/api/descend", json=body)
        assert first.headers["content-encoding"] == second.headers["content-encoding"] == "gzip"
        assert first.json() == second.json() and len(first.json()["points"]) == 501


def test_over_real_http_errors_are_json(running):
    with httpx.Client(base_url=running, timeout=10) as client:
        assert client.get("/api/nope").status_code == 404
        response = client.post("/api/gradient", content=b"x" * 70_000, headers={"content-type": "application/json"})
        assert response.status_code == 413 and response.json()["allowed"] == {"max_bytes": 65536}
        response = client.post("/api/gradient", content=b"{", headers={"content-type": "application/json"})
        assert response.status_code == 400 and response.json()["error"]
        response = client.post("/api/gradient", json={"expression": "__import__('os')", "point": [1, 1]})
        assert response.status_code == 422 and response.json()["field"] == "expression"


def test_a_rebound_host_name_is_refused(running):
    with httpx.Client(base_url=running, timeout=10) as client:
        response = client.get("/api/landscapes", headers={"host": "attacker.example"})
        assert response.status_code == 400 and response.json()["field"] == "host"
        port = running.rsplit(":", 1)[1].strip("/")
        assert client.get("/api/landscapes", headers={"host": f"localhost:{port}"}).status_code == 200


def test_ctrl_c_stops_it_cleanly():
    process, url = start_server()
    assert httpx.get(url + "api/landscapes", timeout=10).status_code == 200
    assert stop(process) == 0


def test_a_taken_port_is_a_plain_error():
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    try:
        with pytest.raises(OSError, match="cannot listen on 127.0.0.1:.*another server"):
            serve(port=taken.getsockname()[1])
    finally:
        taken.close()


def test_listen_binds_only_the_given_address():
    sock = server._listen("127.0.0.1", 0)
    try:
        assert sock.getsockname()[0] == "127.0.0.1" and sock.getsockname()[1] > 0
    finally:
        sock.close()


def test_serve_prints_the_address_and_opens_the_browser(monkeypatch, capsys):
    import uvicorn

    opened, ran = [], []
    monkeypatch.setattr(server.webbrowser, "open", opened.append)
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets=None: ran.append(sockets))
    serve(port=0, open_browser=True)
    printed = capsys.readouterr().out
    url = printed.split()[2]
    assert url.startswith("http://127.0.0.1:") and ran and len(ran[0]) == 1
    for _ in range(100):
        if opened:
            break
        time.sleep(0.01)
    assert opened == [url]


def test_addresses_and_allowed_hosts():
    assert url_for("127.0.0.1", 8000) == "http://127.0.0.1:8000/"
    assert url_for("::1", 9) == "http://[::1]:9/"
    assert url_for("0.0.0.0", 80) == "http://127.0.0.1:80/"
    assert allowed_hosts_for("localhost") == allowed_hosts_for("127.0.0.1") == allowed_hosts_for("::1")
    assert "*" not in allowed_hosts_for("127.0.0.1")
    assert allowed_hosts_for("::") == ("*",)
    assert allowed_hosts_for("192.168.1.5")[-1] == "192.168.1.5"


def test_over_a_real_port_a_request_past_the_budget_is_stopped_and_its_worker_replaced():
    # A quarter of a second: the basin map below computes for about 0.8 s on a quiet
    # machine (2.4 s under load), so it is past the budget wherever it runs.
    command = [sys.executable, "-m", "downhill", "serve", "--workers", "2", "--time-budget", "0.25", "--port", "0"]
    process, url = start_server(command=command)
    try:
        with httpx.Client(base_url=url, timeout=60) as client:
            assert client.get("/api/landscapes").status_code == 200
            workers = settled_descendants(process.pid, light=2, heavy=1)
            heavy = [pid for pid, nice in workers.items() if nice == 15]
            assert len(heavy) == 1 and sorted(workers.values()).count(5) == 2
            started = time.monotonic()
            response = client.post("/api/basins", json={"landscape": "himmelblau", "grid": 150, "steps": 2_000,
                                                          "lr": 1e-4})  # slow steps: none arrives early
            assert time.monotonic() - started < 1.25
            assert response.status_code == 503 and response.json()["allowed"] == {"time_budget_s": 0.25}
            deadline = time.monotonic() + 5
            while heavy[0] in descendants(process.pid) and time.monotonic() < deadline:
                time.sleep(0.02)
            now = descendants(process.pid)
            assert heavy[0] not in now  # killed, and reaped
            while list(now.values()).count(15) != 1 and time.monotonic() < deadline:
                now = descendants(process.pid)
            assert list(now.values()).count(15) == 1  # its replacement
            body = {"landscape": "himmelblau", "grid": 20, "steps": 100}
            assert client.post("/api/basins", json=body).status_code == 200
    finally:
        assert stop(process) == 0
