"""Process CPU per record of the stage runtime around a stage's own work, offline.

    python benchmarks/runtime_cycle_cpu.py [--records 20000] [--poll 480] [--repeat 5]
        [--profile out.prof]

Feeds ``--records`` consumed messages (enrich's input: a 340-byte value, the publisher's three
headers) through one StageRunner's steps in the order its three threads run them, on one
thread and without a broker: the poll loop's records, gap guard (on, as on the embedded
stack), tracker and queue; the prepare thread's batching (256 records, the embedded stack's
batch size) and batch metrics; the run thread's process, outputs and done report (a stage
that emits one message per record, an output producer that keeps nothing); the poll loop's
done drain and commit (a consumer that answers nothing). Prints each part's CPU per record
(us), the median of the passes; alternate trees through ``PYTHONPATH``.
"""

from __future__ import annotations

import argparse
import cProfile
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from confluent_kafka import Message

from inferstream.settings import KafkaSettings, WorkerSettings
from inferstream.workers.runtime.batching import Batcher
from inferstream.workers.runtime.core import Prepared
from inferstream.workers.runtime.health import HealthState
from inferstream.workers.runtime.records import Emit, InRecord, Outcome, OutMessage
from inferstream.workers.runtime.runner import StageRunner

TOPIC = "submissions.bug_report"


class _Logic:
    stage = "enrich"
    task = "bug_report"
    input_topics: Sequence[str] = (TOPIC,)

    def cost(self, record: InRecord) -> int:
        return 1

    def prepare(self, batch: Sequence[InRecord]) -> object:
        return None

    def process(self, batch: Sequence[InRecord], prepared: object) -> list[Outcome]:
        return [
            Emit((OutMessage("enriched.bug_report", r.key, r.value, r.headers),)) for r in batch
        ]

    def after_durable(self, batch: Sequence[InRecord], outcomes: Sequence[Outcome]) -> None:
        return None


class _Output:
    def begin(self) -> None:
        return None

    def queue(self, messages: Sequence[OutMessage]) -> None:
        return None

    def wait_durable(self) -> None:
        return None


class _Consumer:
    def commit(self, **kwargs: Any) -> None:
        return None

    def assignment(self) -> list[object]:
        return []

    def seek(self, partition: object) -> None:
        return None


def messages(n: int, start: int) -> list[Message]:
    out = []
    for i in range(start, start + n):
        headers = [
            ("content-type", b"application/json"),
            ("schema-version", b"1"),
            ("traceparent", b"00-%032x-%016x-01" % (i + 1, i + 1)),
        ]
        key = b"%026d" % i
        out.append(
            Message(
                topic=TOPIC,
                partition=i % 2,
                offset=i // 2,
                key=key,
                value=b"x" * 340,
                headers=headers,
                timestamp=(1, 1_765_000_000_000 + i),
            )
        )
    return out


def one_pass(records: int, poll: int, profiler: cProfile.Profile | None) -> dict[str, float]:
    worker = WorkerSettings(batch_max_items=256, offset_gap_wait_ms=5_000)
    kafka = KafkaSettings(bootstrap_servers="127.0.0.1:1")  # never contacted
    runner = StageRunner(_Logic(), "g", kafka, worker, HealthState(stale_after_s=30))  # type: ignore[arg-type]
    runner.output = _Output()  # type: ignore[assignment]
    runner.consumer = _Consumer()  # type: ignore[assignment]
    batcher: Batcher[InRecord] = Batcher(runner.policy)
    spent = {"poll": 0.0, "batching": 0.0, "run": 0.0, "done": 0.0}
    polls = [messages(poll, start) for start in range(0, records, poll)]
    if profiler is not None:
        profiler.enable()
    for polled in polls:
        started = time.process_time()
        now = time.monotonic()
        accepted = runner._admit(runner._to_records(polled, now), now)
        for record in accepted:
            runner.tracker.polled(record.position, record.offset)
        runner._queue.extend(accepted)
        spent["poll"] += time.process_time() - started
        while runner._queue:
            started = time.process_time()
            batch = runner._next_batch(batcher)
            assert batch is not None
            runner._observe_batch(batch)
            prepared = runner.logic.prepare(batch.items)
            spent["batching"] += time.process_time() - started
            started = time.process_time()
            runner._handle(Prepared(batch, prepared))
            spent["run"] += time.process_time() - started
        started = time.process_time()
        runner._drain_done()
        runner._last_commit = 0.0
        runner._commit()
        spent["done"] += time.process_time() - started
    if profiler is not None:
        profiler.disable()
    return {part: 1e6 * seconds / records for part, seconds in spent.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--poll", type=int, default=480)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--profile", type=Path, help="write a cProfile of the last pass")
    args = parser.parse_args()
    passes = []
    for n in range(args.repeat):
        profiler = cProfile.Profile() if args.profile and n == args.repeat - 1 else None
        passes.append(one_pass(args.records, args.poll, profiler))
        if profiler is not None and args.profile:
            profiler.dump_stats(args.profile)
    parts = {part: statistics.median(p[part] for p in passes) for part in passes[0]}
    total = statistics.median(sum(p.values()) for p in passes)
    print(
        f"runtime ({args.records} records, polls of {args.poll}, batches of 256): CPU us/record "
        + " ".join(f"{part} {us:.2f}" for part, us in parts.items())
        + f"; total median {total:.2f} (passes "
        + " ".join(f"{sum(p.values()):.2f}" for p in passes)
        + ")"
    )


if __name__ == "__main__":
    main()
