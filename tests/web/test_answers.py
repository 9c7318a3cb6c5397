"""Answers kept for identical requests: computed once, sent again byte for byte, bounded in memory."""

from __future__ import annotations

import asyncio
import gzip
import json
import threading
import time
import warnings

import pytest

import downhill as dh
from downhill.landscapes.field import surface
from downhill.web import api, create_app
from downhill.web.answers import Answer, AnswerCache, cache_key

from . import pool_support

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient


def run(coroutine):
    return asyncio.run(coroutine)


# ---------------------------------------------------------------------------
# The cache alone
# ---------------------------------------------------------------------------


def test_the_least_recently_used_answers_go_first_when_the_bytes_run_out():
    cache = AnswerCache(max_bytes=1600)  # answers of up to 100 bytes, key included
    for name in "abcdefghijklmnopqrst":  # 20 answers of 90 + 2 bytes: 17 fit
        cache.put(f"k{name}".encode(), Answer(b"x" * 90, None, 0.0))
    assert cache.size <= 1600 and len(cache) == 17
    assert cache.get(b"ka") is None and cache.get(b"kc") is None and cache.get(b"kd") is not None
    cache.get(b"kd")  # used: now the newest
    cache.put(b"ku", Answer(b"y" * 90, None, 0.0))
    assert cache.get(b"kd") is not None and cache.get(b"ke") is None
    cache.put(b"big", Answer(b"z" * 200, None, 0.0))  # past max_bytes // 16: never kept
    assert cache.get(b"big") is None
    cache.put(b"kd", Answer(b"w" * 10, None, 0.0))  # replaced: its old bytes are given back
    assert cache.get(b"kd").content == b"w" * 10 and cache.size == sum(len(k) + len(a.content)
                                                                        for k, a in cache._kept.items())


def test_identical_requests_at_once_compute_once_and_share_the_answer():
    cache = AnswerCache()
    calls = []

    async def compute():
        calls.append(1)
        await asyncio.sleep(0.05)
        return Answer(b"{}", None, 0.05)

    async def main():
        return await asyncio.gather(*[cache.answer(b"k", compute) for _ in range(5)])

    outcomes = run(main())
    assert len(calls) == 1
    assert [hit for _, hit in outcomes] == [False, True, True, True, True]
    assert all(answer is outcomes[0][0] for answer, _ in outcomes)
    assert (cache.misses, cache.shared, cache.hits) == (1, 4, 0)
    assert run(cache.answer(b"k", compute)) == (outcomes[0][0], True) and len(calls) == 1


def test_a_failure_is_shared_with_those_waiting_and_never_kept():
    cache = AnswerCache()
    calls = []

    async def fail():
        calls.append(1)
        await asyncio.sleep(0.05)
        raise ValueError("over budget")

    async def main():
        return await asyncio.gather(*[cache.answer(b"k", fail) for _ in range(3)], return_exceptions=True)

    outcomes = run(main())
    assert len(calls) == 1 and all(isinstance(o, ValueError) for o in outcomes)
    with pytest.raises(ValueError):
        run(cache.answer(b"k", fail))
    assert len(calls) == 2 and len(cache) == 0


def test_when_the_first_request_goes_away_the_next_computes_for_itself():
    cache = AnswerCache()
    calls = []

    async def compute():
        calls.append(1)
        await asyncio.sleep(0.1)
        return Answer(b"{}", None, 0.1)

    async def main():
        first = asyncio.ensure_future(cache.answer(b"k", compute))
        await asyncio.sleep(0.01)
        second = asyncio.ensure_future(cache.answer(b"k", compute))
        await asyncio.sleep(0.01)
        first.cancel()
        return await second, first

    (answer, hit), first = run(main())
    assert first.cancelled() and len(calls) == 2 and not hit and answer.content == b"{}"


def test_fresh_computes_anyway_and_a_refusal_or_keep_false_leaves_nothing():
    cache = AnswerCache()
    count = iter(range(100))

    async def compute():
        return Answer(str(next(count)).encode(), None, 0.0)

    async def refuse():
        return "a refusal"

    assert run(cache.answer(b"k", compute))[0].content == b"0"
    assert run(cache.answer(b"k", compute, fresh=True))[0].content == b"1"
    assert run(cache.answer(b"k", compute))[0].content == b"1"  # the fresh one replaced it
    assert run(cache.answer(b"j", compute, fresh=True, keep=False))[0].content == b"2"
    assert cache.get(b"j") is None
    assert run(cache.answer(b"r", refuse)) == ("a refusal", False) and cache.get(b"r") is None
    off = AnswerCache(max_bytes=0)
    assert run(off.answer(b"k", compute))[0].content == b"3" and run(off.answer(b"k", compute))[0].content == b"4"


def test_the_key_is_the_route_and_the_body_as_sent():
    assert cache_key("/api/a", {"x": 1, "y": [1.5]}) == cache_key("/api/a", json.loads('{"x":1, "y":[1.50]}'))
    assert cache_key("/api/a", {"x": 1}) != cache_key("/api/b", {"x": 1})
    assert cache_key("/api/a", {"x": 1}) != cache_key("/api/a", {"x": 1.0})
    assert cache_key("/api/a", {"x": 1, "y": 2}) != cache_key("/api/a", {"y": 2, "x": 1})  # order kept: no guessing


# ---------------------------------------------------------------------------
# In the server
# ---------------------------------------------------------------------------


@pytest.fixture()
def counting(monkeypatch):
    """A client whose pool counts the jobs it runs."""
    with TestClient(create_app(workers=1)) as client:
        pool = client.app.state.pool
        jobs = []
        original = pool.run

        async def counted(job, heavy=False):
            jobs.append(job[1])
            return await original(job, heavy=heavy)

        monkeypatch.setattr(pool, "run", counted)
        yield client, jobs


SURFACE = {"landscape": "rastrigin", "n": 60}


def test_a_repeated_request_is_answered_from_the_kept_answer_byte_for_byte(counting):
    client, jobs = counting
    first = client.post("/api/surface", json=SURFACE, headers={"accept-encoding": "gzip"})
    second = client.post("/api/surface", json=SURFACE, headers={"accept-encoding": "gzip"})
    assert first.status_code == second.status_code == 200 and len(jobs) == 1
    assert second.content == first.content and second.json()["z"] == first.json()["z"]
    assert second.headers["content-encoding"] == first.headers["content-encoding"] == "gzip"
    assert 'desc="kept"' in second.headers["server-timing"]
    assert 'desc="kept"' not in first.headers["server-timing"]
    # Computed afresh on request, with the same numbers.
    fresh = client.post("/api/surface", json=SURFACE, headers={"cache-control": "no-cache"})
    assert len(jobs) == 2 and fresh.content == first.content
    # A client that takes no gzip gets the same JSON, plain.
    plain = client.post("/api/surface", json=SURFACE, headers={"accept-encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert first.headers["vary"].lower() == plain.headers["vary"].lower() == "accept-encoding"
    assert json.loads(plain.content) == first.json() and len(jobs) == 2
    # The same numbers as the library itself.
    rastrigin = dh.landscapes.get("rastrigin")
    assert first.json()["z"] == json.loads(api.Grid(surface(rastrigin, rastrigin.domain, 60, True).z).json())


def test_identical_requests_at_once_reach_one_worker(counting):
    client, jobs = counting
    body = {"landscape": "himmelblau", "grid": 40, "steps": 300, "lr": 1e-3}
    answers = []

    def ask():
        answers.append(client.post("/api/basins", json=body))

    threads = [threading.Thread(target=ask) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [a.status_code for a in answers] == [200] * 6
    assert len({a.content for a in answers}) == 1
    assert len(jobs) == 1


def test_refusals_and_stopped_requests_are_not_kept(counting):
    client, jobs = counting
    kink = {"landscape": "ackley", "point": [0, 0]}  # refused by the library, in the worker
    assert client.post("/api/lr_advice", json=kink).status_code == 422
    assert client.post("/api/lr_advice", json=kink).status_code == 422 and len(jobs) == 2
    early = {"landscape": "sphere", "point": [1.0]}  # refused by the checks, before any worker
    assert client.post("/api/gradient", json=early).status_code == 422 and len(jobs) == 2
    assert len(client.app.state.answers) == 0
    # A request stopped at its budget: computed (and stopped) again the next time.
    with TestClient(create_app(workers=1, time_budget=0.25)) as quick:
        body = {"landscape": "himmelblau", "grid": 150, "steps": 2_000, "lr": 1e-4}  # about 0.8 s of work
        for _ in range(2):
            response = quick.post("/api/basins", json=body)
            assert response.status_code == 503 and "stopped after 0.25 seconds" in response.json()["error"]
        assert len(quick.app.state.answers) == 0
        deadline = time.monotonic() + 5
        while quick.app.state.pool.replaced < 2 and time.monotonic() < deadline:  # replaced in the background
            time.sleep(0.02)
        assert quick.app.state.pool.replaced == 2


def test_a_route_whose_answer_is_not_its_body_alone_is_never_kept(monkeypatch):
    routes = (*api.ROUTES, api.Handler("/api/whoami", "POST", pool_support.whoami))
    monkeypatch.setattr(api, "ROUTES", routes)
    with TestClient(create_app(workers=1)) as client:
        first = client.post("/api/whoami", json={}).json()["pid"]
        client.app.state.pool.close()  # new workers: a new process id, if computed again
        second = client.post("/api/whoami", json={}).json()["pid"]
    assert first != second


def test_no_cache_bytes_keeps_nothing():
    with TestClient(create_app(workers=1, cache_bytes=0)) as client:
        for _ in range(2):
            response = client.post("/api/surface", json=SURFACE)
            assert response.status_code == 200 and 'desc="kept"' not in response.headers["server-timing"]
        assert len(client.app.state.answers) == 0


def test_a_compressed_answer_reads_back_as_the_plain_one():
    from downhill.web.app import compute

    status, content, encoding, _ = compute((api.descend, {"landscape": "booth", "start": [[0, 0], [1, 1]],
                                                          "steps": 300, "lr": 1e-3}))
    assert status == "ok" and encoding == "gzip"
    plain = json.loads(gzip.decompress(content))
    assert len(plain["points"]) == 301 and plain["status"] == ["max_steps", "max_steps"]
    status, content, encoding, _ = compute((api.gradient, {"landscape": "sphere", "point": [3, 4]}))
    assert encoding is None and json.loads(content)["steepness"] == 10.0
