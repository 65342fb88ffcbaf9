"""Offset gaps a stage's consumer must not step over at once: a batch the broker has numbered
but not yet stored.

Why: the embedded Tansu's s3 engine (0.6.0-133-g510f3e2, `tansu-storage/src/dynostore.rs`)
takes a produce's offsets by advancing the partition's `watermark.json` and only then writes
the batch object; a fetch lists the stored batch objects below the high watermark and returns
those at or after the fetch offset. With two producers writing one partition, the batch of
the later offsets can be stored first; a fetch in that window returns it, the consumer's
position moves past the earlier batch, and that consumer never reads it (its group then
commits past it: a submission neither enriched nor dead-lettered). Kafka itself never hands a
consumer offsets past a hole that is still being written, but a gap can be legitimate there
(transaction markers, compaction), hence a bounded wait, and a setting to turn it off.

The guard: per partition, the offset the consumer should see next. A record beyond it is a
gap: the records of that partition are dropped from this poll and the consumer is sent back to
the expected offset (``seeks``); the next fetch returns the late batch once it is stored. A
gap still open after ``wait_s`` is taken as a hole that will never be filled (Tansu killed
between the two writes leaves one) and stepped over. ``GapGuard`` is pure; ``admit_messages``
seeks the consumer and ``log_gaps`` writes the decisions to the worker's log. Every consumer of
a topic with several producers uses them: the stage runtime's poll loop, the archive's, and
infer's result follower.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import Consumer, Message, TopicPartition

from inferstream.workers.runtime.records import InRecord
from inferstream.workers.runtime.watermark import Position

__all__ = [
    "Admitted",
    "Gap",
    "GapGuard",
    "Position",
    "admit_messages",
    "admit_records",
    "log_gaps",
]


@dataclass(frozen=True)
class Gap:
    position: Position
    expected: int  # the offset the consumer should have seen next
    got: int  # the offset it was handed instead

    def fields(self) -> dict[str, object]:
        topic, partition = self.position
        return {"partition": f"{topic}:{partition}", "expected": self.expected, "got": self.got}


@dataclass
class Admitted:
    """What ``GapGuard.admit`` decided for one poll's records."""

    keep: list[bool] = field(default_factory=list)  # per record, in order
    seeks: dict[Position, int] = field(default_factory=dict)  # partition -> offset to re-read
    opened: list[Gap] = field(default_factory=list)  # gaps first seen now (log them)
    stepped_over: list[Gap] = field(default_factory=list)  # gaps given up on now (log them)


class GapGuard:
    def __init__(self, wait_s: float) -> None:
        self.wait_s = wait_s
        self._next: dict[Position, int] = {}
        self._open: dict[Position, tuple[int, float]] = {}  # expected offset, first seen

    def expect(self, pos: Position, offset: int) -> None:
        """Where a partition starts, when the caller knows it (stored offsets, a seek): its first
        record is checked too. Otherwise the first record after an assignment sets the count."""
        self._next[pos] = offset
        self._open.pop(pos, None)

    def forget(self, positions: Iterable[Position]) -> None:
        """Assigned anew, revoked or lost: the next record of each starts a fresh count."""
        for pos in positions:
            self._next.pop(pos, None)
            self._open.pop(pos, None)

    def admit(self, records: Sequence[tuple[Position, int]], now: float) -> Admitted:
        """Which of one poll's (position, offset) pairs, in poll order, go to the stage."""
        out = Admitted()
        keep = out.keep
        expect = self._next
        sent_back: set[Position] = set()
        for pos, offset in records:
            expected = expect.get(pos)
            if (expected is None or offset <= expected) and not sent_back:
                # The usual case: the offset expected next, or a read again (no gap).
                if self._open:
                    self._open.pop(pos, None)
                expect[pos] = offset + 1
                keep.append(True)
                continue
            if pos in sent_back:  # behind a gap: read again after the seek
                keep.append(False)
                continue
            gap = Gap(pos, expected, offset) if expected is not None and offset > expected else None
            if gap is not None and self._waits(gap, now, out):
                keep.append(False)
                out.seeks[pos] = gap.expected
                sent_back.add(pos)
                continue
            if gap is not None:
                out.stepped_over.append(gap)
            self._open.pop(pos, None)
            expect[pos] = offset + 1
            keep.append(True)
        return out

    def _waits(self, gap: Gap, now: float, out: Admitted) -> bool:
        """Whether the gap is still worth waiting for (its first sight is recorded)."""
        opened = self._open.get(gap.position)
        if opened is None or opened[0] != gap.expected:
            opened = (gap.expected, now)
            self._open[gap.position] = opened
            out.opened.append(gap)
        return now - opened[1] < self.wait_s

    def waiting(self) -> bool:
        """Whether a gap is open (the poll loop should come back soon, not idle)."""
        return bool(self._open)


def admit_messages(
    guard: GapGuard, consumer: Consumer, messages: Sequence[Message], now: float
) -> tuple[list[Message], Admitted]:
    """The guard on one poll's messages: those to hand on (errors pass through untouched), and
    the partitions sent back to their expected offset (the consumer is seeked here)."""
    records = [m for m in messages if m.error() is None]
    admitted = guard.admit(
        [((str(m.topic()), int(m.partition() or 0)), int(m.offset() or 0)) for m in records], now
    )
    dropped = {id(m) for m, keep in zip(records, admitted.keep, strict=True) if not keep}
    _send_back(consumer, admitted)
    return [m for m in messages if id(m) not in dropped], admitted


def admit_records(
    guard: GapGuard, consumer: Consumer, records: Sequence[InRecord], now: float
) -> tuple[list[InRecord], Admitted]:
    """``admit_messages`` on records built already (the stage runner's poll loop builds them
    first, so each message's topic, partition and offset are read once)."""
    admitted = guard.admit([(record.position, record.offset) for record in records], now)
    _send_back(consumer, admitted)
    if admitted.seeks:
        return [r for r, keep in zip(records, admitted.keep, strict=True) if keep], admitted
    return list(records), admitted


def _send_back(consumer: Consumer, admitted: Admitted) -> None:
    """Seek each partition the guard sent back to the offset it expects next."""
    for (topic, partition), offset in admitted.seeks.items():
        consumer.seek(TopicPartition(topic, partition, offset))


def log_gaps(log: Any, admitted: Admitted) -> None:
    """One log line per gap first seen or given up on in one poll (``log``: a structlog logger)."""
    for gap in admitted.opened:
        log.info("offset gap: waiting for a batch stored late", **gap.fields())
    for gap in admitted.stepped_over:
        log.warning("offset gap stepped over: no record there", **gap.fields())
