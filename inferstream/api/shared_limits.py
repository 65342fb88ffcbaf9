"""Rate limits shared by every API replica, kept in Postgres (table ``api_rate_hits``).

The same sliding window as ``RateLimiter`` (exact over any window-long interval, Retry-After
when the oldest admitted request leaves it), but the admitted requests are rows, so N replicas
admit the limit once, not N times. Each decision is one short transaction: a transaction-level
advisory lock on (key, class) serialises the replicas' decisions for that key, then expired rows
are deleted, the rest counted, and the request inserted if there is room, committed without
waiting for the WAL flush (``synchronous_commit`` off for this transaction only). ``clock`` must
be the same on every replica (wall time), unlike the in-process limiter's monotonic clock.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from psycopg_pool import ConnectionPool

from inferstream.api.ratelimit import Decision, OpClass


class SharedRateLimiter:
    def __init__(
        self,
        pool: ConnectionPool,
        limits: dict[OpClass, int],
        window_s: float = 3600.0,
        clock: Callable[[], float] = time.time,
        *,
        durable_commit: bool = False,
    ) -> None:
        if window_s <= 0 or any(limit < 1 for limit in limits.values()):
            raise ValueError("limits must be >= 1 and the window positive")
        self._pool = pool
        self.limits = dict(limits)
        self.window_s = window_s
        self._clock = clock
        self._durable = durable_commit  # True only to measure what skipping the flush saves

    def hit(self, key: str, op: OpClass) -> Decision:
        """Admit (and record) one request, or refuse it without recording."""
        limit = self.limits[op]
        now = self._clock()
        with self._pool.connection() as conn, conn.transaction():
            # The counters need no durable commit: a Postgres crash can forget the last moments'
            # hits (a client gets a few requests more), and no request waits for a WAL flush
            # (benchmarks/ratelimit_latency.py, docs/benchmarks.md).
            if not self._durable:
                conn.execute("SET LOCAL synchronous_commit = off")
            conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"{op}:{key}",))
            conn.execute(
                "DELETE FROM api_rate_hits WHERE key_prefix = %s AND op = %s AND at <= %s",
                (key, op.value, now - self.window_s),
            )
            row = conn.execute(
                "SELECT count(*), min(at) FROM api_rate_hits WHERE key_prefix = %s AND op = %s",
                (key, op.value),
            ).fetchone()
            count, oldest = (int(row[0]), row[1]) if row else (0, None)
            if count >= limit and oldest is not None:
                wait = float(oldest) + self.window_s - now
                return Decision(False, limit, 0, max(1, math.ceil(wait)), math.ceil(wait))
            conn.execute(
                "INSERT INTO api_rate_hits (key_prefix, op, at) VALUES (%s, %s, %s)",
                (key, op.value, now),
            )
        first = now if oldest is None else float(oldest)
        return Decision(True, limit, limit - count - 1, 0, math.ceil(first + self.window_s - now))
