"""lr_sweep and lr_advice against the exact stability bound of gradient descent.

On a quadratic with Hessian H, plain gradient descent multiplies the error
along each eigenvector by (1 - lr * lambda) per step: it converges exactly
when lr < 2 / L (L the largest eigenvalue), and falls off when lr > 2 / L.
The sphere has L = 2, Booth L = 18 (H = [[10, 8], [8, 10]]), Matyas L = 1.
Elsewhere the Hessians' eigenvalues are PyTorch's (``oracle`` fixture: recorded
in tests/oracle/data/test_lr_tools.npz, or live under ``pytest -m oracle``).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import downhill as dh
from downhill.optim.lr_tools import GOOD, TOO_BIG, TOO_SMALL

QUADRATICS = {  # name: (Hessian, a start)
    "sphere": (np.array([[2.0, 0.0], [0.0, 2.0]]), [1.0, -2.0]),
    "booth": (np.array([[10.0, 8.0], [8.0, 10.0]]), [0.0, 0.0]),
    "matyas": (np.array([[0.52, -0.48], [-0.48, 0.52]]), [4.0, -3.0]),
}


def torch_hessian_eigenvalues(formula, point):
    import torch  # only in the live oracle run and the recorder

    hessian = torch.autograd.functional.hessian(
        lambda p: formula(p[0], p[1]), torch.tensor(point, dtype=torch.float64))
    return np.linalg.eigvalsh(hessian.numpy())


def rosenbrock(x, y):
    return 100 * (y - x**2) ** 2 + (1 - x) ** 2


def himmelblau(x, y):
    return (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2


# --------------------------------------------------------------------------
# lr_sweep
# --------------------------------------------------------------------------


def test_sweep_on_the_sphere_splits_at_two_over_l():
    # L = 2: lr < 1 converges (each step multiplies x by 1 - 2 lr), lr = 1
    # bounces between x and -x for ever, lr > 1 falls off.
    lrs = [0.0, 1e-4, 0.1, 0.5, 0.9, 0.99, 1.0, 1.01, 1.5, 3.0]
    sweep = dh.lr_sweep("sphere", [1.0, -2.0], lrs, steps=3000)
    rows = {row.lr: row for row in sweep.rows}
    assert [row.lr for row in sweep.rows] == lrs
    for lr in (0.1, 0.5, 0.9, 0.99):
        assert (rows[lr].status, rows[lr].label) == ("converged", GOOD)
    for lr in (1.01, 1.5, 3.0):
        assert (rows[lr].status, rows[lr].label) == ("diverged", TOO_BIG)
    assert (rows[1.0].status, rows[1.0].label) == ("max_steps", TOO_BIG)
    assert rows[1.0].final_value == 5.0  # back where it started after an even number of steps
    assert (rows[0.0].label, rows[0.0].final_value) == (TOO_SMALL, 5.0)
    assert rows[1e-4].label == TOO_SMALL
    # 1e-4 for 3000 steps: f = 5 (1 - 2e-4)^(2 * 3000).
    assert rows[1e-4].final_value == pytest.approx(5 * (1 - 2e-4) ** 6000, rel=1e-10)
    assert rows[0.5].steps_taken == 1 and rows[0.5].final_value == 0.0  # one step to the bottom
    assert sweep.start_value == 5.0
    assert sweep.best_lr == 0.5


def test_sweep_on_booth_splits_at_one_ninth():
    bound = 2 / 18
    lrs = [1e-5, 0.05, 0.99 * bound, 1.01 * bound, 0.2]
    sweep = dh.lr_sweep("booth", [0.0, 0.0], lrs, steps=5000)
    labels = [row.label for row in sweep.rows]
    statuses = [row.status for row in sweep.rows]
    assert labels == [TOO_SMALL, GOOD, GOOD, TOO_BIG, TOO_BIG]
    assert statuses == ["max_steps", "converged", "converged", "diverged", "diverged"]
    assert sweep.landscape == "booth"


def test_each_sweep_row_is_what_a_lone_climb_gives():
    lrs = [1e-3, 0.02, 0.05, 0.3]
    sweep = dh.lr_sweep("himmelblau", [0.5, 0.5], lrs, optimizer="sgd", steps=300, momentum=0.5)
    for lr, row in zip(lrs, sweep.rows):
        alone = dh.descend("himmelblau", [0.5, 0.5], optimizer="sgd", lr=lr, steps=300, momentum=0.5)
        assert (row.status, row.steps_taken) == (alone.status, alone.steps_taken)
        assert row.final_value == alone.final_value or not math.isfinite(alone.final_value)


SWEEP_RUNS = [  # optimizer, options: each rule that reads lr in its own way
    ("sgd", {}),
    ("sgd", {"momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    ("adam", {"amsgrad": True}),
    ("adamw", {"weight_decay": 0.1}),
    ("rmsprop", {"momentum": 0.5, "centered": True}),
    ("adagrad", {"lr_decay": 0.01}),
]


@pytest.mark.parametrize("name", dh.landscapes.names())
def test_a_sweep_climbs_its_rates_at_once_exactly_as_one_by_one(name):
    # The rates climb as one batch (one climber each); every row must be what
    # descend gives for that rate alone, bit for bit: status, steps, final value.
    landscape = dh.landscapes.get(name)
    (x0, x1), (y0, y1) = landscape.domain
    start = [x0 + 0.3 * (x1 - x0), y0 + 0.7 * (y1 - y0)]
    lrs = np.concatenate([np.logspace(-5, 1, 19), [0.0]])  # from far too small to far too big, and zero
    for optimizer, options in SWEEP_RUNS:
        sweep = dh.lr_sweep(name, start, lrs, optimizer=optimizer, steps=60, **options)
        for lr, row in zip(lrs, sweep.rows):
            alone = dh.descend(name, start, optimizer=optimizer, lr=lr, steps=60, record=False, **options)
            final = alone.final_value if math.isfinite(alone.final_value) else math.inf
            assert (row.status, row.steps_taken) == (alone.status, alone.steps_taken), (optimizer, lr)
            assert row.final_value == final or (math.isnan(final) and math.isnan(row.final_value)), (optimizer, lr)


def test_a_sweep_of_a_one_variable_formula_and_of_a_callable_climb_as_alone():
    from downhill.optim.descend import climb_each_rate

    lrs = [1e-3, 0.1, 0.6, 1.1]
    sweep = dh.lr_sweep("x**4 - 3*x**2 + x", [2.0], lrs, steps=80)
    for lr, row in zip(lrs, sweep.rows):
        alone = dh.descend("x**4 - 3*x**2 + x", [2.0], lr=lr, steps=80)
        assert (row.status, row.steps_taken) == (alone.status, alone.steps_taken)
        assert row.final_value == (alone.final_value if math.isfinite(alone.final_value) else math.inf)
    # What cannot run as a batch climbs rate by rate: a callable, a start that is not one finite point.
    assert climb_each_rate(lambda p: (p**2).sum(-1), [1.0, 2.0], lrs) is None
    assert climb_each_rate("sphere", [np.nan, 1.0], lrs) is None
    assert climb_each_rate("sphere", [1.0, 2.0, 3.0], lrs) is None
    with pytest.raises(dh.errors.InputError, match="must be finite"):
        dh.lr_sweep("sphere", [np.nan, 1.0], lrs)


def test_sweep_with_a_callable():
    sweep = dh.lr_sweep(lambda p: (p**2).sum(-1), [1.0, -2.0], [1e-4, 0.25, 1.5], steps=200)
    assert [row.label for row in sweep.rows] == [TOO_SMALL, GOOD, TOO_BIG]
    assert sweep.start_value == 5.0 and sweep.best_lr == 0.25


def test_table_and_json():
    sweep = dh.lr_sweep("sphere", [1.0, 1.0], [0.01, 0.4, 3.0], steps=2000)
    table = sweep.table()
    assert str(sweep) == table
    lines = table.splitlines()
    assert len(lines) == 4 and "learning rate" in lines[0] and "verdict" in lines[0]
    for line, row in zip(lines[1:], sweep.rows):
        assert row.label in line and row.status in line and str(row.steps_taken) in line
    data = sweep.to_dict()
    text = json.dumps(data, allow_nan=False)
    back = json.loads(text)
    assert [r["label"] for r in back["rows"]] == [row.label for row in sweep.rows]
    assert back["best_lr"] == 0.4 and back["landscape"] == "sphere"
    assert back["rows"][2]["status"] == "diverged" and back["rows"][2]["final_value"] > 1e12


def test_a_climb_ending_in_nan_is_none_in_json():
    # sqrt(x) + y^2 at lr 1: x = 1, 0.5, then below 0, where sqrt is NaN.
    sweep = dh.lr_sweep(dh.landscapes.from_expression("sqrt(x) + y**2"), [1.0, 1.0], [0.01, 1.0], steps=50)
    assert [row.label for row in sweep.rows] == [GOOD, TOO_BIG]
    assert (sweep.rows[1].status, sweep.rows[1].steps_taken) == ("diverged", 2)
    data = json.loads(json.dumps(sweep.to_dict(), allow_nan=False))
    assert data["rows"][1]["final_value"] is None
    assert data["best_lr"] == 0.01


@pytest.mark.parametrize("lrs", [[], [-0.1], [np.nan], [0.1, np.inf]])
def test_sweep_rejects_bad_learning_rates(lrs):
    with pytest.raises(ValueError, match="learning rate"):
        dh.lr_sweep("sphere", [1.0, 1.0], lrs)


def test_sweep_wants_one_start():
    with pytest.raises(ValueError, match="one point"):
        dh.lr_sweep("sphere", [[1.0, 1.0], [2.0, 2.0]], [0.1])


# --------------------------------------------------------------------------
# lr_advice
# --------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(QUADRATICS))
def test_advice_on_quadratics_is_exact_everywhere(name):
    hessian, _ = QUADRATICS[name]
    expected = np.linalg.eigvalsh(hessian)
    rng = np.random.default_rng(3)
    for point in rng.uniform(-5, 5, size=(4, 2)):
        advice = dh.lr_advice(name, point)
        np.testing.assert_allclose(advice.eigenvalues, expected, rtol=1e-12, atol=1e-14)
        assert advice.curvature == pytest.approx(expected[-1], rel=1e-12)
        assert advice.max_stable_lr == pytest.approx(2 / expected[-1], rel=1e-12)
        assert advice.max_stable_lr == 2 / advice.curvature
        assert advice.suggested_lr == 1 / advice.curvature
        assert str(advice) == advice.message and "2/L" in advice.message


def test_known_curvatures():
    assert dh.lr_advice("sphere", [1.0, 1.0]).curvature == pytest.approx(2.0, rel=1e-14)
    assert dh.lr_advice("sphere", [1.0, 1.0]).max_stable_lr == pytest.approx(1.0, rel=1e-14)
    assert dh.lr_advice("booth", [0.0, 0.0]).curvature == pytest.approx(18.0, rel=1e-14)
    assert dh.lr_advice("matyas", [0.0, 0.0]).curvature == pytest.approx(1.0, rel=1e-14)


@pytest.mark.parametrize(("name", "formula"), [("rosenbrock", rosenbrock), ("himmelblau", himmelblau)])
def test_advice_matches_torch_hessians(name, formula, oracle):
    rng = np.random.default_rng(7)
    points = rng.uniform(-2, 2, size=(5, 2))
    all_eigenvalues = oracle(
        f"hessian_eigenvalues/{name}", lambda: [torch_hessian_eigenvalues(formula, point) for point in points]
    )
    assert len(all_eigenvalues) == len(points)
    for point, eigenvalues in zip(points, all_eigenvalues):
        if eigenvalues[-1] <= 0:
            continue
        advice = dh.lr_advice(name, point)
        np.testing.assert_allclose(advice.eigenvalues, eigenvalues, rtol=1e-12, atol=1e-10)
        assert advice.max_stable_lr == pytest.approx(2 / eigenvalues[-1], rel=1e-12)


def test_rosenbrock_curvature_is_the_analytic_hessians():
    x, y = -1.2, 1.0
    hessian = np.array([[1200 * x**2 - 400 * y + 2, -400 * x], [-400 * x, 200.0]])
    advice = dh.lr_advice("rosenbrock", [x, y])
    np.testing.assert_allclose(advice.eigenvalues, np.linalg.eigvalsh(hessian), rtol=1e-12)


@pytest.mark.parametrize("name", list(QUADRATICS))
def test_a_step_just_below_the_bound_converges_and_just_above_falls_off(name):
    _, start = QUADRATICS[name]
    bound = dh.lr_advice(name, start).max_stable_lr
    below = dh.descend(name, start, lr=0.99 * bound, steps=5000)
    above = dh.descend(name, start, lr=1.01 * bound, steps=5000)
    assert below.status == "converged", below.summary()
    assert above.status == "diverged", above.summary()


def test_advice_for_a_callable():
    # f = 3 |p|^2 in three dimensions: H = 6 I.
    advice = dh.lr_advice(lambda p: 3 * (p**2).sum(), [1.0, 2.0, 3.0])
    np.testing.assert_allclose(advice.eigenvalues, [6.0, 6.0, 6.0], rtol=1e-14)
    assert advice.max_stable_lr == pytest.approx(1 / 3, rel=1e-14)


@pytest.mark.parametrize("point", [(-0.270845, -0.923039), dh.landscapes.get("himmelblau").local_maxima[0].point])
def test_a_hilltop_has_no_stable_step(point, oracle):
    advice = dh.lr_advice("himmelblau", point)
    eigenvalues = oracle(f"hilltop/{[float(v) for v in point]}", lambda: torch_hessian_eigenvalues(himmelblau, point))
    assert eigenvalues[-1] < 0
    np.testing.assert_allclose(advice.eigenvalues, eigenvalues, rtol=1e-12)
    assert advice.curvature < 0
    assert advice.max_stable_lr == math.inf and math.isnan(advice.suggested_lr)
    assert "hilltop" in advice.message and "no step size is stable" in advice.message


@pytest.mark.parametrize(("name", "point"), [("ackley", [0.0, 0.0]), ("bukin6", [-10.0, 1.0])])
def test_a_kink_is_a_plain_error_without_warnings(name, point):
    # pytest turns RuntimeWarnings into errors: only the ValueError may come out.
    with pytest.raises(ValueError, match="not smooth"):
        dh.lr_advice(name, point)


def test_advice_wants_one_point():
    with pytest.raises(ValueError, match="shape"):
        dh.lr_advice("sphere", [[1.0, 1.0]])
    with pytest.raises(ValueError, match="sphere"):
        dh.lr_advice("no_such_mountain", [1.0, 1.0])


def test_flat_ground_is_not_called_a_hilltop():
    # abs(x) + abs(y) has no curvature away from its kinks, and every climber
    # there walks downhill: the advice must not call it a hilltop or a ridge.
    import downhill as dh

    advice = dh.lr_advice(dh.landscapes.from_expression("abs(x) + abs(y)"), [2.0, -1.5])
    assert advice.curvature == 0.0 and advice.max_stable_lr == float("inf")
    assert "hilltop" not in advice.message and "flat slope" in advice.message
    assert dh.descend(dh.landscapes.from_expression("abs(x) + abs(y)"), [2.0, -1.5], lr=0.1,
                      steps=10).final_value < 3.5
    hill = dh.lr_advice(dh.landscapes.from_expression("-(x**2) - y**2"), [1.0, 1.0])
    assert "hilltop" in hill.message


@pytest.mark.parametrize("formula, start, shown", [("exp(x) + y**2", [800.0, 0.0], "is inf (not a finite number)"),
                                                   ("log(x)", [-1.0], "is nan (not a finite number)"),
                                                   ("sphere", [1e7, 1.0], "is 1e+14 (past max_value=1e+12)"),
                                                   ("sphere", [1e308, 1.0], "[1e+308, 1.0] is inf")])
def test_a_sweep_from_a_start_already_off_the_mountain_is_refused(formula, start, shown):
    """Every rate would 'diverge' at step 0 and be labelled too big, blaming the rates (issue 14)."""
    with pytest.raises(dh.errors.InputError, match="before any step") as caught:
        dh.lr_sweep(formula, start, [1e-3, 0.1], steps=10)
    assert shown in str(caught.value)
    assert dh.lr_sweep("sphere", [1e5, 1.0], [1e-3], steps=10).rows[0].status == "max_steps"  # 1e10: in bounds


def test_a_summary_shows_a_huge_point_as_it_is():
    """NumPy's round(1e308, 6) overflows to inf (and warns): a finite point was shown as [inf]."""
    flat = dh.descend("1/(x-1)", [1e308], steps=5)  # the slope underflows to 0 there
    assert flat.status == "converged" and "at [1e+308]" in flat.summary()
