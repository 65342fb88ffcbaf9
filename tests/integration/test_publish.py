"""Publishing through the real CLI onto the real broker, and subscribing to results."""

from __future__ import annotations

import uuid
from pathlib import Path

import orjson
from _kafka import Record, read_topic
from _stack import Stack
from confluent_kafka import Message
from pydantic import ValidationError

from inferstream.client import Publisher, subscribe
from inferstream.readback import read_all
from inferstream.schemas import (
    BugReportResult,
    DecodeError,
    decode_envelope,
    decode_result,
    encode,
    make_headers,
    make_result_id,
    parse_traceparent,
)
from inferstream.settings import KafkaSettings

TOPIC = "submissions.bug_report"


def _report(n: int) -> dict[str, object]:
    return {
        "submission_id": str(uuid.uuid4()),
        "payload": {
            "title": f"Checkout button unresponsive after coupon #{n}",
            "description": f"Clicking pay does nothing after applying coupon code {n}.",
            "steps_to_reproduce": "1. add item\n2. apply coupon\n3. click pay",
            "product": "storefront",
            "component": "checkout",
        },
    }


def _write_jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_bytes(b"\n".join(orjson.dumps(row) for row in rows) + b"\n")
    return path


def _ids_seen(records: list[Record], wanted: set[str]) -> list[str]:
    return [key for r in records if r.key and (key := r.key.decode()) in wanted]


def test_thousand_records_arrive_once_each_with_keys_and_headers(
    stack: Stack, tmp_path: Path
) -> None:
    rows = [_report(n) for n in range(1000)]
    wanted = {str(row["submission_id"]) for row in rows}
    result = stack.cli("publish", "bug_report", str(_write_jsonl(tmp_path / "r.jsonl", rows)))
    assert result.returncode == 0, result.stderr
    assert "published 1000 records to submissions.bug_report" in result.stdout

    records = read_topic(
        stack.kafka, TOPIC, until=lambda got: len(set(_ids_seen(got, wanted))) == len(wanted)
    )
    ours = [r for r in records if r.key and r.key.decode() in wanted]
    assert sorted(_ids_seen(ours, wanted)) == sorted(wanted)  # each exactly once
    for record in ours:
        envelope = decode_envelope("bug_report", record.value)
        assert record.key == envelope.submission_id.encode()
        assert record.headers["content-type"] == b"application/json"
        assert record.headers["schema-version"] == str(envelope.schema_version).encode()
        assert parse_traceparent(record.headers["traceparent"].decode()) is not None
    # Same key, same partition: per-submission ordering holds.
    assert len({r.partition for r in ours}) > 1


def test_an_invalid_line_is_reported_and_nothing_is_sent(stack: Stack, tmp_path: Path) -> None:
    rows = [_report(n) for n in range(5)]
    bad = _report(99)
    bad["payload"] = {**bad["payload"], "title": ""}  # type: ignore[dict-item]
    path = tmp_path / "bad.jsonl"
    lines = [orjson.dumps(row).decode() for row in rows]
    lines.insert(3, orjson.dumps(bad).decode())
    path.write_text("\n".join(lines) + "\n")
    result = stack.cli("publish", "bug_report", str(path))
    assert result.returncode == 2
    assert f"{path}:4: payload.title:" in result.stderr
    assert "nothing was published" in result.stderr
    assert "Traceback" not in result.stderr

    # A sentinel published afterwards proves the topic was read past where they would be.
    sentinel = Publisher("bug_report", stack.kafka).publish(_report(0)["payload"])  # type: ignore[arg-type]
    file_ids = {str(row["submission_id"]) for row in [*rows, bad]}
    records = read_topic(
        stack.kafka, TOPIC, until=lambda got: any(r.key == sentinel.encode() for r in got)
    )
    assert _ids_seen(records, file_ids) == []


def test_skip_invalid_publishes_the_valid_ones_from_stdin(stack: Stack) -> None:
    rows = [_report(n) for n in range(3)]
    text = "\n".join(
        [orjson.dumps(rows[0]).decode(), "{not json", *(orjson.dumps(r).decode() for r in rows[1:])]
    )
    result = stack.cli("publish", "bug_report", "-", "--skip-invalid", input_text=text)
    assert result.returncode == 0, result.stderr
    assert "<stdin>:2: (line): not valid JSON" in result.stderr
    assert "published 3 records" in result.stdout
    wanted = {str(r["submission_id"]) for r in rows}
    read_topic(stack.kafka, TOPIC, until=lambda got: set(_ids_seen(got, wanted)) == wanted)


def test_csv_input(stack: Stack, tmp_path: Path) -> None:
    sid = str(uuid.uuid4())
    path = tmp_path / "r.csv"
    path.write_text(
        "submission_id,title,description,product,component\n"
        f'{sid},Export fails,"Exporting a PNG, any size, crashes the editor",photo-editor,export\n'
    )
    result = stack.cli("publish", "bug_report", str(path))
    assert result.returncode == 0, result.stderr
    records = read_topic(stack.kafka, TOPIC, until=lambda got: bool(_ids_seen(got, {sid})))
    envelope = decode_envelope(
        "bug_report", next(r.value for r in records if r.key == sid.encode())
    )
    assert envelope.payload.description == "Exporting a PNG, any size, crashes the editor"


def test_the_sample_dataset_reports_its_invalid_lines(stack: Stack) -> None:
    dataset = Path(__file__).parents[2] / "examples" / "bug_reports.jsonl"
    labels = orjson.loads(dataset.with_name("bug_reports.labels.json").read_bytes())
    result = stack.cli("publish", "bug_report", str(dataset))
    assert result.returncode == 2
    reported = {
        int(line.split(":")[1])
        for line in result.stderr.splitlines()
        if line.startswith(str(dataset) + ":")
    }
    assert reported == {item["line"] for item in labels["invalid_lines"]}


def _decodes(msg: Message) -> bool:
    """What the subscriber yields (it skips an undecodable result)."""
    try:
        decode_result("bug_report", msg.value() or b"")
    except (DecodeError, ValidationError):
        return False
    return True


def test_subscribe_yields_typed_results(stack: Stack) -> None:
    from confluent_kafka import Producer

    sid = str(uuid.uuid4())
    result = BugReportResult.model_validate(
        {
            "result_id": make_result_id(sid, "all-MiniLM-L6-v2", "1"),
            "submission_id": sid,
            "task": "bug_report",
            "schema_version": 1,
            "model_name": "all-MiniLM-L6-v2",
            "model_version": "1",
            "produced_at": "2026-11-25T12:00:00Z",
            "quality_score": 0.9,
            "quality_flags": [],
            "low_quality": False,
            "duplicate_status": "unique",
            "duplicate_of": None,
            "similar": [],
            "content_sha256": "a" * 64,
            "embedding": None,
        }
    )
    producer = Producer(stack.kafka.producer_config())
    producer.produce(
        "results.bug_report", encode(result), sid.encode(), headers=list(make_headers(1))
    )  # type: ignore[arg-type]
    assert producer.flush(30) == 0
    # Every valid result the topic holds now (other tests' too): the subscribers stop after
    # that many instead of waiting out an idle timeout, and still read the whole topic, so a
    # second copy of ours would show. The idle timeout stays as a bound, not reached.
    total = sum(map(_decodes, read_all(stack.kafka, "results.bug_report", deadline_s=120)))
    received = [
        r
        for r in subscribe(
            "bug_report",
            KafkaSettings.load(),
            from_beginning=True,
            idle_timeout_s=60,
            max_messages=total,
        )
        if r.submission_id == sid
    ]
    assert received == [result]
    assert isinstance(received[0], BugReportResult)
    cli = stack.cli(
        "subscribe", "bug_report", "--from-beginning", "--max", str(total), "--idle-timeout", "60"
    )
    assert cli.returncode == 0, cli.stderr
    assert len(cli.stdout.splitlines()) == total
    assert sid in cli.stdout
    assert orjson.loads(cli.stdout.splitlines()[0])["task"] == "bug_report"
