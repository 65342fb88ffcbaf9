"""The model lifecycle end to end on the real pipeline: v1 in production, v2 registered and
made the canary at 10 % (seed 004, the MLOps platform), then drift injected (shifted customers
published as submissions); the real enrich and infer workers serve the canary's key-hash
share with v2, and the real monitor sees v2's scores drift from its training reference and
rolls the canary back, with the reason in the registry's alias history and on monitor.churn.

The churn model's aliases are removed before and after, so the session's other churn tests
serve their own local bundle (as tests/integration/test_models_reload.py does)."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import psycopg
import pytest
from _models import train_churn, write_named
from _stack import Stack
from confluent_kafka import Consumer
from test_monitor import _poll, _shift

from inferstream.client import Publisher
from inferstream.models import registry
from inferstream.tasks.churn.inferer import BUNDLE_NAME
from inferstream.training.datasets import churn_records
from inferstream.workers.supervisor import Supervisor

N = 800


def _clear_aliases(stack: Stack) -> None:
    with psycopg.connect(stack.postgres.conninfo()) as conn:
        conn.execute("DELETE FROM model_aliases WHERE name = %s", (BUNDLE_NAME,))


@pytest.fixture
def pipeline(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, str]]:
    """(v1, v2): v1 the workers' local bundle and production, v2 registered; the churn stage
    workers and the monitor running."""
    _clear_aliases(stack)
    # seeds of its own: versions no other test of the session has served (the window is 600 s)
    (g1, m1), (g2, m2) = train_churn(tmp_path / "a", seed=8), train_churn(tmp_path / "b", seed=9)
    v1, d1 = write_named(tmp_path / "models", BUNDLE_NAME, g1, m1)
    v2, d2 = write_named(tmp_path / "v2", BUNDLE_NAME, g2, m2)
    for directory in (d1, d2):
        registry.register(directory)
    registry.promote(BUNDLE_NAME, v1, "production", reason="lifecycle test")
    monkeypatch.setenv("INFERSTREAM_WORKER_BATCH_MAX_WAIT_MS", "20")
    monkeypatch.setenv("INFERSTREAM_WORKER_MODELS_DIR", str(tmp_path / "models"))
    env = {
        **stack.env,
        "INFERSTREAM_WORKER_MODELS_DIR": str(tmp_path / "models"),
        "INFERSTREAM_WORKER_GROUP_PREFIX": f"lifecycle-{uuid.uuid4().hex[:8]}",
        # the canary's 10 % of N: enough for a drift that large (PSI noise at n=50 ~ 0.2)
        "INFERSTREAM_MONITOR_MIN_SAMPLES": "50",
        "INFERSTREAM_MONITOR_EVALUATE_EVERY_S": "1",
    }
    with (tmp_path / "monitor.log").open("w") as log:
        monitor = subprocess.Popen(
            [sys.executable, "-m", "inferstream", "worker", "monitor", "--task", "churn",
             "--metrics-port", "0"],
            env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    workers = Supervisor("churn", 1, log_dir=tmp_path / "logs")
    try:
        workers.start()
        workers.wait_ready(timeout_s=180)
        yield v1, v2
    finally:
        workers.stop()
        monitor.terminate()
        monitor.wait(timeout=30)
        _clear_aliases(stack)


def test_canary_at_10_percent_drifts_and_is_rolled_back(
    stack: Stack, pipeline: tuple[str, str]
) -> None:
    v1, v2 = pipeline
    registry.promote(BUNDLE_NAME, v2, "canary", reason="lifecycle test", fraction=0.1)
    payloads, _ = churn_records(N, 21)
    with Publisher("churn", stack.kafka) as publisher:
        for payload in payloads:
            publisher.publish(_shift(payload), wait=False)
        publisher.flush()

    consumer = Consumer(stack.kafka.consumer_config(f"lifecycle-read-{uuid.uuid4().hex}"))
    consumer.subscribe(["monitor.churn"])
    seen: list[dict[str, Any]] = []
    inputs: dict[str, float] = {}

    def rolled_back_and_inputs_drifted() -> bool:
        msg = consumer.poll(0.5)
        if msg is not None and not msg.error() and msg.value():
            event = orjson.loads(msg.value())
            if event["model_name"] == BUNDLE_NAME and event["rollback"]:
                seen.append(event)
            if event["model_name"] == BUNDLE_NAME and event["model_version"] == v1:
                inputs.update(event["input_psi"])  # counted under production's reference
        return bool(seen) and inputs.get("tenure_months", 0.0) > 0.05

    try:
        _poll(rolled_back_and_inputs_drifted, 180, "the rollback and the inputs' drift")
    finally:
        consumer.close()
    (event,) = seen
    assert event["model_version"] == v2 and event["aliases"] == ["canary"]
    assert event["score_psi"] > 0.05 and 50 <= event["samples"] < N / 2
    assert event["rollback"].startswith(f"drift: canary {BUNDLE_NAME}/{v2} score PSI")
    # enrich's feature vectors, binned on v1's reference: the shifted columns drift
    assert inputs["monthly_charges"] > 0.05 and inputs["contract=month-to-month"] > 0.05
    assert "canary" not in registry.get_aliases(BUNDLE_NAME)
    assert registry.get_aliases(BUNDLE_NAME)["production"].version == v1
    last = registry.history(BUNDLE_NAME, "canary")[0]
    assert (last.actor, last.reason) == ("inferstream-monitor", event["rollback"])
