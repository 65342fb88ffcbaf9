"""One loader for package names that load on first use (PEP 562): a package whose
``__init__`` would otherwise import heavy modules (faiss, MinIO, the chaos run) declares each
name's home module and hands its module ``__getattr__`` to ``load``."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from importlib import import_module


def load(package: str, homes: Mapping[str, str], name: str) -> object:
    """``name`` from its home module (``homes[name]``, a full module path), kept in the
    package's namespace so later lookups skip ``__getattr__``; AttributeError otherwise."""
    home = homes.get(name)
    if home is None:
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    value = getattr(import_module(home), name)
    setattr(sys.modules[package], name, value)
    return value
