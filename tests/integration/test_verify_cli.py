"""`inferstream verify` against real servers: passes on a clean run, then names each planted
violation (a deleted row, an orphan row, a missing dead letter) in a fresh stack of its own (its
checks cover every row and dead letter of the stack, so not the session's shared one).

The clean run is checked with verify's own functions in this process (the collection and checks
the command runs, without a second interpreter start); the planted violations through the real
command: its exit status and what it prints."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import psycopg
import pytest
from _minilm import minilm_models_dir
from _stack import Stack, start_stack
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from inferstream.client import Publisher
from inferstream.readback import read_all
from inferstream.schemas import make_headers
from inferstream.settings import DATA_DIR_ENV, KafkaSettings, PostgresSettings, WorkerSettings
from inferstream.stack import down
from inferstream.verify import check
from inferstream.verify.collect import collect, stage_lag
from inferstream.workers.supervisor import Supervisor

REPORT = {
    "title": "Export to PDF drops the last page",
    "description": "Exporting a 12 page invoice to PDF produces only 11 pages.",
    "steps_to_reproduce": "1. open invoice 2. export as PDF 3. count pages",
    "product": "billing",
}


def _rows(conninfo: str) -> int:
    with psycopg.connect(conninfo) as conn:
        row = conn.execute("SELECT count(*) FROM results_bug_report").fetchone()
    return int(row[0]) if row else 0


def _dead(conninfo: str) -> int:
    with psycopg.connect(conninfo) as conn:
        row = conn.execute("SELECT count(*) FROM dead_letters").fetchone()
    return int(row[0]) if row else 0


def test_verify_passes_then_names_each_planted_violation(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "stack"
    monkeypatch.setenv(DATA_DIR_ENV, str(data_dir))
    monkeypatch.setenv("INFERSTREAM_WORKER_BATCH_MAX_WAIT_MS", "20")
    # The model bundle built once for the session, not again in this fresh stack's models dir.
    monkeypatch.setenv("INFERSTREAM_WORKER_MODELS_DIR", str(minilm_models_dir(tmp_path_factory)))
    try:
        stack = start_stack(data_dir)
        kafka, conninfo = KafkaSettings.load(), PostgresSettings.load().conninfo()
        ids = [str(uuid.uuid4()) for _ in range(5)]
        with Publisher("bug_report", kafka) as publisher:
            for n, sid in enumerate(ids):
                publisher.publish(
                    {**REPORT, "title": f"{REPORT['title']} ({n})"}, submission_id=sid
                )
        producer = Producer(kafka.producer_config())
        headers: list[tuple[str, str | bytes]] = list(make_headers(1))
        producer.produce("submissions.bug_report", b"{oops", b"bad-record", headers=headers)
        assert producer.flush(30) == 0

        workers = Supervisor("bug_report", 1, log_dir=tmp_path / "logs")
        workers.start()
        try:
            deadline = time.monotonic() + 240
            while _rows(conninfo) < 5 or _dead(conninfo) < 1:
                assert time.monotonic() < deadline, "pipeline did not finish"
                assert not workers.failed(), workers.failed()
                time.sleep(0.5)
            facts = collect("bug_report", WorkerSettings.load().group_prefix)
            clean = check(facts)
            assert clean.ok, {name: items for name, items in clean.violations.items() if items}
            lag = stage_lag("bug_report", facts, WorkerSettings.load().group_prefix)
            assert lag == {"enrich": 0, "infer": 0, "sink": 0}, lag
            assert clean.counts["published (valid)"] == 5, clean.counts
            assert clean.counts["published (invalid)"] == 1, clean.counts
            assert clean.counts["rows"] == 5, clean.counts
        finally:
            assert set(workers.stop().values()) == {0}

        with psycopg.connect(conninfo) as conn:
            conn.execute("DELETE FROM results_bug_report WHERE submission_id = %s", (ids[0],))
            conn.execute(
                "INSERT INTO results_bug_report SELECT repeat('e', 64), 'orphan-1', model_name, "
                "model_version, tokenizer_version, quality_score, quality_flags, low_quality, "
                "duplicate_status, duplicate_of, similar_items, content_sha256, embedding, "
                "produced_at, submitted_at, created_at FROM results_bug_report LIMIT 1"
            )
            conn.execute("DELETE FROM dead_letters")
        broken = stack.cli("verify")
        assert broken.returncode == 1
        out = broken.stdout
        assert f"lost (valid submission without a row): {ids[0]}" in out
        assert "orphan (row without a submission): orphan-1" in out
        assert "invalid submission not dead-lettered: submissions.bug_report:" in out
        # Nothing is in flight: the violations are not put down to lag.
        assert "not yet committed by enrich (lag)" in out
        assert "the stages are still behind" not in out
    finally:
        down(data_dir)


def test_read_all_reads_every_record_of_multi_record_batches(stack: Stack) -> None:
    """Tansu lists a wrong end for partitions written in multi-record batches
    (docs/architecture.md): verify must still read every record, an empty partition included."""
    kafka = stack.kafka
    topic = f"verify-read-all-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": kafka.bootstrap_servers})
    admin.create_topics([NewTopic(topic, 5, 1)])[topic].result(30)
    producer = Producer({**kafka.producer_config(), "linger.ms": 50})
    n = 5003
    for i in range(n):
        producer.produce(topic, b"x" * 100, str(i).encode(), partition=i % 4)  # 4 stays empty
        producer.poll(0)
    assert producer.flush(30) == 0
    read = [(m.partition(), m.offset(), m.key()) for m in read_all(kafka, topic, deadline_s=60)]
    assert len(read) == n
    assert {key for _, _, key in read} == {str(i).encode() for i in range(n)}
    assert {p for p, _, _ in read} == {0, 1, 2, 3}
