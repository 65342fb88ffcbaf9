"""`inferstream worker webhooks` against real loopback receivers: one fails the first two
attempts of every result and then accepts it, one always fails. Every result reaches the first
with a valid signature; each is dead-lettered naming the second (redacted: the token in its URL
appears in no reason and no log); offsets are committed only after that, in a fresh stack of its
own."""

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
from _kafka import read_topic
from _stack import start_stack
from confluent_kafka import Consumer, Producer, TopicPartition

from inferstream.schemas import BugReportResult, encode, make_headers, make_result_id
from inferstream.settings import DATA_DIR_ENV, KafkaSettings
from inferstream.settings.webhooks import redact_url
from inferstream.stack import down
from inferstream.workers.supervisor import Supervisor
from inferstream.workers.webhooks.signing import verify

SECRET = "webhook-test-secret-0123456789abcdef"  # >= 32 characters, as required
TOKEN = "tok_5e1d0c9a7b"  # a token in the receivers' URLs: never in a reason or a log


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
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, receivers: tuple[Receiver, Receiver]
) -> None:
    flaky, broken = receivers
    data_dir = tmp_path / "stack"
    monkeypatch.setenv(DATA_DIR_ENV, str(data_dir))
    monkeypatch.setenv("INFERSTREAM_WEBHOOK_URLS", f"{flaky.url},{broken.url}")
    monkeypatch.setenv("INFERSTREAM_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("INFERSTREAM_WEBHOOK_ALLOW_LOOPBACK_HTTP", "true")  # loopback receivers
    monkeypatch.setenv("INFERSTREAM_WEBHOOK_MAX_ATTEMPTS", "3")
    monkeypatch.setenv("INFERSTREAM_WEBHOOK_BACKOFF_INITIAL_S", "0.05")
    monkeypatch.setenv("INFERSTREAM_WEBHOOK_BACKOFF_MAX_S", "0.2")
    try:
        start_stack(data_dir)
        kafka = KafkaSettings.load()
        results = [_result(str(uuid.uuid4())) for _ in range(3)]
        producer = Producer(kafka.producer_config())
        for result in results:
            headers: list[tuple[str, str | bytes]] = list(make_headers(1))
            producer.produce(
                "results.bug_report", encode(result), result.submission_id.encode(), headers=headers
            )
        assert producer.flush(30) == 0

        workers = Supervisor("bug_report", 1, log_dir=tmp_path / "logs")
        workers.start_one("webhooks", 0, 0)
        try:
            dead = read_topic(
                kafka,
                "deadletter",
                until=lambda got: len({r.key for r in got}) >= len(results),
                deadline_s=120,
            )
            _wait_committed(kafka, expected=len(results))
        finally:
            assert set(workers.stop().values()) == {0}

        ids = {r.result_id for r in results}
        assert {rid for rid, _ in flaky.delivered} == ids
        assert all(valid for _, valid in flaky.delivered)
        assert all(flaky.attempts[rid] == 3 for rid in ids)  # two failures, then delivered
        assert all(broken.attempts[rid] == 3 for rid in ids)  # max_attempts, then given up
        for record in dead:
            assert record.headers["x-error-stage"] == b"webhooks"
            reason = record.headers["x-error-reason"].decode()
            assert f"{redact_url(broken.url)} after 3 attempts" in reason
            assert redact_url(flaky.url) not in reason
            assert TOKEN not in reason
        logs = "".join(
            path.read_text() for path in (tmp_path / "logs").rglob("*") if path.is_file()
        )
        assert "webhook attempt failed" in logs and TOKEN not in logs
    finally:
        down(data_dir)


def _wait_committed(kafka: KafkaSettings, expected: int, deadline_s: float = 60.0) -> None:
    """The group's committed offsets cover every result (delivered or dead-lettered)."""
    consumer = Consumer(kafka.consumer_config("inferstream.webhooks.bug_report"))
    try:
        partitions = [TopicPartition("results.bug_report", p) for p in range(4)]
        deadline = time.monotonic() + deadline_s
        while True:
            committed = consumer.committed(partitions, timeout=10)
            total = sum(max(tp.offset, 0) for tp in committed)
            if total >= expected:
                return
            assert time.monotonic() < deadline, f"committed {total} of {expected}"
            time.sleep(0.5)
    finally:
        consumer.close()
