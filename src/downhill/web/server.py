"""Run the playground on this machine: ``serve()`` starts uvicorn on 127.0.0.1.

The socket is bound here, before uvicorn starts, so that a port that is taken
is reported at once in plain words, and so that ``port=0`` (any free port)
prints the port it got.
"""

from __future__ import annotations

import ipaddress
import socket
import sys
import threading
import webbrowser

from ..errors import InputError
from .answers import DEFAULT_CACHE_BYTES
from .app import LOOPBACK_HOSTS, create_app
from .limits import TIME_BUDGET_S

__all__ = ["serve", "url_for", "allowed_hosts_for"]

_ANY_ADDRESS = ("0.0.0.0", "::", "")


def url_for(host: str, port: int) -> str:
    """The address a browser opens for a server on ``host:port``.

    >>> url_for("127.0.0.1", 8000), url_for("::1", 8000)
    ('http://127.0.0.1:8000/', 'http://[::1]:8000/')
    """
    shown = "127.0.0.1" if host in _ANY_ADDRESS else host
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def allowed_hosts_for(host: str) -> tuple[str, ...]:
    """The Host names the server accepts when listening on ``host``.

    On loopback, only loopback names (a page elsewhere cannot reach the server
    by rebinding its own name to 127.0.0.1); on all interfaces, any name.

    >>> allowed_hosts_for("127.0.0.1")
    ('127.0.0.1', 'localhost', '::1', 'testserver')
    >>> allowed_hosts_for("0.0.0.0")
    ('*',)
    """
    if host in _ANY_ADDRESS:
        return ("*",)
    if _is_loopback(host):
        return LOOPBACK_HOSTS
    return (*LOOPBACK_HOSTS, host)


def _listen(host: str, port: int) -> socket.socket:
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as error:
        raise OSError(f"cannot listen on {host!r}: {error.strerror}") from None
    sock = socket.socket(family, kind, proto)
    try:
        if sys.platform != "win32":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)  # connections wait in the backlog until uvicorn accepts them
    except OSError as error:
        sock.close()
        raise OSError(error.errno, f"cannot listen on {host}:{port}: {error.strerror}; "
                      "is another server using that port? Choose another one (port=0 picks a free one)") from None
    sock.set_inheritable(True)
    return sock


def serve(host: str = "127.0.0.1", port: int = 8000, open_browser: bool = False, *,
          log_level: str = "warning", time_budget: float = TIME_BUDGET_S, workers: int | None = None,
          cache_bytes: int = DEFAULT_CACHE_BYTES) -> None:
    """Serve the playground until Ctrl+C; prints its address first, and returns when stopped.

    ``host`` defaults to 127.0.0.1, so only this machine can reach it; give
    ``"0.0.0.0"`` to share it on your network (a note says so). ``port=0``
    picks a free port. ``open_browser`` opens the page in the default browser.
    ``log_level`` is uvicorn's (``"info"`` logs every request).
    ``workers``: processes that compute (default: one per core), each request
    within ``time_budget`` seconds; one server process (uvicorn, one event
    loop) reads, checks and answers, and serves the page, keeping up to
    ``cache_bytes`` of answers for identical requests.

    Raises ``OSError`` (with a plain message) when the address cannot be used.

    >>> import downhill.web.server as server
    >>> callable(server.serve)
    True
    """
    import uvicorn

    if workers is not None and workers < 1:
        raise InputError(f"workers must be a whole number >= 1 (or None: one per core); got {workers}")
    sock = _listen(host, port)
    bound_port = sock.getsockname()[1]
    url = url_for(host, bound_port)
    app = create_app(time_budget=time_budget, allowed_hosts=allowed_hosts_for(host), workers=workers,
                     cache_bytes=cache_bytes)
    config = uvicorn.Config(app, log_level=log_level, access_log=log_level in ("debug", "trace", "info"),
                            server_header=False, timeout_keep_alive=5, lifespan="on")
    count = app.state.pool.size
    print(f"downhill playground: {url}  ({count} worker{'s' if count != 1 else ''}; press Ctrl+C to stop)",
          flush=True)
    if not _is_loopback(host):
        print(f"note: listening on {host}, so other machines on your network can reach the playground",
              file=sys.stderr, flush=True)
    if open_browser:
        threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()
    try:
        uvicorn.Server(config).run(sockets=[sock])
    except KeyboardInterrupt:
        # uvicorn shuts down gracefully on Ctrl+C, then raises it again; it was asked for.
        pass
    finally:
        sock.close()
    print("downhill playground stopped", flush=True)
