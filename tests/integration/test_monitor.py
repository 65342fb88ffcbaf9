"""The model monitor on the session's stack: the churn model scored on shifted inputs drifts
(score PSI above the 5 % threshold of seed 004, the MLOps platform) and the monitor says so on
monitor.churn and /metrics; the drifting version being the canary, it is rolled back in the
registry with the reason; production, scored on unshifted inputs, stays under the threshold.

The test plays the infer stage: the scores are the real ONNX graph's on generated customers,
published to results.churn as infer publishes them (its canary routing is the registry's
part); the monitor is the real worker process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest
from _kafka import store_offsets_at_the_end
from _models import train_churn, write_named
from _stack import Stack
from confluent_kafka import Consumer, Producer
from prometheus_client.parser import text_string_to_metric_families

from inferstream.models import registry
from inferstream.models.tabular import run_graph
from inferstream.ports import PortHold
from inferstream.topology import group_id
from inferstream.training import churn
from inferstream.training.datasets import churn_records

PRODUCTION_N = 2000
CANARY_N = 300
MIN_SAMPLES = 200


def _shift(payload: dict[str, Any]) -> dict[str, Any]:
    """New customers on month-to-month contracts paying more: what a price change sends."""
    return {
        **payload,
        "tenure_months": min(int(payload["tenure_months"]), 3),
        "monthly_charges": float(payload["monthly_charges"]) + 40.0,
        "contract": "month-to-month",
    }


def _scores(graph: bytes, payloads: list[dict[str, Any]]) -> np.ndarray[Any, Any]:
    out = run_graph(graph, churn.features(payloads))["probabilities"][:, 1]
    return np.asarray(out, dtype=np.float64)


def _publish(kafka: Any, name: str, version: str, scores: np.ndarray[Any, Any]) -> None:
    producer = Producer({**kafka.producer_config()})
    now = datetime.now(UTC)
    for score in scores:
        submission = str(uuid.uuid4())
        result = {
            "submission_id": submission,
            "task": "churn",
            "model_name": name,
            "model_version": version,
            "produced_at": now.isoformat(),
            "probability": float(score),
            "label": bool(score >= 0.5),
        }
        submitted = (now - timedelta(milliseconds=40)).isoformat().encode()
        producer.produce(
            "results.churn",
            key=submission.encode(),
            value=orjson.dumps(result),
            headers=[("x-submitted-at", submitted)],
        )
    assert producer.flush(30) == 0


def skip_what_is_there(stack: Stack, prefix: str) -> None:
    """Start the churn monitor of group prefix ``prefix`` at the current end of its four input
    topics: what other tests of the session wrote there is skipped, not counted first (their
    models are not this test's, and at small batches that took most of a test's time)."""
    topics = ("results.churn", "enriched.churn", "feedback.churn", "deadletter")
    group = group_id("monitor", "churn", prefix)
    store_offsets_at_the_end(stack.kafka, stack.postgres.conninfo(), group, topics)


@pytest.fixture
def monitor(stack: Stack, tmp_path: Path) -> Iterator[int]:
    """The real `inferstream worker monitor --task churn` (own group, started at the end of
    its topics), evaluating every second; its metrics port, held (PortHold) until the monitor
    has exited: a port closed before the monitor binds it can go to another process first."""
    with PortHold() as hold:
        yield from _monitor(stack, tmp_path, hold.free())


def _monitor(stack: Stack, tmp_path: Path, port: int) -> Iterator[int]:
    prefix = f"monitor-test-{uuid.uuid4().hex[:8]}"
    skip_what_is_there(stack, prefix)
    env = {
        **stack.env,
        "INFERSTREAM_MONITOR_MIN_SAMPLES": str(MIN_SAMPLES),
        "INFERSTREAM_MONITOR_EVALUATE_EVERY_S": "1",
        "INFERSTREAM_WORKER_GROUP_PREFIX": prefix,
        "INFERSTREAM_WORKER_MODELS_DIR": str(tmp_path / "models"),
    }
    log = (tmp_path / "monitor.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "inferstream", "worker", "monitor", "--task", "churn",
         "--metrics-port", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        if os.environ.get("MONITOR_TEST_SHOW_LOG"):
            print((tmp_path / "monitor.log").read_text())


def events(consumer: Consumer) -> list[dict[str, Any]]:
    """The monitor events the consumer has now, in one read: monitor.churn holds every event of
    the session's monitors (one per model and evaluation, every second), and a check that read
    one per poll fell behind them."""
    return [
        orjson.loads(msg.value())
        for msg in consumer.consume(num_messages=1000, timeout=0.5)
        if not msg.error() and msg.value()
    ]


def _poll(check: Callable[[], Any], deadline_s: float, what: str) -> Any:
    deadline = time.monotonic() + deadline_s
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {deadline_s}s waiting for {what}")
        time.sleep(0.5)


def test_shifted_inputs_drift_and_the_canary_is_rolled_back(
    stack: Stack, tmp_path: Path, monitor: int
) -> None:
    name = f"churn-monitor-{uuid.uuid4().hex[:8]}"
    trained = [train_churn(tmp_path / "a", seed=4), train_churn(tmp_path / "b", seed=5)]
    (v1, dir1), (v2, dir2) = [write_named(tmp_path / "bundles", name, g, m) for g, m in trained]
    for directory in (dir1, dir2):
        registry.register(directory)
    registry.promote(name, v1, "production", reason="monitor test")
    registry.promote(name, v2, "canary", reason="monitor test", fraction=0.1)

    payloads, _ = churn_records(PRODUCTION_N + CANARY_N, 11)
    _publish(stack.kafka, name, v1, _scores(trained[0][0], payloads[:PRODUCTION_N]))
    shifted = [_shift(p) for p in payloads[PRODUCTION_N:]]
    _publish(stack.kafka, name, v2, _scores(trained[1][0], shifted))

    consumer = Consumer(stack.kafka.consumer_config(f"monitor-test-read-{uuid.uuid4().hex}"))
    consumer.subscribe(["monitor.churn"])
    seen: list[dict[str, Any]] = []

    def rollback_and_full_production() -> bool:
        seen.extend(events(consumer))
        mine = [e for e in seen if e["model_name"] == name]
        return any(e["rollback"] for e in mine) and any(
            e["model_version"] == v1 and e["samples"] == PRODUCTION_N for e in mine
        )

    try:
        _poll(rollback_and_full_production, 120, "a rollback event on monitor.churn")
    finally:
        consumer.close()
    (canary,) = [e for e in seen if e["model_name"] == name and e["rollback"]]
    production = [e for e in seen if e["model_name"] == name and e["model_version"] == v1][-1]
    assert canary["model_version"] == v2
    # the monitor evaluates every second while the canary's results arrive, so it may roll
    # back on any count from its minimum up: what must hold is that it never judged fewer
    assert MIN_SAMPLES <= canary["samples"] <= CANARY_N and canary["score_psi"] > 0.05
    assert canary["rollback"].startswith(f"drift: canary {name}/{v2} score PSI")
    assert canary["aliases"] == ["canary"]
    # production, on inputs like its training data: no drift (PSI noise of 2,000 results
    # against a 600-row reference in 10 bins is about 0.02)
    assert production["samples"] == PRODUCTION_N and production["score_psi"] < 0.05
    assert production["breaches"] == [] and production["aliases"] == ["production"]

    # the registry: the canary alias is gone, and its history says why and who
    assert "canary" not in registry.get_aliases(name)
    moves = registry.history(name, "canary")
    assert moves[0].action in ("rollback", "clear") and moves[0].actor == "inferstream-monitor"
    assert moves[0].reason == canary["rollback"]

    text = urllib.request.urlopen(f"http://127.0.0.1:{monitor}/metrics", timeout=10).read()
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text.decode())
        for sample in family.samples
    }
    mine = {"task": "churn", "model": name}
    psi = (("feature", ""), ("kind", "score"), *{**mine, "version": v2}.items())
    # the gauge follows every evaluation: the canary's later results (it may be rolled back
    # before all of them are counted) move it on after the rollback event, but not below drift
    assert samples[("inferstream_monitor_psi", tuple(sorted(psi)))] > 0.05
    breach = tuple(sorted({**mine, "breach": "drift"}.items()))
    assert samples[("inferstream_monitor_canary_rollbacks_total", breach)] == 1.0


def _publish_dead_letters(kafka: Any, name: str, version: str, n: int) -> None:
    """Dead letters as the infer stage writes them when a model version failed on a record."""
    producer = Producer({**kafka.producer_config()})
    for _ in range(n):
        producer.produce(
            "deadletter",
            key=str(uuid.uuid4()).encode(),
            value=b"{}",
            headers=[
                ("x-error-stage", b"infer"),
                ("x-error-kind", b"poison"),
                ("x-error-reason", b"poison record: churn model failed"),
                ("x-original-topic", b"enriched.churn"),
                ("x-error-model", name.encode()),
                ("x-error-model-version", version.encode()),
            ],
        )
    assert producer.flush(30) == 0


def test_a_failing_canary_is_rolled_back_on_its_error_rate(
    stack: Stack, tmp_path: Path, monitor: int
) -> None:
    name = f"churn-errors-{uuid.uuid4().hex[:8]}"
    trained = [train_churn(tmp_path / "a", seed=4), train_churn(tmp_path / "b", seed=5)]
    (v1, dir1), (v2, dir2) = [write_named(tmp_path / "bundles", name, g, m) for g, m in trained]
    for directory in (dir1, dir2):
        registry.register(directory)
    registry.promote(name, v1, "production", reason="monitor test")
    registry.promote(name, v2, "canary", reason="monitor test", fraction=0.1)
    payloads, _ = churn_records(300 + 180, 12)
    _publish(stack.kafka, name, v1, _scores(trained[0][0], payloads[:300]))
    # 180 results: under MIN_SAMPLES, so no PSI (no drift verdict); with the 40 records v2
    # failed on, 220: its error rate counts, and whatever share of the 40 the monitor has
    # counted when it first judges (from 200 records on), it is over 2 % (at least 20 of 200)
    _publish(stack.kafka, name, v2, _scores(trained[1][0], payloads[300:]))
    _publish_dead_letters(stack.kafka, name, v2, 40)

    consumer = Consumer(stack.kafka.consumer_config(f"monitor-test-read-{uuid.uuid4().hex}"))
    consumer.subscribe(["monitor.churn"])
    seen: list[dict[str, Any]] = []

    def rolled_back() -> bool:
        seen.extend(e for e in events(consumer) if e["model_name"] == name and e["rollback"])
        return bool(seen)

    try:
        _poll(rolled_back, 120, "a rollback on the canary's error rate")
    finally:
        consumer.close()
    (event,) = seen
    assert event["model_version"] == v2 and event["score_psi"] is None
    assert event["errors"] >= 20 and event["error_rate"] > 0.02
    assert event["rollback"].startswith(f"errors: canary {name}/{v2} error rate")
    assert "canary" not in registry.get_aliases(name)
    last = registry.history(name, "canary")[0]
    assert (last.actor, last.reason) == ("inferstream-monitor", event["rollback"])
