"""`inferstream worker webhooks` against real loopback receivers: one fails the first two
attempts of every result and then accepts it, one always fails. Every result reaches the first
with a valid signature; each is dead-lettered naming the second (redacted: the token in its URL
appears in no reason and no log); offsets are committed only after that. On the session's stack:
the worker's group (a prefix of the test's own) starts at the end of results.bug_report, past
other tests' results."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import orjson
import pytest
from _kafka import commit_at_the_end, read_topic
from _stack import Stack
from confluent_kafka import Consumer, Message, Producer, TopicPartition

from inferstream.schemas import BugReportResult, encode, make_headers, make_result_id
from inferstream.settings import KafkaSettings
from inferstream.settings.webhooks import redact_url
from inferstream.topology import group_id
from inferstream.workers.supervisor import Supervisor
from inferstream.workers.webhooks.signing import verify

SECRET = "webhook-test-secret-0123456789abcdef"  # >= 32 characters, as required
TOKEN = "tok_5e1d0c9a7b"  # a token in the receivers' URLs: never in a reason or a log
TOPIC = "results.bug_report"


class Receiver:
    def __init__(self, fail_first: int | None) -> None:
        self.fail_first = fail_first  # None: always fail
        self.attempts: Counter[str] = Counter()
        self.delivered: list[tuple[str, bool]] = []  # result_id, signature valid
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                result_id = orjson.loads(body)["result_id"]
                with receiver.lock:
                    receiver.attempts[result_id] += 1
                    n = receiver.attempts[result_id]
                    ok = receiver.fail_first is not None and n > receiver.fail_first
                    if ok:
                        valid = verify(
                            SECRET.encode(),
                            int(self.headers["X-Inferstream-Timestamp"]),
                            body,
                            self.headers["X-Inferstream-Signature"],
                            now=int(time.time()),
                        )
                        receiver.delivered.append((result_id, valid))
                self.send_response(200 if ok else 503)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook?token={TOKEN}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receivers() -> Iterator[tuple[Receiver, Receiver]]:
    flaky, broken = Receiver(fail_first=2), Receiver(fail_first=None)
    yield flaky, broken
    flaky.server.shutdown()
    broken.server.shutdown()


def _result(sid: str) -> BugReportResult:
    return BugReportResult(
        result_id=make_result_id(sid, "all-MiniLM-L6-v2", "test"),
        submission_id=sid,
        schema_version=1,
        model_name="all-MiniLM-L6-v2",
        model_version="test",
        produced_at="2026-11-25T12:00:00Z",  # type: ignore[arg-type]
        quality_score=1.0,
        low_quality=False,
        duplicate_status="unique",
        content_sha256="b" * 64,
    )


def test_webhooks_retry_deliver_sign_and_dead_letter(
    stack: Stack,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    receivers: tuple[Receiver, Receiver],
) -> None:
    flaky, broken = receivers
    prefix = f"webhooks-test-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("INFERSTREAM_WORKER_GROUP_PREFIX", prefix)
    monkeypatch.setenv("INFERSTREAM_WEBHOOK_URLS", f"{flaky.url},{broken.url}")
    monkeypatch.setenv("INFERSTREAM_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("INFERSTREAM_WEBHOOK_ALLOW_LOOPBACK_HTTP", "true")  # loopback receivers
    monkeypatch.setenv("INFERSTREAM_WEBHOOK_MAX_ATTEMPTS", "3")
    monkeypatch.setenv("INFERSTREAM_WEBHOOK_BACKOFF_INITIAL_S", "0.05")
    monkeypatch.setenv("INFERSTREAM_WEBHOOK_BACKOFF_MAX_S", "0.2")
    kafka = stack.kafka
    group = group_id("webhooks", "bug_report", prefix)
    # Its results are other tests': the worker delivers only what this test produces after.
    commit_at_the_end(kafka, group, TOPIC)
    results = [_result(str(uuid.uuid4())) for _ in range(3)]
    written = _produce(kafka, results)

    workers = Supervisor("bug_report", 1, log_dir=tmp_path / "logs")
    workers.start_one("webhooks", 0, 0)
    keys = {r.submission_id.encode() for r in results}
    try:
        dead = read_topic(
            kafka,
            "deadletter",
            until=lambda got: keys <= {r.key for r in got},
            deadline_s=120,
        )
        _wait_committed(kafka, group, written)
    finally:
        assert set(workers.stop().values()) == {0}

    ids = {r.result_id for r in results}
    # Only this test's results count: the group starts at the end of a topic others write to.
    assert {rid for rid, _ in flaky.delivered if rid in ids} == ids
    assert all(valid for rid, valid in flaky.delivered if rid in ids)
    assert all(flaky.attempts[rid] == 3 for rid in ids)  # two failures, then delivered
    assert all(broken.attempts[rid] == 3 for rid in ids)  # max_attempts, then given up
    ours = [record for record in dead if record.key in keys]
    assert {record.key for record in ours} == keys
    for record in ours:
        assert record.headers["x-error-stage"] == b"webhooks"
        reason = record.headers["x-error-reason"].decode()
        assert f"{redact_url(broken.url)} after 3 attempts" in reason
        assert redact_url(flaky.url) not in reason
        assert TOKEN not in reason
    logs = "".join(path.read_text() for path in (tmp_path / "logs").rglob("*") if path.is_file())
    assert "webhook attempt failed" in logs and TOKEN not in logs


def _produce(kafka: KafkaSettings, results: list[BugReportResult]) -> dict[int, int]:
    """Write the results as infer does; the highest offset written to each partition."""
    written: dict[int, int] = {}

    def delivered(err: object, msg: Message) -> None:
        assert err is None, err
        part = msg.partition() or 0
        written[part] = max(written.get(part, -1), msg.offset() or 0)

    producer = Producer(kafka.producer_config())
    for result in results:
        headers: list[tuple[str, str | bytes]] = list(make_headers(1))
        producer.produce(
            TOPIC,
            encode(result),
            result.submission_id.encode(),
            headers=headers,
            on_delivery=delivered,
        )
    assert producer.flush(30) == 0
    return written


def _wait_committed(
    kafka: KafkaSettings, group: str, written: dict[int, int], deadline_s: float = 60.0
) -> None:
    """The group's committed offsets are past every result of this test (each delivered or
    dead-lettered first)."""
    consumer = Consumer(kafka.consumer_config(group))
    try:
        partitions = [TopicPartition(TOPIC, p) for p in sorted(written)]
        deadline = time.monotonic() + deadline_s
        while True:
            committed = {
                tp.partition: tp.offset for tp in consumer.committed(partitions, timeout=10)
            }
            behind = {
                p: (committed[p], last) for p, last in written.items() if committed[p] <= last
            }
            if not behind:
                return
            assert time.monotonic() < deadline, f"committed offsets not past ours: {behind}"
            time.sleep(0.5)
    finally:
        consumer.close()
