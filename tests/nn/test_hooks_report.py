"""gradient_report: its numbers are the gradients' norms, means, maxima and zeros, computed by hand."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import downhill as dh
from downhill import nn


@pytest.fixture
def trained_once():
    model = nn.Sequential(nn.Linear(6, 5, generator=0), nn.ReLU(), nn.Linear(5, 4, generator=1),
                          nn.Tanh(), nn.Linear(4, 3, generator=2)).double()
    unused = nn.Linear(2, 2, generator=3)  # takes no part in the loss: no gradient
    model.append(nn.Identity())
    model.add_module("spare", unused)
    x = dh.tensor(np.random.default_rng(0).normal(size=(8, 6)))
    y = dh.tensor(np.random.default_rng(1).integers(0, 3, 8))
    nn.CrossEntropyLoss()(model[:5](x), y).backward()
    return model


def test_rows_hold_the_gradients_numbers(trained_once):
    report = nn.gradient_report(trained_once)
    names = [name for name, _ in trained_once.named_parameters()]
    assert [row.name for row in report.rows] == names
    for row, (name, p) in zip(report.rows, trained_once.named_parameters(), strict=True):
        assert row.shape == p.shape and row.size == p.size
        assert row.weight_norm == pytest.approx(np.linalg.norm(p.numpy().astype(float)), rel=1e-14)
        if name.startswith("spare"):
            assert row.norm is row.mean is row.max_abs is row.zero_fraction is None
            continue
        g = p.grad.numpy()
        assert row.norm == pytest.approx(np.linalg.norm(g), rel=1e-14)
        assert row.mean == pytest.approx(g.mean(), rel=1e-12, abs=1e-18)
        assert row.max_abs == np.abs(g).max()
        assert row.zero_fraction == np.mean(g == 0)


def test_dead_relu_units_show_as_zeros():
    layer = nn.Linear(3, 4, dtype="float64", generator=0)
    with dh.no_grad():
        layer.bias.data[:2] = -100.0  # two units never fire
    model = nn.Sequential(layer, nn.ReLU(), nn.Linear(4, 1, dtype="float64", generator=1))
    model(dh.tensor(np.random.default_rng(0).normal(size=(10, 3)))).sum().backward()
    rows = {row.name: row for row in nn.gradient_report(model).rows}
    assert rows["0.weight"].zero_fraction == 0.5 and rows["0.bias"].zero_fraction == 0.5


def test_layer_rows_combine_a_layers_parameters(trained_once):
    report = nn.gradient_report(trained_once, by="layer")
    assert [row.name for row in report.rows] == ["0", "2", "4", "spare"]
    first = report.rows[0]
    w, b = trained_once[0].weight.grad.numpy(), trained_once[0].bias.grad.numpy()
    both = np.concatenate([w.ravel(), b.ravel()])
    assert first.shape == ((5, 6), (5,)) and first.size == 35
    assert first.norm == pytest.approx(math.hypot(np.linalg.norm(w), np.linalg.norm(b)), rel=1e-14)
    assert first.mean == pytest.approx(both.mean(), rel=1e-12, abs=1e-18)
    assert first.max_abs == np.abs(both).max()


def test_total_norm_table_and_dict(trained_once):
    report = nn.gradient_report(trained_once)
    grads = [p.grad.numpy().ravel() for p in trained_once.parameters() if p.grad is not None]
    assert report.total_norm == pytest.approx(np.linalg.norm(np.concatenate(grads)), rel=1e-14)
    table = report.table()
    lines = table.splitlines()
    assert lines[0].split()[:3] == ["parameter", "shape", "grad"]
    assert len(lines) == 2 + len(report.rows) + 1
    assert "0.weight" in lines[2] and "(5, 6)" in lines[2] and "(5,)" in lines[3]
    assert "no grad" in table and lines[-1].startswith("total gradient norm:")
    assert f"{report.rows[0].norm:.3e}" in lines[2]
    assert str(report) == table
    columns = report.to_dict()
    assert columns["name"] == [row.name for row in report.rows]
    assert columns["shape"][0] == [5, 6] and columns["norm"][0] == report.rows[0].norm
    json.dumps(columns)  # ready for the browser
    layer_table = nn.gradient_report(trained_once, by="layer").table()
    assert layer_table.startswith("layer") and "(5, 6) + (5,)" in layer_table


def test_vanishing_gradients_show_as_shrinking_norms():
    # A deep sigmoid stack: sigmoid's slope is at most 1/4, so with modest weights each
    # layer scales the error down on its way back, and the first layers hardly learn.
    layers = []
    for i in range(8):
        layer = nn.Linear(10, 10, bias=False, dtype="float64", generator=i)
        nn.init.normal_(layer.weight, std=0.5, generator=i)
        layers += [layer, nn.Sigmoid()]
    model = nn.Sequential(*layers)
    model(dh.tensor(np.random.default_rng(0).normal(size=(4, 10)))).sum().backward()
    norms = [row.norm for row in nn.gradient_report(model).rows]
    assert all(earlier < later for earlier, later in zip(norms, norms[1:]))
    assert norms[0] < 1e-3 * norms[-1]


def test_report_accepts_named_pairs_and_rejects_other_things():
    x = dh.tensor([3.0, 4.0], requires_grad=True)
    (x * x).sum().backward()
    assert nn.gradient_report({"x": x}).rows[0].norm == 10.0
    assert nn.gradient_report([("x", x)]).rows[0].norm == 10.0
    with pytest.raises(TypeError, match="Module"):
        nn.gradient_report([x])
    with pytest.raises(ValueError, match="by must be"):
        nn.gradient_report({"x": x}, by="neuron")
