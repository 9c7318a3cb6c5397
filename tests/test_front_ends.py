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
import math
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


def test_the_web_reads_a_formula_given_as_the_landscape_as_the_library_does(capsys, client):
    # dh.descend("x**2 + y") reads a formula where a name may stand; the web's "landscape" field did not.
    where = "x**2 + 3*y**2 - x*y"
    expected = library(dh.descend(where, [1.5, -2.0], lr=0.05, steps=100))
    by_command = command(capsys, "descend", where, "--start", "1.5,-2", "--lr", "0.05", "--steps", "100")
    by_web = web(client, "descend", {"landscape": where, "start": [1.5, -2.0], "lr": 0.05, "steps": 100})
    assert_same(expected, by_command, by_web)
    refused = client.post("/api/descend", json={"landscape": "x**", "start": [1, 1]})
    assert refused.status_code == 422 and refused.json()["field"] == "landscape"


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


# ---------------------------------------------------------------------------
# The same mistakes, refused by every door with the same words and numbers.
#
# What no door accepts (a formula past the parser's bounds or with a function
# it does not know, a name that names nothing, a negative rate or step count)
# is decided once, in the library, and each door says it with the library's
# numbers: the formula's 1,000 characters (landscapes.expression), the names
# of the catalogue and of the optimizer registry, the lower bound 0. How large
# a request may be is each front end's own bound on top of that (the command:
# downhill.limits; the playground, a server a class shares:
# downhill.web.limits), and each door states its own table's number.
# ---------------------------------------------------------------------------

LONG_FORMULA = "x+" * 3000 + "x"


def refused_by_library(**request):
    request = {"landscape": "sphere", "start": [1.0, 1.0], **request}
    with pytest.raises(dh.DownhillError) as raised:
        dh.descend(request.pop("landscape"), request.pop("start"), **request)
    return str(raised.value)


def refused_by_command(capsys, *args):
    with pytest.raises(SystemExit) as done:
        main(["descend", *map(str, args)])
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err  # one line, no traceback
    return err


def refused_by_web(client, **body):
    body = {"landscape": "sphere", "start": [1.0, 1.0], **body}
    response = client.post("/api/descend", json={key: value for key, value in body.items() if value is not None})
    assert response.status_code == 422, response.text
    return response.json()["error"]


def test_a_formula_past_the_parsers_bounds_is_refused_with_the_same_number(capsys, client):
    from downhill.landscapes.expression import MAX_LENGTH

    said = [refused_by_library(landscape=LONG_FORMULA, start=[1.0]),
            refused_by_command(capsys, LONG_FORMULA, "--start", "1"),
            refused_by_web(client, landscape=None, expression=LONG_FORMULA, start=[1.0])]
    for words in said:
        assert f"the formula is {len(LONG_FORMULA):,} characters long; at most {MAX_LENGTH:,} are allowed" in words


def test_a_function_the_parser_does_not_know_is_refused_alike(capsys, client):
    said = [refused_by_library(landscape="__import__('os')", start=[1.0]),
            refused_by_command(capsys, "__import__('os')", "--start", "1"),
            refused_by_web(client, landscape=None, expression="__import__('os')", start=[1.0])]
    for words in said:
        assert "'__import__' is not an allowed function" in words


def test_an_unknown_landscape_gets_the_same_suggestion(capsys, client):
    said = [refused_by_library(landscape="himmelblauu"),
            refused_by_command(capsys, "himmelblauu", "--start", "1,1"),
            refused_by_web(client, landscape="himmelblauu")]
    for words in said:
        assert "unknown landscape 'himmelblauu'" in words and "'himmelblau'" in words


def test_an_unknown_optimizer_is_refused_with_the_registrys_names(capsys, client):
    said = [refused_by_library(optimizer="sgdd"),
            refused_by_command(capsys, "sphere", "--start", "1,1", "--optimizer", "sgdd"),
            refused_by_web(client, optimizer="sgdd")]
    for words in said:
        assert "'sgdd'" in words and "did you mean 'sgd'?" in words
        assert all(name in words for name in dh.optim.names(aliases=True))


def test_a_negative_learning_rate_is_refused_at_the_same_bound(capsys, client):
    said = [refused_by_library(lr=-1),
            refused_by_command(capsys, "sphere", "--start", "1,1", "--lr", "-1"),
            refused_by_web(client, lr=-1)]
    for words in said:
        assert "lr must be a finite number" in words
    assert ">= 0" in said[0] and ">= 0" in said[1] and "from 0 to" in said[2]


def test_step_counts_are_whole_numbers_from_0_and_each_front_end_states_its_own_ceiling(capsys, client):
    from downhill import limits
    from downhill.web import limits as web_limits

    library_words = refused_by_library(steps=-1)
    assert "steps must be a whole number >= 0" in library_words
    assert dh.descend("sphere", [1.0, 1.0], steps=limits.MAX_STEPS + 1, tol=1e300).steps_taken == 0  # no ceiling
    command_words = refused_by_command(capsys, "sphere", "--start", "1,1", "--steps", "-1")
    assert f"--steps must be a whole number from 0 to {limits.MAX_STEPS:,}" in command_words
    assert f"must be at most {limits.MAX_STEPS:,}" in refused_by_command(
        capsys, "sphere", "--start", "1,1", "--steps", limits.MAX_STEPS + 1)
    for steps in (-1, web_limits.MAX_STEPS + 1):
        assert f"steps must be a whole number from 0 to {web_limits.MAX_STEPS}" in refused_by_web(client, steps=steps)


# Basins of typed formulas (issue 15, defect 5): a formula has no list of minima; the
# climbers' end points are clustered into them. One request, every door, one answer,
# and the answer is the true minima.
TYPED_BASINS = {
    "(x-3)**2 + 10*sin(y)**2": [(3.0, k * math.pi) for k in (-2, -1, 0, 1, 2)],
    "(x**2 + y - 11)**2 + (x + y**2 - 7)**2": [tuple(m.point) for m in dh.landscapes.get("himmelblau").minima],
    "(x - 1)**2 + 2*(y + 0.5)**2": [(1.0, -0.5)],
}


@pytest.mark.parametrize("formula", list(TYPED_BASINS))
def test_basins_of_a_typed_formula_are_its_true_minima_through_every_door(capsys, client, formula, tmp_path):
    # The command's defaults: a 60 x 60 grid, sgd, lr 0.01, 200 steps.
    expected = library(basins(dh.landscapes.from_expression(formula), lr=0.01, grid=60, steps=200))
    assert expected["found"] is True
    found = sorted(tuple(point) for point in expected["minima"])
    truth = sorted(TYPED_BASINS[formula])
    assert len(found) == len(truth)
    assert max(abs(a - b) for p, q in zip(found, truth) for a, b in zip(p, q)) < 1e-3
    away = expected["counts"].get("-2", 0) + expected["counts"].get("-1", 0)
    assert away <= 0.01 * 3600
    assert_same(expected, command(capsys, "basins", formula),
                web(client, "basins", {"expression": formula, "lr": 0.01, "grid": 60, "steps": 200}))
    # What the command prints, as a learner reads it: each minimum and its share, nobody "away".
    picture = tmp_path / "b.png"
    try:
        main(["basins", formula, "--plot", str(picture)])
    except SystemExit as done:
        assert done.code in (0, None)
    out = capsys.readouterr().out
    assert "where the climbers gathered" in out and "away" not in out and picture.stat().st_size > 10_000
    for label, point in enumerate(expected["minima"]):
        where = ", ".join(f"{0.0 if abs(c) < 1e-12 else c:.3g}" for c in point)
        count = expected["counts"][str(label)]
        assert f"minimum {label} at ({where}): {count} ({100 * count / 3600:.0f}%)" in out
