"""The shadow run retries a batch with backoff while Postgres is unavailable, instead of
exiting (the retry loop alone: the write itself is integration-tested on the real server)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
import pytest

from inferstream.workers.infer import shadow
from inferstream.workers.infer.shadow import ShadowWorker


class _Conn:
    closed = False

    def close(self) -> None:
        self.closed = False  # "reconnected" by the next try: the stand-in stays usable


class _Flaky(ShadowWorker):
    def __init__(self, failures: int) -> None:  # no broker or database: only the loop runs
        self.failures, self.tries, self._stopping = failures, 0, False
        self.conn: Any = _Conn()
        self.conninfo = "unused"

    def _process(self, messages: Sequence[Any]) -> None:
        self.tries += 1
        if self.tries <= self.failures:
            raise psycopg.OperationalError("connection refused")


def test_a_batch_is_retried_with_growing_backoff_until_postgres_is_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    waits: list[float] = []
    monkeypatch.setattr(shadow.time, "sleep", waits.append)
    worker = _Flaky(failures=7)
    worker._process_until_written([])
    assert worker.tries == 8
    assert waits == [0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 15.0]


def test_a_stopping_run_gives_up_instead_of_retrying(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shadow.time, "sleep", lambda s: None)
    worker = _Flaky(failures=1)
    worker.request_stop()
    with pytest.raises(psycopg.OperationalError):
        worker._process_until_written([])
    assert worker.tries == 1
