"""The records a worker has polled and not yet put into a batch, kept by partition.

Why by partition: where a stage's outputs are keyed as its inputs are (by default every task's
submission id, from submissions.<task> through enriched.<task> to results.<task>), the topics
have the same partition count and the producers the same partitioner (librdkafka's CRC-32 of
the key), the records of one input partition produce into one output partition. A batch of
one partition's records then writes one batch object on the embedded broker instead of one per
partition, and each reader of the output topic LISTs and GETs one object instead of several
(docs/architecture.md, "The embedded servers"). So the prepare thread fills a batch from the
partition its first record came from while that partition has records queued, and only then
from the others. A batch starts with the partition whose next record arrived first, and the
queue holds at most the in-flight bound, so no partition's records wait behind more than that
bound of another's. When fewer records are queued
than a batch holds (low load), a batch takes all of them as before; only their order inside
the batch can differ (across partitions the order was never fixed: it is the poll's).

Per partition, records leave in the order they arrived (offsets in order), as batching
promises.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Collection, Iterable, Iterator

from inferstream.workers.runtime.records import InRecord
from inferstream.workers.runtime.watermark import Position


class InputQueue:
    """Queued records by partition; ``take`` prefers a partition. Not thread-safe: the runner
    guards it with its condition."""

    __slots__ = ("_arrived", "_parts", "_seq", "_size")

    def __init__(self) -> None:
        self._parts: dict[Position, deque[InRecord]] = {}
        # Each queued record's arrival number, by partition (parallel to _parts).
        self._arrived: dict[Position, deque[int]] = {}
        self._seq = 0
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def __bool__(self) -> bool:
        return self._size > 0

    def __iter__(self) -> Iterator[InRecord]:
        """The queued records in arrival order (inspection: take() is what batches use)."""
        # Arrival numbers are unique: the merge never compares two records.
        runs = (zip(self._arrived[p], self._parts[p], strict=True) for p in self._parts)
        merged = heapq.merge(*runs)
        return (record for _, record in merged)

    def append(self, record: InRecord) -> None:
        self.extend((record,))

    def extend(self, records: Iterable[InRecord]) -> None:
        parts, arrived = self._parts, self._arrived
        seq = self._seq
        for record in records:
            position = record.position
            queued = parts.get(position)
            if queued is None:
                queued = parts[position] = deque()
                arrived[position] = deque()
            queued.append(record)
            arrived[position].append(seq)
            seq += 1
        self._size += seq - self._seq
        self._seq = seq

    def take(self, prefer: Position | None = None) -> InRecord:
        """The next record of ``prefer`` if it has one queued, else the record that arrived
        first of all queued ones. IndexError when empty."""
        position = prefer if prefer is not None and self._parts.get(prefer) else self._oldest()
        self._arrived[position].popleft()
        self._size -= 1
        return self._parts[position].popleft()

    def clear(self) -> None:
        self._parts.clear()
        self._arrived.clear()
        self._size = 0

    def drop(self, positions: Collection[Position]) -> None:
        """Forget the queued records of these partitions (revoked or lost)."""
        for position in positions:
            queued = self._parts.pop(position, None)
            if queued is not None:
                self._size -= len(queued)
                del self._arrived[position]

    def _oldest(self) -> Position:
        heads = [(seqs[0], position) for position, seqs in self._arrived.items() if seqs]
        if not heads:
            raise IndexError("take from an empty InputQueue")
        return min(heads)[1]
