"""Shared test configuration: a clean INFERSTREAM_* environment for every session, and the one
embedded stack a session shares.

The stack fixture lives here, at the root, so that every directory that asks for it
(tests/integration, tests/security) gets the same instance: a fixture defined in two conftest
files is two session instances, and each would start its own servers. It is started through the
real CLI (`inferstream up`) in a temporary data dir and stopped with `inferstream down` at the
end; a server that does not come up fails the session (never a skip). Under pytest-xdist each
worker process is a session of its own, with its own stack.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# Hypothesis' per-example deadline (200 ms) and its too-slow health check time the machine, not
# the code: on CI's two cores, shared by two pytest processes and the embedded servers, a
# property test failed on a 347 ms example. Every property is still checked on every example.
settings.register_profile("suite", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("suite")

# Settings read INFERSTREAM_* variables; a developer's shell must not leak into the tests.
for _name in [name for name in os.environ if name.startswith("INFERSTREAM_")]:
    del os.environ[_name]

# The stack helpers are plain modules beside the integration tests (imported as `_stack`,
# `_kafka`), by the integration and the security tests alike.
sys.path.insert(0, str(Path(__file__).resolve().parent / "integration"))

from _stack import Stack, start_stack  # noqa: E402

from inferstream.settings import DATA_DIR_ENV  # noqa: E402
from inferstream.stack import StackState, down  # noqa: E402


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    data_dir = tmp_path_factory.mktemp("stack")
    previous = os.environ.get(DATA_DIR_ENV)
    os.environ[DATA_DIR_ENV] = str(data_dir)
    try:
        started = start_stack(data_dir)
        state = StackState.load(data_dir)
        assert state.tansu and state.postgres and state.seaweed, "stack state incomplete"
        yield started
    finally:
        down(data_dir)
        if previous is None:
            os.environ.pop(DATA_DIR_ENV, None)
        else:
            os.environ[DATA_DIR_ENV] = previous
