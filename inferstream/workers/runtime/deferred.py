"""Partitions a worker was assigned before it could read where to start them.

A stage that keeps its consumed offsets in a dependency (the sink: in Postgres, in the same
transaction as its rows) cannot start a partition it is assigned while that dependency is down,
and must not guess: a guess either skips records or duplicates them. Blocking the rebalance
callback until the dependency returns would stop the poll loop, so the worker would be evicted
and then exit, or hang, after a long outage.

So the runner takes such partitions in the group without fetching from them (nothing in the
client's local assignment), and retries the lookup from its poll loop with backoff. Once the
offsets are read it assigns the partitions locally at exactly those offsets. Polling goes on
meanwhile, so the member keeps its place in the group whatever the outage's length.
"""

from __future__ import annotations

from collections.abc import Sequence

from confluent_kafka import TopicPartition

from inferstream.workers.runtime.backoff import Backoff
from inferstream.workers.runtime.watermark import Position


class DeferredStarts:
    """The partitions waiting for their start offsets, and when to try the lookup again."""

    def __init__(self, backoff: Backoff) -> None:
        self._positions: dict[Position, None] = {}  # insertion-ordered set
        self._backoff = backoff
        self._retry_at = 0.0

    def waiting(self) -> list[Position]:
        return list(self._positions)

    def defer(self, positions: Sequence[Position], now: float) -> float:
        """Partitions whose lookup just failed; returns the delay before the next try."""
        for pos in positions:
            self._positions[pos] = None
        return self.failed(now)

    def failed(self, now: float) -> float:
        delay = self._backoff.next_delay()
        self._retry_at = now + delay
        return delay

    def due(self, now: float) -> list[Position]:
        """The partitions to look up now: all of them once the backoff delay has passed."""
        if not self._positions or now < self._retry_at:
            return []
        return list(self._positions)

    def started(self, positions: Sequence[Position]) -> None:
        for pos in positions:
            self._positions.pop(pos, None)
        if not self._positions:
            self._backoff.reset()  # the next outage starts its backoff from the beginning

    def release(self, partitions: Sequence[TopicPartition]) -> list[TopicPartition] | None:
        """On revoke or loss: forget the waiting ones among ``partitions``. Returns the
        partitions that are in the local assignment when some were waiting (the caller
        unassigns those itself: the client's own unassign fails on partitions it never
        assigned), or None when none were, which leaves the client's default in place."""
        local = [tp for tp in partitions if (tp.topic, tp.partition) not in self._positions]
        if len(local) == len(partitions):
            return None
        self.started([(tp.topic, tp.partition) for tp in partitions])
        return local
