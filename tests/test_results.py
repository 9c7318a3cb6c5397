"""One result protocol: every result says itself in words, in strict JSON and as an HTML table."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import downhill as dh
from downhill import explain
from downhill.landscapes.field import surface
from downhill.nn.lr_range import LRRangeTestResult
from downhill.nn.recipes import train_classifier
from downhill.optim.basins import basins
from downhill.optim.compare import compare_optimizers
from downhill.optim.minima import find_minima
from downhill.optim.three_rates import three_rates
from downhill.results import Result, html_table, json_bytes, jsonable, null_value, to_json


def _report_with_nan():
    layer = dh.nn.Linear(2, 1, generator=0)
    layer(dh.tensor([[np.inf, 1.0]])).sum().backward()  # inf * 0-weight paths make NaN gradients
    return dh.nn.gradient_report(layer)


def _loss_landscape_with_inf():
    from downhill.nn.loss_landscape import LossLandscape

    return LossLandscape(np.array([-1.0, 1.0]), np.array([-1.0, 1.0]), np.array([[1.0, np.inf], [0.5, 2.0]]),
                         0.25, "random (filter-normalised)", parameters=3)


def _history_with_nan():
    history = dh.nn.History()
    history.append(0, {"train_loss": 0.5, "val_loss": float("nan")})
    history.append(1, {"train_loss": float("inf"), "val_loss": 0.25})
    return history


# name -> (a function making the result, whether NaN or inf is inside it)
RESULTS = {
    "trajectory": (lambda: dh.descend("sphere", [1.0, 2.0], lr=1.5, steps=5000, max_value=np.inf), True),
    "trajectory-batch": (lambda: dh.descend(dh.landscapes.from_expression("sqrt(x) + y**2"),
                                            [[1.0, 1.0], [4.0, 0.5]], lr=0.1, steps=40), True),
    "lr-sweep": (lambda: dh.lr_sweep("sphere", [1.0, 1.0], [0.1, 1e200], steps=50), True),
    "lr-advice-hilltop": (lambda: dh.lr_advice("-(x**2) - y**2", [0.0, 0.0]), True),
    "lr-advice": (lambda: dh.lr_advice("x**2 + 3*y**2", [1.0, 1.0]), False),
    "basins": (lambda: basins("sqrt(x) + y**2", lr=0.1, grid=4, steps=50, domain=((-1, 1), (-1, 1))), False),
    "race": (lambda: compare_optimizers("sqrt(x) + y**2", [1.0, 1.0], ["sgd", "adam"], lrs=[1.0, 0.1],
                                        steps=100), True),
    "run": (lambda: compare_optimizers("booth", [0.0, 0.0], ["adam"], lrs=[0.1], steps=10)[0], False),
    "landscape": (lambda: dh.landscapes.get("himmelblau"), False),
    "derivative-reading": (lambda: explain.derivative_at("x**3", 2.0), False),
    "gradient-reading": (lambda: explain.gradient_at("x**2 + 3*y**2", [1.0, 2.0]), False),
    "derivative-curve": (lambda: explain.derivative_curve("log(x)", -1.0, 1.0, 5), True),
    "graph-reading": (lambda: explain.graph_at("log(x) + y", [-1.0, 2.0]), True),
    "graph": (lambda: explain.graph_at("x*y + sin(x)", [2.0, 3.0]).graph, False),
    "surface": (lambda: surface("log(x) + y", ((-1.0, 1.0), (0.0, 1.0)), 3), True),
    "gradient-report": (_report_with_nan, True),
    "history": (_history_with_nan, True),
    "lr-range": (lambda: LRRangeTestResult(np.array([0.1, 1.0]), np.array([1.0, np.inf]),
                                           np.array([1.0, np.nan]), {"valley": None}, True, 1.0), True),
    "train": (lambda: train_classifier("xor", hidden=[4], epochs=2, progress=False), False),
    "three-rates": (lambda: three_rates("booth", steps=60), False),
    "rate-choice": (lambda: three_rates("booth", steps=60).small, False),
    "found-minima": (lambda: find_minima(dh.landscapes.get("himmelblau"),
                                         np.array([[3.0, 2.0], [np.nan, 0.0]]), tol=0.1), False),
    "loss-landscape": (lambda: _loss_landscape_with_inf(), True),
}


_MADE = {}


def made(name):
    """The result RESULTS[name] makes, made once for all the tests here."""
    if name not in _MADE:
        with np.errstate(all="ignore"):
            _MADE[name] = RESULTS[name][0]()
    return _MADE[name]


@pytest.mark.parametrize("name", list(RESULTS))
def test_every_result_speaks_words_strict_json_and_html(name):
    non_finite = RESULTS[name][1]
    result = made(name)
    data = result.to_dict()
    text = json.dumps(data, allow_nan=False)  # raises on any NaN or infinity left inside
    assert json.loads(text) == data, "to_dict() is plain JSON data already"
    assert ("non_finite" in data) == non_finite, data.get("non_finite")
    assert str(result).strip(), "str(result) says something"
    assert isinstance(result, Result)
    page = result._repr_html_()
    assert page.startswith('<div class="downhill-result"><pre') and page.endswith("</table></div>")
    assert result.to_json() == text


def test_the_table_above_holds_every_result_type_of_the_library():
    # A new result type joins RESULTS, so it is held to the protocol too.
    import importlib
    import pkgutil

    for module in pkgutil.walk_packages(dh.__path__, "downhill."):
        if not module.name.startswith(("downhill.web", "downhill.__main__")):
            importlib.import_module(module.name)

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    library = {cls for cls in subclasses(Result) if cls.__module__.startswith("downhill.")}
    tested = {type(made(name)) for name in RESULTS}
    assert library - tested == set(), sorted(cls.__qualname__ for cls in library - tested)
    assert len(library) >= 20


@pytest.mark.parametrize("name", list(RESULTS))
def test_json_bytes_writes_the_numbers_of_to_dict_exactly(name):
    result = made(name)
    arrays = result.to_dict(arrays=True) if name.startswith(("trajectory", "basins")) else result.to_dict()
    assert json.loads(json_bytes(arrays)) == json.loads(json.dumps(result.to_dict(), allow_nan=False))


def test_json_bytes_reads_back_every_float_bit_for_bit():
    # The shortest digits that read back as the same float, for the hard cases:
    # subnormals, the largest float, signed zeros, powers of ten, and a spread of magnitudes.
    rng = np.random.default_rng(3)
    spread = rng.standard_normal(20_000) * 10.0 ** rng.integers(-320, 308, 20_000)
    bits = rng.integers(0, 2**63 - 1, 20_000, dtype=np.int64).view(np.float64)  # any bit pattern
    special = np.array([5e-324, -5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, -0.0, 0.0, 0.1,
                        1e-5, 1e16, 1e22, 123456789012345680.0, 1 / 3, 2 / 3])
    for values in (spread, bits[np.isfinite(bits)], special):
        for sent in (values, values.reshape(-1, 1), values.tolist()):
            back = np.array(json.loads(json_bytes({"v": sent}))["v"], dtype=np.float64).ravel()
            assert np.array_equal(back.view(np.int64), values.view(np.int64)), "a float changed"
    # Non-finite numbers still become null, noted, whether sent as an array or a list.
    assert json.loads(json_bytes({"v": np.array([1.0, np.inf])})) == {"v": [1.0, None], "non_finite": {"v": "inf"}}
    assert json.loads(json_bytes({"v": [np.nan]})) == {"v": [None], "non_finite": {"v": "nan"}}


def test_json_bytes_without_orjson_writes_the_same_json(monkeypatch):
    import downhill.results as results

    data = {"p": np.array([[0.1, -0.0], [1e-5, 3.0]]), "n": np.arange(3), "ok": np.array([True, False]),
            "s": np.array(["a", "b"]), "x": np.float64(2.5), "big": 2**70, "nan": float("nan")}
    fast = json.loads(json_bytes(data))
    monkeypatch.setattr(results, "orjson", None)
    slow = json.loads(json_bytes(data))
    assert fast == slow == {"p": [[0.1, -0.0], [1e-5, 3.0]], "n": [0, 1, 2], "ok": [True, False], "s": ["a", "b"],
                            "x": 2.5, "big": 2**70, "nan": None, "non_finite": {"nan": "nan"}}


def test_the_note_names_where_each_null_was_and_what_it_was():
    data = jsonable({"a": [1.0, math.nan, math.inf], "rows": [{"v": -math.inf}, {"v": 2.0}],
                     "grid": np.array([[1.0, np.inf]]), "n": np.int64(3), "fine": 0.5})
    assert data["a"] == [1.0, None, None] and data["grid"] == [[1.0, None]] and data["n"] == 3
    assert data["non_finite"] == {"a": "nan, inf", "rows[0].v": "-inf", "grid": "inf"}
    assert null_value(data, "grid") == math.inf and null_value(data, "rows[0].v") == -math.inf
    assert math.isnan(null_value(data, "a")) and math.isnan(null_value(data, "fine"))
    assert "non_finite" not in jsonable({"x": [1.0, 2.0]})
    # A nested result's note is lifted to the top, its paths under the nested one's.
    nested = jsonable({"runs": [jsonable({"v": math.nan})]})
    assert nested == {"runs": [{"v": None}], "non_finite": {"runs[0].v": "nan"}}


def test_jsonable_refuses_what_has_no_json_form():
    with pytest.raises(TypeError, match="complex"):
        jsonable({"z": 1j})
    with pytest.raises(TypeError, match="object"):
        jsonable({"thing": object()})


def test_history_survives_strict_json_with_its_infinities():
    history = _history_with_nan()
    back = dh.nn.History.from_dict(json.loads(to_json(history)))
    assert back["train_loss"] == [0.5, math.inf]
    assert math.isnan(back["val_loss"][0]) and back["val_loss"][1] == 0.25


def test_html_table_escapes_what_it_shows():
    page = html_table("<b>", {"x<y": "a&b"})
    assert "<b>" not in page and "&lt;b&gt;" in page and "x&lt;y" in page and "a&amp;b" in page
