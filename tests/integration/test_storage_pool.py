"""The shared pool (inferstream.storage.make_pool) on the real Postgres: a pooled connection the
server has closed (a restart, an admin's pg_terminate_backend) is replaced at checkout, so the
API's first request after `down`/`up` does not fail with AdminShutdown."""

from __future__ import annotations

import psycopg
import pytest
from _stack import Stack

from inferstream.storage import make_pool


@pytest.mark.integration
def test_a_connection_closed_by_the_server_is_replaced_at_checkout(stack: Stack) -> None:
    settings = stack.postgres.model_copy(update={"pool_min_size": 1, "pool_max_size": 1})
    pool = make_pool(settings, name="pool-test")
    try:
        with pool.connection() as conn:
            victim = conn.execute("SELECT pg_backend_pid()").fetchone()
        assert victim is not None
        with psycopg.connect(stack.postgres.conninfo(), autocommit=True) as admin:
            killed = admin.execute("SELECT pg_terminate_backend(%s)", (victim[0],)).fetchone()
        assert killed == (True,)
        with pool.connection() as conn:
            row = conn.execute("SELECT pg_backend_pid()").fetchone()
        assert row is not None and row[0] != victim[0]
    finally:
        pool.close()
