"""Bad input of every kind gets a 4xx with a JSON reason; no route ever answers 500 for it."""

from __future__ import annotations

import json
import warnings

import pytest

from downhill.web import create_app
from downhill.web.api import ROUTES

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette asks for httpx2; httpx is what the test extra installs
    from starlette.testclient import TestClient


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(), raise_server_exceptions=False) as test_client:
        yield test_client


def assert_refused(response, status=None, field=None):
    """A 4xx with the JSON error body the page relies on."""
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:500])
    if status is not None:
        assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"] == "application/json"
    data = response.json()
    assert isinstance(data["error"], str) and data["error"]
    assert "field" in data and "allowed" in data
    assert "Traceback" not in response.text and 'File "' not in response.text
    if field is not None:
        assert data["field"] == field, data
    return data


# A valid body for each POST route: the corpus mutates one field at a time.
VALID = {
    "/api/descend": {"landscape": "booth", "start": [0, 0], "optimizer": "sgd", "lr": 0.01, "steps": 20,
                     "options": {"momentum": 0.5}, "schedule": {"name": "step", "options": {"step_size": 5}},
                     "tol": 1e-8, "max_value": 1e12},
    "/api/surface": {"landscape": "booth", "domain": [[-1, 1], [-1, 1]], "n": 10, "gradients": True},
    "/api/derivative": {"expression": "x**2", "x": 1.0, "span": [-1, 2], "n": 10},
    "/api/gradient": {"landscape": "booth", "point": [1, 2]},
    "/api/basins": {"landscape": "booth", "optimizer": "adam", "lr": 0.1, "grid": 5, "steps": 10,
                    "options": {"amsgrad": True}, "domain": [[-1, 1], [-1, 1]]},
    "/api/lr_sweep": {"landscape": "booth", "start": [0, 0], "lrs": [0.01, 0.1], "optimizer": "sgd", "steps": 10,
                      "options": {}, "tol": 0.0, "max_value": 1e6},
    "/api/lr_advice": {"landscape": "booth", "point": [1, 2]},
    "/api/three_rates": {"landscape": "booth", "start": [0, 0], "optimizer": "sgd", "steps": 10, "options": {}},
    "/api/graph": {"expression": "x*y", "point": [1, 2]},
    "/api/train": {"dataset": "moons", "hidden": [4, 4], "steps": 10, "lr": 0.1, "seed": 0, "snapshot_every": 5},
    "/api/loss_landscape": {"dataset": "moons", "hidden": [4], "steps": 10, "lr": 0.1, "seed": 0, "snapshot_every": 5,
                            "resolution": 5},
}

BAD_VALUES = [
    None, True, False, "text", "", [], {}, [[]], [None], [[1, 2], [3]], {"a": 1}, -1, 0, 1e308, -1e308,
    10**400, 1.5, [1, 2, 3, 4], [[1, 2, 3]] * 3, ["1", "2"], "x" * 5000, [1] * 3000, [[[1.0]]],
    {"name": "__import__('os')"}, "__import__('os')", [True, False],
]


def test_every_post_route_has_a_valid_body():
    assert set(VALID) == {h.path for h in ROUTES if h.method == "POST"}


@pytest.mark.parametrize("path", sorted(VALID))
def test_no_bad_field_value_gives_a_500(client, path):
    for field in VALID[path]:
        for bad in BAD_VALUES:
            body = {**VALID[path], field: bad}
            response = client.post(path, json=body)
            assert response.status_code < 500, (path, field, bad, response.text[:300])
            if response.status_code >= 400:
                assert_refused(response)


@pytest.mark.parametrize("path", sorted(VALID))
def test_missing_and_unknown_fields(client, path):
    body = VALID[path]
    response = client.post(path, json={**body, "spam": 1})
    data = assert_refused(response, 422, field="spam")
    assert sorted(data["allowed"]) == sorted(set(data["allowed"]) | set(body))
    assert "accepted fields" in data["error"]
    for name in body:
        smaller = {k: v for k, v in body.items() if k != name}
        response = client.post(path, json=smaller)
        assert response.status_code != 500, (path, name)
    # The required fields, one by one:
    for name in ("start", "point", "lrs", "x", "dataset"):
        if name in body:
            response = client.post(path, json={k: v for k, v in body.items() if k != name})
            assert_refused(response, 422, field=name)


@pytest.mark.parametrize("path", sorted(VALID))
def test_bodies_that_are_not_objects(client, path):
    for raw in ("null", "[]", "1", '"text"', "true", "[1, 2]"):
        response = client.post(path, content=raw, headers={"content-type": "application/json"})
        assert_refused(response, 422)


@pytest.mark.parametrize("path", [h.path for h in ROUTES if h.method == "POST"][:3])
@pytest.mark.parametrize("raw", [
    "", "{", '{"landscape": "booth", "start": [0, 0]', "{'landscape': 'booth'}", "NaN", '{"x": NaN}',
    '{"steps": Infinity}', '{"lr": -Infinity}', "[" * 50_000, '{"a":' * 10_000, "{} {}", "\x00",
    '{"start": ' + "1" * 5_000 + "}",  # an integer longer than Python will read
])
def test_malformed_json_is_400(client, path, raw):
    response = client.post(path, content=raw.encode(), headers={"content-type": "application/json"})
    assert_refused(response, 400)


def test_bodies_that_are_not_utf8(client):
    body = json.dumps(VALID["/api/gradient"]).encode("utf-16")
    response = client.post("/api/gradient", content=body, headers={"content-type": "application/json"})
    assert_refused(response, 400)
    response = client.post("/api/gradient", content=b'{"landscape": "\xff"}',
                           headers={"content-type": "application/json"})
    assert_refused(response, 400)


@pytest.mark.parametrize("content_type", [
    None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
    "application/jsonx", "application/json; charset=latin-1", "text/json", "application/xml",
])
def test_wrong_content_types_are_415(client, content_type):
    headers = {} if content_type is None else {"content-type": content_type}
    body = json.dumps(VALID["/api/gradient"]).encode()
    response = client.post("/api/gradient", content=body, headers=headers)
    data = assert_refused(response, 415)
    assert data["allowed"] == ["application/json"]


def test_json_with_a_utf8_charset_is_fine(client):
    body = json.dumps(VALID["/api/gradient"]).encode()
    for content_type in ("application/json; charset=utf-8", "Application/JSON;charset=UTF-8"):
        response = client.post("/api/gradient", content=body, headers={"content-type": content_type})
        assert response.status_code == 200


def test_a_megabyte_body_is_413(client):
    body = json.dumps({"expression": "x" + "+x" * 500_000, "point": [1]}).encode()
    response = client.post("/api/gradient", content=body, headers={"content-type": "application/json"})
    data = assert_refused(response, 413)
    assert data["allowed"] == {"max_bytes": 65536}


def test_a_chunked_body_past_the_limit_is_413(client):
    def chunks():
        yield b'{"expression": "'
        for _ in range(100):
            yield b"x+" * 512
        yield b'x", "point": [1]}'

    response = client.post("/api/gradient", content=chunks(), headers={"content-type": "application/json"})
    assert "content-length" not in response.request.headers
    assert_refused(response, 413)


def test_a_lying_content_length_is_refused(client):
    response = client.post("/api/gradient", content=b"{}",
                           headers={"content-type": "application/json", "content-length": "abc"})
    assert response.status_code in (400, 413)


# ---------------------------------------------------------------------------
# Hostile formulas.
# ---------------------------------------------------------------------------

HOSTILE_FORMULAS = [
    "__import__('os')",
    "__import__('os').system('echo pwned')",
    "().__class__.__bases__[0].__subclasses__()",
    "x.__class__",
    "x.real",
    "x[0]",
    "eval('1')",
    "exec('import os')",
    "open('/etc/passwd')",
    "getattr(x, 'y')",
    "globals()",
    "__builtins__",
    "lambda: 1",
    "[x for x in y]",
    "x if y else 1",
    "x; import os",
    "import os",
    "'a' * 10",
    "x @ y",
    "x // y",
    "x << 2",
    "x == y",
    "x and y",
    "sin(x, y)",
    "sin(x=1)",
    "f(x)",
    "9**9**9**9",
    "2**1000000",
    "x**1000",
    "10**400",
    "1e309 * x",
    "(" * 500 + "x" + ")" * 500,
    "-" * 900 + "x",
    "x" + "+x" * 600,
    "sin(" * 300 + "x" + ")" * 300,
    "x" * 1001,
    "",
    "   ",
    "x\x00",
    "x\u202e+y",
    "x²",
    "2x",
    "x +",
    "{x}",
    "f'{x}'",
    "*x",
    "x := 1",
]


@pytest.mark.parametrize("formula", HOSTILE_FORMULAS, ids=[f"{i}-{f[:24]!r}" for i, f in enumerate(HOSTILE_FORMULAS)])
def test_hostile_formulas_are_refused_with_a_position(client, formula):
    for path, body in (("/api/descend", {"expression": formula, "start": [1, 1]}),
                       ("/api/surface", {"expression": formula, "n": 5}),
                       ("/api/derivative", {"expression": formula, "x": 1.0}),
                       ("/api/gradient", {"expression": formula, "point": [1, 1]}),
                       ("/api/graph", {"expression": formula, "point": [1, 1]})):
        response = client.post(path, json=body)
        data = assert_refused(response, 422, field="expression")
        assert "message" in data and "position" in data and "hint" in data
        assert "pwned" not in response.text or "pwned" in formula


def test_a_formula_error_points_at_the_offending_part(client):
    response = client.post("/api/gradient", json={"expression": "x**2 + y.__class__", "point": [1, 1]})
    data = assert_refused(response, 422, field="expression")
    assert data["error"] == "a formula cannot use attribute access (a '.' after a name)"
    assert (data["position"], data["end"]) == (7, 18)
    assert "^^^" in data["message"]


@pytest.mark.parametrize("formula", [
    "exp(exp(exp(x))) + y", "x**-100 + y", "1/x + 1/y", "log(x) * y", "sqrt(-x*x - 1) + y", "-exp(x*y)"])
def test_formulas_that_overflow_are_results_not_errors(client, formula):
    response = client.post("/api/descend", json={"expression": formula, "start": [3, 3], "lr": 0.1, "steps": 50})
    assert response.status_code == 200
    assert response.json()["status"] in ("diverged", "converged", "max_steps")
    response = client.post("/api/surface", json={"expression": formula, "n": 20})
    assert response.status_code == 200


def test_formulas_without_finite_values_at_a_point_are_422(client):
    response = client.post("/api/gradient", json={"expression": "log(x) + y", "point": [-1, 0]})
    assert_refused(response, 422, field="point")
    response = client.post("/api/derivative", json={"expression": "1/x", "x": 0})
    assert_refused(response, 422, field="x")
    response = client.post("/api/lr_advice", json={"landscape": "ackley", "point": [0, 0]})
    assert_refused(response, 422, field="point")


# ---------------------------------------------------------------------------
# Values the library refuses, reported as 422 with the right field.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("path, body, field", [
    ("/api/descend", {"landscape": "booth", "start": [0, 0], "options": {"momentum": -1}}, "options"),
    ("/api/descend", {"landscape": "booth", "start": [0, 0], "options": {"nesterov": True}}, "options"),
    ("/api/descend", {"landscape": "booth", "start": [0, 0], "optimizer": "adam",
                      "options": {"betas": [1.5, 0.9]}}, "options"),
    ("/api/descend", {"landscape": "booth", "start": [0, 0], "optimizer": "adam",
                      "options": {"momentum": 0.9}}, "options.momentum"),
    ("/api/descend", {"landscape": "booth", "start": [0, 0], "optimizer": "adam",
                      "options": {"betas": [0.9]}}, "options.betas"),
    ("/api/descend", {"landscape": "booth", "start": [0, 0], "optimizer": "sgd",
                      "options": {"nesterov": 1}}, "options.nesterov"),
    ("/api/descend", {"landscape": "booth", "start": [0, 0], "optimizer": "newton"}, "optimizer"),
    ("/api/descend", {"landscape": "mount_everest", "start": [0, 0]}, "landscape"),
    ("/api/descend", {"landscape": "booth", "expression": "x", "start": [0, 0]}, "landscape"),
    ("/api/descend", {"start": [0, 0]}, "landscape"),
    ("/api/descend", {"landscape": "booth", "start": [0, 0, 0]}, "start"),
    ("/api/descend", {"landscape": "booth", "start": [[0, 0], [1]]}, "start"),
    ("/api/descend", {"landscape": "booth", "start": [0, 0], "schedule": {"name": "lambda"}}, "schedule.name"),
    ("/api/descend", {"landscape": "booth", "start": [0, 0], "schedule": {"name": "plateau"}}, "schedule.name"),
    ("/api/descend", {"landscape": "booth", "start": [0, 0], "schedule": {"name": "step"}}, "schedule.options"),
    ("/api/descend", {"landscape": "booth", "start": [0, 0],
                      "schedule": {"name": "step", "options": {"step_size": 0}}}, "schedule"),
    ("/api/descend", {"landscape": "booth", "start": [0, 0],
                      "schedule": {"name": "step", "options": {"step_size": 2, "lr_lambda": 1}}},
     "schedule.options.lr_lambda"),
    ("/api/descend", {"landscape": "booth", "start": [0, 0],
                      "schedule": {"name": "exponential", "options": {"gamma": 1e9}}}, "schedule"),
    ("/api/descend", {"landscape": "booth", "start": [0, 0], "schedule": {
        "name": "sequential", "options": {"milestones": [5], "schedulers": [{"name": "sequential"}]}}},
     "schedule.options.schedulers.name"),
    ("/api/surface", {"expression": "x**2", "n": 5}, "expression"),
    ("/api/surface", {"expression": "x + y + z", "n": 5}, "expression"),
    ("/api/surface", {"landscape": "booth", "domain": [[1, -1], [0, 1]]}, "domain"),
    ("/api/derivative", {"expression": "x*y", "x": 1}, "expression"),
    ("/api/derivative", {"landscape": "booth", "x": 1}, "landscape"),
    ("/api/derivative", {"expression": "x", "x": 1, "span": [2, 1]}, "span"),
    ("/api/lr_sweep", {"landscape": "booth", "start": [[0, 0], [1, 1]], "lrs": [0.1]}, "start"),
    ("/api/lr_sweep", {"landscape": "booth", "start": [0, 0], "lrs": [-0.1]}, "lrs"),
    ("/api/lr_sweep", {"landscape": "booth", "start": [0, 0], "lrs": []}, "lrs"),
    ("/api/basins", {"expression": "x**2 + y**2 + z**2"}, "expression"),
    ("/api/train", {"dataset": "mnist"}, "dataset"),
    ("/api/train", {"dataset": "moons", "hidden": []}, "hidden"),
])
def test_values_refused_name_their_field(client, path, body, field):
    data = assert_refused(client.post(path, json=body), 422)
    assert data["field"] == field, data


def test_error_messages_say_what_is_allowed(client):
    data = assert_refused(client.post("/api/descend", json={"landscape": "booth", "start": [0, 0],
                                                            "optimizer": "adma"}), 422, field="optimizer")
    assert "did you mean 'adam'" in data["error"] and "sgd" in data["allowed"]
    data = assert_refused(client.post("/api/descend", json={"landscape": "rosenbrok", "start": [0, 0]}), 422)
    assert "rosenbrock" in data["error"] and "rosenbrock" in data["allowed"]
    data = assert_refused(client.post("/api/descend", json={"landscape": "booth", "start": [0, 0],
                                                            "optimizer": "adam", "options": {"alpha": 1}}), 422)
    assert "amsgrad" in data["allowed"] and "lr" not in data["allowed"]


# ---------------------------------------------------------------------------
# The time budget and the catch-all.
# ---------------------------------------------------------------------------


def test_a_request_past_the_time_budget_is_503_and_the_server_goes_on():
    with TestClient(create_app(time_budget=0.01), raise_server_exceptions=False) as client:
        body = {"landscape": "rosenbrock", "start": [-1, 1], "lrs": [1e-5] * 20, "steps": 1000, "tol": 0}
        response = client.post("/api/lr_sweep", json=body)
        assert response.status_code == 503
        data = response.json()
        assert "seconds" in data["error"] and data["allowed"] == {"time_budget_s": 0.01}
        assert client.get("/api/landscapes").status_code == 200


def test_an_unexpected_error_is_a_500_without_a_traceback(monkeypatch, caplog):
    from downhill.web import api

    from . import pool_support

    monkeypatch.setattr(api, "ROUTES", (api.Handler("/api/gradient", "POST", pool_support.broken),))
    with TestClient(create_app(workers=1), raise_server_exceptions=False) as client:
        response = client.post("/api/gradient", json={})
    assert response.status_code == 500
    assert response.json() == {"error": "the server met an unexpected error; it has been logged",
                               "field": None, "allowed": None}
    assert "a bug" not in response.text and "Traceback" not in response.text
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "a bug" in caplog.text  # the log has it


def test_requests_that_find_no_free_worker_in_time_are_refused_and_never_run(monkeypatch, tmp_path):
    import threading
    import time

    from downhill.web import api

    from . import pool_support

    routes = (api.Handler("/api/slow", "POST", pool_support.sleep),
              api.Handler("/api/counted", "POST", pool_support.counted))
    monkeypatch.setattr(api, "ROUTES", routes)
    trace = tmp_path / "ran.txt"
    with TestClient(create_app(time_budget=5, workers=1, wait=0.2), raise_server_exceptions=False) as client:
        first = threading.Thread(target=client.post, args=("/api/slow",), kwargs={"json": {"seconds": 0.6}})
        first.start()
        time.sleep(0.15)
        response = client.post("/api/counted", json={"n": 1, "file": str(trace)})  # the one worker is busy
        assert response.status_code == 503 and "busy" in response.json()["error"]
        first.join()
        time.sleep(0.2)
        assert not trace.exists()  # it was not run once the worker came free
        assert client.post("/api/counted", json={"n": 2, "file": str(trace)}).status_code == 200
        assert trace.read_text() == "2\n"
