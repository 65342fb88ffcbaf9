"""A stage worker's /ready: ready once it has joined its consumer group (its first assignment,
an empty one included) and its logic is ready, never before it joined."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence

from confluent_kafka import TopicPartition

from inferstream.settings import KafkaSettings, WorkerSettings
from inferstream.workers.runtime.health import HealthState, member_ready, serve
from inferstream.workers.runtime.records import InRecord, Outcome
from inferstream.workers.runtime.runner import StageRunner
from inferstream.workers.runtime.watermark import Position


class _Logic:
    stage = "infer"
    task = "bug_report"
    input_topics: Sequence[str] = ("enriched.bug_report",)

    def process(self, batch: Sequence[InRecord], prepared: object) -> list[Outcome]:
        return []

    def initial_offsets(self, positions: Sequence[Position]) -> Mapping[Position, int] | None:
        return None

    def ready(self) -> tuple[bool, str]:
        return True, "ok"


class _Consumer:
    def incremental_assign(self, partitions: list[TopicPartition]) -> None:
        return None


def _status(port: int) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def test_a_member_is_ready_only_once_it_has_joined_its_group() -> None:
    health = HealthState(stale_after_s=30)
    logic = _Logic()
    health.ready_check = member_ready(health, logic.ready)
    worker = WorkerSettings(backoff_initial_ms=1, backoff_max_ms=1)
    kafka = KafkaSettings(bootstrap_servers="127.0.0.1:1")  # never contacted
    runner = StageRunner(logic, "g", kafka, worker, health)  # type: ignore[arg-type]
    server = serve(health, "127.0.0.1", 0)
    try:
        # Model loaded, dependencies reachable, but not in the group yet: not ready.
        assert _status(server.server_port) == (503, "degraded: joining its consumer group")
        # More members than partitions: joined with nothing assigned counts as joined.
        runner._on_assign(_Consumer(), [])  # type: ignore[arg-type]
        assert _status(server.server_port) == (200, "ready")
    finally:
        server.shutdown()
        server.server_close()


def test_a_joined_member_is_still_as_ready_as_its_logic() -> None:
    health = HealthState(stale_after_s=30)
    health.joined.set()
    check = member_ready(health, lambda: (False, "model not loaded"))
    assert check() == (False, "model not loaded")
