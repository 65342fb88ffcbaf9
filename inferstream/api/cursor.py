"""Opaque keyset cursors over ``(txid, seq)``: urlsafe base64 of a small JSON.

Results are listed in commit-safe order (see migration 0003): the writing transaction's id,
then the row's identity. A cursor names the last row returned; the next page starts after it.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson

MAX_CURSOR_LENGTH = 512

# Rows of transactions older than the oldest one still running: nothing can commit later with
# a smaller (txid, seq), so a keyset over them never steps past a row (migration 0003).
SETTLED = "txid < pg_snapshot_xmin(pg_current_snapshot())"


class InvalidCursorError(ValueError):
    """The cursor was not produced by this API (or was altered)."""


@dataclass(frozen=True)
class Cursor:
    txid: int  # xid8 of the transaction that wrote the row
    seq: int  # the row's identity within the table


Row = TypeVar("Row", bound=Mapping[str, Any])


def split_page(rows: Sequence[Row], limit: int) -> tuple[Sequence[Row], Cursor | None, bool]:
    """Rows fetched with ``LIMIT limit + 1`` (selecting ``txid::text AS txid_text`` and ``seq``):
    the page, the cursor after its last row, and whether more follow."""
    page = rows[:limit]
    last = Cursor(int(page[-1]["txid_text"]), page[-1]["seq"]) if page else None
    return page, last, len(rows) > limit


def encode_cursor(cursor: Cursor) -> str:
    raw = orjson.dumps({"x": cursor.txid, "s": cursor.seq})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str) -> Cursor:
    if not token or len(token) > MAX_CURSOR_LENGTH:
        raise InvalidCursorError("cursor is empty or too long")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = orjson.loads(raw)
        txid, seq = data["x"], data["s"]
    except (binascii.Error, ValueError, TypeError, KeyError) as err:
        raise InvalidCursorError("cursor is not valid") from err
    valid = all(isinstance(v, int) and not isinstance(v, bool) for v in (txid, seq))
    if not valid or txid < 0 or seq < 0 or txid >= 2**64 or seq >= 2**63:
        raise InvalidCursorError("cursor is not valid")
    return Cursor(txid, seq)
