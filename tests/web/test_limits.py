"""Every bound of the API, at its exact edge: the last allowed value passes, the next is refused."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest

from downhill.web import create_app, limits
from downhill.web.limits import RequestError

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette asks for httpx2; httpx is what the test extra installs
    from starlette.testclient import TestClient


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(), raise_server_exceptions=False) as test_client:
        yield test_client


def refused(response, field, status=422):
    assert response.status_code == status, response.text[:300]
    data = response.json()
    assert data["field"] == field, data
    assert data["allowed"] is not None
    return data


def test_the_limits_are_those_of_the_contract():
    assert limits.MAX_BODY_BYTES == 64 * 1024
    assert limits.MAX_STEPS == 10_000
    assert limits.MAX_CLIMBERS == 2_500
    assert limits.MAX_SURFACE_N == 200
    assert limits.MAX_BASIN_GRID == 500
    assert limits.MAX_LRS == 40
    assert (limits.MAX_HIDDEN_LAYERS, limits.MAX_HIDDEN_UNITS) == (3, 16)
    assert limits.MAX_TRAIN_STEPS == 2_000
    assert limits.TIME_BUDGET_S == 10.0
    assert limits.MAX_FORMULA_LENGTH == 1000  # the parser's own bound


# ---------------------------------------------------------------------------
# Through the API, at the edges.
# ---------------------------------------------------------------------------


def test_steps(client):
    body = {"landscape": "sphere", "start": [1, 1], "lr": 1e-6, "tol": 0}
    data = client.post("/api/descend", json={**body, "steps": 10_000}).json()
    assert data["steps_taken"] == 10_000 and len(data["points"]) == 10_001
    response = client.post("/api/descend", json={**body, "steps": 10_001})
    data = refused(response, "steps")
    assert data["allowed"] == {"min": 0, "max": 10_000} and "10000" in data["error"]
    refused(client.post("/api/descend", json={**body, "steps": -1}), "steps")
    refused(client.post("/api/descend", json={**body, "steps": 2.5}), "steps")
    assert client.post("/api/descend", json={**body, "steps": 0}).json()["steps_taken"] == 0
    sweep = {"landscape": "sphere", "start": [1, 1], "lrs": [0.1]}
    refused(client.post("/api/lr_sweep", json={**sweep, "steps": 10_001}), "steps")
    refused(client.post("/api/basins", json={"landscape": "sphere", "grid": 2, "steps": 10_001}), "steps")
    assert client.post("/api/basins", json={"landscape": "sphere", "grid": 2, "steps": 10_000}).status_code == 200


def test_climbers(client):
    starts = [[round(i / 1000, 3), 1.0] for i in range(2_500)]
    response = client.post("/api/descend", json={"landscape": "sphere", "start": starts, "steps": 1})
    assert response.status_code == 200 and len(response.json()["status"]) == 2_500
    response = client.post("/api/descend", json={"landscape": "sphere", "start": starts + [[0, 0]], "steps": 1})
    data = refused(response, "start")
    assert data["allowed"] == {"max_points": 2_500}


def test_climbers_times_steps(client):
    # The recorded path is sent back whole: climbers x steps is bounded too.
    starts = [[1.0, 1.0]] * 2_500
    data = refused(client.post("/api/descend", json={"landscape": "sphere", "start": starts, "steps": 101}),
                   "steps")
    assert data["allowed"] == {"max": 100, "max_climbers_x_steps": 250_000}
    starts = [[1.0, 1.0]] * 25
    assert client.post("/api/descend", json={"landscape": "sphere", "start": starts, "steps": 10_000,
                                             "lr": 1e-9, "tol": 0}).status_code == 200
    refused(client.post("/api/descend", json={"landscape": "sphere", "start": starts + [[1, 1]],
                                              "steps": 10_000}), "steps")


def test_surface_grid(client):
    data = client.post("/api/surface", json={"landscape": "rosenbrock", "n": 200}).json()
    assert np.shape(data["z"]) == (200, 200) and np.shape(data["gx"]) == (200, 200)
    refused(client.post("/api/surface", json={"landscape": "rosenbrock", "n": 201}), "n")
    refused(client.post("/api/surface", json={"landscape": "rosenbrock", "n": 1}), "n")
    assert np.shape(client.post("/api/surface", json={"landscape": "booth", "n": 2}).json()["z"]) == (2, 2)


def test_basin_grid(client):
    body = {"landscape": "sphere", "steps": 2, "lr": 0.1}
    data = client.post("/api/basins", json={**body, "grid": 500}).json()
    assert np.shape(data["labels"]) == (500, 500)
    data = client.post("/api/basins", json={**body, "grid": [500, 3]}).json()
    assert np.shape(data["labels"]) == (3, 500)
    for grid in (501, [501, 2], [2, 501], 1, [2], [2, 2, 2]):
        refused(client.post("/api/basins", json={**body, "grid": grid}), "grid")


def test_basin_work(client):
    # starts x steps: 500 x 500 x 200 at most (climbers that fall off stop early: quick here)
    body = {"landscape": "sphere", "lr": 10.0, "grid": 500}
    data = client.post("/api/basins", json={**body, "steps": 200}).json()
    assert data["counts"] == {"-1": 250_000}
    data = refused(client.post("/api/basins", json={**body, "steps": 201}), "steps")
    assert data["allowed"] == {"max": 200, "max_starts_x_steps": 50_000_000}
    assert client.post("/api/basins", json={**body, "grid": 10, "steps": 10_000}).status_code == 200


def test_sweep_work(client):
    body = {"landscape": "sphere", "start": [1, 1], "lrs": [10.0] * 40}
    assert len(client.post("/api/lr_sweep", json={**body, "steps": 2_500}).json()["rows"]) == 40
    data = refused(client.post("/api/lr_sweep", json={**body, "steps": 2_501}), "steps")
    assert data["allowed"] == {"max": 2_500, "max_learning_rates_x_steps": 100_000}
    assert client.post("/api/lr_sweep", json={**body, "lrs": [10.0] * 10, "steps": 10_000}).status_code == 200


def test_learning_rates_of_a_sweep(client):
    body = {"landscape": "sphere", "start": [1, 1], "steps": 2}
    data = client.post("/api/lr_sweep", json={**body, "lrs": [0.01] * 40}).json()
    assert len(data["rows"]) == 40
    data = refused(client.post("/api/lr_sweep", json={**body, "lrs": [0.01] * 41}), "lrs")
    assert data["allowed"]["max_items"] == 40


def test_learning_rate(client):
    body = {"landscape": "sphere", "start": [1, 1], "steps": 3}
    assert client.post("/api/descend", json={**body, "lr": limits.MAX_LR}).json()["status"] == "diverged"
    refused(client.post("/api/descend", json={**body, "lr": limits.MAX_LR * 1.0001}), "lr")
    refused(client.post("/api/descend", json={**body, "lr": -1e-9}), "lr")
    assert client.post("/api/descend", json={**body, "lr": 0}).status_code == 200


def test_coordinates(client):
    edge = limits.MAX_COORDINATE
    assert client.post("/api/gradient", json={"landscape": "sphere", "point": [edge, -edge]}).status_code == 200
    refused(client.post("/api/gradient", json={"landscape": "sphere", "point": [edge * 1.0001, 0]}), "point")
    refused(client.post("/api/descend", json={"landscape": "sphere", "start": [[0, 0], [0, -2 * edge]]}), "start")
    refused(client.post("/api/surface", json={"landscape": "sphere", "domain": [[-2 * edge, 0], [0, 1]]}),
            "domain")
    refused(client.post("/api/derivative", json={"expression": "x", "x": 2 * edge}), "x")


def test_curve_points(client):
    data = client.post("/api/derivative", json={"expression": "x**2", "x": 0, "n": 2_000}).json()
    assert len(data["curve"]["x"]) == 2_000
    refused(client.post("/api/derivative", json={"expression": "x**2", "x": 0, "n": 2_001}), "n")


def test_formula_length(client):
    formula = "x + y + 1." + "0" * 990  # 1,000 characters
    assert len(formula) == 1000
    assert client.post("/api/gradient", json={"expression": formula, "point": [1, 2]}).status_code == 200
    response = client.post("/api/gradient", json={"expression": formula + " ", "point": [1, 2]})
    data = response.json()
    assert response.status_code == 422 and data["field"] == "expression"
    assert "1,001 characters" in data["error"] and "1,000" in data["error"]


def test_body_size(client):
    def body_of(size: int) -> bytes:
        base = json.dumps({"landscape": "sphere", "point": [1, 1]})
        return (base[:-1] + " " * (size - len(base)) + "}").encode()

    exact = body_of(limits.MAX_BODY_BYTES)
    assert len(exact) == 65_536
    response = client.post("/api/gradient", content=exact, headers={"content-type": "application/json"})
    assert response.status_code == 200
    response = client.post("/api/gradient", content=body_of(limits.MAX_BODY_BYTES + 1),
                           headers={"content-type": "application/json"})
    assert response.status_code == 413 and response.json()["allowed"] == {"max_bytes": 65_536}


def test_hidden_layers_and_training_steps(client):
    body = {"dataset": "moons", "steps": 1}
    for hidden in ([], [4] * 4, [17], [0], [4, 16.5], 4, "4,4"):
        refused(client.post("/api/train", json={**body, "hidden": hidden}), "hidden")
    refused(client.post("/api/train", json={**body, "steps": 2_001}), "steps")
    refused(client.post("/api/train", json={**body, "steps": -1}), "steps")
    data = client.post("/api/train", json={**body, "hidden": [16, 16, 16], "steps": 0}).json()
    assert data["sizes"] == [2, 16, 16, 16, 1] and len(data["snapshots"]) == 1


def test_snapshots_of_a_training_run(client):
    # 2,000 steps, a snapshot every 10: 201 snapshots, the most sent back.
    data = client.post("/api/train", json={"dataset": "xor", "hidden": [2], "steps": 2_000,
                                           "snapshot_every": 10}).json()
    assert len(data["snapshots"]) == 201 and len(data["loss_curve"]) == 2_001
    data = refused(client.post("/api/train", json={"dataset": "xor", "hidden": [2], "steps": 2_000,
                                                   "snapshot_every": 9}), "snapshot_every")
    assert data["allowed"]["min"] == 10


def test_the_time_budget_is_configurable():
    app = create_app(time_budget=2.5)
    assert app.state.pool.budget == 2.5


# ---------------------------------------------------------------------------
# The checks themselves.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("value", [True, False, None, "1", [1], {"a": 1}, math.nan, math.inf, 10**400])
def test_numbers_refuse_what_is_not_a_finite_number(value):
    with pytest.raises(RequestError) as caught:
        limits.number(value, "lr")
    assert caught.value.status == 422 and caught.value.field == "lr"


def test_integers_accept_whole_floats_only():
    assert limits.integer(3.0, "n", 0, 5) == 3
    for value in (3.5, 6, -1, True, "3"):
        with pytest.raises(RequestError):
            limits.integer(value, "n", 0, 5)


def test_points():
    assert limits.points([1, 2], "start", 2).shape == (2,)
    assert limits.points([[1, 2]], "start", 2).shape == (1, 2)
    for bad in ([], [[]], [[1, 2], 3], [1, [2]], [[1, 2], [3, 4, 5]], "1,2", None, [1, None]):
        with pytest.raises(RequestError) as caught:
            limits.points(bad, "start", 2)
        assert caught.value.field == "start"


def test_fields():
    with pytest.raises(RequestError) as caught:
        limits.check_fields({"startt": 1}, ["start", "steps"])
    assert "did you mean 'start'" in caught.value.error and caught.value.allowed == ["start", "steps"]
    with pytest.raises(RequestError) as caught:
        limits.check_fields({}, ["start"], ["start"])
    assert caught.value.field == "start"
    with pytest.raises(RequestError):
        limits.check_fields([], ["start"])


def test_optimizer_options_are_typed_by_their_defaults():
    assert limits.optimizer("SGD", {"momentum": 0.9, "nesterov": True}) == ("sgd", {"momentum": 0.9, "nesterov": True})
    assert limits.optimizer("rmsprop", {"centered": False}) == ("rmsprop", {"centered": False})
    for options in ({"nesterov": "yes"}, {"momentum": True}, {"momentum": [0.9]}, {"lr": 0.1}, {"foreach": True}):
        with pytest.raises(RequestError):
            limits.optimizer("sgd", options)


def test_schedules():
    assert limits.schedule(None, 10, 0.1) is None
    assert limits.schedule({"name": "StepLR", "options": {"step_size": 3}}, 10, 0.1) == ("step", {"step_size": 3})
    assert limits.schedule({"name": "polynomial"}, 10, 0.1) == ("polynomial", {"total_iters": 10})
    assert limits.schedule({"name": "one_cycle", "options": {"max_lr": 1.0}}, 10, 0.1) == (
        "one_cycle", {"max_lr": 1.0, "total_steps": 10})
    for bad in ({"name": "lambda"}, {"name": "plateau"}, {"name": 3}, {"options": {}}, {"name": "step", "x": 1},
                {"name": "cosine", "options": {"T_max": {"a": 1}}},
                {"name": "multistep", "options": {"milestones": [[1]]}},
                {"name": "multistep", "options": {"milestones": list(range(101))}},
                {"name": "cyclic", "options": {"base_lr": 0.1, "max_lr": 1.0, "mode": "x" * 33}},
                {"name": "cyclic", "options": {"base_lr": 0.1, "max_lr": 1.0, "scale_fn": "print"}},
                {"name": "sequential", "options": {"milestones": [1], "schedulers": [{"name": "step"}] * 6}}):
        with pytest.raises(RequestError):
            limits.schedule(bad, 10, 0.1)


def test_the_limits_table_names_every_bound():
    assert set(limits.LIMITS) >= {"body_bytes", "steps", "climbers", "surface_n", "basin_grid", "lrs",
                                  "hidden_layers", "hidden_units", "train_steps", "time_budget_s"}
    for value, description in limits.LIMITS.values():
        assert value > 0 and description
