"""Served versions switch only when the batch path takes them, and never inside a batch."""

from __future__ import annotations

import time
from pathlib import Path

import psycopg
import pytest

from inferstream.models.registry import live
from inferstream.models.registry.live import LiveModels
from inferstream.models.tabular import TabularBundle


def _bundle(version: str) -> TabularBundle:
    return TabularBundle("m", version, Path("/nonexistent"), {}, {})


def _live() -> LiveModels[str]:
    # conninfo None: the local bundle only; loads are recorded as strings.
    return LiveModels("m", lambda b: f"model-{b.version}", lambda: _bundle("v1"), None, Path("."))


def test_a_pending_set_is_adopted_by_the_next_take_only() -> None:
    live = _live()
    assert live.take().production == ("v1", "model-v1")
    live._pending = type(live.served)(("v2", "model-v2"), ("v3", "model-v3"), 0.1)
    assert live.served.production[0] == "v1"  # nothing switches until a batch takes it
    first = live.take()
    assert first.versions() == {"production": "v2", "canary": "v3"} and first.fraction == 0.1
    assert live.take() is first  # the same set until the next pending one


def test_retired_versions_are_unloaded_once_neither_served_nor_pending() -> None:
    live = _live()
    live._loaded["v2"] = "model-v2"
    live._pending = type(live.served)(("v2", "model-v2"))
    live.take()
    live._tick()
    assert set(live._loaded) == {"v2"}


def test_the_start_retries_postgres_with_backoff_until_its_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = [0.0]  # time passes only in the waits, so the deadline is met exactly

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        clock[0] += seconds

    waits: list[float] = []
    monkeypatch.setattr(time, "sleep", sleep)
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    refused = "host=127.0.0.1 port=1 connect_timeout=2"  # nothing listens on port 1
    with pytest.raises(psycopg.OperationalError):
        live._aliases_at_start("m", refused, retry_s=40.0)
    ceilings = [min(15.0, 0.5 * 2**i) for i in range(len(waits))]
    for wait, ceiling in zip(waits, ceilings, strict=True):
        assert ceiling / 2 <= wait <= ceiling
    assert sum(waits[:-1]) <= 40.0 < sum(waits)  # gave up on the first failure past it
