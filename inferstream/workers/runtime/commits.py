"""What the broker holds of a worker's committed offsets, and which commits are on their way.

The poll loop commits done watermarks asynchronously: a synchronous commit held the loop for
the broker's answer (on the embedded Tansu an S3 object write, tens of ms and more under
load), and no record was handed to the stage meanwhile. This ledger is the bookkeeping that
keeps asynchronous commits right, pure (the caller passes the clock and the answers):

- a position is *acknowledged* at the highest offset the broker confirmed for it;
- while a commit of a position is on its way, no other is sent for it (unless its answer is
  overdue, ``answer_timeout_s``: the client answers every commit, failures included, so that
  bound only guards against an answer that never comes). One commit at a time per partition
  keeps them in order: a later offset can never be overtaken by an earlier one's retry;
- a failed answer clears the send, so the next due commit retries the offset;
- an answer for a position no longer owned (revoked or lost: ``forget``) changes nothing,
  so a late answer of a revoked partition's commit cannot shadow a later owner's offsets.

Offsets only grow per owned partition (watermark.py), so an answer for an older send than the
latest (after an overdue one was sent again) still counts as acknowledged up to its offset.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from inferstream.workers.runtime.watermark import Position


@dataclass(frozen=True)
class _Sent:
    offset: int
    at: float  # the caller's clock when it was sent


class CommitLedger:
    def __init__(self, answer_timeout_s: float) -> None:
        self._timeout = answer_timeout_s
        self._acked: dict[Position, int] = {}
        self._sent: dict[Position, _Sent] = {}

    def due(
        self,
        committable: Mapping[Position, int],
        now: float,
        *,
        include_in_flight: bool = False,
    ) -> dict[Position, int]:
        """The offsets to commit: the broker does not hold them yet and (unless
        ``include_in_flight``, for the synchronous final commit) no commit of their partition
        is on its way."""
        wanted: dict[Position, int] = {}
        for pos, offset in committable.items():
            if self._acked.get(pos) == offset:
                continue
            sent = self._sent.get(pos)
            if not include_in_flight and sent is not None and now - sent.at < self._timeout:
                continue
            wanted[pos] = offset
        return wanted

    def sent(self, offsets: Mapping[Position, int], now: float) -> None:
        """Offsets handed to the client asynchronously; their answers come later."""
        for pos, offset in offsets.items():
            self._sent[pos] = _Sent(offset, now)

    def answered(self, pos: Position, offset: int, ok: bool) -> None:
        """The broker's answer to an asynchronous commit of ``offset`` on ``pos``."""
        sent = self._sent.get(pos)
        if sent is None or offset > sent.offset:
            return  # not ours to count: revoked since, or an answer to a synchronous commit
        if ok:
            self._raise(pos, offset)
        if sent.offset == offset:
            del self._sent[pos]  # settled either way; a failure is retried when next due

    def acknowledged(self, offsets: Mapping[Position, int]) -> None:
        """Offsets a synchronous commit got confirmed."""
        for pos, offset in offsets.items():
            self._raise(pos, offset)
            sent = self._sent.get(pos)
            if sent is not None and sent.offset <= offset:
                del self._sent[pos]  # superseded: its answer adds nothing

    def forget(self, positions: Iterable[Position]) -> None:
        """Positions no longer owned: their sends' answers will be ignored."""
        for pos in positions:
            self._acked.pop(pos, None)
            self._sent.pop(pos, None)

    def settled(self, committable: Mapping[Position, int]) -> bool:
        """Whether the broker holds every committable offset (nothing left to commit)."""
        return all(self._acked.get(pos) == offset for pos, offset in committable.items())

    def acked(self, pos: Position) -> int | None:
        return self._acked.get(pos)

    def in_flight(self, pos: Position) -> int | None:
        sent = self._sent.get(pos)
        return None if sent is None else sent.offset

    def _raise(self, pos: Position, offset: int) -> None:
        current = self._acked.get(pos)
        if current is None or offset > current:
            self._acked[pos] = offset
