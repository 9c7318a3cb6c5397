"""The ``downhill`` command, checked against mathematics and against the library.

Every command runs in-process through :func:`downhill.cli.main` (its exit
status read from ``SystemExit``, its output from capsys), and a few run as a
real process, through the installed entry point and ``python -m``, to prove
the exit status and the single line on stderr that a shell sees.

References are independent of the command: exact derivatives and gradients
worked by hand, the library functions called directly (the command must add
nothing to their numbers), the known minima of the test mountains, and the
stability bound 2/L of gradient descent on Booth's quadratic (L = 18).
"""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import downhill as dh
from downhill.cli import main
from downhill.landscapes import get, names

BOOTH_MAX_STABLE_LR = 2 / 18  # Booth's Hessian [[10, 8], [8, 10]] has eigenvalues 18 and 2
SQRT_148 = math.sqrt(148.0)  # |(2, 12)|


def run(capsys, *args):
    """(exit status, stdout, stderr) of ``downhill ARGS`` run in-process."""
    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, *args):
    code, out, err = run(capsys, *args, "--json")
    assert code == 0, err
    return json.loads(out)


def assert_one_line_error(code, out, err):
    assert code == 2, (code, out, err)
    assert "Traceback" not in err and "Traceback" not in out
    assert err.endswith("\n") and err.count("\n") == 1, repr(err)
    assert err.startswith("downhill: ") and len(err.strip()) > len("downhill: ")


def check_image(path, fmt, min_bytes=5_000, min_size=(200, 200), max_size=(3000, 2400)):
    """The file exists, starts with the right signature, and is a picture of a sensible size."""
    assert path.is_file(), f"{path} was not written"
    data = path.read_bytes()
    signature = {"PNG": b"\x89PNG\r\n\x1a\n", "GIF": b"GIF89a"}[fmt]
    assert data.startswith(signature), data[:12]
    assert len(data) > min_bytes, f"{path} is suspiciously small ({len(data)} bytes)"
    with Image.open(path) as image:
        assert image.format == fmt
        width, height = image.size
        frames = getattr(image, "n_frames", 1)
        image.verify()
    assert min_size[0] <= width <= max_size[0] and min_size[1] <= height <= max_size[1], (width, height)
    return width, height, frames


def numbers_in(text):
    return [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?", text)]


# --------------------------------------------------------------- derivative
def test_derivative_of_x_cubed_at_two_is_twelve(capsys):
    code, out, err = run(capsys, "derivative", "x**3", "--at", "2")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "f(x) = x**3"
    assert lines[1] == "f(2) = 8"
    assert lines[2] == "f'(2) = 12"
    assert "rising at 12 per unit of x" in out and "y = 12·x - 16" in out


def test_derivative_json_matches_exact_mathematics(capsys):
    data = run_json(capsys, "derivative", "sin(x)*exp(x)", "--at", "0.7")
    x = 0.7
    assert data["x"] == x
    assert data["value"] == pytest.approx(math.sin(x) * math.exp(x), rel=1e-14)
    assert data["slope"] == pytest.approx((math.sin(x) + math.cos(x)) * math.exp(x), rel=1e-14)
    assert data["intercept"] == pytest.approx(data["value"] - data["slope"] * x, rel=1e-14)
    assert data["formula"] == "sin(x)*exp(x)" and "rising" in data["sentence"]


def test_derivative_at_a_flat_point_says_so(capsys):
    code, out, _ = run(capsys, "derivative", "x**3 - 3*x", "--at", "1")
    assert code == 0
    assert "f'(1) = 0" in out and "flat" in out


def test_derivative_plot_writes_a_png(capsys, tmp_path):
    picture = tmp_path / "speed.png"
    code, out, err = run(capsys, "derivative", "x**3", "--at", "2", "--plot", picture)
    assert code == 0, err
    assert f"wrote picture {picture}" in out
    check_image(picture, "PNG")


# ----------------------------------------------------------------- gradient
def test_gradient_in_words_and_numbers(capsys):
    code, out, err = run(capsys, "gradient", "x**2 + 3*y**2", "--at", "1,2")
    assert code == 0, err
    fields = {key.strip(): value for key, value in (line.split("=", 1) for line in out.splitlines()[1:5])}
    assert float(fields["value"]) == 13.0
    assert numbers_in(fields["gradient"]) == [2.0, 12.0]
    np.testing.assert_allclose(numbers_in(fields["downhill"]), [-2 / SQRT_148, -12 / SQRT_148], atol=1e-6)
    assert float(fields["steepness"]) == pytest.approx(SQRT_148, rel=1e-9)
    sentence = out.splitlines()[5]
    assert "downhill is the opposite way" in sentence and "mostly toward -y" in sentence
    assert "12.1655" in sentence


def test_gradient_json_is_exact(capsys):
    data = run_json(capsys, "gradient", "x**2 + 3*y**2", "--at", "1,2")
    assert data["point"] == [1.0, 2.0] and data["variables"] == ["x", "y"]
    assert data["value"] == 13.0 and data["gradient"] == [2.0, 12.0]
    assert data["steepness"] == pytest.approx(SQRT_148, rel=1e-15)
    np.testing.assert_allclose(data["downhill"], [-2 / SQRT_148, -12 / SQRT_148], rtol=1e-15)
    assert np.linalg.norm(data["downhill"]) == pytest.approx(1.0, rel=1e-15)


def test_gradient_of_a_named_landscape_matches_its_closed_form(capsys):
    x, y = -1.5, 2.0
    data = run_json(capsys, "gradient", "rosenbrock", "--at", f"{x},{y}")
    assert data["value"] == pytest.approx(100 * (y - x**2) ** 2 + (1 - x) ** 2, rel=1e-14)
    expected = [-400 * x * (y - x**2) - 2 * (1 - x), 200 * (y - x**2)]
    np.testing.assert_allclose(data["gradient"], expected, rtol=1e-14)


def test_gradient_of_one_and_three_variables(capsys):
    one = run_json(capsys, "gradient", "x**2", "--at", "3")
    assert one["gradient"] == [6.0] and one["downhill"] == [-1.0] and one["steepness"] == 6.0
    three = run_json(capsys, "gradient", "x*y*z", "--at", "1,2,3")
    assert three["gradient"] == [6.0, 3.0, 2.0]
    assert three["steepness"] == pytest.approx(7.0, rel=1e-15)


def test_gradient_plot_writes_a_png(capsys, tmp_path, monkeypatch):
    import downhill.viz as viz

    drawn = []
    mountain = viz.mountain
    monkeypatch.setattr(viz, "mountain", lambda *a, **k: drawn.append(mountain(*a, **k)) or drawn[-1])
    picture = tmp_path / "fog.png"
    code, _, err = run(capsys, "gradient", "himmelblau", "--at", "0.5,-1", "--plot", picture)
    assert code == 0, err
    check_image(picture, "PNG")
    # The map asks the gradient's question at the point, not about climbers' paths.
    (fig,) = drawn
    assert fig.get_suptitle() == "Himmelblau: which way is downhill at (0.5, -1)?"
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "the point (0.5, -1)" in labels and not {"start", "end"} & set(labels)


# ------------------------------------------------------------------ descend
def test_descend_json_equals_the_library_and_the_known_minimum(capsys):
    data = run_json(capsys, "descend", "booth", "--start", "0,0", "--lr", "0.05", "--steps", "2000")
    direct = dh.descend("booth", [0.0, 0.0], lr=0.05, steps=2000)
    assert data["status"] == "converged" == direct.status
    assert data["steps_taken"] == direct.steps_taken
    np.testing.assert_array_equal(data["points"], direct.points)
    np.testing.assert_array_equal(data["final_point"], direct.final_point)
    assert data["final_value"] == direct.final_value
    np.testing.assert_allclose(data["final_point"], get("booth").minima[0].point, atol=1e-7)
    np.testing.assert_allclose(data["final_point"], [1.0, 3.0], atol=1e-7)
    assert data["optimizer"] == "sgd" and data["landscape"] == "booth"


@pytest.mark.parametrize("name, options, library", [
    ("momentum", [], {"optimizer": "sgd", "momentum": 0.9}),
    ("nesterov", [], {"optimizer": "sgd", "momentum": 0.9, "nesterov": True}),
    ("sgd", ["--momentum", "0.5"], {"optimizer": "sgd", "momentum": 0.5}),
    ("adam", ["--beta1", "0.8"], {"optimizer": "adam", "betas": (0.8, 0.999)}),
    ("rmsprop", [], {"optimizer": "rmsprop"}),
])
def test_descend_optimizers_and_their_options_reach_the_library(capsys, name, options, library):
    data = run_json(capsys, "descend", "rosenbrock", "--start", "-1.5,2", "--optimizer", name,
                    "--lr", "0.001", "--steps", "300", *options)
    direct = dh.descend("rosenbrock", [-1.5, 2.0], lr=0.001, steps=300, **library)
    np.testing.assert_array_equal(data["points"], direct.points)
    assert data["status"] == direct.status


def test_descend_a_typed_formula_reaches_its_minimum(capsys):
    data = run_json(capsys, "descend", "(x - 1)**2 + 2*(y + 0.5)**2", "--start", "3,3", "--lr", "0.1")
    assert data["status"] == "converged"
    np.testing.assert_allclose(data["final_point"], [1.0, -0.5], atol=1e-7)


def test_descend_human_output(capsys):
    code, out, err = run(capsys, "descend", "booth", "--start", "0,0", "--lr", "0.05", "--steps", "2000")
    assert code == 0, err
    assert out.startswith("booth: (x + 2*y - 7)**2 + (2*x + y - 5)**2\n")
    assert "optimizer sgd, lr=0.05" in out and "status: converged" in out
    point = re.search(r"final point: \(([^)]*)\)", out).group(1)
    np.testing.assert_allclose(numbers_in(point), [1.0, 3.0], atol=1e-7)


def test_a_divergence_is_a_result_not_an_error(capsys):
    data = run_json(capsys, "descend", "booth", "--start", "0,0", "--lr", "0.5", "--steps", "500")
    assert data["status"] == "diverged"
    assert isinstance(data["diverged_at"], int) and data["diverged_at"] <= 500
    assert data["steps_taken"] == data["diverged_at"]
    assert data["final_value"] > 1e12
    code, out, err = run(capsys, "descend", "booth", "--start", "0,0", "--lr", "0.5", "--steps", "500")
    assert code == 0 and err == ""
    assert "status: diverged" in out and "fell off the mountain" in out


def test_a_start_where_the_formula_overflows_diverges_at_step_zero(capsys):
    data = run_json(capsys, "descend", "exp(x) + y**2", "--start", "800,0", "--steps", "5")
    assert data["status"] == "diverged" and data["diverged_at"] == 0
    assert data["final_value"] is None  # inf is not JSON: it becomes null


def test_descend_plot_and_animation(capsys, tmp_path):
    picture, movie = tmp_path / "path.png", tmp_path / "walk.gif"
    code, out, err = run(capsys, "descend", "himmelblau", "--start", "0,0", "--steps", "40",
                         "--plot", picture, "--animate", movie)
    assert code == 0, err
    assert f"wrote picture {picture}" in out and f"wrote animation {movie}" in out
    check_image(picture, "PNG")
    _, _, frames = check_image(movie, "GIF")
    assert frames > 1


def test_descend_json_with_files_prints_only_json(capsys, tmp_path):
    picture = tmp_path / "path.png"
    data = run_json(capsys, "descend", "sphere", "--start", "1,1", "--steps", "20", "--plot", picture)
    assert data["steps_taken"] == 20
    check_image(picture, "PNG")


def test_descend_steps_zero_stays_at_the_start(capsys):
    data = run_json(capsys, "descend", "booth", "--start", "2,2", "--steps", "0")
    assert data["steps_taken"] == 0 and data["points"] == [[2.0, 2.0]]


# ------------------------------------------------------------------ compare
def test_compare_equals_each_optimizer_run_alone(capsys):
    data = run_json(capsys, "compare", "rosenbrock", "--start", "-1.5,2", "--optimizers", "sgd,momentum,adam",
                    "--lrs", "0.001,0.001,0.05", "--steps", "300")["runs"]
    assert [run_["label"] for run_ in data] == ["sgd", "momentum", "adam"]
    assert [run_["lr"] for run_ in data] == [0.001, 0.001, 0.05]
    alone = [dh.descend("rosenbrock", [-1.5, 2.0], lr=0.001, steps=300),
             dh.descend("rosenbrock", [-1.5, 2.0], lr=0.001, steps=300, momentum=0.9),
             dh.descend("rosenbrock", [-1.5, 2.0], optimizer="adam", lr=0.05, steps=300)]
    for run_, direct in zip(data, alone):
        np.testing.assert_array_equal(run_["points"], direct.points)
        assert run_["status"] == direct.status and run_["final_value"] == direct.final_value


def test_compare_table_and_one_rate_for_all(capsys, tmp_path):
    picture = tmp_path / "race.png"
    code, out, err = run(capsys, "compare", "booth", "--start", "0,0", "--optimizers", "sgd,adam",
                         "--lrs", "0.05", "--steps", "500", "--plot", picture)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["optimizer", "lr", "status", "steps", "final", "value"]
    assert lines[1].split()[:3] == ["sgd", "0.05", "converged"]
    assert lines[2].split()[:2] == ["adam", "0.05"]
    check_image(picture, "PNG")


def test_compare_divergence_is_reported_not_an_error(capsys):
    data = run_json(capsys, "compare", "booth", "--start", "0,0", "--optimizers", "sgd", "--lrs", "0.5")
    assert data["runs"][0]["status"] == "diverged"


# ------------------------------------------------------------------ lr-sweep
def test_lr_sweep_marks_exactly_the_rates_above_two_over_l_as_diverged(capsys):
    rates = [1e-3, 0.01, 0.05, 0.1, 0.11, 0.112, 0.115, 0.12, 0.2, 1.0, 5.0]
    data = run_json(capsys, "lr-sweep", "booth", "--start", "0,0", "--lrs", ",".join(map(str, rates)),
                    "--steps", "3000")
    assert [row["lr"] for row in data["rows"]] == rates
    diverged = [row["lr"] for row in data["rows"] if row["status"] == "diverged"]
    assert diverged == [r for r in rates if r > BOOTH_MAX_STABLE_LR]
    assert all(row["label"] == "too big" for row in data["rows"] if row["lr"] > BOOTH_MAX_STABLE_LR)
    assert data["max_stable_lr"] == pytest.approx(BOOTH_MAX_STABLE_LR, rel=1e-12)


def test_lr_sweep_table_names_the_diverged_rates(capsys, tmp_path):
    picture = tmp_path / "sweep.png"
    code, out, err = run(capsys, "lr-sweep", "booth", "--start", "0,0", "--lrs", "0.0001,0.05,0.2,1",
                         "--plot", picture)
    assert code == 0, err
    rows = {float(line.split()[0]): line.split() for line in out.splitlines()[1:5]}
    assert rows[0.2][3] == rows[1.0][3] == "diverged"
    assert rows[0.05][3] != "diverged" and rows[0.0001][3] != "diverged"
    assert "diverged (fell off the mountain): 0.2, 1\n" in out
    assert "2/L = 0.111111" in out
    check_image(picture, "PNG")


def test_lr_sweep_default_rates_and_a_formula(capsys):
    data = run_json(capsys, "lr-sweep", "x**2 + y**2", "--start", "1,1", "--steps", "50")
    assert len(data["rows"]) == 12
    np.testing.assert_allclose([row["lr"] for row in data["rows"]], np.logspace(-5, 1, 12), rtol=1e-12)
    # f = x²+y²: L = 2, so plain steps diverge exactly above lr = 1.
    assert [row["status"] == "diverged" for row in data["rows"]] == [r > 1.0 for r in np.logspace(-5, 1, 12)]
    assert data["max_stable_lr"] == pytest.approx(1.0, rel=1e-12)


def test_lr_sweep_when_nothing_diverges(capsys):
    code, out, _ = run(capsys, "lr-sweep", "booth", "--start", "0,0", "--lrs", "0.01,0.05", "--steps", "50")
    assert code == 0 and "no learning rate diverged" in out


def test_lr_sweep_from_an_overflowing_start_is_quiet(capsys):
    """exp(800) is inf before any step: one line saying so (issue 14), not every rate labelled 'too big'."""
    code, out, err = run(capsys, "lr-sweep", "exp(x) + y**2", "--start", "800,0", "--lrs", "0.1,1", "--json")
    assert code == 2 and out == "" and err.count("\n") == 1, err
    assert "[800.0, 0.0] is inf" in err and "before any step" in err


def test_lr_sweep_of_a_one_variable_formula(capsys):
    code, out, err = run(capsys, "lr-sweep", "x**2", "--start", "1", "--lrs", "0.1,1.5", "--json")
    assert code == 0, err
    # f = x²: L = 2, so lr 0.1 settles and lr 1.5 (> 2/L = 1) falls off
    assert [row["status"] for row in json.loads(out)["rows"]] == ["converged", "diverged"]


# ------------------------------------------------------------------- basins
def test_basins_json_equals_the_library(capsys):
    from downhill.optim.basins import basins

    data = run_json(capsys, "basins", "himmelblau", "--grid", "8", "--steps", "100")
    direct = basins("himmelblau", lr=0.01, grid=8, steps=100).to_dict()
    assert json.loads(json.dumps(direct)) == data
    assert np.asarray(data["labels"]).shape == (8, 8)
    # Himmelblau is symmetric enough that each of its four valleys drains a quarter of the grid.
    assert sorted(int(v) for v in data["counts"].values()) == [16, 16, 16, 16]


def test_basins_summary_and_plot(capsys, tmp_path):
    picture = tmp_path / "basins.png"
    code, out, err = run(capsys, "basins", "booth", "--grid", "5", "--lr", "0.05", "--plot", picture)
    assert code == 0, err
    assert out.startswith("25 starts (sgd, lr=0.05, 200 steps):")
    assert "minimum 0 at (1, 3): 25 (100%)" in out
    check_image(picture, "PNG")


# -------------------------------------------------------------------- graph
def test_graph_table_follows_the_chain_rule(capsys):
    code, out, err = run(capsys, "graph", "x*y + sin(x)", "--at", "1,2")
    assert code == 0, err
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:6]}
    assert rows["0"][2] == "x" and float(rows["0"][4]) == pytest.approx(2 + math.cos(1.0), abs=1e-4)
    assert rows["1"][2] == "y" and float(rows["1"][4]) == 1.0
    assert "edge  local derivative" in out


def test_graph_json_gradients_are_exact(capsys):
    data = run_json(capsys, "graph", "x*y + sin(x)", "--at", "1,2")
    by_name = {node["name"]: node for node in data["nodes"] if node["name"]}
    assert by_name["x"]["grad"] == pytest.approx(2 + math.cos(1.0), rel=1e-15)  # d/dx (xy + sin x) = y + cos x
    assert by_name["y"]["grad"] == 1.0  # d/dy = x
    output = data["nodes"][data["output"]]
    assert output["value"] == pytest.approx(2 + math.sin(1.0), rel=1e-15)
    assert {node["op"] for node in data["nodes"]} >= {"multiply", "sin", "add"}


@pytest.mark.parametrize("suffix", ["png", "svg"])
def test_graph_picture(capsys, tmp_path, suffix):
    picture = tmp_path / f"chain.{suffix}"
    code, out, err = run(capsys, "graph", "x*y + sin(x)", "--at", "1,2", "--out", picture)
    assert code == 0, err
    if suffix == "png":
        check_image(picture, "PNG")
    else:
        text = picture.read_text(encoding="utf-8")
        assert text.lstrip().startswith("<?xml") and "<svg" in text and text.rstrip().endswith("</svg>")
        assert picture.stat().st_size > 5_000


# --------------------------------------------------------------- landscapes
KNOWN_MINIMA = {  # from the literature, independent of the catalog
    "sphere": [((0, 0), 0.0)], "booth": [((1, 3), 0.0)], "matyas": [((0, 0), 0.0)],
    "rosenbrock": [((1, 1), 0.0)], "beale": [((3, 0.5), 0.0)], "goldstein_price": [((0, -1), 3.0)],
    "three_hump_camel": [((0, 0), 0.0)], "rastrigin": [((0, 0), 0.0)], "ackley": [((0, 0), 0.0)],
    "levi13": [((1, 1), 0.0)], "easom": [((math.pi, math.pi), -1.0)], "bukin6": [((-10, 1), 0.0)],
    "mccormick": [((-0.54719, -1.54719), -1.9133)],
    "styblinski_tang": [((-2.903534, -2.903534), -78.33233)],
    "six_hump_camel": [((0.0898, -0.7126), -1.0316), ((-0.0898, 0.7126), -1.0316)],
    "himmelblau": [((3, 2), 0.0), ((-2.805118, 3.131312), 0.0), ((-3.779310, -3.283186), 0.0),
                   ((3.584428, -1.848126), 0.0)],
}


def test_landscapes_json_lists_every_landscape_with_its_minima(capsys):
    data = run_json(capsys, "landscapes")
    assert [row["name"] for row in data] == list(names())
    assert set(KNOWN_MINIMA) == set(names())
    for row in data:
        landscape = get(row["name"])
        assert row["formula"] == landscape.formula
        assert len(row["minima"]) == len(KNOWN_MINIMA[row["name"]]), row["name"]
        for listed, (point, value) in zip(row["minima"], KNOWN_MINIMA[row["name"]]):
            np.testing.assert_allclose(listed["point"], point, atol=1e-4, err_msg=row["name"])
            assert listed["value"] == pytest.approx(value, abs=1e-4), row["name"]
            # and the formula really is that low there
            assert float(landscape(np.array(listed["point"]))) == pytest.approx(listed["value"], abs=1e-9)


def test_landscapes_human_output(capsys):
    code, out, err = run(capsys, "landscapes")
    assert code == 0, err
    for name in names():
        assert re.search(rf"^{name}\s+\S", out, re.MULTILINE), name
    assert "minimum 0 at (1, 3)" in out
    assert "minimum 0 at (3, 2); (-2.80512, 3.13131); (-3.77931, -3.28319); (3.58443, -1.84813)" in out


# -------------------------------------------------------------------- train
def test_train_json_equals_the_recipe(capsys):
    from downhill.nn.recipes import train_classifier

    data = run_json(capsys, "train", "moons", "--hidden", "16", "--epochs", "20", "--lr", "0.05")
    direct = train_classifier("moons", hidden=[16], epochs=20, lr=0.05, progress=False)
    assert data["sizes"] == [2, 16, 2]
    assert data["history"]["train_loss"] == direct.history.train_loss
    assert data["test_accuracy"] == direct.test_accuracy and data["train_accuracy"] == direct.train_accuracy
    assert len(data["history"]["train_loss"]) == 20
    assert data["test_accuracy"] >= 0.9


def test_train_human_output_and_plot(capsys, tmp_path):
    picture = tmp_path / "training.png"
    code, out, err = run(capsys, "train", "xor", "--hidden", "8,8", "--epochs", "5", "--plot", picture)
    assert code == 0, err
    assert out.startswith("xor: network 2-8-8-2, 5 epochs in ")
    assert re.search(r"accuracy: \d+\.\d% on training data, \d+\.\d% on held-out data", out)
    check_image(picture, "PNG")


# --------------------------------------------------------------------- tour
def test_tour_command_writes_the_page(capsys, tmp_path, monkeypatch):
    import downhill.tour as tour

    monkeypatch.setattr(tour, "STOPS", tour.STOPS[:1])  # one stop: the wiring, not the whole tour
    code, out, err = run(capsys, "tour", "--out", tmp_path / "tour")
    assert code == 0, err
    assert out.splitlines()[0].startswith("1. The derivative: a speedometer: ")
    assert out.splitlines()[-1] == f"the tour is in {tmp_path / 'tour' / 'index.html'}"
    assert "3.75" in (tmp_path / "tour" / "index.html").read_text(encoding="utf-8")
    check_image(tmp_path / "tour" / "1-speedometer.png", "PNG")


# ---------------------------------------------------------------- bad input
BAD_INPUT = [
    pytest.param(["descend", "nowhere", "--start", "0,0"], "unknown landscape 'nowhere'", id="unknown-landscape"),
    pytest.param(["descend", "himmelbau", "--start", "0,0"], "did you mean 'himmelblau'", id="misspelled"),
    pytest.param(["descend", "booth", "--start", "1,,x"], "--start", id="malformed-point"),
    pytest.param(["descend", "booth", "--start", "1,,2"], "empty place", id="empty-coordinate"),
    pytest.param(["descend", "booth", "--start", "1,2,3"], "needs 2 number(s)", id="three-coordinates"),
    pytest.param(["descend", "booth", "--start", "1"], "needs 2 number(s)", id="one-coordinate"),
    pytest.param(["descend", "booth", "--start", "nan,0"], "finite", id="nan-start"),
    pytest.param(["descend", "__import__('os')", "--start", "0,0"], "not an allowed function", id="import"),
    pytest.param(["gradient", "__import__('os').system('true')", "--at", "0,0"], "cannot use the formula",
                 id="attribute"),
    pytest.param(["descend", "x +* 2", "--start", "0"], "cannot use the formula", id="syntax"),
    pytest.param(["derivative", "sin(t)", "--at", "1"], "unknown name 't'", id="unknown-variable"),
    pytest.param(["descend", "booth", "--start", "0,0", "--steps", "-1"], "--steps", id="negative-steps"),
    pytest.param(["descend", "booth", "--start", "0,0", "--steps", "abc"], "--steps", id="steps-not-a-number"),
    pytest.param(["descend", "booth", "--start", "0,0", "--optimizer", "lbfgs"], "unknown optimizer",
                 id="unknown-optimizer"),
    pytest.param(["descend", "booth", "--start", "0,0", "--lr", "-0.1"], "--lr", id="negative-lr"),
    pytest.param(["descend", "booth", "--start", "0,0", "--lr", "inf"], "--lr", id="infinite-lr"),
    pytest.param(["descend", "booth", "--start", "0,0", "--tol", "-1"], "tol", id="negative-tol"),
    pytest.param(["descend", "booth", "--start", "0,0", "--optimizer", "adam", "--momentum", "0.9"],
                 "--momentum", id="momentum-for-adam"),
    pytest.param(["descend", "booth", "--start", "0,0", "--momentum", "-0.5"], "momentum", id="negative-momentum"),
    pytest.param(["descend", "booth", "--start", "0,0", "--optimizer", "adam", "--beta1", "2"], "beta",
                 id="beta-out-of-range"),
    pytest.param(["descend", "x**2 + y**2 + z**2", "--start", "1,2,3", "--plot", "never.png"],
                 "two variables", id="map-of-three-variables"),
    pytest.param(["descend", "booth"], "--start", id="missing-start"),
    pytest.param(["derivative", "x*y", "--at", "1"], "one variable", id="derivative-of-two-variables"),
    pytest.param(["derivative", "log(x)", "--at", "-1"], "no finite value", id="derivative-off-domain"),
    pytest.param(["derivative", "x", "--at", ""], "--at", id="empty-point"),
    pytest.param(["gradient", "x**2 + y**2", "--at", "1"], "needs 2 number(s)", id="gradient-one-coordinate"),
    pytest.param(["gradient", "sqrt(x*x + y*y)", "--at", "0,0"], "no finite value or gradient",
                 id="gradient-at-a-kink"),
    pytest.param(["gradient", "x**2", "--at", "3", "--plot", "never.png"], "two variables",
                 id="gradient-map-of-one-variable"),
    pytest.param(["compare", "booth", "--start", "0,0", "--optimizers", "sgd,zzz"], "unknown optimizer",
                 id="compare-unknown-optimizer"),
    pytest.param(["compare", "booth", "--start", "0,0", "--lrs", "0.1,0.2"], "--lrs", id="compare-lrs-count"),
    pytest.param(["compare", "booth", "--start", "0,0", "--lrs", "-1"], "lr", id="compare-negative-lr"),
    pytest.param(["compare", "booth", "--start", "0,0", "--optimizers", ",,"], "at least one",
                 id="compare-no-optimizers"),
    pytest.param(["compare", "booth", "--start", "0,0", "--steps", "-5"], "--steps", id="compare-negative-steps"),
    pytest.param(["lr-sweep", "booth", "--start", "0,0", "--lrs", "-1,0.1"], "--lrs", id="sweep-negative-lr"),
    pytest.param(["lr-sweep", "booth", "--start", "0,0", "--lrs", "1e400"], "finite", id="sweep-overflowing-lr"),
    pytest.param(["lr-sweep", "booth", "--start", "0,0", "--optimizer", "nope"], "unknown optimizer",
                 id="sweep-unknown-optimizer"),
    pytest.param(["lr-sweep", "nowhere", "--start", "0,0"], "unknown landscape", id="sweep-unknown-landscape"),
    pytest.param(["basins", "booth", "--grid", "1"], "--grid", id="grid-too-small"),
    pytest.param(["basins", "booth", "--grid", "1001"], "--grid", id="grid-too-big"),
    pytest.param(["basins", "x**2"], "two variables", id="basins-of-one-variable"),
    pytest.param(["basins", "booth", "--lr", "-1"], "--lr", id="basins-negative-lr"),
    pytest.param(["graph", "x*y", "--at", "1"], "needs 2 number(s)", id="graph-one-coordinate"),
    pytest.param(["graph", "log(x)*y", "--at", "-1,2"], "no finite value", id="graph-off-domain"),
    pytest.param(["train", "mnist"], "unknown dataset 'mnist'", id="unknown-dataset"),
    pytest.param(["train", "moons", "--hidden", "0"], "--hidden", id="hidden-zero"),
    pytest.param(["train", "moons", "--hidden", "16,-4"], "--hidden", id="hidden-negative"),
    pytest.param(["train", "moons", "--hidden", "1.5"], "--hidden", id="hidden-fraction"),
    pytest.param(["train", "moons", "--hidden", "a,b"], "--hidden", id="hidden-letters"),
    pytest.param(["train", "moons", "--epochs", "0"], "--epochs", id="zero-epochs"),
    pytest.param(["train", "moons", "--lr", "-1"], "--lr", id="train-negative-lr"),
    pytest.param(["landscapes", "extra"], "unexpected extra argument", id="extra-argument"),
    pytest.param(["climb"], "No such command", id="unknown-command"),
]


@pytest.mark.parametrize("args, says", BAD_INPUT)
def test_bad_input_is_one_line_and_exit_two(capsys, tmp_path, monkeypatch, args, says):
    monkeypatch.chdir(tmp_path)  # nothing may be written, but if it were, it lands here
    code, out, err = run(capsys, *args)
    assert_one_line_error(code, out, err)
    assert says in err
    assert out == "", "bad input is found before anything is computed or printed"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("error", [ZeroDivisionError("division by zero"), ValueError("a bug's ValueError"),
                                   TypeError("a bug's TypeError")])
def test_a_bug_in_the_library_shows_its_traceback_not_bad_input(capsys, monkeypatch, error):
    import downhill.explain

    def planted_bug(*args, **kwargs):
        raise error

    monkeypatch.setattr(downhill.explain, "gradient_at", planted_bug)
    code, out, err = run(capsys, "gradient", "x**2 + y**2", "--at", "1,2")
    assert code == 1 and out == ""
    assert err.startswith("Traceback (most recent call last):")
    assert "in planted_bug" in err and f"{type(error).__name__}: {error}" in err
    assert err.rstrip().splitlines()[-1].startswith("downhill: this is a bug in downhill") and "report" in err


def test_the_library_s_user_errors_are_one_line(capsys, monkeypatch):
    import downhill.explain
    from downhill.errors import LimitError

    def refuse(*args, **kwargs):
        raise LimitError("the point is too far away; at most 1e6 is allowed")

    monkeypatch.setattr(downhill.explain, "gradient_at", refuse)
    code, out, err = run(capsys, "gradient", "x**2 + y**2", "--at", "1,2")
    assert_one_line_error(code, out, err)
    assert err == "downhill: the point is too far away; at most 1e6 is allowed\n"


def test_an_unwritable_folder_is_one_line_and_exit_two(capsys, tmp_path):
    occupied = tmp_path / "a-file"
    occupied.write_text("not a folder")
    code, out, err = run(capsys, "tour", "--out", occupied)
    assert_one_line_error(code, out, err)
    assert str(occupied) in err


def test_help_and_version_exit_zero(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0
    for command in ("derivative", "gradient", "descend", "compare", "lr-sweep", "basins", "graph", "train",
                    "landscapes", "tour"):
        assert command in out
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.startswith("downhill, version ")


# ----------------------------------------------------- as a real process
ENTRY_POINT = shutil.which("downhill")


def shell(*args, module=False, timeout=120):
    command = [sys.executable, "-m", "downhill.cli"] if module or ENTRY_POINT is None else [ENTRY_POINT]
    return subprocess.run([*command, *map(str, args)], capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("module", [False, True], ids=["entry-point", "python-m"])
def test_real_process_prints_the_derivative(module):
    done = shell("derivative", "x**3", "--at", "2", module=module)
    assert done.returncode == 0, done.stderr
    assert "f'(2) = 12\n" in done.stdout and done.stderr == ""


@pytest.mark.parametrize("args, says", [
    (["descend", "nowhere", "--start", "0,0"], "unknown landscape"),
    (["descend", "booth", "--start", "1,,x"], "--start"),
    (["gradient", "x +* 2", "--at", "0"], "cannot use the formula"),
    (["descend", "booth", "--start", "0,0", "--steps", "-3"], "--steps"),
    (["train", "moons", "--hidden", "0"], "--hidden"),
])
@pytest.mark.parametrize("module", [False, True], ids=["entry-point", "python-m"])
def test_real_process_bad_input_exit_status_and_one_line(module, args, says):
    done = shell(*args, module=module)
    assert_one_line_error(done.returncode, done.stdout, done.stderr)
    assert says in done.stderr


def test_real_process_divergence_exits_zero_with_json():
    done = shell("descend", "booth", "--start", "0,0", "--lr", "0.5", "--json")
    assert done.returncode == 0 and done.stderr == ""
    assert json.loads(done.stdout)["status"] == "diverged"


def test_real_process_writes_a_gif(tmp_path):
    movie = tmp_path / "walk.gif"
    done = shell("descend", "booth", "--start", "0,0", "--lr", "0.05", "--steps", "30", "--animate", movie)
    assert done.returncode == 0, done.stderr
    _, _, frames = check_image(movie, "GIF")
    assert frames > 1


def test_landscapes_lists_the_formula_functions_the_refusal_points_to():
    from click.testing import CliRunner

    from downhill.cli import cli
    from downhill.landscapes.expression import ALLOWED, FUNCTIONS

    result = CliRunner().invoke(cli, ["landscapes", "--functions"])
    assert result.exit_code == 0
    assert result.output.strip().split(", ") == sorted(FUNCTIONS)
    assert "downhill landscapes --functions" in ALLOWED and len(ALLOWED) < 400


def test_descend_help_lists_its_options_in_the_order_a_climb_is_described(capsys):
    """Where from, how, how long, then the optimizer's knobs (the options were listed backwards)."""
    code, out, _ = run(capsys, "descend", "--help")
    assert code == 0
    shown = [line.split()[0] for line in out.splitlines() if line.startswith("  --")]
    assert shown[:5] == ["--formula", "--start", "--optimizer", "--lr", "--steps"], shown
    assert shown.index("--momentum") < shown.index("--beta1") < shown.index("--beta2") < shown.index("--tol")


def test_train_in_a_pipe_writes_no_progress_bar():
    """Like the other commands' bars, train's is for a terminal: a pipe or a log gets the answer only
    (fit's own bar draws anywhere, so the command drew it into logs)."""
    done = shell("train", "moons", "--epochs", "3", module=True)
    assert done.returncode == 0, done.stderr
    assert done.stderr == "", done.stderr
    assert "accuracy" in done.stdout.lower()


def test_every_option_of_every_command_says_what_it_is_for():
    """--help is the command's manual: an option listed without words (lr-sweep --optimizer, basins --lr,
    train --seed were) leaves the learner guessing."""
    from downhill.cli import cli

    bare = [f"{name} {param.opts[0]}" for name, command in cli.commands.items() for param in command.params
            if getattr(param, "param_type_name", "") == "option" and not (param.help or "").strip()]
    assert bare == []
