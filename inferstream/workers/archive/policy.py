"""Which records go into which results-lake file, and what the file is called.

Pure: no broker, no object store. The archive is exactly-once the way Kafka Connect's S3 sink
is: a file is named by topic, partition and the offset of its first record, and whether it is
closed depends only on the records since that first record (a count, or the records' own
timestamps). Offsets are committed only up to the end of a written file, so a consumer that
restarts from the committed offset starts a file at the same record and closes it at the same
record: a replay rewrites the same keys with the same records (and, with a deterministic
encoder, the same bytes).

Time rotation uses record time, never the wall clock: a file is closed before the first
record whose timestamp reaches the end of the window (aligned to `window_ms`) that the file's
first record falls in. Late records (older timestamps) stay in the open file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import NamedTuple

PREFIX = "archive"
OFFSET_WIDTH = 10  # zero-padded, as Connect does, so listings sort by offset


class ArchiveRecord(NamedTuple):
    offset: int
    timestamp_ms: int | None
    key: bytes | None
    value: bytes


@dataclass(frozen=True)
class RotationPolicy:
    max_records: int
    window_ms: int = 0  # 0: count rotation only

    def __post_init__(self) -> None:
        if self.max_records < 1 or self.window_ms < 0:
            raise ValueError("max_records must be >= 1 and window_ms >= 0")

    def window_end(self, timestamp_ms: int | None) -> int | None:
        """End (exclusive) of the record-time window a file starting at this time covers."""
        if not self.window_ms or timestamp_ms is None:
            return None
        return (timestamp_ms // self.window_ms + 1) * self.window_ms


@dataclass(frozen=True)
class ClosedFile:
    topic: str
    partition: int
    records: tuple[ArchiveRecord, ...]

    @property
    def start_offset(self) -> int:
        return self.records[0].offset

    @property
    def next_offset(self) -> int:
        """The offset to commit once this file is written."""
        return self.records[-1].offset + 1


@dataclass
class Rotator:
    """The open file of one partition. Records arrive in offset order, unless the consumer is
    sent back (an offset reset, a partition handed back at an older committed offset)."""

    topic: str
    partition: int
    policy: RotationPolicy
    _open: list[ArchiveRecord] = field(default_factory=list)
    _window_end: int | None = None
    # Records before this offset are in files closed already: the end of the last file closed
    # here or, until one is, the partition's first record (its committed offset, where the
    # files of earlier owners end, or the start of the log). None before the first record.
    archived_to: int | None = None
    # Records skipped since the last one kept (sent back into a closed file).
    skipped: int = 0

    def add(self, record: ArchiveRecord) -> list[ClosedFile]:
        """Files closed by this record (at most two: one by time before it, one by count)."""
        if self.archived_to is None:
            self.archived_to = record.offset
        elif record.offset < self.archived_to:
            self.skipped += 1  # in a closed file: a file started here would overlap it
            return []
        self.skipped = 0
        if self.sent_back(record.offset):
            self._rewind(record.offset)
        closed: list[ClosedFile] = []
        if self._open and self._passes_window(record):
            closed.append(self._close())
        if not self._open:
            self._window_end = self.policy.window_end(record.timestamp_ms)
        self._open.append(record)
        if len(self._open) >= self.policy.max_records:
            closed.append(self._close())
        return closed

    def archived(self, offset: int) -> bool:
        """Whether a record at this offset is in a file closed already (the consumer was sent
        back past the open file's start): `add` skips it."""
        return self.archived_to is not None and offset < self.archived_to

    def sent_back(self, offset: int) -> bool:
        """Whether a record at this offset sends the open file back (it is not after its last)."""
        return bool(self._open) and offset <= self._open[-1].offset

    def _rewind(self, offset: int) -> None:
        """The consumer was sent back to `offset`: the open file keeps only its records before
        it, so the file is again what one pass over the log builds. Sent back inside the open
        file, the file goes on as if never interrupted; to its start (the end of the last
        closed file, a committed offset), the file starts again there, as a restart from that
        offset would start it. Sent back further, into a closed file, the records up to that
        file's end are skipped (`add`): they are in the lake already, and a file started among
        them would overlap the closed one (a log truncated and written again under a closed
        file differs from the lake there: `inferstream verify` reports it)."""
        self._open = [r for r in self._open if r.offset < offset]
        timed = next((r.timestamp_ms for r in self._open if r.timestamp_ms is not None), None)
        self._window_end = self.policy.window_end(timed)

    @property
    def buffered(self) -> int:
        """Records in the open file (not written, not committed)."""
        return len(self._open)

    def _passes_window(self, record: ArchiveRecord) -> bool:
        if self._window_end is None:
            # The first record had no timestamp: the first timed record sets the window.
            self._window_end = self.policy.window_end(record.timestamp_ms)
            return False
        return record.timestamp_ms is not None and record.timestamp_ms >= self._window_end

    def _close(self) -> ClosedFile:
        done = ClosedFile(self.topic, self.partition, tuple(self._open))
        self.archived_to = done.next_offset
        self._open = []
        self._window_end = None
        return done


def object_key(task: str, topic: str, partition: int, start_offset: int) -> str:
    """archive/<task>/partition=<p>/<topic>+<p>+<start offset>.parquet"""
    start = f"{start_offset:0{OFFSET_WIDTH}d}"
    return f"{PREFIX}/{task}/partition={partition}/{topic}+{partition}+{start}.parquet"


_KEY = re.compile(r"^archive/([^/]+)/partition=(\d+)/(.+)\+(\d+)\+(\d+)\.parquet$")


@dataclass(frozen=True, order=True)
class KeyParts:
    task: str
    topic: str
    partition: int
    start_offset: int


def parse_key(key: str) -> KeyParts | None:
    """The parts of an archive key, or None for anything else under the prefix."""
    match = _KEY.match(key)
    if match is None or match.group(2) != match.group(4):
        return None
    return KeyParts(match.group(1), match.group(3), int(match.group(2)), int(match.group(5)))
