"""The playground's ASGI application: the page's files, the JSON API, and the guards around them.

:func:`create_app` builds a Starlette app. Around the routes of
:mod:`downhill.web.api` it adds what a server that runs computations for a
browser needs:

* bodies read with a ceiling (413 past 64 KiB, checked on the Content-Length
  and again while reading), only as ``application/json`` (415), parsed as
  strict JSON (400; no NaN, no nesting bombs);
* each request checked here (its fields and its estimated cost, refused at
  once past the limits), then computed in a worker process
  (:mod:`downhill.web.pool`) with a hard time budget: past it the worker is
  killed and replaced, and the client gets a 503. The answer is encoded there
  as strict JSON (NaN and infinities as null) and compressed. The catalogue,
  the page and every refusal never wait behind a computation;
* answers kept for identical requests (:mod:`downhill.web.answers`): a class
  asks the same questions, and each is computed once;
* every error as JSON ``{"error", "field", "allowed"}``: unknown routes (404),
  wrong methods (405), and a catch-all that turns an unexpected exception into
  a 500 without a traceback (the traceback goes to the server's log);
* security headers on every answer (``nosniff``, a Content-Security-Policy
  that allows only this server's own scripts, styles and connections), and a
  check of the Host header against loopback names, so that a web page elsewhere
  cannot reach the server through DNS rebinding.

>>> from starlette.testclient import TestClient
>>> client = TestClient(create_app())
>>> client.post("/api/gradient", json={"landscape": "sphere", "point": [3, 4]}).json()["steepness"]
10.0
>>> client.post("/api/gradient", json={"landscape": "sphere", "point": [3]}).status_code
422
"""

from __future__ import annotations

import gzip
import json
import logging
import mimetypes
import os
import time
from collections.abc import Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

import numpy as np

from ..results import json_bytes
from . import api
from .answers import DEFAULT_CACHE_BYTES, Answer, AnswerCache, cache_key
from .api import Grid
from .limits import MAX_BODY_BYTES, TIME_BUDGET_S, Admitted, Cost, RequestError, checking_only
from .pool import ComputePool, OverBudget, PoolFull, WorkerDied

__all__ = ["create_app", "encode", "error_response", "STATIC_DIR", "CONTENT_SECURITY_POLICY", "LOOPBACK_HOSTS"]

logger = logging.getLogger("downhill.web")

STATIC_DIR = Path(__file__).resolve().parent / "static"

# Only this server's own files and API: no CDN, no inline script, no eval.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    "connect-src 'self'",
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
]

# Names under which a browser on this machine reaches a server bound to
# loopback; "testserver" is the name Starlette's TestClient sends.
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "testserver")

# With nosniff, a script must be served with a script type; some systems map
# .js (or .mjs) to nothing or to text/plain.
for _suffix, _type in ((".js", "text/javascript"), (".mjs", "text/javascript"), (".css", "text/css"),
                       (".svg", "image/svg+xml"), (".json", "application/json"), (".map", "application/json")):
    mimetypes.add_type(_type, _suffix)


# ---------------------------------------------------------------------------
# Answers as JSON.
# ---------------------------------------------------------------------------


def encode(result: dict) -> bytes:
    """A handler's result as JSON bytes (strict JSON: NaN and infinities become null).

    Through :func:`downhill.results.json_bytes` (the library's one JSON
    writer: every float exactly, NumPy arrays written directly); a
    :class:`~downhill.web.api.Grid` writes its own text.

    >>> encode({"a": 1.5, "b": float("nan"), "z": Grid(np.eye(2))})
    b'{"a":1.5,"b":null,"z":[[1,0],[0,1]]}'
    """
    if not any(isinstance(v, Grid) for v in result.values()):
        return json_bytes(result)
    parts = [json_bytes(str(key)) + b":" + (value.json().encode() if isinstance(value, Grid) else json_bytes(value))
             for key, value in result.items()]
    return b"{" + b",".join(parts) + b"}"


def error_response(status: int, error: str, field: str | None = None, allowed: Any = None,
                   headers: dict | None = None, **extra: Any) -> Response:
    """The JSON error every failure answers with: ``{"error", "field", "allowed", ...}``.

    >>> error_response(404, "no route /x").body
    b'{"error":"no route /x","field":null,"allowed":null}'
    """
    body = {"error": error, "field": field, "allowed": allowed, **extra}
    return Response(encode(body), status_code=status, media_type="application/json",
                    headers={"cache-control": "no-store", **(headers or {})})


def _request_error(error: RequestError) -> Response:
    return error_response(error.status, error.error, error.field, error.allowed, **error.extra)


# ---------------------------------------------------------------------------
# Reading a request body.
# ---------------------------------------------------------------------------


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


async def read_json(request: Request, limit: int = MAX_BODY_BYTES) -> Any:
    """The request body as JSON, refused with a :class:`RequestError` if too big, not JSON, or not typed so."""
    too_big = RequestError(f"the request body is larger than {limit:,} bytes, the most this server reads",
                           status=413, allowed={"max_bytes": limit})
    length = request.headers.get("content-length")
    if length is not None:
        if not length.strip().isdigit():
            raise RequestError("the Content-Length header is not a number", status=400)
        if int(length) > limit:
            raise too_big
    content_type = request.headers.get("content-type", "")
    media_type, _, parameters = content_type.partition(";")
    charset = parameters.strip().lower().replace(" ", "")
    if media_type.strip().lower() != "application/json" or charset not in ("", "charset=utf-8"):
        raise RequestError(
            f"send the body as JSON with the header Content-Type: application/json (got "
            f"{content_type[:60] or 'no Content-Type'!r})", status=415, allowed=["application/json"],
        )
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_big
        chunks.append(chunk)
    raw = b"".join(chunks)
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except UnicodeDecodeError:
        raise RequestError("the request body is not UTF-8 text", status=400) from None
    except json.JSONDecodeError as error:
        raise RequestError(f"the request body is not valid JSON: {error.msg} at line {error.lineno} "
                           f"column {error.colno}", status=400) from None
    except RecursionError:
        raise RequestError("the request body's JSON is nested too deeply", status=400) from None
    except ValueError as error:  # NaN/Infinity, or an integer with thousands of digits
        raise RequestError(f"the request body is not valid JSON: {error}", status=400) from None


# ---------------------------------------------------------------------------
# Running a handler: checked here, computed in a worker process.
# ---------------------------------------------------------------------------


# Answers shorter than this go out as they are (as the GZip middleware's minimum).
COMPRESS_FROM = 1000


def compute(job: tuple[api.Handler | Any, Any]) -> tuple:
    """In a worker process: run the handler for real, encode its answer and compress it.

    Returns ``("ok", content, encoding, seconds)`` (``encoding`` is ``"gzip"``
    for answers of ``COMPRESS_FROM`` bytes or more, else None) or
    ``("refused", status, body)`` for a :class:`RequestError` (a value that
    only computing shows wrong). Compressing here (gzip level 1: a 1.4 MB
    surface in 14 ms, 10% larger than level 9 in 220 ms) spares the server's
    one event loop, sends the server a third of the bytes, and what the server
    keeps for the next learner is already compressed.
    """
    function, body = job
    started = time.perf_counter()
    try:
        content = encode(function(body))
    except RequestError as error:
        return ("refused", error.status, error.to_dict())
    encoding = None
    if len(content) >= COMPRESS_FROM:
        content, encoding = gzip.compress(content, compresslevel=1, mtime=0), "gzip"
    return ("ok", content, encoding, time.perf_counter() - started)


_ENCODED: dict[int, tuple[Any, bytes]] = {}


def _encoded_once(result: Any) -> bytes:
    """The JSON of a cached answer (the catalogue, the same object each time), encoded once."""
    kept = _ENCODED.get(id(result))
    if kept is None or kept[0] is not result:
        kept = _ENCODED[id(result)] = (result, encode(result))
    return kept[1]


def _check(function, body) -> Cost:
    """Run a handler's checks only (it stops at ``limits.admit``): its cost, or its RequestError."""
    with checking_only():
        try:
            function(body)
        except Admitted as admitted:
            return admitted.cost
    # A handler that computes without calling admit() has no estimate; it
    # has computed here once already (a bug in the handler, logged).
    logger.warning("the handler %s computed without calling limits.admit()", getattr(function, "__name__", function))
    return Cost(0.0)


def _over_budget(pool: ComputePool, error: OverBudget) -> RequestError:
    waited = f" (it waited {error.waited:.1f} s for a free worker)" if error.waited >= 0.1 else ""
    return RequestError(
        f"this request was stopped after {pool.budget:g} seconds, the most one may take{waited}; ask for "
        "less: fewer steps, climbers or grid points, or a shorter formula", status=503,
        allowed={"time_budget_s": pool.budget},
    )


def _computed(handler: api.Handler, body: Any, pool: ComputePool, path: str):
    """The computation of one request: checked here (in a thread), computed in a worker."""

    async def compute_it() -> Answer | Response:
        # Checks run here, in a thread: quick, and never behind a computation.
        cost = await run_in_threadpool(_check, handler.function, body)
        try:
            answer = await pool.run((handler.function, body), heavy=cost.heavy)
        except OverBudget as error:
            raise _over_budget(pool, error) from None
        except WorkerDied:
            logger.error("a worker ended while computing %s; it was replaced", path)
            raise RequestError("the process computing this request ended without answering (out "
                               "of memory?); it has been replaced: try again, or ask for less",
                               status=500) from None
        except PoolFull:
            raise RequestError(
                f"the server is busy: every worker has been computing for others for {pool.wait:g} s; "
                "try again in a moment", status=503, allowed={"workers": pool.size},
            ) from None
        if answer[0] == "refused":
            _, status, data = answer
            return error_response(status, **data)
        _, content, encoding, seconds = answer
        return Answer(content, encoding, seconds)

    return compute_it


def _endpoint(handler: api.Handler):
    async def endpoint(request: Request) -> Response:
        headers = {"cache-control": "no-store"}
        try:
            body = await read_json(request) if handler.method == "POST" else None
            if not handler.engine:  # the catalogue: cached, answered here at once
                started = time.perf_counter()
                content, seconds = _encoded_once(handler.function(body)), time.perf_counter() - started
                timing = f"compute;dur={seconds * 1000:.2f}"
            else:
                # The same request again (or while the first is computing): the same answer, computed once.
                control = request.headers.get("cache-control", "").lower()
                outcome, hit = await request.app.state.answers.answer(
                    cache_key(handler.path, body), _computed(handler, body, request.app.state.pool, request.url.path),
                    fresh=not handler.kept or "no-cache" in control or "no-store" in control,
                    keep=handler.kept and "no-store" not in control)
                if isinstance(outcome, Response):  # refused while computing (not kept)
                    return outcome
                content = outcome.content
                timing = 'compute;desc="kept";dur=0' if hit else f"compute;dur={outcome.seconds * 1000:.2f}"
                if outcome.encoding is not None:
                    if outcome.encoding in request.headers.get("accept-encoding", ""):
                        headers["content-encoding"] = outcome.encoding
                        headers["vary"] = "Accept-Encoding"  # (the middleware says so of what it compresses)
                    else:  # a client that takes no gzip (rare): the plain text
                        content = gzip.decompress(content)
        except RequestError as error:
            return _request_error(error)
        # Server-Timing: the browser's developer tools (and the load test) show it.
        return Response(content, media_type="application/json", headers={**headers, "server-timing": timing})

    endpoint.__name__ = handler.function.__name__
    return endpoint


# ---------------------------------------------------------------------------
# The page.
# ---------------------------------------------------------------------------


async def _index(request: Request) -> Response:
    page = request.app.state.static_dir / "index.html"
    if not page.is_file():
        return error_response(404, "the playground's page is not installed (static/index.html is missing)")
    return FileResponse(page, media_type="text/html; charset=utf-8", headers={"cache-control": "no-cache"})


def _static_routes(static_dir: Path) -> list:
    """``/static/...``, and each top-level file and folder of static/ at the root too.

    The page links its files relatively (``style.css``, ``js/main.js``), which
    resolve to the root when it is served at ``/``. Only names found in the
    folder are mounted, so ``/api/...`` and unknown paths keep their JSON 404.
    """
    if not static_dir.is_dir():
        return []
    routes: list = [Mount("/static", StaticFiles(directory=static_dir), name="static")]
    for entry in sorted(static_dir.iterdir()):
        if entry.name.startswith(".") or entry.name in ("api", "static", "index.html"):
            continue
        if entry.is_dir():
            routes.append(Mount(f"/{entry.name}", StaticFiles(directory=entry)))
        elif entry.is_file():
            routes.append(Route(f"/{entry.name}", _file_endpoint(entry), methods=["GET", "HEAD"]))
    return routes


def _file_endpoint(path: Path):
    async def endpoint(request: Request) -> Response:
        if not path.is_file():
            return error_response(404, f"no file {path.name}")
        return FileResponse(path)

    return endpoint


# ---------------------------------------------------------------------------
# Errors and guards.
# ---------------------------------------------------------------------------


async def _http_error(request: Request, exc: HTTPException) -> Response:
    if exc.status_code == 404:
        return error_response(404, f"there is no route {request.url.path[:200]!r}; the API's routes are "
                              f"{', '.join(h.path for h in api.ROUTES)}",
                              allowed=[h.path for h in api.ROUTES])
    if exc.status_code == 405:
        methods = sorted(m.strip() for m in (exc.headers or {}).get("Allow", "").split(",") if m.strip())
        return error_response(405, f"{request.method} is not allowed on {request.url.path[:200]}; use "
                              f"{' or '.join(methods)}", allowed=methods, headers={"Allow": ", ".join(methods)})
    return error_response(exc.status_code, str(exc.detail), headers=exc.headers)


class Guard:
    """ASGI middleware: the Host check, security headers, and the catch-all for unexpected errors.

    It wraps the whole app, so its headers are on every answer, errors included.
    """

    def __init__(self, app, allowed_hosts: Iterable[str] = LOOPBACK_HOSTS):
        self.app = app
        hosts = {h.strip().lower().strip("[]") for h in allowed_hosts}
        self.any_host = "*" in hosts
        self.allowed_hosts = hosts

    def _host_ok(self, scope) -> bool:
        if self.any_host:
            return True
        host = next((value for key, value in scope.get("headers", ()) if key == b"host"), None)
        if host is None:
            return True  # HTTP/1.0 without Host: not a browser on a rebound name
        name = host.decode("latin-1").strip().lower()
        if name.startswith("["):  # [::1]:8000
            name = name[1:].partition("]")[0]
        elif name.count(":") == 1:
            name = name.partition(":")[0]
        return name in self.allowed_hosts

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_with_headers(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                present = {key.lower() for key, _ in message.get("headers", ())}
                extra = [(k, v) for k, v in SECURITY_HEADERS if k not in present]
                message = {**message, "headers": [*message.get("headers", ()), *extra]}
            await send(message)

        if not self._host_ok(scope):
            response = error_response(
                400, "this server answers only requests addressed to this machine (127.0.0.1 or localhost)",
                field="host", allowed=sorted(self.allowed_hosts),
            )
            await response(scope, receive, send_with_headers)
            return
        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            logger.exception("unexpected error answering %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise
            response = error_response(500, "the server met an unexpected error; it has been logged")
            await response(scope, receive, send_with_headers)


def default_workers() -> int:
    """Worker processes by default: one per core this process may use (at least 1).

    >>> default_workers() >= 1
    True
    """
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def create_app(time_budget: float = TIME_BUDGET_S, allowed_hosts: Iterable[str] = LOOPBACK_HOSTS,
               workers: int | None = None, static_dir: Path | str | None = None,
               wait: float | None = None, cache_bytes: int = DEFAULT_CACHE_BYTES) -> Starlette:
    """The playground as an ASGI app (serve it with :func:`downhill.web.server.serve`).

    ``time_budget``: seconds of computation per request: past it the worker
    computing it is stopped and replaced, and the client gets a 503;
    ``allowed_hosts``: the names the Host header may carry (``"*"`` for any);
    ``workers``: worker processes that compute (default: one per core; they
    start with the first computation);
    ``static_dir``: the page's files (default: the package's ``static`` folder);
    ``wait``: seconds a request may wait for a free worker before a 503
    (default: the time budget);
    ``cache_bytes``: answers kept for identical requests (see
    :mod:`downhill.web.answers`; 0 keeps none).

    >>> app = create_app()
    >>> sorted(route.path for route in app.routes if route.path.startswith("/api"))[:3]
    ['/api/basins', '/api/derivative', '/api/descend']
    """
    static = Path(static_dir) if static_dir is not None else STATIC_DIR
    pool = ComputePool(compute, size=workers or default_workers(), budget=time_budget, wait=wait)

    @asynccontextmanager
    async def lifespan(app):
        await run_in_threadpool(pool.start)  # the workers are ready before the first request
        yield
        pool.close()

    routes = [Route("/", _index, methods=["GET", "HEAD"], name="index")]
    routes += [Route(h.path, _endpoint(h), methods=[h.method]) for h in api.ROUTES]
    routes += _static_routes(static)
    app = Starlette(
        routes=routes,
        # Computed answers come compressed from the workers; the middleware
        # compresses the rest (error texts, the catalogue, static files) at
        # level 1: the server's CPU is the class's.
        middleware=[Middleware(Guard, allowed_hosts=tuple(allowed_hosts)),
                    Middleware(GZipMiddleware, minimum_size=1000, compresslevel=1)],
        exception_handlers={HTTPException: _http_error},
        lifespan=lifespan,
    )
    app.state.pool = pool
    app.state.answers = AnswerCache(cache_bytes)
    app.state.static_dir = static
    return app
