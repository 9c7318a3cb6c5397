"""The playground: a local web server with a JSON API over downhill, and a page that uses it.

``downhill serve`` (or :func:`serve`) starts it on http://127.0.0.1:8000/.
:func:`create_app` gives the ASGI app itself, for tests or another server.
The routes and their JSON are documented in :mod:`downhill.web.api`; the
bounds on every request in :mod:`downhill.web.limits`.

>>> from downhill.web import create_app
>>> from starlette.testclient import TestClient
>>> TestClient(create_app()).get("/api/landscapes").json()["landscapes"][0]["name"]
'sphere'
"""

from .app import create_app
from .server import serve

__all__ = ["create_app", "serve"]
