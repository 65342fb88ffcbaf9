"""The sink's Postgres writer on the real embedded Postgres: the direct COPY and its fallback
(staging + INSERT ... ON CONFLICT) store each result exactly once, whatever is replayed."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from _stack import Stack, scratch_database

from inferstream.bench.sink import make_rows
from inferstream.plugins import load_plugin
from inferstream.storage import migrate
from inferstream.workers.sink.writer import PostgresSinkWriter, SinkBatch

TOPIC = "results.bug_report"


@pytest.fixture(scope="module")
def conninfo(stack: Stack) -> Iterator[str]:
    with scratch_database(stack, "sw") as conninfo:
        migrate(conninfo)
        yield conninfo


def stored(conninfo: str, group: str) -> tuple[set[str], int, int | None]:
    """(result ids, row count, next offset stored for partition 0 of this group)."""
    with psycopg.connect(conninfo) as conn:
        ids = [str(r[0]) for r in conn.execute("SELECT result_id FROM results_bug_report")]
        offset = conn.execute(
            "SELECT next_offset FROM consumer_offsets WHERE group_id = %s AND partition = 0",
            (group,),
        ).fetchone()
    return set(ids), len(ids), None if offset is None else int(offset[0])


@pytest.mark.parametrize("direct_copy", [True, False])
def test_replayed_and_overlapping_batches_store_each_result_once(
    conninfo: str, direct_copy: bool
) -> None:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("TRUNCATE results_bug_report, consumer_offsets")
    rows = make_rows(150, seed=31 if direct_copy else 32)
    group = f"writer-{direct_copy}"
    table = load_plugin("bug_report").table
    writer = PostgresSinkWriter(conninfo, table, group, "bug_report", direct_copy=direct_copy)
    try:
        writer.write(SinkBatch(rows[:100], [], [], {(TOPIC, 0): 100}))
        assert stored(conninfo, group)[1:] == (100, 100)
        # A replay after a crash: the same rows again, nothing new, the offset unchanged.
        writer.write(SinkBatch(rows[:100], [], [], {(TOPIC, 0): 100}))
        assert stored(conninfo, group)[1:] == (100, 100)
        # Half old, half new, and one row twice in the batch: only the new ones are added.
        writer.write(SinkBatch([*rows[50:150], rows[120]], [], [], {(TOPIC, 0): 151}))
        ids, count, offset = stored(conninfo, group)
        assert (count, offset) == (150, 151)
        assert ids == {str(row[0]) for row in rows}
    finally:
        writer.close()


def test_done_statuses_one_statement_last_result_wins(conninfo: str) -> None:
    """Submissions marked done in one statement: a result delivered twice in the batch counts
    once with its last result id, a rejected submission becomes done, and another task's
    submission with the same id keeps its status."""
    tag = uuid.uuid4().hex
    twice, rejected, foreign = f"{tag}-twice", f"{tag}-rejected", f"{tag}-foreign"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO submissions (submission_id, task, status, reason) VALUES "
            "(%s, 'bug_report', 'rejected', 'transient'), (%s, 'churn', 'processing', NULL)",
            (rejected, foreign),
        )
    table = load_plugin("bug_report").table
    writer = PostgresSinkWriter(conninfo, table, f"done-{tag}", "bug_report")
    done = [
        (twice, "bug_report", "default", "r1"),
        (rejected, "bug_report", "default", "r2"),
        (twice, "bug_report", "default", "r3"),
        (foreign, "bug_report", "default", "r4"),
    ]
    try:
        writer.write(SinkBatch([], done, [], {(TOPIC, 0): 4}))
    finally:
        writer.close()
    with psycopg.connect(conninfo) as conn:
        rows = conn.execute(
            "SELECT submission_id, task, status, result_id, reason FROM submissions "
            "WHERE submission_id LIKE %s ORDER BY submission_id",
            (f"{tag}-%",),
        ).fetchall()
    assert rows == [
        (foreign, "churn", "processing", None, None),
        (rejected, "bug_report", "done", "r2", None),
        (twice, "bug_report", "done", "r3", None),
    ]
