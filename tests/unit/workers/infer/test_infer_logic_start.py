"""InferLogic's constructor does no I/O: the launcher rebuilds the state with start(); close()
closes the inferer (its queued model calls: models/embedder.py)."""

from __future__ import annotations

from typing import Any

from inferstream.plugins import load_plugin
from inferstream.settings import KafkaSettings, PostgresSettings
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
