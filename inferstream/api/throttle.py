"""Failed-authentication throttling, checked before any argon2 verify.

A wrong secret for a known key prefix costs a full argon2id verify (~150 ms of CPU, 64 MiB).
Left unlimited, a few dozen concurrent guesses pin the CPU and push the process over its memory
limit. So failures are counted per client address and per key prefix over a sliding window,
and a request whose address or prefix is over its budget is refused (429) *before* hashing.
At most ``max_concurrent`` verifies run at once; a request that cannot get a slot within
``slot_wait_s`` is refused (503) instead of queueing memory.

Given a pool, the failures are rows of ``api_rate_hits`` (op ``auth-failure``, wall-clock
times) and every replica shares the budgets; without one they live in this process.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from psycopg_pool import ConnectionPool

from inferstream.api.problems import ProblemError

MAX_TRACKED = 50_000  # distinct addresses/prefixes kept; beyond it the oldest state is dropped
FAILURE_OP = "auth-failure"


@dataclass(frozen=True)
class AuthLimits:
    """Budgets for failed verifies and the verify concurrency cap."""

    failures_per_address: int = 20
    failures_per_prefix: int = 10
    window_s: float = 600.0
    max_concurrent: int = 4
    slot_wait_s: float = 2.0


class FailureThrottle:
    def __init__(
        self,
        limits: AuthLimits = AuthLimits(),
        clock: Callable[[], float] = time.monotonic,
        pool: ConnectionPool | None = None,
    ) -> None:
        self.limits = limits
        self._clock = clock
        self._pool = pool
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(limits.max_concurrent)

    def check(self, address: str, prefix: str) -> None:
        """Raise 429 when the address or the prefix has used its failure budget."""
        wait = max(
            self._wait(f"a:{address}", self.limits.failures_per_address),
            self._wait(f"p:{prefix}", self.limits.failures_per_prefix),
        )
        if wait > 0:
            raise ProblemError(
                429,
                "too many failed authentications from this address or for this key; "
                f"retry in {wait} s",
                slug="auth-throttled",
                headers={"Retry-After": str(wait)},
            )

    def failed(self, address: str, prefix: str) -> None:
        now = self._clock()
        if self._pool is not None:
            self._failed_shared([f"a:{address}", f"p:{prefix}"], now)
            return
        with self._lock:
            if len(self._failures) >= MAX_TRACKED:
                self._failures.clear()  # bounded memory under a spray of addresses
            for name in (f"a:{address}", f"p:{prefix}"):
                self._failures.setdefault(name, deque()).append(now)

    @contextmanager
    def slot(self) -> Iterator[None]:
        """One of the ``max_concurrent`` verify slots, or 503 after ``slot_wait_s``."""
        if not self._slots.acquire(timeout=self.limits.slot_wait_s):
            raise ProblemError(
                503,
                "too many key verifications in progress; retry shortly",
                slug="auth-busy",
                headers={"Retry-After": "1"},
            )
        try:
            yield
        finally:
            self._slots.release()

    def _wait(self, name: str, limit: int) -> int:
        """Whole seconds until ``name`` is under ``limit`` failures again (0: it is now)."""
        now = self._clock()
        if self._pool is not None:
            return self._wait_shared(name, limit, now)
        with self._lock:
            hits = self._failures.get(name)
            if hits is None:
                return 0
            while hits and hits[0] <= now - self.limits.window_s:
                hits.popleft()
            if not hits:
                del self._failures[name]
                return 0
            if len(hits) < limit:
                return 0
            return max(1, math.ceil(hits[-limit] + self.limits.window_s - now))

    def _wait_shared(self, name: str, limit: int, now: float) -> int:
        assert self._pool is not None
        with self._pool.connection() as conn:
            # The limit-th most recent failure in the window: when it leaves, there is room.
            row = conn.execute(
                "SELECT at FROM api_rate_hits WHERE key_prefix = %s AND op = %s AND at > %s "
                "ORDER BY at DESC OFFSET %s LIMIT 1",
                (name, FAILURE_OP, now - self.limits.window_s, limit - 1),
            ).fetchone()
        if row is None:
            return 0
        return max(1, math.ceil(float(row[0]) + self.limits.window_s - now))

    def _failed_shared(self, names: list[str], now: float) -> None:
        assert self._pool is not None
        with self._pool.connection() as conn:
            # Every expired failure, not only these names': a spray from many addresses leaves
            # no rows behind (failures are rare and throttled, so the table stays small).
            conn.execute(
                "DELETE FROM api_rate_hits WHERE op = %s AND at <= %s",
                (FAILURE_OP, now - self.limits.window_s),
            )
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO api_rate_hits (key_prefix, op, at) VALUES (%s, %s, %s)",
                    [(name, FAILURE_OP, now) for name in names],
                )
