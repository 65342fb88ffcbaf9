"""The chaos run's publisher on the real broker: a producer replaced mid-stream (as after a
refusal) still gets every submission acknowledged, each on the topic under its own key."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

import orjson
from _stack import Stack

from inferstream.chaos.publish import ResilientPublisher
from inferstream.chaos.workload import example_payloads
from inferstream.readback import read_all

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "bug_reports.jsonl"


def test_replaced_producer_still_gets_every_submission_acknowledged(stack: Stack) -> None:
    source = f"chaos-publish-{uuid.uuid4().hex[:8]}"
    publisher = ResilientPublisher("bug_report", source, stack.kafka)
    ids = [str(uuid.uuid4()) for _ in range(12)]
    for i, (sid, payload) in enumerate(zip(ids, example_payloads(EXAMPLES, 12), strict=True)):
        publisher.publish(payload, sid)
        if i == 5:
            publisher._replace()  # what a refusal triggers: the rest go through a new producer
    assert publisher.finish(threading.Event(), timeout_s=120) == len(ids)
    assert publisher.replaced >= 1
    on_topic = {
        msg.key().decode()
        for msg in read_all(stack.kafka, "submissions.bug_report", 120)
        if _source(msg.value()) == source
    }
    assert on_topic == set(ids)


def _source(value: bytes | None) -> object:
    """A submission's ``source``; None for what other tests of the session published to the
    shared topic on purpose (malformed JSON, a JSON value that is not an object)."""
    try:
        document = orjson.loads(value or b"")
    except orjson.JSONDecodeError:
        return None
    return document.get("source") if isinstance(document, dict) else None
