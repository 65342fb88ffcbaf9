"""The whole pipeline on real servers: enrich -> infer (2 workers) -> sink, with a SIGKILL of the
sink mid-run. Exactly one Postgres row per valid submission, every result on the topic, every
invalid record in the dead-letter table with its reason."""

from __future__ import annotations

import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psycopg
import pytest
from _kafka import read_topic
from _stack import Stack
from confluent_kafka import Producer
from pgvector.psycopg import register_vector

from inferstream.chaos.workload import example_payloads
from inferstream.client import Publisher
from inferstream.models import TextEmbedder, ensure_minilm_bundle
from inferstream.schemas import BugReportPayload, decode_result, make_headers
from inferstream.tasks.bug_report.quality import canonical_text
from inferstream.workers.supervisor import Supervisor

EXAMPLES = Path(__file__).parents[2] / "examples" / "bug_reports.jsonl"
# Enough for many batches per stage and a kill with rows in and half the records still to come
# (the property holds at any N above a few batches; 800 only cost CI time).
N = 400


def _payloads(n: int) -> list[dict[str, object]]:
    return example_payloads(EXAMPLES, n)


def _rows(stack: Stack, ids: list[str]) -> int:
    with psycopg.connect(stack.postgres.conninfo()) as conn:
        row = conn.execute(
            "SELECT count(*) FROM results_bug_report WHERE submission_id = ANY(%s)", (ids,)
        ).fetchone()
    return int(row[0]) if row else 0


def _wait(check: object, deadline_s: float, what: str, workers: Supervisor | None = None) -> None:
    """Poll check() until it holds; fail at the deadline or as soon as a worker has died."""
    deadline = time.monotonic() + deadline_s
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {deadline_s}s waiting for {what}")
        if workers is not None and workers.failed():
            raise AssertionError(f"a worker died waiting for {what}: {workers.failed()}")
        time.sleep(0.5)


@pytest.fixture
def workers(stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Supervisor]:
    monkeypatch.setenv("INFERSTREAM_WORKER_BATCH_MAX_WAIT_MS", "20")
    monkeypatch.setenv("INFERSTREAM_WORKER_MODELS_DIR", str(stack.data_dir / "models"))
    supervisor = Supervisor("bug_report", {"enrich": 1, "infer": 2, "sink": 1}, log_dir=tmp_path)
    supervisor.start()
    try:
        yield supervisor
    finally:
        codes = supervisor.stop()
        logs = {p.name: p.read_text()[-3000:] for p in tmp_path.glob("*.log")}
        assert all(code == 0 for code in codes.values()), (codes, logs)


def test_exactly_once_through_all_stages_with_a_sink_crash(
    stack: Stack, workers: Supervisor, tmp_path: Path
) -> None:
    payloads = _payloads(N)
    ids = [str(uuid.uuid4()) for _ in payloads]
    half = N // 2

    def publish(start: int, stop: int) -> None:
        with Publisher("bug_report", stack.kafka) as publisher:
            for sid, payload in zip(ids[start:stop], payloads[start:stop], strict=True):
                publisher.publish(payload, submission_id=sid, wait=False)

    # Half first: the sink is SIGKILLed mid-stream, with rows in and the other half still to
    # come (the whole lot at once could all be sunk in one batch before the kill).
    publish(0, half)
    invalid = _publish_invalid(stack)
    _wait(lambda: _rows(stack, ids) >= N // 4, 300, "a quarter of the rows", workers)
    workers.kill("sink-0")
    at_kill = _rows(stack, ids)
    assert 0 < at_kill < N, f"{at_kill} rows at the kill: the sink was not killed mid-stream"
    publish(half, N)
    workers.start_one("sink", 0, 99)

    _wait(lambda: _rows(stack, ids) >= N, 420, f"{N} rows", workers)
    with psycopg.connect(stack.postgres.conninfo()) as conn:
        rows = conn.execute(
            "SELECT count(*), count(DISTINCT submission_id), count(DISTINCT result_id) "
            "FROM results_bug_report WHERE submission_id = ANY(%s)",
            (ids,),
        ).fetchone()
        statuses = conn.execute(
            "SELECT status, count(*) FROM submissions WHERE submission_id = ANY(%s) GROUP BY 1",
            (ids,),
        ).fetchall()
    assert rows == (N, N, N)
    assert statuses == [("done", N)]

    # The public result topic: at least one message per submission, one result_id each.
    wanted = set(ids)
    records = read_topic(
        stack.kafka,
        "results.bug_report",
        until=lambda got: wanted <= {r.key.decode() for r in got if r.key},
        deadline_s=120,
    )
    ours = [
        decode_result("bug_report", r.value) for r in records if r.key and r.key.decode() in wanted
    ]
    assert len(ours) >= N
    by_submission: dict[str, set[str]] = {}
    for result in ours:
        by_submission.setdefault(result.submission_id, set()).add(result.result_id)
    assert len(by_submission) == N
    assert all(len(v) == 1 for v in by_submission.values())

    # Every invalid record is in the dead-letter table with a reason naming the problem.
    def dead_letters() -> dict[str, str]:
        with psycopg.connect(stack.postgres.conninfo()) as conn:
            found = conn.execute(
                "SELECT submission_id, reason FROM dead_letters WHERE submission_id = ANY(%s)",
                (list(invalid),),
            ).fetchall()
        return dict(found)

    _wait(lambda: len(dead_letters()) == len(invalid), 120, "dead letters")
    for sid, reason in dead_letters().items():
        assert invalid[sid] in reason, (sid, reason)

    # Both infer workers took part (2 members, one of the 2 embedded partitions each).
    for name in ("infer-0", "infer-1"):
        log = (tmp_path / f"bug_report-{name}.log").read_text()
        assert '"assigned"' in log, f"{name} never got partitions"

    _check_results_match_a_single_embedder(stack, ids[:40], payloads[:40])


def _publish_invalid(stack: Stack) -> dict[str, str]:
    """Raw records the CLI would refuse: reason fragments expected in the dead-letter table."""
    producer = Producer(stack.kafka.producer_config())
    cases = {
        str(uuid.uuid4()): (b"{not json", "malformed JSON"),
        str(uuid.uuid4()): (b'{"submission_id": "x"}', "schema violation"),
        str(uuid.uuid4()): (b"[1, 2, 3]", "schema violation"),
    }
    for sid, (value, _) in cases.items():
        producer.produce(
            "submissions.bug_report",
            value,
            sid.encode(),
            headers=list(make_headers(1)),  # type: ignore[arg-type]
        )
    assert producer.flush(30) == 0
    return {sid: fragment for sid, (_, fragment) in cases.items()}


def _check_results_match_a_single_embedder(
    stack: Stack, ids: list[str], payloads: list[dict[str, object]]
) -> None:
    """What two infer workers produced equals what one embedder computes for the same texts."""
    embedder = TextEmbedder(ensure_minilm_bundle(stack.data_dir / "models"))
    texts = [canonical_text(BugReportPayload.model_validate(p)) for p in payloads]
    expected = embedder.embed(texts)
    with psycopg.connect(stack.postgres.conninfo()) as conn:
        register_vector(conn)
        stored = dict(
            conn.execute(
                "SELECT submission_id, embedding FROM results_bug_report "
                "WHERE submission_id = ANY(%s)",
                (ids,),
            ).fetchall()
        )
    got = np.asarray([np.asarray(stored[sid].to_list()) for sid in ids], dtype=np.float32)
    cosine = np.sum(got * expected, axis=1)
    assert float(cosine.min()) >= 0.9999


def test_a_restarted_infer_worker_rebuilds_its_index_and_serves_metrics(
    stack: Stack, workers: Supervisor
) -> None:
    """New worker processes (this test's) must know reports stored by earlier ones, from
    Postgres and the result topic, and flag a re-filed report as its duplicate."""
    workers.wait_ready(timeout_s=300)
    with psycopg.connect(stack.postgres.conninfo()) as conn:
        (before,) = conn.execute("SELECT clock_timestamp()").fetchone()  # type: ignore[misc]
    payload = _payloads(1)[0]  # the previous test's first payload: stored by earlier workers
    refiled = str(uuid.uuid4())
    Publisher("bug_report", stack.kafka).publish(payload, submission_id=refiled)
    _wait(lambda: _rows(stack, [refiled]) == 1, 180, "the re-filed report", workers)
    with psycopg.connect(stack.postgres.conninfo()) as conn:
        status, duplicate_of, sha = conn.execute(
            "SELECT duplicate_status, duplicate_of, content_sha256 FROM results_bug_report "
            "WHERE submission_id = %s",
            (refiled,),
        ).fetchone()  # type: ignore[misc]
        original = conn.execute(
            "SELECT content_sha256, created_at FROM results_bug_report WHERE submission_id = %s",
            (duplicate_of,),
        ).fetchone()
    assert status == "duplicate"
    assert duplicate_of != refiled
    # The report it names is the same text, stored before these worker processes started:
    # their index was rebuilt from what earlier workers stored, not from their own output.
    assert original is not None, f"duplicate_of {duplicate_of} names no stored report"
    original_sha, original_created = original
    assert original_sha == sha
    assert original_created < before

    for name in ("infer-0", "sink-0"):
        port = workers.ports[name]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            text = response.read().decode()
        assert "inferstream_batch_size_bucket" in text
        assert "inferstream_batch_duration_seconds_bucket" in text
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as response:
            assert response.status == 200
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=5) as response:
            assert response.read() == b"ready"
    sink_metrics = _metrics(workers.ports["sink-0"])
    assert "inferstream_e2e_latency_seconds_bucket" in sink_metrics
    assert (
        'inferstream_e2e_latency_seconds_count{stage="sink",task="bug_report"} 0.0'
        not in sink_metrics
    )
    assert "duplicate_detections_total" in _metrics(workers.ports["infer-0"]) + _metrics(
        workers.ports["infer-1"]
    )


def _metrics(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return str(response.read().decode())
