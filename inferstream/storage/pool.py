"""The psycopg 3 connection pool every Postgres user shares."""

from __future__ import annotations

from psycopg_pool import ConnectionPool

from inferstream.settings import PostgresSettings


def make_pool(settings: PostgresSettings, *, name: str = "inferstream") -> ConnectionPool:
    """An open pool; waits (up to the connect timeout) for the first connection.

    Each checkout is checked first (one round trip): after a Postgres restart the pool's idle
    connections are dead, and without the check the first request on each answered 500
    (AdminShutdown) instead of getting a fresh connection."""
    pool = ConnectionPool(
        settings.conninfo(),
        min_size=settings.pool_min_size,
        max_size=settings.pool_max_size,
        name=name,
        open=False,
        check=ConnectionPool.check_connection,
    )
    pool.open(wait=settings.pool_min_size > 0, timeout=float(settings.connect_timeout_s))
    return pool
