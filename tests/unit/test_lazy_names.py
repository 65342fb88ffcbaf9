"""The one loader of names that load on first use (inferstream/lazy.py): a declared name comes
from its home module and stays in the package; an undeclared one is an AttributeError."""

from __future__ import annotations

import sys
import types

import pytest

from inferstream.lazy import load


def test_a_declared_name_loads_from_its_home_and_stays() -> None:
    package = types.ModuleType("lazy_probe_package")
    sys.modules[package.__name__] = package
    try:
        value = load(package.__name__, {"dumps": "json"}, "dumps")
        import json

        assert value is json.dumps
        assert package.dumps is json.dumps  # later lookups skip __getattr__
        with pytest.raises(AttributeError, match="no attribute 'loads'"):
            load(package.__name__, {"dumps": "json"}, "loads")
    finally:
        del sys.modules[package.__name__]
