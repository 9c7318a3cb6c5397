"""The README's way to serve a class from several machines: deploy/nginx.conf, started for real.

Two playground servers (``python -m downhill serve --workers 1``, standing for
two machines) on loopback ports, and nginx with the sample configuration,
its addresses changed to those ports. nginx is Debian's (``apt-get install
nginx``; ``.ci/run`` installs it); set DOWNHILL_NGINX to use another binary.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from .test_server import start_server, stop

SAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "nginx.conf"
NGINX = os.environ.get("DOWNHILL_NGINX") or shutil.which("nginx") or (
    "/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)

pytestmark = pytest.mark.skipif(NGINX is None, reason="nginx is not installed (apt-get install nginx, as .ci/run does)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def backend():
    return start_server(command=[sys.executable, "-m", "downhill", "serve", "--workers", "1", "--port", "0"])


def test_the_sample_configuration_serves_the_playground_from_two_machines(tmp_path):
    text = SAMPLE.read_text()
    assert "10.0.0.11:8000" in text and "10.0.0.12:8000" in text and "listen 80;" in text
    first, first_url = backend()
    second, second_url = backend()
    front = None
    try:
        port = free_port()
        config = (text.replace("10.0.0.11:8000", first_url.split("//")[1].strip("/"))
                  .replace("10.0.0.12:8000", second_url.split("//")[1].strip("/"))
                  .replace("listen 80;", f"listen 127.0.0.1:{port};"))
        # Only for this sandbox: nginx's own files under tmp_path instead of /var.
        scratch = "".join(f"    {kind}_temp_path {tmp_path}/{kind};\n"
                          for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        config = config.replace("http {\n", "http {\n" + scratch + "    access_log off;\n", 1)
        tmp_path.chmod(0o755)  # nginx's workers run as another user when started by root
        (tmp_path / "nginx.conf").write_text(config)
        (tmp_path / "logs").mkdir()
        done = subprocess.run([NGINX, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"),
                               "-g", f"pid {tmp_path}/nginx.pid; error_log stderr;"],
                              capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr
        front = subprocess.Popen([NGINX, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"),
                                  "-g", f"daemon off; pid {tmp_path}/nginx.pid; error_log stderr;"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        url = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=url, timeout=30) as client:
            for _ in range(100):
                try:
                    client.get("/api/landscapes")
                    break
                except httpx.TransportError:
                    time.sleep(0.05)

            def works():
                assert client.get("/").status_code == 200
                assert client.get("/api/landscapes").json()["landscapes"]
                response = client.post("/api/descend", json={"landscape": "sphere", "start": [1, 1], "lr": 0.5})
                assert response.status_code == 200 and response.json()["status"] == "converged"
                response = client.post("/api/descend", json={"landscape": "sphere", "start": [1]})
                assert response.status_code == 422 and response.json()["field"] == "start"

            for _ in range(3):
                works()
            # Either machine alone serves the class: stop one, the other answers everything.
            assert stop(first) == 0
            for _ in range(5):
                works()
            # A request body past 64 KiB is refused by nginx already, as the playground would.
            response = client.post("/api/gradient", content=b"x" * 70_000, headers={"content-type": "application/json"})
            assert response.status_code == 413
    finally:
        if front is not None:
            front.terminate()
            front.wait(10)
        for process in (first, second):
            if process.poll() is None:
                stop(process)
