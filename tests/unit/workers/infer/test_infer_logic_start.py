"""InferLogic's constructor does no I/O: the launcher rebuilds the state with start(); close()
closes the inferer (its queued model calls: models/embedder.py)."""

from __future__ import annotations

from typing import Any

import pytest

from inferstream.plugins import load_plugin
from inferstream.settings import KafkaSettings, PostgresSettings
from inferstream.workers.infer import driver
from inferstream.workers.infer.driver import InferLogic


class _NoInferer:
    """Any call but close() fails the test: construction must not touch the model (nor observe
    history); stopping closes it."""

    def __init__(self) -> None:
        self.closed = 0

    def close(self) -> None:
        self.closed += 1

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"InferLogic.__init__ called inferer.{name}")


def test_constructing_does_no_io_and_is_not_ready_until_started() -> None:
    # Settings pointing at nothing: a Postgres read or a follower here would fail or hang.
    kafka = KafkaSettings.load().model_copy(update={"bootstrap_servers": "127.0.0.1:9"})
    postgres = PostgresSettings.load().model_copy(update={"port": 9})
    inferer = _NoInferer()
    logic = InferLogic(load_plugin("churn"), inferer, kafka, postgres, "test")  # type: ignore[arg-type]
    assert logic.follower is None
    assert logic.ready() == (False, "not started")
    logic.close()  # no follower started: only the inferer to close
    assert inferer.closed == 1


def test_close_reaches_an_inferer_without_close() -> None:
    kafka = KafkaSettings.load().model_copy(update={"bootstrap_servers": "127.0.0.1:9"})
    postgres = PostgresSettings.load().model_copy(update={"port": 9})
    logic = InferLogic(load_plugin("churn"), object(), kafka, postgres, "test")  # type: ignore[arg-type]
    logic.close()  # the inferers of the tabular tasks have nothing to close


class _Follower:
    made: list[dict[str, Any]] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.made.append(kwargs)

    def start(self) -> None:
        return None

    def stop(self) -> None:
        return None


class _Observer:
    def observe(self, results: Any) -> None:
        return None


def test_start_gives_the_follower_the_gap_wait_it_was_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The launcher passes the worker setting; the follower no longer loads settings itself.
    monkeypatch.setattr(driver, "_with_backoff", lambda load: ([], {}))
    monkeypatch.setattr(driver, "ResultFollower", _Follower)
    kafka, postgres = KafkaSettings.load(), PostgresSettings.load()
    for wait_s in (5.0, 0.0):
        logic = InferLogic(
            load_plugin("churn"), _Observer(), kafka, postgres, "t", gap_wait_s=wait_s
        )  # type: ignore[arg-type]
        logic.start()
        assert _Follower.made[-1]["gap_wait_s"] == wait_s
