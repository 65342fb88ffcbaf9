"""InferLogic tells the result follower which of its results are acknowledged: the keys of the
batch's results on the result topic, once after_durable runs, and nothing else (not a dead
letter, not a key it never registered)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from inferstream.plugins import ResultFields, load_plugin
from inferstream.settings import KafkaSettings, PostgresSettings
from inferstream.topology import topic_name
from inferstream.workers.infer.driver import InferLogic
from inferstream.workers.runtime.records import Emit, InRecord, OutMessage, Reject

RESULTS = topic_name("results", "churn")


class _Inferer:
    def __init__(self) -> None:
        self.observed: list[ResultFields] = []

    def observe(self, results: Sequence[ResultFields]) -> None:
        self.observed.extend(results)

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"unexpected inferer.{name}")


def test_after_durable_marks_only_the_batch_results_as_acknowledged() -> None:
    inferer = _Inferer()
    kafka, postgres = KafkaSettings.load(), PostgresSettings.load()
    logic = InferLogic(load_plugin("churn"), inferer, kafka, postgres, "test")  # type: ignore[arg-type]
    logic.own.add([b"a", b"b", b"c"])  # what process() registers before producing
    batch = [InRecord("enriched.churn", 0, n, key, b"{}") for n, key in enumerate([b"a", b"x"])]
    outcomes = [
        Emit((OutMessage(RESULTS, b"a", b"{}"), OutMessage("elsewhere", b"b", b"{}"))),
        Reject("undecodable", submission_id="x"),
    ]
    assert not logic.own.acknowledged.is_set()
    logic.after_durable(batch, outcomes)
    assert logic.own.snapshot() == {b"a"}  # b went to another topic
    assert not logic.own.take(b"c")  # registered, never acknowledged: no longer ours
    assert logic.own.acknowledged.is_set()
    assert inferer.observed == []  # nothing was produced by process() in this test


def test_after_durable_indexes_only_what_reached_the_topic_once_each() -> None:
    # A group run twice after a transient failure produced b's result twice, and the retry
    # dead-lettered c: the index gets a and b once (b's last attempt), never c.
    inferer = _Inferer()
    kafka, postgres = KafkaSettings.load(), PostgresSettings.load()
    logic = InferLogic(load_plugin("churn"), inferer, kafka, postgres, "test")  # type: ignore[arg-type]
    attempts = [("b", 1), ("c", 1), ("a", 2), ("b", 2)]  # what process() kept: (key, result)
    logic._produced.extend(
        (sid.encode(), {"submission_id": sid, "attempt": n}) for sid, n in attempts
    )
    batch = [
        InRecord("enriched.churn", 0, n, key, b"{}") for n, key in enumerate([b"a", b"b", b"c"])
    ]
    outcomes = [
        Emit((OutMessage(RESULTS, b"a", b"{}"),)),
        Emit((OutMessage(RESULTS, b"b", b"{}"),)),
        Reject("poison", submission_id="c"),
    ]
    logic.after_durable(batch, outcomes)
    assert inferer.observed == [
        {"submission_id": "b", "attempt": 2},
        {"submission_id": "a", "attempt": 2},
    ]
    assert logic._produced == []
