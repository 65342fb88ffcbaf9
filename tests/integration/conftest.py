"""Real servers for integration tests: the embedded stack, started once per session.

The stack is started through the real CLI (`inferstream up`) in a temporary data dir and
stopped with `inferstream down` at the end; a server that does not come up fails the
session (never a skip).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from _stack import Stack, start_stack

from inferstream.settings import DATA_DIR_ENV
from inferstream.stack import StackState, down


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
