"""oracle.lazy: naming torch's functions imports nothing; calling one looks it up then."""

from __future__ import annotations

import types

import pytest

from oracle import lazy


@pytest.fixture
def fake_torch(monkeypatch):
    """A stand-in for the torch module that counts how often it is imported."""
    imports = []
    module = types.SimpleNamespace(
        exp=lambda x: ("exp", x),
        nn=types.SimpleNamespace(functional=types.SimpleNamespace(softplus=lambda x, beta=1: ("softplus", x, beta))),
        float64="float64-dtype",
    )

    def import_it():
        imports.append(1)
        return module

    monkeypatch.setattr(lazy, "real_torch", import_it)
    return imports


def test_naming_a_function_imports_nothing_and_calling_it_does(fake_torch):
    softplus = lazy.torch.nn.functional.softplus
    table = {"exp": lazy.torch.exp, "softplus": softplus}
    assert fake_torch == []
    assert repr(softplus) == "torch.nn.functional.softplus"
    assert table["softplus"](2.0, beta=3) == ("softplus", 2.0, 3)
    assert table["exp"](1.5) == ("exp", 1.5)
    assert len(fake_torch) == 2  # looked up at each call, never kept


def test_a_value_is_reached_through_resolve_and_dunders_are_not_names(fake_torch):
    assert lazy.torch.float64.resolve() == "float64-dtype"
    with pytest.raises(AttributeError):
        lazy.torch.__wrapped__  # noqa: B018 (inspect, copy and pickle ask for such names)
    with pytest.raises(AttributeError):
        lazy.torch.missing_function(1.0)  # a typo fails when called, naming it
