"""The sinks' stored offsets (inferstream.storage.offsets) on the real Postgres: stored in the
caller's transaction (a rolled-back batch stores nothing), upserted, read per group, forgotten
per group or all."""

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
