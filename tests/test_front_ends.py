"""One library under every front end: the library, the command (--json) and the web API give the same numbers.

Each request runs three ways: the library function's ``to_dict()``, the
``downhill`` command with ``--json`` (in process), and the playground's JSON
API (Starlette's TestClient). Every field the library returns must come back
identical, bit for bit, from the other two; each front end may add fields of
its own (the command's sweep adds the 2/L bound, the API's derivative adds
the curve), which are checked against their own library functions.

The derivative needs a formula of one variable, and the catalogue's mountains
all have two, so the derivative runs on typed formulas only.
"""

from __future__ import annotations

import json
import warnings

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette asks for httpx2; httpx is what the test extra installs
    from starlette.testclient import TestClient

import downhill as dh
from downhill import explain
from downhill.cli import main
from downhill.optim.basins import basins
from downhill.web import create_app


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app()) as test_client:
        yield test_client


def command(capsys, *args):
    try:
        main([str(a) for a in args] + ["--json"])
    except SystemExit as done:
        assert done.code in (0, None), capsys.readouterr().err
    out, err = capsys.readouterr()
    return json.loads(out)


def web(client, route, body):
    response = client.post(f"/api/{route}", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def library(result):
    """What the library's result is as JSON: its to_dict(), through JSON text and back."""
    return json.loads(json.dumps(result.to_dict(), allow_nan=False))


def assert_same(expected: dict, *answers: dict):
    for answer in answers:
        missing = set(expected) - set(answer)
        assert not missing, f"a front end left out {sorted(missing)}"
        for key, value in expected.items():
            assert answer[key] == value, key


def mountain(where):
    """The API's way of naming the mountain: a catalogue name or a typed formula."""
    return {"landscape": where} if where.isidentifier() else {"expression": where}


# The third uses % (Python's remainder, sign of the divisor; it binds like *): the same formula,
# the same numbers through every door.
MOUNTAINS = ["himmelblau", "x**2 + 3*y**2 - x*y", "(x - 1)**2 + y**2 % 5 - x*y % 3"]


@pytest.mark.parametrize("where", MOUNTAINS)
def test_descend(capsys, client, where):
    expected = library(dh.descend(where, [1.5, -2.0], optimizer="adam", lr=0.05, steps=300))
    by_command = command(capsys, "descend", where, "--start", "1.5,-2", "--optimizer", "adam", "--lr", "0.05",
                         "--steps", "300")
    by_web = web(client, "descend", {**mountain(where), "start": [1.5, -2.0], "optimizer": "adam", "lr": 0.05,
                                     "steps": 300})
    assert_same(expected, by_command, by_web)
    assert len(expected["points"]) > 10


@pytest.mark.parametrize("where", MOUNTAINS)
def test_descend_with_an_alias(capsys, client, where):
    expected = library(dh.descend(where, [0.5, 0.5], optimizer="nesterov", lr=0.01, steps=50))
    by_command = command(capsys, "descend", where, "--start", "0.5,0.5", "--optimizer", "nesterov", "--lr",
                         "0.01", "--steps", "50")
    by_web = web(client, "descend", {**mountain(where), "start": [0.5, 0.5], "optimizer": "nesterov",
                                     "lr": 0.01, "steps": 50})
    assert_same(expected, by_command, by_web)
    assert expected["options"]["nesterov"] is True


@pytest.mark.parametrize("where", MOUNTAINS)
def test_gradient(capsys, client, where):
    expected = library(explain.gradient_at(where, [1.0, -0.5]))
    assert_same(expected, command(capsys, "gradient", where, "--at", "1,-0.5"),
                web(client, "gradient", {**mountain(where), "point": [1.0, -0.5]}))


@pytest.mark.parametrize("where", MOUNTAINS)
def test_lr_sweep(capsys, client, where):
    rates = [1e-4, 1e-3, 0.01, 0.05, 0.5]
    expected = library(dh.lr_sweep(where, [0.0, 0.0], rates, steps=150))
    by_command = command(capsys, "lr-sweep", where, "--start", "0,0", "--lrs", ",".join(map(str, rates)),
                         "--steps", "150")
    by_web = web(client, "lr_sweep", {**mountain(where), "start": [0.0, 0.0], "lrs": rates, "steps": 150})
    assert_same(expected, by_command, by_web)
    # The command adds the curvature's bound, from the library's lr_advice; the API serves that on its own route.
    advice = library(dh.lr_advice(where, [0.0, 0.0]))
    assert by_command["max_stable_lr"] == advice["max_stable_lr"]
    assert web(client, "lr_advice", {**mountain(where), "point": [0.0, 0.0]}) == advice


@pytest.mark.parametrize("where", MOUNTAINS)
def test_basins(capsys, client, where):
    expected = library(basins(where, optimizer="sgd", lr=0.01, grid=12, steps=120))
    assert_same(expected, command(capsys, "basins", where, "--lr", "0.01", "--grid", "12", "--steps", "120"),
                web(client, "basins", {**mountain(where), "lr": 0.01, "grid": 12, "steps": 120}))


@pytest.mark.parametrize("where", MOUNTAINS)
def test_graph(capsys, client, where):
    formula = dh.landscapes.resolve(where).formula  # the API's graph reads a formula
    expected = library(explain.graph_at(where, [0.5, 1.5]))
    assert_same(expected, command(capsys, "graph", where, "--at", "0.5,1.5"),
                web(client, "graph", {"expression": formula, "point": [0.5, 1.5]}))
    assert len(expected["nodes"]) > 5


@pytest.mark.parametrize("formula", ["x**3 - 2*x", "sin(x) * exp(-x/4)", "x**2 % 1.5 - -x % 2"])
def test_derivative(capsys, client, formula):
    expected = library(explain.derivative_at(formula, 1.25))
    by_web = web(client, "derivative", {"expression": formula, "x": 1.25, "span": [-1, 2], "n": 7})
    assert_same(expected, command(capsys, "derivative", formula, "--at", "1.25"), by_web)
    curve = library(explain.derivative_curve(formula, -1, 2, 7))
    assert by_web["curve"] == {key: curve[key] for key in ("x", "y", "slope")}
