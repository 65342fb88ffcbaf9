"""What an infer worker knows of its own results on the result topic, so that its follower
need not fetch them (pure bookkeeping; the follower does the I/O).

The worker puts its own results into the dedup index itself (``InferLogic.after_durable``), so
the follower only needs the results of others: other workers, or this worker's previous run.
Two facts make that cheap:

- ``add`` registers a result's key before it is produced, so a record whose key is here is
  ours (the follower skips it without decoding it: parsing 384 floats per result cost ~5 % of
  an infer worker's CPU);
- ``durable`` records a key once its record is acknowledged (a key registered but never
  acknowledged stops being ours then). Those durable records, not read yet, are all at or
  after the follower's positions. If each partition's high watermark, read
  from a fetch response, equals its position plus the durable records the partitioner sends
  there (``expected_ends``), then the records between the positions and those ends, summed
  over the partitions, are exactly as many as our durable records: no other producer wrote
  any of them, and nothing of ours is in flight. The follower then moves its positions there
  without fetching a record (``settle``). A wrong partition guess can only make the ends
  differ (then it reads, as before): the proof rests on the sum, not on the guess.
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Collection, Mapping, Sequence


def partition_of(key: bytes, partitions: int) -> int:
    """The partition librdkafka's default partitioner (``consistent_random``: CRC-32 of the key)
    gives a keyed record. Only a guess for ``expected_ends``: a wrong one costs a read."""
    return zlib.crc32(key) % partitions


def expected_ends(
    positions: Mapping[int, int], durable: Collection[bytes]
) -> dict[int, int] | None:
    """Each partition's end if the topic holds nothing after ``positions`` but ``durable``
    (our acknowledged, unread records); None while a position is not known yet (a partition
    still to be read from its beginning)."""
    if not positions or any(offset < 0 for offset in positions.values()):
        return None
    ends = dict(positions)
    for key in durable:
        ends[partition_of(key, len(positions))] += 1
    return ends


def proven(expected: Mapping[int, int], ends: Mapping[int, int]) -> bool:
    """True when every partition's reported end is the expected one."""
    return bool(expected) and all(ends.get(p) == end for p, end in expected.items())


class OwnResults:
    """Keys of this worker's results the follower has not read or skipped yet (thread-safe:
    the run thread adds, the follower thread takes and settles)."""

    def __init__(self) -> None:
        self._keys: set[bytes] = set()
        self._durable: set[bytes] = set()  # acknowledged, a subset of _keys
        # Added since the last durable(): every key of _keys not in _durable is one of these,
        # so durable() drops the keys never acknowledged from them alone, in time per batch
        # (an intersection of _keys with _durable walked every key the follower had not
        # passed yet: many while it lags; benchmarks/infer_stage_cpu.py runs no follower, so
        # all of them, ~6 us per record over 20,000 records).
        self._pending: set[bytes] = set()
        self._lock = threading.Lock()
        # Set when a batch has just been acknowledged: the worker's next produce is a whole
        # batch away, the moment at which a check of the ends is least likely to race it.
        self.acknowledged = threading.Event()

    def add(self, keys: Sequence[bytes]) -> None:
        """Before the records are produced: the follower must know a key before it can read it."""
        with self._lock:
            self._keys.update(keys)
            self._pending.update(keys)

    def durable(self, keys: Sequence[bytes]) -> None:
        """Once a batch's records are acknowledged. A key the follower has already read (or
        never added) is not counted: only records it has still to pass are.

        Every other key not durable by now was registered by an attempt whose records were
        never acknowledged (a retry that dead-lettered them, a batch given up), so it is no
        longer ours: another worker's result with that key must reach the index, and a copy of
        ours that did land is read like anyone's. Sound because infer runs one batch at a time
        (its outputs are not coalesced, runtime/logic.py): when a batch is acknowledged, no
        other batch of this worker is in flight."""
        with self._lock:
            self._durable.update(key for key in keys if key in self._keys)
            self._keys.difference_update(self._pending.difference(self._durable))
            self._pending.clear()
        self.acknowledged.set()

    def take(self, key: bytes | None) -> bool:
        """True (and forgotten) when ``key`` is one of ours: the follower read its record."""
        if key is None:
            return False
        with self._lock:
            if key in self._keys:
                self._keys.discard(key)
                self._durable.discard(key)
                return True
        return False

    def snapshot(self) -> frozenset[bytes]:
        """The acknowledged records not read yet."""
        with self._lock:
            return frozenset(self._durable)

    def settle(self, skipped: Collection[bytes]) -> None:
        """The follower moved past these records without reading them."""
        with self._lock:
            self._keys.difference_update(skipped)
            self._durable.difference_update(skipped)

    def __len__(self) -> int:
        return len(self._keys)
