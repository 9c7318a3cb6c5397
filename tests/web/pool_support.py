"""Handlers for tests of the worker pool: module-level, so that a worker process can import them.

Each calls ``limits.admit`` as the API's handlers do (the server stops there
when it only checks a request).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import downhill as dh
from downhill.web import limits


def slow_without_gradients(body):
    """Turn gradient recording off in this worker, and take a while."""
    limits.admit(lambda: 0.0)
    with dh.no_grad():
        time.sleep(0.3)
    return {"done": True}


def broken(body):
    limits.admit(lambda: 0.0)
    raise KeyError("a bug")


def sleep(body):
    """Sleep ``body["seconds"]``; answer this worker's process id."""
    limits.admit(lambda: float(body.get("cost", 0.0)))
    time.sleep(body["seconds"])
    return {"pid": os.getpid()}


def spin(body):
    """Compute (a busy loop) until stopped; answer this worker's process id if ever done."""
    limits.admit(lambda: float(body.get("cost", 0.0)))
    end = time.monotonic() + body["seconds"]
    count = 0
    while time.monotonic() < end:
        count += 1
    return {"pid": os.getpid(), "count": count}


def whoami(body):
    """This worker's process id; ``body["cost"]`` (an estimate in seconds) picks the lane."""
    limits.admit(lambda: float(body.get("cost", 0.0)))
    return {"pid": os.getpid(), "grad_enabled": dh.is_grad_enabled()}


def counted(body):
    """Append a line to ``body["file"]`` (each run of this handler leaves a trace)."""
    limits.admit(lambda: 0.0)
    with Path(body["file"]).open("a") as file:
        file.write(f"{body['n']}\n")
    return {}
