"""One sink batch is one transaction on the real embedded Postgres: the rows, the submissions'
statuses, dead letters and the offsets of every partition commit together (the statements after
the COPY go with the COMMIT in one round trip: four in all), a batch that hits a stored row is
rolled back whole and written again through staging, and a batch that fails leaves nothing
behind."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from _stack import Stack, scratch_database
from psycopg import pq

from inferstream.bench.sink import make_rows
from inferstream.plugins import load_plugin
from inferstream.storage import migrate
from inferstream.workers.sink.writer import DeadLetterRow, PostgresSinkWriter, SinkBatch

TOPIC = "results.bug_report"


@pytest.fixture(scope="module")
def conninfo(stack: Stack) -> Iterator[str]:
    with scratch_database(stack, "swb") as conninfo:
        migrate(conninfo)
        yield conninfo


def _dead(submission_id: str, offset: int) -> DeadLetterRow:
    return DeadLetterRow(
        submission_id=submission_id,
        stage="infer",
        kind="rejected",
        reason="test",
        original_topic="enriched.bug_report",
        original_partition=0,
        original_offset=offset,
        payload=b"{}",
        headers={},
    )


def _state(conninfo: str, group: str, ids: list[str], dead: list[str]) -> tuple[object, ...]:
    with psycopg.connect(conninfo) as conn:
        rows = conn.execute(
            "SELECT count(*) FROM results_bug_report WHERE submission_id = ANY(%s)", (ids,)
        ).fetchone()
        done = conn.execute(
            "SELECT count(*) FROM submissions WHERE submission_id = ANY(%s) AND status = 'done'",
            (ids,),
        ).fetchone()
        rejected = conn.execute(
            "SELECT count(*) FROM dead_letters WHERE submission_id = ANY(%s)", (dead,)
        ).fetchone()
        offsets = conn.execute(
            "SELECT topic, partition, next_offset FROM consumer_offsets WHERE group_id = %s "
            "ORDER BY topic, partition",
            (group,),
        ).fetchall()
    return rows, done, rejected, offsets


def test_a_conflicting_batch_is_rolled_back_whole_and_written_once(conninfo: str) -> None:
    tag = uuid.uuid4().hex
    group = f"batch-{tag}"
    rows = make_rows(60, seed=int(tag[:8], 16))
    ids = [str(r[1]) for r in rows]
    done = [(str(r[1]), "bug_report", "default", str(r[0])) for r in rows]
    dead = [f"{tag}-dead-{i}" for i in range(3)]
    writer = PostgresSinkWriter(conninfo, load_plugin("bug_report").table, group, "bug_report")
    try:
        writer.write(SinkBatch(rows[:40], done[:40], [], {(TOPIC, 0): 40}))
        # Half of it stored already: the direct COPY fails, the staging path writes the rest,
        # with every other part of the batch, once.
        offsets = {(TOPIC, 0): 60, (TOPIC, 3): 7, ("deadletter", 0): 3}
        writer.write(
            SinkBatch(rows[20:], done[20:], [_dead(d, i) for i, d in enumerate(dead)], offsets)
        )
    finally:
        writer.close()
    assert _state(conninfo, group, ids, dead) == (
        (60,),
        (60,),
        (3,),
        [("deadletter", 0, 3), (TOPIC, 0, 60), (TOPIC, 3, 7)],
    )


def test_a_batch_that_fails_after_its_copy_leaves_nothing(conninfo: str) -> None:
    tag = uuid.uuid4().hex
    group = f"fail-{tag}"
    rows = make_rows(10, seed=int(tag[:8], 16))
    ids = [str(r[1]) for r in rows]
    done = [(str(r[1]), "bug_report", "default", str(r[0])) for r in rows]
    writer = PostgresSinkWriter(conninfo, load_plugin("bug_report").table, group, "bug_report")
    try:
        # A partition number the table refuses (CHECK partition >= 0): the pipelined tail
        # fails at its sync, and the rows COPYed before it are rolled back too.
        with pytest.raises(psycopg.errors.CheckViolation):
            writer.write(SinkBatch(rows, done, [], {(TOPIC, -1): 10}))
        assert _state(conninfo, group, ids, []) == ((0,), (0,), (0,), [])
        # The same connection writes the next batch.
        writer.write(SinkBatch(rows, done, [], {(TOPIC, 0): 10}))
    finally:
        writer.close()
    assert _state(conninfo, group, ids, []) == ((10,), (10,), (0,), [(TOPIC, 0, 10)])


def test_a_batch_takes_four_round_trips(conninfo: str, tmp_path: Path) -> None:
    """BEGIN, the COPY's start and its end, then the statements and the COMMIT in one
    pipeline sync: each wait for the server ends with a ReadyForQuery or CopyInResponse."""
    tag = uuid.uuid4().hex
    rows = make_rows(5, seed=int(tag[:8], 16))
    done = [(str(r[1]), "bug_report", "default", str(r[0])) for r in rows]
    writer = PostgresSinkWriter(
        conninfo, load_plugin("bug_report").table, f"trips-{tag}", "bug_report"
    )
    trace = tmp_path / "libpq.trace"
    try:
        conn = writer.connect()
        with trace.open("w") as out:
            conn.pgconn.trace(out.fileno())
            conn.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)
            writer.write(SinkBatch(rows, done, [], {(TOPIC, 0): 5}))
            conn.pgconn.untrace()
    finally:
        writer.close()
    received = [line.split("\t")[2] for line in trace.read_text().splitlines() if line[0] == "B"]
    waits = [m for m in received if m in ("ReadyForQuery", "CopyInResponse")]
    assert waits == ["ReadyForQuery", "CopyInResponse", "ReadyForQuery", "ReadyForQuery"]
    assert "COMMIT" in trace.read_text()
