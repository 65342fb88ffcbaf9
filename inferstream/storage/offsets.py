"""The sinks' stored consumer offsets (table ``consumer_offsets``): the one place its SQL lives.

A sink stores each batch's next offsets in the transaction that writes the batch's rows, so the
rows and the position they were read up to commit together (exactly once into Postgres; the
broker's own committed offsets are only advisory). Infer followers start from these offsets,
`inferstream verify` compares them with the topics' ends, and `inferstream up` forgets them when
a new broker numbers its offsets from 0 again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import psycopg

Position = tuple[str, int]  # (topic, partition)


def store(conn: psycopg.Connection[Any], group_id: str, offsets: Mapping[Position, int]) -> None:
    """Upsert ``group_id``'s next offsets; in the caller's transaction (the batch's rows').

    A stored offset only moves forward. A sink that lost a partition while its batch was still
    retrying (a database outage longer than the revoke wait) writes that batch when the database
    comes back: its rows are upserts of results already written, but its offset is older than
    what the partition's new owner stored, and writing it back would send the new owner's next
    start (and `verify`, and the chaos drain) behind the records it already wrote, with nothing
    left to read. Only `forget` moves a position back.
    """
    if not offsets:
        return
    # One statement over the batch's partitions: an executemany runs a pipeline of its own,
    # which inside the sink's (the batch's statements and its COMMIT in one round trip) would
    # sync it early, a round trip more per batch.
    topics, partitions, nexts = zip(*((t, p, o) for (t, p), o in offsets.items()), strict=True)
    conn.execute(
        "INSERT INTO consumer_offsets (group_id, topic, partition, next_offset) "
        "SELECT %s, t, p, o FROM unnest(%s::text[], %s::int4[], %s::int8[]) AS u (t, p, o) "
        "ON CONFLICT (group_id, topic, partition) "
        "DO UPDATE SET next_offset = GREATEST(consumer_offsets.next_offset, "
        "EXCLUDED.next_offset), updated_at = now()",
        (group_id, list(topics), list(partitions), list(nexts)),
    )


def load(conn: psycopg.Connection[Any], group_id: str) -> dict[Position, int]:
    """Every next offset ``group_id`` has stored, by (topic, partition)."""
    rows = conn.execute(
        "SELECT topic, partition, next_offset FROM consumer_offsets WHERE group_id = %s",
        (group_id,),
    ).fetchall()
    return {(str(t), int(p)): int(o) for t, p, o in rows}


def forget(conn: psycopg.Connection[Any], group_id: str | None = None) -> int:
    """Delete the stored offsets of ``group_id`` (every group's when None); how many rows."""
    if group_id is None:
        return conn.execute("DELETE FROM consumer_offsets").rowcount
    return conn.execute("DELETE FROM consumer_offsets WHERE group_id = %s", (group_id,)).rowcount
