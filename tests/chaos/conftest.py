"""A fresh embedded stack on durable s3:// storage per test: the chaos tests stop, freeze or kill
its servers, which would break every other test on the integration session's stack."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from inferstream.settings import DATA_DIR_ENV
from inferstream.stack import StackState, down, up


@pytest.fixture
def s3_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[StackState]:
    data_dir = tmp_path / "stack"
    monkeypatch.setenv(DATA_DIR_ENV, str(data_dir))
    try:
        yield up(data_dir, "s3")
    finally:
        down(data_dir)
