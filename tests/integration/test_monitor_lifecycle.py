"""The model lifecycle end to end on the real pipeline, in one sequence: v1 in production and
v2 registered; v2 runs as the shadow (its own consumer group, rows in model_results only) and
`models compare` reports it against v1; then v2 is made the canary at 10 % (seed 004, the
MLOps platform) and drift is injected (shifted customers published as submissions); the real
enrich and infer workers serve the canary's key-hash share with v2, and the real monitor sees
v2's scores drift from its training reference and rolls the canary back, with the reason in
the registry's alias history and on monitor.churn.

The churn model's aliases are removed before and after, so the session's other churn tests
serve their own local bundle (as tests/integration/test_models_reload.py does)."""

from __future__ import annotations

import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from _models import train_churn, write_named
from _stack import Stack
from confluent_kafka import Consumer, TopicPartition
from fastapi.testclient import TestClient
from test_monitor import _poll, _shift, events, skip_what_is_there

from inferstream.api import Role, create_app
from inferstream.api.keys import create_key
from inferstream.client import Publisher
from inferstream.models import registry
from inferstream.models.registry.compare import compare
from inferstream.models.registry.live import serve_alias
from inferstream.plugins import InferContext, load_plugin
from inferstream.settings import ApiSettings
from inferstream.storage import offsets
from inferstream.tasks.churn.inferer import BUNDLE_NAME, ChurnInferer
from inferstream.training.datasets import churn_records
from inferstream.workers.infer.shadow import ShadowWorker
from inferstream.workers.supervisor import Supervisor

N = 800
SHADOWED = 200


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
    prefix = f"lifecycle-{uuid.uuid4().hex[:8]}"
    skip_what_is_there(stack, prefix)
    env = {
        **stack.env,
        "INFERSTREAM_WORKER_MODELS_DIR": str(tmp_path / "models"),
        "INFERSTREAM_WORKER_GROUP_PREFIX": prefix,
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
    # The stages the lifecycle goes through; no archive (its Parquet files play no part here).
    stages = {"enrich": 1, "infer": 1, "sink": 1, "archive": 0}
    workers = Supervisor("churn", stages, log_dir=tmp_path / "logs")
    try:
        workers.start()
        workers.wait_ready(timeout_s=180)
        yield v1, v2
    finally:
        workers.stop()
        monitor.terminate()
        monitor.wait(timeout=30)
        _clear_aliases(stack)


def _shadow(stack: Stack, models_dir: Path, version: str) -> tuple[ShadowWorker, ChurnInferer]:
    """The shadow run of `inferstream models shadow --task churn`, in this process: the same
    worker class, without another interpreter's start-up. Its group starts at or before the
    topic's current end (the embedded broker's watermarks may lag: a few earlier records more),
    stored before anything is published, so none of this test's records is missed."""
    serve_alias("shadow")  # read once, by the inferer's constructor
    try:
        inferer = ChurnInferer(InferContext(models_dir, stack.postgres, 64, 64))
    finally:
        serve_alias("production")
    group = f"lifecycle-shadow-{uuid.uuid4().hex[:8]}"
    topic = "enriched.churn"
    probe = Consumer(stack.kafka.consumer_config(group))
    try:
        parts = probe.list_topics(topic, timeout=30).topics[topic].partitions
        ends = {
            (topic, p): probe.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1]
            for p in parts
        }
    finally:
        probe.close()
    with psycopg.connect(stack.postgres.conninfo()) as conn:
        offsets.store(conn, group, ends)
    worker = ShadowWorker(
        load_plugin("churn"), inferer, stack.kafka, stack.postgres.conninfo(), group,
        lambda: version, 64,
    )  # fmt: skip
    return worker, inferer


def _shadowed(stack: Stack, ids: list[str], version: str) -> tuple[int, int]:
    """(served rows, shadow rows of ``version``) of these submissions."""
    with psycopg.connect(stack.postgres.conninfo()) as conn:
        served = conn.execute(
            "SELECT count(*) FROM results_churn WHERE submission_id = ANY(%s)", (ids,)
        ).fetchone()
        shadow = conn.execute(
            "SELECT count(*) FROM model_results WHERE submission_id = ANY(%s) AND task = 'churn'"
            " AND kind = 'shadow' AND model_version = %s",
            (ids, version),
        ).fetchone()
    return int(served[0]) if served else 0, int(shadow[0]) if shadow else 0


def _run_shadow_and_compare(stack: Stack, models_dir: Path, v1: str, v2: str) -> None:
    registry.promote(BUNDLE_NAME, v2, "shadow", reason="lifecycle test")
    worker, inferer = _shadow(stack, models_dir, v2)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        payloads, _ = churn_records(SHADOWED, 22)
        with Publisher("churn", stack.kafka) as publisher:
            ids = [publisher.publish(p, wait=False) for p in payloads]
            publisher.flush()
        _poll(
            lambda: _shadowed(stack, ids, v2) == (SHADOWED, SHADOWED),
            180,
            "every submission served by production and scored by the shadow",
        )
    finally:
        worker.request_stop()
        thread.join(timeout=60)
        inferer.serving.live.stop()
    with psycopg.connect(stack.postgres.conninfo()) as conn:
        report = compare(conn, "churn", v2)
    # v2's only shadow rows are this run's (its seed is this test's own): at least ours
    assert report.shadow_version == v2 and report.paired >= SHADOWED
    assert v1 in report.served_versions
    # two churn models trained on different samples mostly agree, never exactly
    assert report.agreement is not None and 0.7 < report.agreement < 1.0
    assert report.mean_abs_delta is not None and report.mean_abs_delta > 0
    assert report.shadow_p50_ms is not None
    _api_reads_both_versions(stack, models_dir, ids[0], v1, v2)
    # the shadow's part is done: its alias leaves v2 (back to an earlier shadow, or none)
    assert registry.rollback(BUNDLE_NAME, "shadow", reason="compared; on to the canary") != v2


def _api_reads_both_versions(
    stack: Stack, models_dir: Path, submission_id: str, v1: str, v2: str
) -> None:
    """GET /v1/results/churn/{id}?version=: the served row, or the shadow's for the other."""
    with psycopg.connect(stack.postgres.conninfo(), autocommit=True) as conn:
        row = conn.execute(
            "SELECT result_id FROM results_churn WHERE submission_id = %s", (submission_id,)
        ).fetchone()
        key = create_key(
            conn, prefix=ApiSettings.load().api_key_prefix, name="lifecycle", role=Role.reader,
            ttl_days=1,
        ).key  # fmt: skip
    assert row is not None
    url, auth = f"/v1/results/churn/{str(row[0]).strip()}", {"Authorization": f"Bearer {key}"}
    app = create_app(ApiSettings.load(), stack.postgres, models_dir=models_dir)
    with TestClient(app) as client:
        served = client.get(url, headers=auth)
        shadow = client.get(url, params={"version": v2}, headers=auth)
        same = client.get(url, params={"version": v1}, headers=auth)
        missing = client.get(url, params={"version": "no-such-version"}, headers=auth)
    assert served.status_code == 200 and served.json()["model_version"] == v1
    assert shadow.status_code == 200, shadow.text
    body = shadow.json()
    assert (body["model_version"], body["kind"]) == (v2, "shadow")
    assert (
        body["submission_id"] == submission_id and body["result_id"] != served.json()["result_id"]
    )
    assert same.json() == served.json()
    assert missing.status_code == 404


def test_shadow_then_canary_at_10_percent_drifts_and_is_rolled_back(
    stack: Stack, pipeline: tuple[str, str], tmp_path: Path
) -> None:
    v1, v2 = pipeline
    _run_shadow_and_compare(stack, tmp_path / "shadow-models", v1, v2)
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
        for event in events(consumer):
            # this test's versions only (its seeds are its own): another run's may be there
            if event["model_name"] != BUNDLE_NAME or event["model_version"] not in (v1, v2):
                continue
            if event["rollback"]:
                seen.append(event)
            if event["model_version"] == v1:
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
