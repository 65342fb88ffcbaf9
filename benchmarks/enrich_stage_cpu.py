"""Process CPU per record of the enrich stage's logic and the runtime's steps around it, offline.

    python benchmarks/enrich_stage_cpu.py [--records 5000] [--batch 256] [--repeat 5]
        [--profile out.prof] [--outcomes out.jsonl]

Builds ``--records`` bug_report submissions as ``bench overhead`` publishes them (the workload's
reports, fixed submission ids, the publisher's headers), then times, per pass and in batches of
``--batch``, what an enrich worker's run thread does with them minus Kafka: ``EnrichLogic.process``
and the runtime's outputs of the outcomes (``BatchCycle._outputs``'s emitted messages). The
offset tracker's ``polled``/``done`` are timed apart. Prints the process CPU per record (us) of
each pass, their median and minimum: CPU, not wall time, so trees compared on a loaded machine stay
comparable; alternate trees through ``PYTHONPATH``.

``--outcomes`` writes every outcome of the last pass (topic, key, value with ``enriched_at``
masked, headers with the traceparent's random parts masked; a rejection's reason) as JSON
lines, so two trees' outputs can be compared byte for byte; the workload is followed by
malformed records (bad JSON, wrong content type, schema violations, key mismatch, NUL, empty
text, odd headers) so rejections and forwarded headers are compared too.
"""

from __future__ import annotations

import argparse
import cProfile
import re
import statistics
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import orjson

from inferstream.bench import workload
from inferstream.plugins import load_plugin
from inferstream.schemas import make_headers
from inferstream.workers.enrich.driver import EnrichLogic
from inferstream.workers.runtime.process import settle_heap
from inferstream.workers.runtime.records import Emit, InRecord, Outcome, OutMessage, Reject
from inferstream.workers.runtime.watermark import OffsetTracker

TASK = "bug_report"
TOPIC = f"submissions.{TASK}"


def submission_id(i: int) -> str:
    return str(uuid.UUID(int=(i + 1) * 0x9E3779B97F4A7C15 % (1 << 122), version=4))


def traceparent(i: int) -> str:
    """A fixed valid traceparent per record (two trees forward the same trace ids)."""
    return f"00-{i + 1:032x}-{i + 1:016x}-01"


def submissions(n: int) -> list[InRecord]:
    produced_at = datetime(2026, 12, 7, 10, 0, tzinfo=UTC).isoformat()
    out = []
    for i, payload in enumerate(workload.payloads(n)):
        sid = submission_id(i)
        envelope = {
            "submission_id": sid,
            "task": TASK,
            "schema_version": 1,
            "produced_at": produced_at,
            "source": "enrich_stage_cpu",
            "payload": payload,
        }
        headers = tuple(make_headers(1, traceparent(i)))
        out.append(InRecord(TOPIC, 0, i, sid.encode(), orjson.dumps(envelope), headers))
    return out


def malformed(start: int) -> list[InRecord]:
    """Records every rejection path of enrich sees (and a few accepted odd ones)."""
    base = orjson.loads(submissions(1)[0].value)
    headers = tuple(make_headers(1, traceparent(start)))

    def record(
        value: bytes, key: bytes | None, hdrs: Sequence[tuple[str, bytes | None]] = headers
    ) -> tuple[bytes | None, bytes, Sequence[tuple[str, bytes | None]]]:
        return (key, value, hdrs)

    def env(**changes: object) -> dict[str, object]:
        return {**base, **changes}

    def pay(**changes: object) -> dict[str, object]:
        return env(payload={**base["payload"], **changes})

    sid = base["submission_id"].encode()
    cases = [
        record(b"{not json", sid),
        record(b"", sid),
        record(b"[]", sid),
        record(orjson.dumps(env()), sid, (("content-type", b"text/plain"),)),
        record(orjson.dumps(env()), sid, (("content-type", b"application/json; charset=utf-8"),)),
        record(orjson.dumps(env()), b"someone-else"),
        record(orjson.dumps(env()), None),
        record(orjson.dumps(env(surprise=1)), sid),
        record(orjson.dumps(env(task="churn")), sid),
        record(orjson.dumps(env(submission_id="nope")), b"nope"),
        record(orjson.dumps(env(schema_version=0)), sid),
        record(orjson.dumps(env(produced_at="2026-12-07T10:00:00")), sid),
        record(orjson.dumps(pay(title="a\x00b")), sid),
        record(orjson.dumps(pay(title="é\x00", description="ü" * 10)), sid),
        record(orjson.dumps(pay(title="x" * 100_000)), sid),
        record(orjson.dumps(pay(title="   ", description="\t\n")), sid),
        record(orjson.dumps(pay(title="Ünïcödé crash", description="naïve café\r\n\r\nok")), sid),
        record(orjson.dumps(pay(title=5, description=None, product="")), sid),
        record(orjson.dumps(env(payload=None)), sid),
        record(orjson.dumps(env(tenant="")), sid),
        record(orjson.dumps(env()), sid, ()),
        record(orjson.dumps(env()), sid, (("traceparent", b"garbage"), ("TRACEPARENT", b"x"))),
        record(orjson.dumps(env()), sid, (("x-submission-id", b"abc"), ("k", None))),
    ]
    return [
        InRecord(TOPIC, 1, start + i, key, value, tuple((k, v or b"") for k, v in hdrs))
        for i, (key, value, hdrs) in enumerate(cases)
    ]


def outputs(stage: str, records: Sequence[InRecord], outcomes: list[Outcome]) -> list[OutMessage]:
    """What BatchCycle._outputs makes of a batch's outcomes (metrics and logs aside)."""
    from inferstream.workers.runtime.deadletter import deadletter_message

    messages: list[OutMessage] = []
    for record, outcome in zip(records, outcomes, strict=True):
        if isinstance(outcome, Emit):
            messages.extend(outcome.messages)
        else:
            messages.append(deadletter_message(stage, record, outcome))
    return messages


def one_pass(
    logic: EnrichLogic,
    records: Sequence[InRecord],
    size: int,
    profiler: cProfile.Profile | None,
    keep: bool = False,
) -> tuple[float, list[tuple[InRecord, Outcome]]]:
    """The pass's process CPU; with ``keep`` its outcomes (otherwise each batch's outcomes
    and outputs are dropped after it, as a worker drops them after their flush)."""
    settle_heap()
    spent = 0.0
    kept: list[tuple[InRecord, Outcome]] = []
    for i in range(0, len(records), size):
        batch = list(records[i : i + size])
        if profiler is not None:
            profiler.enable()
        started = time.process_time()
        outcomes = logic.process(batch, logic.prepare(batch))
        outputs(logic.stage, batch, outcomes)
        spent += time.process_time() - started
        if profiler is not None:
            profiler.disable()
        if keep:
            kept.extend(zip(batch, outcomes, strict=True))
    return spent, kept


def tracker_pass(records: Sequence[InRecord]) -> float:
    tracker = OffsetTracker()
    started = time.process_time()
    for record in records:
        tracker.polled(record.position, record.offset)
    for record in records:
        tracker.done(record.position, record.offset)
    tracker.committable()
    return time.process_time() - started


_SPAN = re.compile(rb"^(00-[0-9a-f]{32}-)[0-9a-f]{16}(-[0-9a-f]{2})$")
_ENRICHED_AT = re.compile(rb'"enriched_at":"[^"]*"')


def traced(value: bytes, parent: str) -> bytes:
    """A forwarded traceparent with its random parts masked: the span id, and the trace id
    when it is a new trace (the record carried no valid one)."""
    masked = _SPAN.sub(rb"\1<span>\2", value)
    if masked[3:35].decode() != parent[3:35]:
        masked = masked[:3] + b"<new trace>" + masked[35:]
    return masked


def describe(record: InRecord, outcome: Outcome) -> bytes:
    if isinstance(outcome, Reject):
        return orjson.dumps(
            {
                "offset": record.offset,
                "reason": outcome.reason,
                "kind": outcome.kind,
                "submission_id": outcome.submission_id,
            }
        )
    parent = record.header("traceparent") or ""
    messages = []
    for m in outcome.messages:
        headers = [
            [k, (traced(v, parent) if k == "traceparent" else v).decode()] for k, v in m.headers
        ]
        value = _ENRICHED_AT.sub(b'"enriched_at":"<t>"', m.value).decode()
        messages.append([m.topic, m.key.decode() if m.key else None, value, headers])
    return orjson.dumps({"offset": record.offset, "messages": messages})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--profile", type=Path, help="write a cProfile of the last pass")
    parser.add_argument("--outcomes", type=Path, help="write the last pass's outcomes (jsonl)")
    args = parser.parse_args()
    records = submissions(args.records)
    if args.outcomes:
        records += malformed(len(records))
    logic = EnrichLogic(load_plugin(TASK))
    passes, trackers = [], []
    for n in range(args.repeat):
        last = n == args.repeat - 1
        profiler = cProfile.Profile() if last and args.profile else None
        spent, kept = one_pass(
            logic, records, args.batch, profiler, keep=last and bool(args.outcomes)
        )
        passes.append(1e6 * spent / len(records))
        trackers.append(1e6 * tracker_pass(records) / len(records))
        if profiler is not None and args.profile:
            profiler.dump_stats(args.profile)
        if last and args.outcomes:
            args.outcomes.write_bytes(b"".join(describe(r, o) + b"\n" for r, o in kept))
    print(
        f"enrich stage ({len(records)} records, batches of {args.batch}): CPU us/record "
        + " ".join(f"{us:.1f}" for us in passes)
        + f" median {statistics.median(passes):.1f} min {min(passes):.1f}; "
        + f"tracker polled+done median {statistics.median(trackers):.2f}"
    )


if __name__ == "__main__":
    main()
