"""In-process sliding-window rate limits per API key and operation class.

Each (key, class) keeps the timestamps of its admitted requests within the window (at most
``limit`` of them), so the limit is exact over any window-long interval and ``Retry-After`` is
when the oldest admitted request leaves the window. The state lives in one process: N API
replicas admit up to N times the limit (a shared store is the upgrade path).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum


class OpClass(StrEnum):
    read = "read"
    write = "write"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    retry_after_s: int  # whole seconds until a request would be admitted (0 when allowed)
    reset_s: int  # seconds until the window has room for the full limit again


class RateLimiter:
    def __init__(
        self,
        limits: dict[OpClass, int],
        window_s: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if window_s <= 0 or any(limit < 1 for limit in limits.values()):
            raise ValueError("limits must be >= 1 and the window positive")
        self.limits = dict(limits)
        self.window_s = window_s
        self._clock = clock
        self._hits: dict[tuple[str, OpClass], deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, op: OpClass) -> Decision:
        """Admit (and count) one request, or refuse it without counting."""
        limit = self.limits[op]
        now = self._clock()
        with self._lock:
            hits = self._hits.setdefault((key, op), deque())
            while hits and hits[0] <= now - self.window_s:
                hits.popleft()
            if len(hits) >= limit:
                wait = hits[0] + self.window_s - now
                return Decision(False, limit, 0, max(1, math.ceil(wait)), math.ceil(wait))
            hits.append(now)
            reset = hits[0] + self.window_s - now
            return Decision(True, limit, limit - len(hits), 0, math.ceil(reset))

    def forget(self, key: str) -> None:
        with self._lock:
            for op in OpClass:
                self._hits.pop((key, op), None)
