"""Answers kept for the next learner who asks the same: a size-bounded cache, and one computation per question.

A class sends the same requests: thirty learners open the same mountain at
the same grid size, the learning-rate panel sweeps the same rates from the
same start. Every computing route is a deterministic function of its request
body (the API keeps no state), so the server keeps the answers it sent,
compressed as they went out, by route and body text, and answers a repeat
without computing. Identical requests that arrive while the first is being
computed wait for its answer instead of computing it again.

The cache is bounded in bytes (``max_bytes``; the least recently used
answers go first) and keeps no answer larger than ``max_bytes // 16``. A
request with ``Cache-Control: no-cache`` (or ``no-store``) is computed afresh
(``no-store``: and its answer is not kept).

>>> import asyncio
>>> cache = AnswerCache(max_bytes=1000)
>>> async def compute():
...     return Answer(b"{}", None, 0.5)
>>> first, hit = asyncio.run(cache.answer(b"/api/x {}", compute))
>>> again, hit_again = asyncio.run(cache.answer(b"/api/x {}", compute))
>>> hit, hit_again, again is first
(False, True, True)
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["Answer", "AnswerCache", "cache_key", "DEFAULT_CACHE_BYTES"]

#: The answers one server keeps by default: 64 MiB (a 100 x 100 surface takes about 120 KiB compressed).
DEFAULT_CACHE_BYTES = 64 * 2**20


@dataclass(frozen=True)
class Answer:
    """What the server sends for a computed request: the body, its encoding (``"gzip"`` or None), seconds computed."""

    content: bytes
    encoding: str | None
    seconds: float


def cache_key(path: str, body: Any) -> bytes:
    """The key of a request: its route and its body as JSON text (fields in the order sent).

    Two bodies that parse alike and list their fields in the same order share a key.

    >>> cache_key("/api/surface", {"landscape": "booth", "n": 100})
    b'/api/surface {"landscape":"booth","n":100}'
    """
    return f"{path} {json.dumps(body, separators=(',', ':'), ensure_ascii=False)}".encode()


class _Gone(Exception):
    """The request that was computing an answer for others went away before it had one."""


class AnswerCache:
    """Answers by key, at most ``max_bytes`` of them (keys included), least recently used out first."""

    def __init__(self, max_bytes: int = DEFAULT_CACHE_BYTES):
        self.max_bytes = max(0, int(max_bytes))
        self.max_item = self.max_bytes // 16
        self._kept: OrderedDict[bytes, Answer] = OrderedDict()
        self._size = 0
        self._computing: dict[bytes, asyncio.Future] = {}
        self.hits = 0
        self.shared = 0  # requests answered by another identical request's computation
        self.misses = 0

    def __len__(self) -> int:
        return len(self._kept)

    @property
    def size(self) -> int:
        """Bytes kept now (answers and keys)."""
        return self._size

    def get(self, key: bytes) -> Answer | None:
        answer = self._kept.get(key)
        if answer is not None:
            self._kept.move_to_end(key)
        return answer

    def put(self, key: bytes, answer: Answer) -> None:
        cost = len(key) + len(answer.content)
        if cost > self.max_item:
            return
        old = self._kept.pop(key, None)
        if old is not None:
            self._size -= len(key) + len(old.content)
        self._kept[key] = answer
        self._size += cost
        while self._size > self.max_bytes:
            dropped_key, dropped = self._kept.popitem(last=False)
            self._size -= len(dropped_key) + len(dropped.content)

    async def answer(self, key: bytes, compute: Callable[[], Awaitable[Any]], fresh: bool = False,
                     keep: bool = True) -> tuple[Any, bool]:
        """``(outcome, hit)``: the kept answer, another identical request's, or ``await compute()``'s.

        Only :class:`Answer` outcomes are kept; anything else ``compute``
        returns (a refusal) is passed on, and what it raises (over budget, no
        free worker) is raised to every request that waited for it.
        ``fresh``: compute even if an answer is kept; ``keep``: keep it.
        """
        if self.max_bytes == 0:
            return await compute(), False
        if not fresh:
            kept = self.get(key)
            if kept is not None:
                self.hits += 1
                return kept, True
            pending = self._computing.get(key)
            if pending is not None:
                try:
                    outcome = await asyncio.shield(pending)
                except _Gone:
                    pass  # the first one went away: compute it here
                else:
                    self.shared += 1
                    return outcome, True
        self.misses += 1
        if fresh or key in self._computing:
            outcome = await compute()
            if keep and isinstance(outcome, Answer):
                self.put(key, outcome)
            return outcome, False
        pending = asyncio.get_running_loop().create_future()
        self._computing[key] = pending
        try:
            outcome = await compute()
        except asyncio.CancelledError:
            pending.set_exception(_Gone())
            raise
        except BaseException as error:
            pending.set_exception(error)
            raise
        else:
            pending.set_result(outcome)
            if keep and isinstance(outcome, Answer):
                self.put(key, outcome)
            return outcome, False
        finally:
            del self._computing[key]
            pending.exception()  # read here, so that nobody waiting is no error to log
