"""The shadow run retries a batch with backoff while Postgres is unavailable, instead of
exiting (the retry loop alone: the write itself is integration-tested on the real server)."""

from __future__ import annotations

import time
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
    monkeypatch.setattr(time, "sleep", waits.append)
    worker = _Flaky(failures=9)
    worker._process_until_written([])
    assert worker.tries == 10
    # The runtime's policy (inferstream.retry.Backoff): each wait in [ceiling / 2, ceiling],
    # the ceiling doubling from the first wait up to the cap.
    ceilings = [min(shadow.RETRY_MAX_S, shadow.RETRY_FIRST_S * 2**i) for i in range(9)]
    assert ceilings[-1] == shadow.RETRY_MAX_S
    for wait, ceiling in zip(waits, ceilings, strict=True):
        assert ceiling / 2 <= wait <= ceiling
    assert waits[-1] >= shadow.RETRY_MAX_S / 2 > waits[0] * 4


def test_each_batch_starts_again_from_the_first_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    waits: list[float] = []
    monkeypatch.setattr(time, "sleep", waits.append)
    worker = _Flaky(failures=6)
    worker._process_until_written([])
    worker.failures = worker.tries + 1  # the next batch fails once more
    worker._process_until_written([])
    assert len(waits) == 7
    assert waits[-1] <= shadow.RETRY_FIRST_S < waits[-2]


def test_a_stopping_run_gives_up_instead_of_retrying(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "sleep", lambda s: None)
    worker = _Flaky(failures=1)
    worker.request_stop()
    with pytest.raises(psycopg.OperationalError):
        worker._process_until_written([])
    assert worker.tries == 1
