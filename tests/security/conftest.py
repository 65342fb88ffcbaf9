"""The security suite runs on the same real servers as the integration tests: it reuses
tests/integration's session fixture (the embedded stack through `inferstream up`) and helpers
(`_stack`, `_kafka`), never mocks. Run alone, it starts its own stack; in a full run it gets a
second one, as each fixture definition is its own session instance."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

INTEGRATION = Path(__file__).resolve().parents[1] / "integration"
# The helpers are plain modules beside the integration tests (imported as `_stack`, `_kafka`).
sys.path.insert(0, str(INTEGRATION))

_spec = importlib.util.spec_from_file_location(
    "inferstream_integration_conftest", INTEGRATION / "conftest.py"
)
assert _spec is not None and _spec.loader is not None
_integration = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_integration)

stack = _integration.stack
