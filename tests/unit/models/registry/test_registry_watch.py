"""The alias watcher's reconnect loop: a database that is down is retried with the shared
backoff, and a connection that LISTENs again starts the next outage from the first wait (the
queries themselves run against the real Postgres in the registry's integration tests)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import psycopg

from inferstream.models.registry.watch import AliasWatcher

FIRST_S, MAX_S = 0.5, 30.0


class _Stop:
    """The watcher's stop event, recording each wait instead of sleeping; set after ``n``."""

    def __init__(self, n: int) -> None:
        self.waits: list[float] = []
        self.n = n

    def is_set(self) -> bool:
        return len(self.waits) >= self.n

    def wait(self, seconds: float) -> bool:
        self.waits.append(seconds)
        return self.is_set()

    def set(self) -> None:
        self.n = 0


class _Scripted(AliasWatcher):
    """Each connection attempt follows the script: "down" fails to connect, "up" connects and
    LISTENs, then loses the connection while listening."""

    def __init__(self, script: list[str]) -> None:
        super().__init__("m", "unused", lambda aliases: None, {})
        self.script = script
        self.stop_event = _Stop(n=len(script))
        self._stopping: Any = self.stop_event

    def _connect(self) -> Any:
        if self.script.pop(0) == "down":
            raise psycopg.OperationalError("connection refused")
        return _connected()

    def _listen(self, conn: Any) -> None:
        raise psycopg.OperationalError("server closed the connection unexpectedly")


@contextlib.contextmanager
def _connected() -> Iterator[None]:
    yield None


def _ceiling(attempt: int) -> float:
    return float(min(MAX_S, FIRST_S * 2**attempt))


def test_an_outage_is_retried_with_growing_waits_up_to_the_cap() -> None:
    watcher = _Scripted(["down"] * 8)
    watcher.run()
    waits = watcher.stop_event.waits
    assert len(waits) == 8
    for attempt, wait in enumerate(waits):
        assert _ceiling(attempt) / 2 <= wait <= _ceiling(attempt)
    assert waits[-1] >= MAX_S / 2


def test_a_connection_that_listened_again_starts_the_next_outage_from_the_first_wait() -> None:
    watcher = _Scripted(["down"] * 5 + ["up", "down"])
    watcher.run()
    waits = watcher.stop_event.waits
    assert len(waits) == 7
    assert waits[4] >= _ceiling(4) / 2 > FIRST_S  # grown during the first outage
    assert waits[5] <= FIRST_S  # lost after listening again: back to the first wait
    assert _ceiling(1) / 2 <= waits[6] <= _ceiling(1)


def test_a_stopped_watcher_can_be_joined() -> None:
    """Thread.join() and is_alive() call Thread's own ``_stop`` once the thread has ended; an
    attribute of that name made them raise TypeError."""
    watcher = AliasWatcher("m", "host=127.0.0.1 port=1 connect_timeout=1", lambda a: None, {})
    watcher.stop()
    watcher.start()
    watcher.join(timeout=60)
    assert not watcher.is_alive()
