"""Every route of the playground's API answers what the library answers, called directly."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

import downhill as dh
from downhill import explain
from downhill.optim.basins import basins
from downhill.optim.descend import program_for
from downhill.web import create_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette asks for httpx2; httpx is what the test extra installs
    from starlette.testclient import TestClient


def roundtrip(result: dict):
    """What a client reads after the library's result goes through JSON."""
    return json.loads(json.dumps(result))


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(), raise_server_exceptions=False) as test_client:
        yield test_client


def post(client, path, body):
    response = client.post(path, json=body)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    return response.json()


# ---------------------------------------------------------------------------
# The catalog.
# ---------------------------------------------------------------------------


def test_landscapes_lists_the_catalog_optimizers_and_schedules(client):
    response = client.get("/api/landscapes")
    assert response.status_code == 200
    data = response.json()
    assert [entry["name"] for entry in data["landscapes"]] == list(dh.landscapes.names())
    keys = {"name", "formula", "variables", "domain", "minima", "smooth", "many_local_minima", "description",
            "start"}
    for entry in data["landscapes"]:
        assert set(entry) == keys
        assert entry == dh.landscapes.get(entry["name"]).to_dict()  # the library's own JSON
        landscape = dh.landscapes.get(entry["name"])
        assert entry["formula"] == landscape.formula
        assert entry["variables"] == list(landscape.variables)
        assert entry["domain"] == [list(pair) for pair in landscape.domain]
        assert entry["minima"] == [{"point": list(m.point), "value": m.value} for m in landscape.minima]
        assert entry["smooth"] == landscape.smooth
        assert entry["many_local_minima"] == landscape.many_local_minima
    assert data["optimizers"][:5] == dh.optim.names()
    assert {"momentum", "nesterov"} <= set(data["optimizers"])
    assert {"step", "cosine", "exponential", "one_cycle"} <= set(data["schedules"])
    assert "lambda" not in data["schedules"] and "plateau" not in data["schedules"]
    assert data["optimizer_options"]["adam"]["betas"] == [0.9, 0.999]
    assert data["limits"]["steps"] == 10_000 and data["limits"]["climbers"] == 2_500


# ---------------------------------------------------------------------------
# descend
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("body, call", [
    ({"landscape": "rosenbrock", "start": [-1.5, 2.0], "optimizer": "adam", "lr": 0.02, "steps": 300},
     dict(f="rosenbrock", start=[-1.5, 2.0], optimizer="adam", lr=0.02, steps=300)),
    ({"landscape": "himmelblau", "start": [0, 0], "lr": 0.01, "steps": 50, "tol": 0.0},
     dict(f="himmelblau", start=[0.0, 0.0], lr=0.01, steps=50, tol=0.0)),
    ({"landscape": "booth", "start": [0, 0], "optimizer": "rmsprop", "lr": 0.05, "steps": 40,
      "options": {"alpha": 0.9, "centered": True, "momentum": 0.5}},
     dict(f="booth", start=[0.0, 0.0], optimizer="rmsprop", lr=0.05, steps=40, alpha=0.9, centered=True,
          momentum=0.5)),
    ({"landscape": "sphere", "start": [1, 1], "optimizer": "adamw", "lr": 0.1, "steps": 30,
      "options": {"betas": [0.8, 0.99], "amsgrad": True, "weight_decay": 0.1}},
     dict(f="sphere", start=[1.0, 1.0], optimizer="adamw", lr=0.1, steps=30, betas=(0.8, 0.99), amsgrad=True,
          weight_decay=0.1)),
    ({"landscape": "sphere", "start": [1, 1], "lr": 1.5, "steps": 100},
     dict(f="sphere", start=[1.0, 1.0], lr=1.5, steps=100)),  # falls off the mountain
])
def test_descend_equals_the_library(client, body, call):
    expected = dh.descend(**call).to_dict()
    assert post(client, "/api/descend", body) == roundtrip(expected)


def test_descend_of_an_expression_equals_the_library(client):
    text = "sin(x)*cos(y) + (x^2 + y^2)/10"
    body = {"expression": text, "start": [1.0, -0.5], "optimizer": "adagrad", "lr": 0.3, "steps": 60,
            "options": {"lr_decay": 0.01, "initial_accumulator_value": 0.1}}
    expected = dh.descend(dh.landscapes.from_expression(text), [1.0, -0.5], optimizer="adagrad", lr=0.3,
                          steps=60, lr_decay=0.01, initial_accumulator_value=0.1)
    assert post(client, "/api/descend", body) == roundtrip(expected.to_dict())


def test_descend_with_one_variable(client):
    expected = dh.descend(dh.landscapes.from_expression("x**4 - 3*x"), [2.0], lr=0.01, steps=20)
    assert post(client, "/api/descend", {"expression": "x**4 - 3*x", "start": [2.0], "lr": 0.01,
                                         "steps": 20}) == roundtrip(expected.to_dict())


def test_many_climbers_equal_the_library(client):
    rng = np.random.default_rng(0)
    starts = rng.uniform(-5, 5, size=(25, 2)).round(3).tolist()
    body = {"landscape": "himmelblau", "start": starts, "lr": 0.01, "steps": 80}
    expected = dh.descend("himmelblau", starts, lr=0.01, steps=80).to_dict()
    data = post(client, "/api/descend", body)
    assert data == roundtrip(expected)
    assert np.shape(data["points"]) == (81, 25, 2) and len(data["status"]) == 25


@pytest.mark.parametrize("alias, options", [
    ("momentum", {"momentum": 0.9}),
    ("nesterov", {"momentum": 0.9, "nesterov": True}),
])
def test_momentum_and_nesterov_are_sgd_with_momentum(client, alias, options):
    expected = dh.descend("rosenbrock", [-1.0, 1.0], optimizer="sgd", lr=1e-3, steps=200, **options)
    data = post(client, "/api/descend", {"landscape": "rosenbrock", "start": [-1, 1], "optimizer": alias,
                                         "lr": 1e-3, "steps": 200})
    assert data == roundtrip(expected.to_dict())
    assert data["optimizer"] == "sgd" and data["options"]["momentum"] == 0.9


def test_an_alias_takes_options_of_its_own(client):
    expected = dh.descend("booth", [0.0, 0.0], optimizer="sgd", lr=0.01, steps=20, momentum=0.5, nesterov=True)
    data = post(client, "/api/descend", {"landscape": "booth", "start": [0, 0], "optimizer": "nesterov",
                                         "lr": 0.01, "steps": 20, "options": {"momentum": 0.5}})
    assert data == roundtrip(expected.to_dict())


@pytest.mark.parametrize("schedule, spec", [
    ({"name": "step", "options": {"step_size": 10, "gamma": 0.5}}, ("step", {"step_size": 10, "gamma": 0.5})),
    ({"name": "cosine"}, ("cosine", {"T_max": 60})),  # lasts as long as the climb
    ({"name": "CosineAnnealingLR", "options": {"T_max": 20, "eta_min": 0.001}},
     ("cosine", {"T_max": 20, "eta_min": 0.001})),
    ({"name": "one_cycle"}, ("one_cycle", {"total_steps": 60, "max_lr": 0.05})),
    ({"name": "multistep", "options": {"milestones": [10, 30]}}, ("multistep", {"milestones": [10, 30]})),
    ({"name": "sequential", "options": {"milestones": [10], "schedulers": [
        {"name": "linear", "options": {"start_factor": 0.1, "total_iters": 10}},
        {"name": "exponential", "options": {"gamma": 0.95}}]}},
     ("sequential", {"milestones": [10], "schedulers": [("linear", {"start_factor": 0.1, "total_iters": 10}),
                                                         ("exponential", {"gamma": 0.95})]})),
])
def test_descend_with_a_schedule_equals_the_library(client, schedule, spec):
    expected = dh.descend("booth", [0.0, 0.0], lr=0.05, steps=60, schedule=spec)
    data = post(client, "/api/descend", {"landscape": "booth", "start": [0, 0], "lr": 0.05, "steps": 60,
                                         "schedule": schedule})
    assert data == roundtrip(expected.to_dict())
    assert data["lrs"] == expected.lrs.tolist()


def test_descend_defaults_are_the_library_defaults(client):
    expected = dh.descend("booth", [0.0, 0.0])
    assert post(client, "/api/descend", {"landscape": "booth", "start": [0, 0]}) == roundtrip(expected.to_dict())


def test_null_for_optional_objects_means_none(client):
    expected = dh.descend("booth", [0.0, 0.0], steps=10)
    data = post(client, "/api/descend", {"landscape": "booth", "start": [0, 0], "steps": 10, "options": None,
                                         "schedule": None})
    assert data == roundtrip(expected.to_dict())


# ---------------------------------------------------------------------------
# surface
# ---------------------------------------------------------------------------


def test_surface_values_and_gradients_match_the_landscape(client):
    data = post(client, "/api/surface", {"landscape": "himmelblau", "n": 41})
    landscape = dh.landscapes.get("himmelblau")
    xs, ys = np.array(data["x"]), np.array(data["y"])
    assert xs.tolist() == np.linspace(-5, 5, 41).tolist() and ys.tolist() == xs.tolist()
    X, Y = np.meshgrid(xs, ys)
    Z = landscape(np.stack([X, Y], axis=-1))
    G = np.asarray(dh.grad(lambda p: landscape(p).sum())(np.stack([X, Y], axis=-1)))
    np.testing.assert_allclose(data["z"], Z, rtol=1e-6, atol=1e-12)  # 7 significant digits
    np.testing.assert_allclose(data["gx"], G[..., 0], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(data["gy"], G[..., 1], rtol=1e-6, atol=1e-9)
    assert data["zmin"] == Z.min() and data["zmax"] == Z.max()
    assert data["minima"] == [{"point": list(m.point), "value": m.value} for m in landscape.minima]
    assert data["formula"] == landscape.formula and data["domain"] == [[-5.0, 5.0], [-5.0, 5.0]]


def test_surface_rows_are_y(client):
    data = post(client, "/api/surface", {"expression": "x + 10*y", "domain": [[0, 1], [0, 2]], "n": 3})
    assert data["x"] == [0.0, 0.5, 1.0] and data["y"] == [0.0, 1.0, 2.0]
    assert data["z"] == [[0, 0.5, 1], [10, 10.5, 11], [20, 20.5, 21]]
    assert data["gx"] == [[1] * 3] * 3 and data["gy"] == [[10] * 3] * 3


def test_surface_sends_null_where_the_landscape_is_not_finite(client):
    data = post(client, "/api/surface", {"expression": "log(x) + y", "domain": [[-1, 1], [0, 1]], "n": 3})
    assert data["z"][0][0] is None and data["z"][0][1] is None  # log(-1) is NaN, log(0) is -inf
    assert data["z"][0][2] == 0 and data["zmin"] == 0.0 and data["zmax"] == 1.0
    assert data["gx"][0][1] is None  # 1/0


def test_surface_without_gradients(client):
    data = post(client, "/api/surface", {"landscape": "sphere", "n": 2, "gradients": False})
    assert data["gx"] is None and data["gy"] is None
    assert data["z"] == [[2 * 5.12**2, 5.12**2 * 2], [5.12**2 * 2, 2 * 5.12**2]]


def test_surface_without_a_traced_program_uses_the_engine(client, monkeypatch):
    from downhill.landscapes import field

    body = {"landscape": "himmelblau", "n": 17, "domain": [[-4, 4], [-3, 5]]}
    traced = post(client, "/api/surface", body)
    monkeypatch.setattr(field, "program_for", lambda landscape: None)
    assert post(client, "/api/surface", body) == traced


def test_surface_uses_the_traced_program():
    landscape = dh.landscapes.get("rosenbrock")
    assert program_for(landscape) is not None  # one straight-line program over the whole grid


# ---------------------------------------------------------------------------
# derivative, gradient, lr_advice
# ---------------------------------------------------------------------------


def test_derivative_equals_derivative_at_plus_the_curve(client):
    data = post(client, "/api/derivative", {"expression": "x**3 - 3*x", "x": 1.5, "span": [-2, 2], "n": 5})
    expected = explain.derivative_at("x**3 - 3*x", 1.5).to_dict()
    assert {k: v for k, v in data.items() if k != "curve"} == roundtrip(expected)
    xs = np.linspace(-2, 2, 5)
    assert data["curve"]["x"] == xs.tolist()
    np.testing.assert_allclose(data["curve"]["y"], xs**3 - 3 * xs, rtol=1e-15)
    np.testing.assert_allclose(data["curve"]["slope"], 3 * xs**2 - 3, rtol=1e-15)


def test_derivative_span_defaults_around_x(client):
    data = post(client, "/api/derivative", {"expression": "sin(x)", "x": 1.0})
    assert len(data["curve"]["x"]) == 200
    assert data["curve"]["x"][0] == -2.0 and data["curve"]["x"][-1] == 4.0


def test_derivative_curve_has_null_where_undefined(client):
    data = post(client, "/api/derivative", {"expression": "sqrt(x)", "x": 1.0, "span": [-1, 1], "n": 3})
    assert data["curve"]["y"] == [None, 0.0, 1.0]
    assert data["curve"]["slope"][0] is None and data["curve"]["slope"][1] is None


@pytest.mark.parametrize("body, args", [
    ({"landscape": "booth", "point": [0, 0]}, ("booth", [0.0, 0.0])),
    ({"expression": "x**2 + 3*y**2", "point": [1, 2]}, ("x**2 + 3*y**2", [1.0, 2.0])),
    ({"expression": "x*y*z", "point": [1, 2, 3]}, ("x*y*z", [1.0, 2.0, 3.0])),
])
def test_gradient_equals_gradient_at(client, body, args):
    assert post(client, "/api/gradient", body) == roundtrip(explain.gradient_at(*args).to_dict())


def test_lr_advice_equals_the_library(client):
    data = post(client, "/api/lr_advice", {"landscape": "rosenbrock", "point": [1, 1]})
    advice = dh.lr_advice("rosenbrock", [1.0, 1.0])
    assert data == {"curvature": advice.curvature, "max_stable_lr": advice.max_stable_lr,
                    "suggested_lr": advice.suggested_lr, "eigenvalues": advice.eigenvalues.tolist(),
                    "message": advice.message, "point": [1.0, 1.0]}


def test_lr_advice_on_a_hilltop_has_no_stable_rate(client):
    data = post(client, "/api/lr_advice", {"expression": "-(x**2) - y**2", "point": [0, 0]})
    assert data["max_stable_lr"] is None and data["suggested_lr"] is None
    assert data["curvature"] == -2.0 and "hilltop" in data["message"]


# ---------------------------------------------------------------------------
# basins, lr_sweep
# ---------------------------------------------------------------------------


def test_basins_equals_the_library(client):
    body = {"landscape": "himmelblau", "optimizer": "sgd", "lr": 0.01, "grid": 20, "steps": 150,
            "options": {"momentum": 0.5}}
    expected = basins("himmelblau", optimizer="sgd", lr=0.01, grid=(20, 20), steps=150, momentum=0.5)
    assert post(client, "/api/basins", body) == roundtrip(expected.to_dict())


def test_basins_of_an_expression_with_a_domain(client):
    body = {"expression": "(x^2 - 1)^2 + y^2", "lr": 0.05, "grid": [12, 8], "steps": 100,
            "domain": [[-2, 2], [-1, 1]]}
    expected = basins(dh.landscapes.from_expression("(x^2 - 1)^2 + y^2"), lr=0.05, grid=(12, 8), steps=100,
                      domain=((-2, 2), (-1, 1)))
    data = post(client, "/api/basins", body)
    assert data == roundtrip(expected.to_dict())
    assert np.shape(data["labels"]) == (8, 12)


def test_basins_without_per_start_fields_is_the_map_alone(client):
    body = {"landscape": "himmelblau", "lr": 0.01, "grid": 30, "steps": 100}
    full = post(client, "/api/basins", body)
    bare = post(client, "/api/basins", {**body, "per_start": False})
    assert set(full) - set(bare) == {"final_points", "status", "steps_taken"}
    assert bare == {k: v for k, v in full.items() if k in bare}
    expected = basins("himmelblau", lr=0.01, grid=30, steps=100)
    assert bare == roundtrip(expected.to_dict(per_start=False))
    refused = client.post("/api/basins", json={**body, "per_start": "no"})
    assert refused.status_code == 422 and refused.json()["field"] == "per_start"
    assert "per_start must be true or false" in refused.json()["error"]


def test_lr_sweep_equals_the_library(client):
    body = {"landscape": "booth", "start": [0, 0], "lrs": [1e-4, 0.05, 0.2], "steps": 200}
    expected = dh.lr_sweep("booth", [0.0, 0.0], [1e-4, 0.05, 0.2], steps=200)
    data = post(client, "/api/lr_sweep", body)
    assert data == roundtrip(expected.to_dict())
    assert [row["label"] for row in data["rows"]] == ["too small", "good", "too big"]


def test_lr_sweep_with_an_optimizer_and_options(client):
    body = {"expression": "x^2 + 10*y^2", "start": [3, 1], "lrs": [0.01, 0.1, 1.0], "optimizer": "momentum",
            "steps": 50, "options": {"dampening": 0.1}}
    expected = dh.lr_sweep(dh.landscapes.from_expression("x^2 + 10*y^2"), [3.0, 1.0], [0.01, 0.1, 1.0],
                           optimizer="sgd", steps=50, momentum=0.9, dampening=0.1)
    assert post(client, "/api/lr_sweep", body) == roundtrip(expected.to_dict())


# ---------------------------------------------------------------------------
# The page and its files.
# ---------------------------------------------------------------------------


def test_the_page_is_served_at_the_root(client):
    from downhill.web.app import STATIC_DIR

    if not (STATIC_DIR / "index.html").is_file():
        pytest.skip("the page's files are not in this checkout")
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.text == (STATIC_DIR / "index.html").read_text(encoding="utf-8")


def test_static_files_are_served_under_static_and_the_root(tmp_path):
    (tmp_path / "index.html").write_text("<!doctype html><title>t</title>")
    (tmp_path / "style.css").write_text("body { margin: 0 }")
    (tmp_path / "js").mkdir()
    (tmp_path / "js" / "main.js").write_text("export const a = 1;")
    with TestClient(create_app(static_dir=tmp_path)) as client:
        assert client.get("/").text.startswith("<!doctype html>")
        for path in ("/static/js/main.js", "/js/main.js"):
            response = client.get(path)
            assert response.status_code == 200 and response.text == "export const a = 1;"
            assert response.headers["content-type"].startswith("text/javascript")
            assert response.headers["x-content-type-options"] == "nosniff"
        assert client.get("/style.css").headers["content-type"].startswith("text/css")
        assert client.get("/static/style.css").text == "body { margin: 0 }"
        for missing in ("/static/nope.js", "/js/nope.js", "/nope.css"):
            response = client.get(missing)
            assert response.status_code == 404 and "error" in response.json()


def test_static_files_never_leave_their_folder(tmp_path):
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "index.html").write_text("page")
    (tmp_path / "secret.txt").write_text("do not serve")
    with TestClient(create_app(static_dir=tmp_path / "static")) as client:
        for path in ("/static/../secret.txt", "/static/%2e%2e/secret.txt", "/static/..%2fsecret.txt",
                     "/../secret.txt", "/static//etc/passwd", "/static/%2fetc%2fpasswd"):
            response = client.get(path)
            assert response.status_code == 404, path
            assert "do not serve" not in response.text and "root:" not in response.text


def test_without_the_page_the_root_says_so(tmp_path):
    with TestClient(create_app(static_dir=tmp_path / "missing")) as client:
        response = client.get("/")
        assert response.status_code == 404 and "not installed" in response.json()["error"]
        assert client.get("/static/index.html").status_code == 404


# ---------------------------------------------------------------------------
# Headers, unknown routes, methods.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("method, path, body", [
    ("GET", "/api/landscapes", None),
    ("POST", "/api/gradient", {"landscape": "sphere", "point": [1, 1]}),
    ("POST", "/api/gradient", {"landscape": "sphere", "point": [1]}),  # errors too
    ("GET", "/no/such/route", None),
    ("GET", "/", None),
])
def test_security_headers_on_every_answer(client, method, path, body):
    response = client.request(method, path, json=body)
    assert response.headers["x-content-type-options"] == "nosniff"
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert "http" not in policy and "*" not in policy and "unsafe" not in policy
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"


def test_api_answers_are_not_cached_and_say_how_long_they_took(client):
    response = client.get("/api/landscapes")
    assert response.headers["cache-control"] == "no-store"
    name, duration = response.headers["server-timing"].split(";")
    assert name == "compute" and float(duration.removeprefix("dur=")) >= 0


@pytest.mark.parametrize("path", ["/api/nope", "/api", "/api/descend/extra", "/nope", "/static"])
def test_unknown_routes_are_404_json(client, path):
    response = client.get(path)
    assert response.status_code == 404
    data = response.json()
    assert "/api/descend" in data["allowed"] and data["error"]


@pytest.mark.parametrize("method, path", [("GET", "/api/descend"), ("PUT", "/api/surface"),
                                          ("DELETE", "/api/landscapes"), ("POST", "/api/landscapes")])
def test_wrong_methods_are_405_json(client, method, path):
    response = client.request(method, path)
    assert response.status_code == 405
    assert response.json()["allowed"] in (["POST"], ["GET"], ["GET", "HEAD"])
    assert "allow" in response.headers


def test_requests_for_other_host_names_are_refused(client):
    # A page elsewhere that rebinds its own name to 127.0.0.1 sends its name as Host.
    response = client.get("/api/landscapes", headers={"host": "evil.example:8000"})
    assert response.status_code == 400 and response.json()["field"] == "host"
    for host in ("127.0.0.1:8000", "localhost:8000", "[::1]:8000", "localhost"):
        assert client.get("/api/landscapes", headers={"host": host}).status_code == 200


def test_any_host_when_asked():
    with TestClient(create_app(allowed_hosts=["*"])) as client:
        assert client.get("/api/landscapes", headers={"host": "example.org"}).status_code == 200


# ---------------------------------------------------------------------------
# graph
# ---------------------------------------------------------------------------


def test_graph_equals_graph_of(client):
    from downhill.autodiff.graph import graph_of

    x = dh.tensor(2.0, requires_grad=True)
    y = dh.tensor(3.0, requires_grad=True)
    expected = graph_of(x * y + dh.sin(x), names={"x": x, "y": y}).to_dict()
    data = post(client, "/api/graph", {"expression": "x*y + sin(x)", "point": [2, 3]})
    assert data == {"formula": "x*y + sin(x)", "point": [2.0, 3.0], **roundtrip(expected)}
    assert [n["label"] for n in data["nodes"]] == ["x", "y", "multiply", "sin", "add"]


def test_graph_of_one_variable_with_constants(client):
    from downhill.autodiff.graph import graph_of

    x = dh.tensor(1.5, requires_grad=True)
    expected = graph_of(dh.tanh(x ** 2.0 * 3.0), names={"x": x}).to_dict()
    data = post(client, "/api/graph", {"expression": "tanh(x**2*3)", "point": [1.5]})
    assert data == {"formula": "tanh(x**2*3)", "point": [1.5], **roundtrip(expected)}


def test_graph_where_the_formula_is_undefined_sends_null(client):
    data = post(client, "/api/graph", {"expression": "log(x) + y", "point": [-1, 2]})
    assert data["nodes"][-1]["value"] is None and data["non_finite"]["nodes[3].value"] == "nan"


# ---------------------------------------------------------------------------
# train
# ---------------------------------------------------------------------------


def test_train_equals_chain_snapshots(client):
    from downhill.nn.recipes import chain_snapshots

    body = {"dataset": "moons", "hidden": [4, 3], "steps": 40, "lr": 0.3, "seed": 2, "snapshot_every": 10}
    expected = chain_snapshots("moons", hidden=[4, 3], steps=40, lr=0.3, seed=2, snapshot_every=10)
    data = post(client, "/api/train", body)
    assert data == roundtrip(expected)
    assert [s["step"] for s in data["snapshots"]] == [0, 10, 20, 30, 40]


def test_train_defaults_and_relu(client):
    from downhill.nn.recipes import chain_snapshots

    expected = chain_snapshots("circles", activation="relu")  # the library's defaults
    assert post(client, "/api/train", {"dataset": "Circles", "activation": "relu"}) == roundtrip(expected)


# ---------------------------------------------------------------------------
# Many requests at once.
# ---------------------------------------------------------------------------


def test_concurrent_requests_of_every_kind_get_their_own_answers(client):
    # The engine's switches (gradient recording) and the networks' random
    # generator are process-wide: requests in parallel threads must not mix.
    from concurrent.futures import ThreadPoolExecutor

    from downhill.nn.recipes import chain_snapshots

    trained = roundtrip(chain_snapshots("xor", hidden=[3], steps=30, lr=0.5, seed=1, snapshot_every=10))
    gradient = roundtrip(explain.gradient_at("x*y + exp(x)", [0.5, 2.0]).to_dict())
    advice = dh.lr_advice("rosenbrock", [0.0, 0.0])
    jobs = [
        ("/api/train", {"dataset": "xor", "hidden": [3], "steps": 30, "lr": 0.5, "seed": 1, "snapshot_every": 10},
         lambda data: data == trained),
        ("/api/gradient", {"expression": "x*y + exp(x)", "point": [0.5, 2.0]}, lambda data: data == gradient),
        ("/api/lr_advice", {"landscape": "rosenbrock", "point": [0, 0]},
         lambda data: data["curvature"] == advice.curvature),
        ("/api/derivative", {"expression": "x**3", "x": 2.0, "n": 3}, lambda data: data["slope"] == 12.0),
        ("/api/graph", {"expression": "x*y", "point": [2, 3]}, lambda data: data["nodes"][0]["grad"] == 3.0),
    ] * 6

    def run(job):
        path, body, check = job
        response = client.post(path, json=body)
        return response.status_code == 200 and check(response.json())

    with ThreadPoolExecutor(8) as pool:
        assert all(pool.map(run, jobs))
    assert dh.is_grad_enabled()


def test_a_computation_that_turns_gradients_off_does_not_reach_another(monkeypatch):
    # While one request runs with gradient recording off (as a training step's
    # update does), a request that needs it (training, backward) still has it:
    # each computes in its own worker process.
    import threading
    import time

    from downhill.web import api

    from . import pool_support

    routes = (api.Handler("/api/slow", "POST", pool_support.slow_without_gradients), *api.ROUTES)
    monkeypatch.setattr(api, "ROUTES", routes)
    with TestClient(create_app(workers=2), raise_server_exceptions=False) as local:
        answers = {}
        first = threading.Thread(target=lambda: answers.update(slow=local.post("/api/slow", json={})))
        first.start()
        time.sleep(0.05)
        answers["train"] = local.post("/api/train", json={"dataset": "xor", "hidden": [2], "steps": 3})
        first.join()
    assert answers["slow"].status_code == 200
    assert answers["train"].status_code == 200, answers["train"].text
    assert dh.is_grad_enabled()


# ---------------------------------------------------------------------------
# three_rates, and each landscape's own start in the catalogue (the learning-rate panel's)
# ---------------------------------------------------------------------------


def test_three_rates_equals_the_library(client):
    from downhill.optim.three_rates import three_rates

    body = {"landscape": "himmelblau", "start": [-4.0, 3.0], "steps": 100}
    data = post(client, "/api/three_rates", body)
    assert data == roundtrip(three_rates("himmelblau", [-4.0, 3.0], steps=100).to_dict())
    assert data["small"]["lr"] < data["good"]["lr"] < data["big"]["lr"]


def test_three_rates_is_bounded(client):
    response = client.post("/api/three_rates", json={"landscape": "booth", "start": [0, 0], "steps": 10_000})
    assert response.status_code in (400, 413, 422) and "learning rates" in response.json()["error"]


def test_the_catalogue_gives_each_landscape_its_start(client):
    import downhill as dh

    entries = client.get("/api/landscapes").json()["landscapes"]
    for entry in entries:
        assert entry["start"] == [float(v) for v in dh.landscapes.get(entry["name"]).start]
        (x0, x1), (y0, y1) = entry["domain"]
        assert x0 <= entry["start"][0] <= x1 and y0 <= entry["start"][1] <= y1


def test_loss_landscape_is_the_train_runs_error_mountain(client):
    from downhill.nn.recipes import chain_loss_landscape, chain_snapshots

    body = {"dataset": "moons", "hidden": [4, 4], "steps": 100, "lr": 0.5, "seed": 0, "snapshot_every": 10}
    data = post(client, "/api/loss_landscape", {**body, "resolution": 9})
    run = chain_snapshots("moons", hidden=[4, 4], steps=100, lr=0.5, seed=0, snapshot_every=10)
    assert data == roundtrip(chain_loss_landscape(run, resolution=9).to_dict())
    # The centre of the slice is the trained network: its loss is the run's last loss.
    assert data["center_loss"] == pytest.approx(run["loss_curve"][-1], abs=1e-5)
    assert data["path"][-1] == pytest.approx([0.0, 0.0], abs=1e-9)
    refused = client.post("/api/loss_landscape", json={**body, "resolution": 500})
    assert 400 <= refused.status_code < 500 and refused.json()["field"] == "resolution"


# ---------------------------------------------------------------------------
# Errors with a policy: the user's mistakes are 422, a bug goes on to the 500 handler
# ---------------------------------------------------------------------------


def test_a_library_user_error_is_a_422_and_a_bug_is_not(monkeypatch):
    from downhill.errors import InputError
    from downhill.web import api
    from downhill.web.limits import RequestError

    def refuse(*args, **kwargs):
        raise InputError("the point is off the map; give coordinates from -5 to 5")

    def planted_bug(*args, **kwargs):
        return 1 / 0

    body = {"expression": "x**2 + y**2", "point": [1, 2]}
    monkeypatch.setattr(explain, "gradient_at", refuse)
    with pytest.raises(RequestError) as refused:
        api.gradient(body)
    assert refused.value.status == 422 and refused.value.field == "point"
    assert refused.value.error == "the point is off the map; give coordinates from -5 to 5"
    # A bug is not the user's mistake: it reaches the server's catch-all (logged, 500), never a 422.
    monkeypatch.setattr(explain, "gradient_at", planted_bug)
    with pytest.raises(ZeroDivisionError):
        api.gradient(body)
    monkeypatch.setattr(explain, "gradient_at", lambda *a, **k: (_ for _ in ()).throw(ValueError("a bug")))
    with pytest.raises(ValueError, match="a bug"):
        api.gradient(body)

