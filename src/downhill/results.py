"""One protocol for every result downhill hands back: words, strict JSON, a table in Jupyter.

Every result (a :class:`~downhill.Trajectory`, a sweep, a reading at a point,
a graph, a training history, ...) has

- ``str(result)``: what it says, for people (sentences or a table);
- ``result.to_dict()``: strict JSON, built by :func:`jsonable`, so that
  ``json.dumps(result.to_dict(), allow_nan=False)`` always works: NumPy
  arrays become lists, and NaN and infinities become ``null``, with a
  ``"non_finite"`` field naming where they were and what they were;
- ``result._repr_html_()``: a small HTML table for notebooks (:class:`Result`
  gives it, from the two above).

The command's ``--json`` and the playground's API send exactly ``to_dict()``,
so the three front ends cannot disagree about a number.

>>> import json, numpy as np
>>> data = jsonable({"value": np.float64("inf"), "points": np.array([1.0, np.nan])})
>>> json.dumps(data, allow_nan=False)
'{"value": null, "points": [1.0, null], "non_finite": {"value": "inf", "points": "nan"}}'
"""

from __future__ import annotations

import dataclasses
import html
import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

try:  # a JSON encoder in Rust: floats written ten times faster, NumPy arrays read directly
    import orjson
except ImportError:  # pragma: no cover - the standard library's encoder gives the same numbers
    orjson = None

__all__ = ["Result", "jsonable", "null_value", "to_json", "json_bytes", "html_table"]


def jsonable(value: Any, note: bool = True, arrays: bool = False) -> Any:
    """``value`` as plain JSON data: lists, dicts with text keys, numbers, text, booleans, None.

    NumPy arrays and scalars become lists and numbers; tuples become lists;
    a result with ``to_dict()`` becomes its dict. NaN, ``inf`` and ``-inf``
    become None, and when ``value`` is a dict (and ``note``) it gains a
    ``"non_finite"`` field: the path of each place that held one, and which
    ones (``"nan"``, ``"inf"``, ``"-inf"``). A path names a whole array, not
    each entry (``"points"``, ``"rows[2].final_value"``).

    ``arrays=True`` keeps NumPy arrays of finite float64 numbers, integers
    and booleans as (C-contiguous) arrays instead of lists: what
    :func:`json_bytes` writes without making a Python number of each entry.

    >>> jsonable({"a": (1, np.int64(2)), "b": [np.float32(0.5), -np.inf]})
    {'a': [1, 2], 'b': [0.5, None], 'non_finite': {'b': '-inf'}}
    >>> jsonable(np.array([[1.0, 2.0]]))
    [[1.0, 2.0]]
    >>> jsonable({"kept": np.array([1.0, 2.0]), "listed": np.array([1.0, np.nan])}, arrays=True)
    {'kept': array([1., 2.]), 'listed': [1.0, None], 'non_finite': {'listed': 'nan'}}
    """
    notes: dict[str, set] = {}
    data = _convert(value, "", notes, arrays)
    if note and notes and isinstance(data, dict):
        order = ("nan", "inf", "-inf")
        data["non_finite"] = {path or "value": ", ".join(k for k in order if k in kinds)
                              for path, kinds in notes.items()}
    return data


def _float(x: float, path: str, notes: dict):
    if math.isfinite(x):
        return x
    notes.setdefault(path, set()).add("nan" if math.isnan(x) else ("inf" if x > 0 else "-inf"))
    return None


def _convert(value: Any, path: str, notes: dict, arrays: bool = False) -> Any:
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return _float(float(value), path, notes)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.ndarray):
        return _array(value, path, notes, arrays)
    if hasattr(value, "to_dict"):  # a result (even one that is also a list): its own JSON form
        return _convert(value.to_dict(), path, notes, arrays)
    if isinstance(value, Mapping):
        inner = value.get("non_finite")
        if isinstance(inner, Mapping):  # a nested result's own note: lift it, its paths under this one
            for where, kinds in inner.items():
                notes.setdefault(f"{path}.{where}" if path else str(where), set()).update(str(kinds).split(", "))
            value = {k: v for k, v in value.items() if k != "non_finite"}
        return {str(k): _convert(v, f"{path}.{k}" if path else str(k), notes, arrays) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(v, (float, np.floating)) for v in value):
            return _array(np.asarray(value, dtype=np.float64), path, notes)
        return [_convert(v, f"{path}[{i}]", notes, arrays) for i, v in enumerate(value)]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _convert({f.name: getattr(value, f.name) for f in dataclasses.fields(value)}, path, notes, arrays)
    if isinstance(value, complex):
        raise TypeError(f"jsonable: a complex number has no JSON form ({value!r} at {path or 'the top'})")
    raise TypeError(f"jsonable: no JSON form for {type(value).__name__} (at {path or 'the top'})")


def _array(array: np.ndarray, path: str, notes: dict, arrays: bool = False) -> Any:
    if array.dtype.kind == "f":
        finite = np.isfinite(array)
        if finite.all():
            if arrays and array.ndim and array.dtype == np.float64:
                return np.ascontiguousarray(array)
            return array.tolist()
        kinds = notes.setdefault(path, set())
        if np.isnan(array).any():
            kinds.add("nan")
        if np.isposinf(array).any():
            kinds.add("inf")
        if np.isneginf(array).any():
            kinds.add("-inf")
        cleaned = array.astype(object)
        cleaned[~finite] = None
        return cleaned.tolist()
    if array.dtype.kind in "iub":
        if arrays and array.ndim and array.dtype in (np.int64, np.int32, np.bool_):
            return np.ascontiguousarray(array)
        return array.tolist()
    if array.dtype.kind in "US":
        return array.astype(str).tolist()
    return [_convert(v, f"{path}[{i}]", notes, arrays) for i, v in enumerate(array.tolist())]


def null_value(data: Mapping, path: str) -> float:
    """The number a None at ``path`` of ``jsonable`` output stood for (inf or -inf if only that, else NaN).

    >>> data = jsonable({"v": [1.0, float("inf")], "w": float("nan")})
    >>> null_value(data, "v"), null_value(data, "w"), null_value(data, "elsewhere")
    (inf, nan, nan)
    """
    kind = (data.get("non_finite") or {}).get(path, "nan")
    return {"inf": math.inf, "-inf": -math.inf}.get(kind, math.nan)


def to_json(value: Any, **options) -> str:
    """Strict JSON text (no NaN) for a result or any data :func:`jsonable` accepts.

    >>> to_json({"x": float("nan")})
    '{"x": null, "non_finite": {"x": "nan"}}'
    """
    return json.dumps(jsonable(value), allow_nan=False, **options)


def _listed(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"json_bytes: no JSON form for {type(value).__name__}")


def json_bytes(value: Any) -> bytes:
    """Strict, compact JSON as UTF-8 bytes, the form the playground's API sends.

    The data of :func:`jsonable` (NaN and infinities as null, noted in
    ``non_finite``), with NumPy arrays written directly. Every float is written
    with the fewest digits that read back as the same float (``repr``'s
    digits; an exponent may be spelled ``1e-5`` rather than ``1e-05``), so the
    numbers are exactly those of ``json.dumps(jsonable(value))``.

    >>> json_bytes({"points": np.array([[0.1, 2.0]]), "best": float("nan")})
    b'{"points":[[0.1,2.0]],"best":null,"non_finite":{"best":"nan"}}'
    """
    data = jsonable(value, arrays=True)
    if orjson is not None:
        try:
            return orjson.dumps(data, option=orjson.OPT_SERIALIZE_NUMPY)
        except (orjson.JSONEncodeError, TypeError):  # an integer past 64 bits: the standard encoder takes it
            pass
    return json.dumps(data, allow_nan=False, separators=(",", ":"), default=_listed).encode()


def _cell(value: Any) -> str:
    if isinstance(value, float):
        text = f"{value:.6g}"
    elif isinstance(value, list):
        if len(value) > 8 or any(isinstance(v, (list, dict)) for v in value):
            text = f"[{len(value)} items]"
        else:
            text = ", ".join(_cell(v) if not isinstance(v, str) else v for v in value)
    elif isinstance(value, dict):
        text = f"{{{len(value)} fields}}" if len(value) > 6 else ", ".join(f"{k}: {_cell(v)}" for k, v in value.items())
    elif value is None:
        text = "—"
    else:
        text = str(value)
    return html.escape(text)


def html_table(title: str, fields: Mapping[str, Any]) -> str:
    """``title`` as fixed-width text (so a text table keeps its columns), then one row per field.

    Long lists are summarised by their length.

    >>> print(html_table("a & b", {"lr": 0.1, "points": list(range(20))}))
    <div class="downhill-result"><pre style="margin:0 0 4px 0;white-space:pre-wrap">a &amp; b</pre><table><tr><th style="text-align:left">lr</th><td style="text-align:left">0.1</td></tr><tr><th style="text-align:left">points</th><td style="text-align:left">[20 items]</td></tr></table></div>
    """
    rows = "".join(
        f'<tr><th style="text-align:left">{html.escape(str(key))}</th>'
        f'<td style="text-align:left">{_cell(value)}</td></tr>'
        for key, value in fields.items()
    )
    return (f'<div class="downhill-result"><pre style="margin:0 0 4px 0;white-space:pre-wrap">'
            f"{html.escape(title)}</pre><table>{rows}</table></div>")


class Result:
    """What every result shares: ``_repr_html_`` (from ``str`` and ``to_dict``) and ``to_json``.

    A result class defines ``__str__`` (for people) and ``to_dict`` (strict
    JSON, made with :func:`jsonable`); this mixin adds the rest.
    """

    __slots__ = ()

    def to_json(self, **options) -> str:
        """``to_dict()`` as strict JSON text."""
        return json.dumps(self.to_dict(), allow_nan=False, **options)

    def _repr_html_(self) -> str:
        return html_table(str(self), self.to_dict())
