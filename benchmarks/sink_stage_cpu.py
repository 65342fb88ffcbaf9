"""CPU per record of the sink stage and of its Postgres backend, offline, on captured results.

    python benchmarks/sink_stage_cpu.py --capture results.jsonl [--records 5000]
    python benchmarks/sink_stage_cpu.py --results results.jsonl [--batch 128] [--repeat 5]
        [--digest out.txt]

``--capture`` builds ``--records`` results the way ``bench overhead`` makes them (the example
reports, lightly reworded, through the enrich stage's logic and a fresh infer stage with the
null model, in batches of 139; fixed submission ids) and writes each result message (key,
value, headers) as a JSON line. The other mode feeds those messages to ``SinkLogic.process`` in
batches of ``--batch`` (128: the sink's mean batch in ``bench overhead``) against the
Postgres of the stack in ``$INFERSTREAM_DATA_DIR`` (``inferstream up``), ``--repeat`` times,
each time into an emptied results table. It prints the sink's process CPU and its Postgres
backend's CPU (``/proc/<backend pid>/schedstat``: the stack runs on this machine) per record of
each pass and their medians; alternate trees through ``PYTHONPATH``. ``--digest`` writes
digests of every column the sink writes (each column's values as Postgres prints them, in
result_id order, the generated ``search_vector`` included; a json or jsonb column cast to
jsonb, so the digest is of the values, whichever of the two types stores them), of the
submissions' rows and of the stored offsets, so two trees' writes can be compared with
``cmp``. Each pass empties results_bug_report and deletes bug_report's submissions and this
script's stored offsets: use a stack of your own.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

os.environ["INFERSTREAM_MODEL_BACKEND"] = "null"

import orjson
import psycopg

from inferstream.bench import workload
from inferstream.bench.harness import models_cache
from inferstream.plugins import InferContext, load_plugin
from inferstream.schemas import make_headers, new_traceparent
from inferstream.settings import KafkaSettings, PostgresSettings
from inferstream.workers.enrich.driver import EnrichLogic
from inferstream.workers.infer.driver import InferLogic
from inferstream.workers.runtime.process import settle_heap
from inferstream.workers.runtime.records import Emit, InRecord
from inferstream.workers.sink.driver import SinkLogic
from inferstream.workers.sink.writer import PostgresSinkWriter

TASK = "bug_report"
GROUP = "bench.sink_stage_cpu"
Message = tuple[bytes | None, bytes, tuple[tuple[str, bytes], ...]]
# The columns the table fills itself: different on every pass.
_OWN_COLUMNS = ("created_at", "txid", "seq")
_JSON_TYPES = ("json", "jsonb")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--capture", type=Path, help="build results and write them here")
    parser.add_argument("--records", type=int, default=5000)
    parser.add_argument("--results", type=Path, help="captured results to sink")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--digest", type=Path, help="write an md5 of every written column")
    args = parser.parse_args()
    if args.capture:
        messages = capture(args.records)
        args.capture.write_bytes(b"".join(_line(m) + b"\n" for m in messages))
        print(f"{len(messages)} results written to {args.capture}")
        return
    if not args.results:
        parser.error("--capture or --results")
    messages = [_message(line) for line in args.results.read_bytes().splitlines()]
    conninfo = PostgresSettings().conninfo()
    clients, backends = [], []
    for _ in range(args.repeat):
        client, backend = one_pass(conninfo, messages, args.batch)
        clients.append(1e6 * client / len(messages))
        backends.append(1e6 * backend / len(messages))
    print(
        f"sink ({len(messages)} results, batches of {args.batch}): us/record client "
        + " ".join(f"{us:.1f}" for us in clients)
        + f" median {statistics.median(clients):.1f}; backend "
        + " ".join(f"{us:.1f}" for us in backends)
        + f" median {statistics.median(backends):.1f}"
    )
    if args.digest:
        args.digest.write_text(digest(conninfo))


def capture(n: int) -> list[Message]:
    """n results as infer writes them, from n enriched workload reports with fixed ids."""
    plugin = load_plugin(TASK)
    enrich = EnrichLogic(plugin)
    produced_at = datetime.now(UTC).isoformat()
    enriched: list[InRecord] = []
    for i, payload in enumerate(workload.payloads(n)):
        sid = str(uuid.UUID(int=(i + 1) * 0x9E3779B97F4A7C15 % (1 << 122), version=4))
        envelope = {
            "submission_id": sid,
            "task": TASK,
            "schema_version": 1,
            "produced_at": produced_at,
            "source": "sink_stage_cpu",
            "payload": payload,
        }
        record = InRecord(
            f"submissions.{TASK}",
            0,
            i,
            sid.encode(),
            orjson.dumps(envelope),
            tuple(make_headers(1, new_traceparent())),
        )
        for outcome in enrich.process([record], enrich.prepare([record])):
            assert isinstance(outcome, Emit), outcome
            m = outcome.messages[0]
            enriched.append(InRecord(f"enriched.{TASK}", 0, i, m.key, m.value, m.headers))
    context = InferContext(
        models_dir=models_cache(),
        postgres=PostgresSettings(),
        max_batch_items=139,
        max_batch_tokens=1 << 20,
    )
    infer = InferLogic(
        plugin, plugin.load_inferer(context), KafkaSettings(), PostgresSettings(), "x"
    )
    out: list[Message] = []
    for i in range(0, len(enriched), 139):
        batch = enriched[i : i + 139]
        for record in batch:
            infer.cost(record)
        outcomes = infer.process(batch, infer.prepare(batch))
        infer.after_durable(batch, outcomes)
        for outcome in outcomes:
            assert isinstance(outcome, Emit), outcome
            m = outcome.messages[0]
            out.append((m.key, m.value, tuple(m.headers)))
    return out


def _line(message: Message) -> bytes:
    key, value, headers = message
    return orjson.dumps(
        {
            "key": None if key is None else key.decode(),
            "value": value.decode(),
            "headers": [[name, header.decode()] for name, header in headers],
        }
    )


def _message(line: bytes) -> Message:
    fields = orjson.loads(line)
    key = None if fields["key"] is None else fields["key"].encode()
    headers = tuple((name, header.encode()) for name, header in fields["headers"])
    return key, fields["value"].encode(), headers


def one_pass(conninfo: str, messages: Sequence[Message], size: int) -> tuple[float, float]:
    """The messages through a fresh sink into emptied tables: its CPU and its backend's."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("TRUNCATE results_bug_report")
        conn.execute("DELETE FROM submissions WHERE task = %s", (TASK,))
        conn.execute("DELETE FROM consumer_offsets WHERE group_id = %s", (GROUP,))
        conn.execute("VACUUM ANALYZE results_bug_report")
    plugin = load_plugin(TASK)
    writer = PostgresSinkWriter(conninfo, plugin.table, GROUP, TASK)
    logic = SinkLogic(plugin, writer)
    records = [
        InRecord(f"results.{TASK}", i % 6, i, key, value, headers)
        for i, (key, value, headers) in enumerate(messages)
    ]
    row = writer.connect().execute("SELECT pg_backend_pid()").fetchone()
    writer.connect().commit()
    assert row is not None
    settle_heap()  # as a worker settles it once started: no collection walks the heap per batch
    stat = Path(f"/proc/{row[0]}/schedstat")
    backend_before = _proc_cpu(stat)
    started = time.process_time()
    for i in range(0, len(records), size):
        logic.process(records[i : i + size], None)
    client = time.process_time() - started
    backend = _proc_cpu(stat) - backend_before
    logic.close()
    return client, backend


def _proc_cpu(schedstat: Path) -> float:
    """A process's time on a CPU so far, in seconds (the kernel's nanoseconds, not ticks)."""
    return int(schedstat.read_text().split()[0]) / 1e9


def digest(conninfo: str) -> str:
    """Digests of the sink's writes: an md5 of each column of the results (but the ones the
    table fills itself), as Postgres prints it, and a sha256 of the submissions' and the
    offsets' rows."""
    lines = []
    with psycopg.connect(conninfo) as conn:
        columns = [
            (name, pg_type)
            for name, pg_type in conn.execute(
                "SELECT attname, atttypid::regtype::text FROM pg_attribute "
                "WHERE attrelid = 'results_bug_report'::regclass "
                "AND attnum > 0 AND NOT attisdropped ORDER BY attnum"
            )
            if name not in _OWN_COLUMNS
        ]
        for name, pg_type in columns:
            # A JSON column as its value, whichever type stores it: json keeps the text as
            # written, jsonb prints its own normal form; both cast to jsonb print that form.
            value = f"{name}::jsonb::text" if pg_type in _JSON_TYPES else f"{name}::text"
            row = conn.execute(
                f"SELECT md5(string_agg(coalesce({value}, '<null>'), '|' "
                "ORDER BY result_id)), count(*) FROM results_bug_report"
            ).fetchone()
            lines.append(f"results_bug_report.{name} {row}")
        lines.append(
            _rows_digest(
                conn,
                "SELECT submission_id, task, tenant, status, result_id, reason "
                "FROM submissions WHERE task = 'bug_report' ORDER BY 1",
            )
        )
        lines.append(
            _rows_digest(
                conn,
                "SELECT topic, partition, next_offset FROM consumer_offsets "
                f"WHERE group_id = '{GROUP}' ORDER BY 1, 2",
            )
        )
    return "\n".join(lines) + "\n"


def _rows_digest(conn: psycopg.Connection[Any], query: str) -> str:
    h = hashlib.sha256()
    count = 0
    for row in conn.execute(query):
        h.update(repr(row).encode())
        count += 1
    return f"{query[:40]}... {h.hexdigest()} {count}"


if __name__ == "__main__":
    sys.exit(main())
