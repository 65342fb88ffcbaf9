"""The sinks' stored offsets (inferstream.storage.offsets) on the real Postgres: stored in the
caller's transaction (a rolled-back batch stores nothing), upserted, never moved back by a late
writer, read per group, forgotten per group or all."""

from __future__ import annotations

import psycopg
import pytest
from _stack import Stack, scratch_database

from inferstream.storage import migrate
from inferstream.storage import offsets as offset_store


@pytest.mark.integration
def test_offsets_are_stored_in_the_callers_transaction_per_group(stack: Stack) -> None:
    with scratch_database(stack, "offsets") as conninfo:
        migrate(conninfo)
        with psycopg.connect(conninfo) as conn:
            offset_store.store(conn, "sink.a", {("results.x", 0): 5, ("results.x", 1): 7})
            offset_store.store(conn, "sink.b", {("results.x", 0): 1})
        with psycopg.connect(conninfo) as conn:
            offset_store.store(conn, "sink.a", {("results.x", 0): 9})
            conn.rollback()  # the batch's transaction failed: its offsets are not stored
            offset_store.store(conn, "sink.a", {("results.x", 1): 8})
            conn.commit()
            assert offset_store.load(conn, "sink.a") == {("results.x", 0): 5, ("results.x", 1): 8}
            assert offset_store.load(conn, "sink.b") == {("results.x", 0): 1}
            assert offset_store.load(conn, "nobody") == {}
            assert offset_store.forget(conn, "sink.b") == 1
            assert offset_store.load(conn, "sink.b") == {}
            assert offset_store.forget(conn) == 2
            assert offset_store.load(conn, "sink.a") == {}


@pytest.mark.integration
def test_a_late_batch_of_a_former_owner_does_not_move_the_offset_back(stack: Stack) -> None:
    # The partition's new owner stored 12; the sink that lost it while its batch was retrying
    # through a database outage writes that older batch (next offset 8) afterwards.
    with scratch_database(stack, "offsets_late") as conninfo:
        migrate(conninfo)
        with psycopg.connect(conninfo) as conn:
            offset_store.store(conn, "sink.a", {("results.x", 0): 12, ("results.x", 1): 3})
        with psycopg.connect(conninfo) as conn:
            offset_store.store(conn, "sink.a", {("results.x", 0): 8, ("results.x", 1): 4})
        with psycopg.connect(conninfo) as conn:
            assert offset_store.load(conn, "sink.a") == {("results.x", 0): 12, ("results.x", 1): 4}
            assert offset_store.forget(conn, "sink.a") == 2
            offset_store.store(conn, "sink.a", {("results.x", 0): 2})
            assert offset_store.load(conn, "sink.a") == {("results.x", 0): 2}
