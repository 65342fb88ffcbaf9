"""Shared test configuration: a clean INFERSTREAM_* environment for every session."""

from __future__ import annotations

import os

# Settings read INFERSTREAM_* variables; a developer's shell must not leak into the tests.
for _name in [name for name in os.environ if name.startswith("INFERSTREAM_")]:
    del os.environ[_name]
