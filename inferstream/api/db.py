"""Postgres access for the API: the shared pool, pgvector types, and the result queries."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from pgvector.psycopg.vector import register_vector_info
from psycopg.types import TypeInfo
from psycopg_pool import ConnectionPool

# Recall/latency trade-off of pgvector's HNSW scan (0.95 recall measured at 100; default 40).
HNSW_EF_SEARCH = 100


class Database:
    """The pool plus the ``vector`` type info, fetched once and registered per checkout."""

    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool
        self._vector_info: TypeInfo | None = None
        self._lock = threading.Lock()

    @contextmanager
    def connection(self, *, vectors: bool = False) -> Iterator[psycopg.Connection[Any]]:
        with self.pool.connection() as conn:
            if vectors:
                register_vector_info(conn, self._vector_type(conn))
            yield conn

    def _vector_type(self, conn: psycopg.Connection[Any]) -> TypeInfo:
        with self._lock:
            if self._vector_info is None:
                info = TypeInfo.fetch(conn, "vector")
                if info is None:
                    raise RuntimeError("the pgvector extension is not installed")
                self._vector_info = info
            return self._vector_info

    def ping(self, timeout_s: float) -> bool:
        try:
            with self.pool.connection(timeout=timeout_s) as conn:
                conn.execute("SELECT 1")
        except Exception:  # any failure means "not ready"; the reason is logged by the pool
            return False
        return True
