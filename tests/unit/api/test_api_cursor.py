"""The opaque keyset cursor codec."""

from __future__ import annotations

import base64
import contextlib
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inferstream.api.cursor import Cursor, InvalidCursorError, decode_cursor, encode_cursor

aware = st.datetimes(
    min_value=datetime(1970, 1, 1),
    max_value=datetime(9999, 1, 1),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30))]),
)


@given(aware, st.text(max_size=64))
def test_round_trip(created_at: datetime, result_id: str) -> None:
    token = encode_cursor(Cursor(created_at, result_id))
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    decoded = decode_cursor(token)
    assert decoded == Cursor(created_at, result_id)
    assert decoded.created_at.utcoffset() == created_at.utcoffset()


@given(st.text(max_size=600))
def test_garbage_is_refused_with_one_error_type(token: str) -> None:
    with contextlib.suppress(InvalidCursorError):
        decode_cursor(token)


@pytest.mark.parametrize(
    "payload",
    [b"[]", b'{"t": 1, "id": "x"}', b'{"t": "2024-01-01T00:00:00", "id": "x"}', b'{"id": "x"}'],
)
def test_well_formed_base64_of_the_wrong_json_is_refused(payload: bytes) -> None:
    with pytest.raises(InvalidCursorError):
        decode_cursor(base64.urlsafe_b64encode(payload).decode())


def test_naive_timestamps_cannot_be_encoded() -> None:
    with pytest.raises(ValueError, match="timezone"):
        encode_cursor(Cursor(datetime(2024, 1, 1), "x"))
