"""The consumer's rebalance callbacks: where an assigned partition starts, what a revoked
one finishes and commits before it goes, and partitions whose start offsets live in a
dependency that is down (deferred.py)."""

from __future__ import annotations

import time
from collections.abc import Mapping

from confluent_kafka import Consumer, TopicPartition

from inferstream.workers.runtime.core import RunnerCore
from inferstream.workers.runtime.records import TransientError
from inferstream.workers.runtime.watermark import Position

REVOKE_WAIT_S = 20.0


class Rebalancing(RunnerCore):
    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self.health.joined.set()  # a member of its group now (health.member_ready)
        positions = [(tp.topic, tp.partition) for tp in partitions]
        if not positions:
            # A rebalance that gives this member nothing new (cooperative protocol): no start
            # offset to read. Looking them up anyway failed during a dependency outage and
            # counted as another failed try, pushing back the retry of partitions already
            # waiting (up to the backoff's cap after each rebalance).
            consumer.incremental_assign([])
            return
        self.tracker.assign(positions)
        if self.gaps is not None:
            self.gaps.forget(positions)
        try:
            stored = self.logic.initial_offsets(positions)
        except TransientError as err:
            # Where to start lives in a dependency that is down: keep the partitions in the
            # group but fetch nothing from them until _start_deferred reads it (deferred.py).
            consumer.incremental_assign([])
            delay = self._deferred.defer(positions, time.monotonic())
            self.log.warning(
                "start offsets unavailable; partitions wait",
                partitions=[f"{t}:{p}" for t, p in positions],
                error=str(err),
                retry_in_s=round(delay, 2),
            )
            return
        self._assign_at(consumer, positions, stored)

    def _assign_at(
        self, consumer: Consumer, positions: list[Position], stored: Mapping[Position, int] | None
    ) -> None:
        if stored is not None:
            start = [TopicPartition(t, p, stored.get((t, p), -2)) for t, p in positions]
            for (t, p), offset in stored.items():
                if self.gaps is not None and offset >= 0:
                    self.gaps.expect((t, p), offset)
            self.log.info(
                "assigned at stored offsets",
                offsets={f"{t}:{p}": o for (t, p), o in stored.items()},
            )
        else:  # the group's committed offsets (the client's default)
            start = [TopicPartition(t, p) for t, p in positions]
            self.log.info("assigned", partitions=[f"{t}:{p}" for t, p in positions])
        consumer.incremental_assign(start)
        if self._paused:
            consumer.pause(start)

    def _start_deferred(self) -> None:
        """Retry the start-offset lookup of partitions assigned during an outage (backoff)."""
        positions = self._deferred.due(time.monotonic())
        if not positions:
            return
        try:
            stored = self.logic.initial_offsets(positions)
        except TransientError as err:
            delay = self._deferred.failed(time.monotonic())
            self.log.warning(
                "start offsets still unavailable", error=str(err), retry_in_s=round(delay, 2)
            )
            return
        self._deferred.started(positions)
        self._assign_at(self.consumer, positions, stored)

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        positions = {(tp.topic, tp.partition) for tp in partitions}
        with self._cond:
            # Not started: leave them to the next owner (they are not committed).
            self._queue.drop(positions)
        deadline = time.monotonic() + REVOKE_WAIT_S
        while any(self._active[p] > 0 for p in positions) and time.monotonic() < deadline:
            if self._fatal is not None:
                break
            time.sleep(0.02)  # the run thread is finishing a batch of these partitions
            self._drain_done()
        self._drain_done()
        if self._fatal is None:
            self._commit(force=True, only=list(positions))
        self.tracker.revoke(positions)
        self.commits.forget(positions)
        if self.gaps is not None:
            self.gaps.forget(positions)
        self._release_deferred(consumer, partitions)
        self.log.info("revoked", partitions=[f"{t}:{p}" for t, p in positions])

    def _on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        positions = {(tp.topic, tp.partition) for tp in partitions}
        with self._cond:
            self._queue.drop(positions)
        self.tracker.revoke(positions)
        self.commits.forget(positions)
        if self.gaps is not None:
            self.gaps.forget(positions)
        self._release_deferred(consumer, partitions)
        self.log.warning("partitions lost", partitions=[f"{t}:{p}" for t, p in positions])

    def _release_deferred(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        local = self._deferred.release(partitions)
        if local is not None:  # some were never assigned locally: unassign the others only
            consumer.incremental_unassign(local)
