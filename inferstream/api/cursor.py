"""Opaque keyset cursors over ``(created_at, result_id)``: urlsafe base64 of a small JSON."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime

import orjson

MAX_CURSOR_LENGTH = 512


class InvalidCursorError(ValueError):
    """The cursor was not produced by this API (or was altered)."""


@dataclass(frozen=True)
class Cursor:
    created_at: datetime  # timezone-aware
    result_id: str


def encode_cursor(cursor: Cursor) -> str:
    if cursor.created_at.tzinfo is None:
        raise ValueError("cursor timestamps must be timezone-aware")
    raw = orjson.dumps({"t": cursor.created_at.isoformat(), "id": cursor.result_id})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str) -> Cursor:
    if not token or len(token) > MAX_CURSOR_LENGTH:
        raise InvalidCursorError("cursor is empty or too long")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = orjson.loads(raw)
        created_at = datetime.fromisoformat(data["t"])
        result_id = data["id"]
    except (binascii.Error, ValueError, TypeError, KeyError) as err:
        raise InvalidCursorError("cursor is not valid") from err
    if not isinstance(result_id, str) or created_at.tzinfo is None:
        raise InvalidCursorError("cursor is not valid")
    return Cursor(created_at, result_id)
