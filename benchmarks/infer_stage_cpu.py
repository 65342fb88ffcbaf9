"""Process CPU per record of the infer stage's logic, offline: the real dedup scorer, a null model.

    python benchmarks/infer_stage_cpu.py [--records 5000] [--batch 139] [--repeat 3]
        [--profile out.prof] [--decisions out.jsonl] [--outputs out.txt]

Builds ``--records`` submissions from the example reports (cycled, lightly reworded, as ``bench
overhead`` publishes them, with fixed random-looking ids), runs them through the enrich stage's
logic once, then for each pass through a fresh infer stage (``InferLogic`` with the bug_report
plug-in, ``INFERSTREAM_MODEL_BACKEND=null``: tokenisation and padding run, the ONNX session does
not) in batches of ``--batch`` (139: the mean infer batch of ``bench overhead`` under backlog):
``cost`` of each record, ``prepare``, ``process`` (embed, score, result fields, encoding,
outgoing messages) and ``after_durable`` (the results join the indexes), as the runtime calls
them, minus Kafka. The heap is settled as a worker settles it (``process.settle_heap``) before
each pass. Prints the process CPU per record of each pass and their median: CPU, not wall time,
so that trees compared on a loaded machine stay comparable; run it with one BLAS thread
(``OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1``) and alternate trees through ``PYTHONPATH``.

``--profile`` writes a cProfile of the last pass; ``--decisions`` writes every result's
duplicate verdict and listed candidates (ids, scores, cosines) of the last pass as JSON lines,
so two trees' decisions can be compared byte for byte. ``--outputs`` writes every output
message of the last pass as one line: the sha256 of its value and of its headers, with the
results' ``produced_at`` fixed (the inferer's clock is frozen for the run) and the trace and
span ids of each traceparent masked (random per run and per message), so that equal lines mean
byte-identical messages.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import os
import statistics
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

os.environ["INFERSTREAM_MODEL_BACKEND"] = "null"

import orjson

from inferstream.bench import workload
from inferstream.bench.harness import models_cache
from inferstream.plugins import InferContext, TaskPlugin, load_plugin
from inferstream.schemas import make_headers, new_traceparent
from inferstream.settings import KafkaSettings, PostgresSettings
from inferstream.tasks.bug_report import inferer as bug_report_inferer
from inferstream.workers.enrich.driver import EnrichLogic
from inferstream.workers.infer.driver import InferLogic
from inferstream.workers.runtime.process import settle_heap
from inferstream.workers.runtime.records import Emit, InRecord, OutMessage

TASK = "bug_report"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=139)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", type=Path, help="write a cProfile of the last pass")
    parser.add_argument("--decisions", type=Path, help="write the last pass's verdicts (jsonl)")
    parser.add_argument("--outputs", type=Path, help="write the last pass's message digests")
    args = parser.parse_args()
    if args.outputs:
        bug_report_inferer.datetime = _FrozenClock  # type: ignore[attr-defined,assignment]
    plugin = load_plugin(TASK)
    records = enriched(plugin, args.records)
    passes = []
    for n in range(args.repeat):
        last = n == args.repeat - 1
        profiler = cProfile.Profile() if last and args.profile else None
        spent, values = one_pass(plugin, records, args.batch, profiler)
        passes.append(1000 * spent / len(records))
        if profiler is not None and args.profile:
            profiler.dump_stats(args.profile)
        if last and args.decisions:
            args.decisions.write_bytes(b"".join(verdict(m.value) + b"\n" for m in values))
        if last and args.outputs:
            args.outputs.write_text("".join(digest(m) + "\n" for m in values))
    print(
        f"infer stage ({len(records)} records, batches of {args.batch}, null model): CPU ms/record "
        + " ".join(f"{ms:.3f}" for ms in passes)
        + f" median {statistics.median(passes):.3f}"
    )


def enriched(plugin: TaskPlugin, n: int) -> list[InRecord]:
    """n enriched records as the enrich stage writes them (fixed ids: two trees score the same
    reports in the same order)."""
    logic = EnrichLogic(plugin)
    produced_at = datetime(2026, 1, 1, tzinfo=UTC).isoformat()  # fixed: equal digests
    submissions = []
    for i, payload in enumerate(workload.payloads(n)):
        # Random-looking like the bench's uuid4 ids, but fixed: the lexical ties are cut by id,
        # and ids alike in their first 16 bytes take a slower path there (lexical._by_name).
        digest_of_i = hashlib.sha256(f"infer_stage_cpu {i}".encode()).digest()[:16]
        sid = str(uuid.UUID(bytes=digest_of_i, version=4))
        envelope = {
            "submission_id": sid,
            "task": TASK,
            "schema_version": 1,
            "produced_at": produced_at,
            "source": "infer_stage_cpu",
            "payload": payload,
        }
        headers = tuple(make_headers(1, new_traceparent()))
        submissions.append(
            InRecord(f"submissions.{TASK}", 0, i, sid.encode(), orjson.dumps(envelope), headers)
        )
    out: list[InRecord] = []
    for i in range(0, n, 256):
        batch = submissions[i : i + 256]
        for outcome in logic.process(batch, logic.prepare(batch)):
            if not isinstance(outcome, Emit):
                raise SystemExit(f"enrich rejected a workload record: {outcome}")
            message = outcome.messages[0]
            out.append(
                InRecord(
                    f"enriched.{TASK}", 0, len(out), message.key, message.value, message.headers
                )
            )
    return out


def one_pass(
    plugin: TaskPlugin, records: Sequence[InRecord], size: int, profiler: cProfile.Profile | None
) -> tuple[float, list[OutMessage]]:
    """A fresh infer stage (empty indexes) over the records; its process CPU and results."""
    context = InferContext(
        models_dir=models_cache(),
        postgres=PostgresSettings(),
        max_batch_items=size,
        max_batch_tokens=1 << 20,
    )
    logic = InferLogic(
        plugin, plugin.load_inferer(context), KafkaSettings(), PostgresSettings(), "x"
    )
    settle_heap()
    values: list[OutMessage] = []
    spent = 0.0
    for i in range(0, len(records), size):
        batch = records[i : i + size]
        if profiler is not None:
            profiler.enable()
        started = time.process_time()
        for record in batch:
            logic.cost(record)
        outcomes = logic.process(batch, logic.prepare(batch))
        logic.after_durable(batch, outcomes)
        spent += time.process_time() - started
        if profiler is not None:
            profiler.disable()
        values.extend(o.messages[0] for o in outcomes if isinstance(o, Emit))
    return spent, values


class _FrozenClock:
    """The inferer's ``datetime.now`` at one fixed instant: results' ``produced_at`` equal."""

    @staticmethod
    def now(tz: object = None) -> datetime:
        return datetime(2026, 1, 1, tzinfo=UTC)


def digest(message: OutMessage) -> str:
    """sha256 of a message's value, and of its topic, key and headers with the traceparent's
    ids masked (the harness's records start new random traces, and each message a span)."""
    headers = [
        (name, value[:3] + value[-3:] if name == "traceparent" else value)
        for name, value in message.headers
    ]
    body = hashlib.sha256(message.value).hexdigest()
    meta = hashlib.sha256(
        orjson.dumps(
            [
                message.topic,
                (message.key or b"").decode(),
                [[name, value.decode()] for name, value in headers],
            ]
        )
    ).hexdigest()
    return f"{body} {meta}"


def verdict(value: bytes) -> bytes:
    result = orjson.loads(value)
    fields = ("submission_id", "duplicate_status", "duplicate_of", "similar")
    return orjson.dumps({name: result[name] for name in fields})


if __name__ == "__main__":
    main()
