"""Per-partition contiguous commit watermarks.

Records are registered when polled and marked done when their outputs are durable, possibly
out of order. The committable position of a partition is the lowest offset not yet done: never
past a record that is still in flight, so a crash can only cause reprocessing, never a skip.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable

Position = tuple[str, int]


class _Partition:
    __slots__ = ("done", "next_offset", "pending")

    def __init__(self) -> None:
        self.pending: list[int] = []  # min-heap of offsets polled and not yet done
        self.done: set[int] = set()  # done offsets above the lowest pending one
        self.next_offset: int | None = None  # committable position (lowest not done)


class OffsetTracker:
    def __init__(self) -> None:
        self._parts: dict[Position, _Partition] = {}

    def assign(self, positions: Iterable[Position]) -> None:
        for pos in positions:
            self._parts.setdefault(pos, _Partition())

    def revoke(self, positions: Iterable[Position]) -> None:
        for pos in positions:
            self._parts.pop(pos, None)

    def positions(self) -> list[Position]:
        return list(self._parts)

    def polled(self, pos: Position, offset: int) -> None:
        """Register an offset handed to the stage (in poll order, ascending per partition)."""
        part = self._parts.get(pos)
        if part is None:  # not setdefault: that built a _Partition for every record
            part = self._parts[pos] = _Partition()
        heapq.heappush(part.pending, offset)

    def done(self, pos: Position, offset: int) -> None:
        """Mark an offset's outputs durable; ignored for partitions no longer owned."""
        part = self._parts.get(pos)
        if part is None:
            return
        if part.pending and part.pending[0] == offset and not part.done:
            # The usual case, in poll order: the lowest pending offset and nothing done above
            # it, so it alone moves the watermark (the loop below, without a set per record).
            heapq.heappop(part.pending)
            part.next_offset = offset + 1
            return
        part.done.add(offset)
        while part.pending and part.pending[0] in part.done:
            finished = heapq.heappop(part.pending)
            part.done.discard(finished)
            part.next_offset = finished + 1

    def pending(self) -> bool:
        """Whether any owned partition has an offset polled and not yet done."""
        return any(part.pending for part in self._parts.values())

    def in_flight(self, pos: Position) -> int:
        part = self._parts.get(pos)
        return 0 if part is None else len(part.pending)

    def committable(self) -> dict[Position, int]:
        """Position -> next offset to commit, for partitions that advanced at least once."""
        return {
            pos: part.next_offset
            for pos, part in self._parts.items()
            if part.next_offset is not None
        }
