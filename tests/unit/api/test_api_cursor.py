"""The opaque keyset cursor codec over (txid, seq)."""

from __future__ import annotations

import base64
import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inferstream.api.cursor import Cursor, InvalidCursorError, decode_cursor, encode_cursor

txids = st.integers(min_value=0, max_value=2**64 - 1)
seqs = st.integers(min_value=0, max_value=2**63 - 1)


@given(txids, seqs)
def test_round_trip(txid: int, seq: int) -> None:
    token = encode_cursor(Cursor(txid, seq))
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert decode_cursor(token) == Cursor(txid, seq)


@given(st.text(max_size=600))
def test_garbage_is_refused_with_one_error_type(token: str) -> None:
    with contextlib.suppress(InvalidCursorError):
        decode_cursor(token)


@pytest.mark.parametrize(
    "payload",
    [
        b"[]",
        b'{"x": "1", "s": 2}',
        b'{"x": 1}',
        b'{"x": -1, "s": 2}',
        b'{"x": true, "s": 2}',
        b'{"x": 1, "s": 1.5}',
        b'{"x": 18446744073709551616, "s": 1}',
        b'{"t": "2024-01-01T00:00:00+00:00", "id": "x"}',  # a cursor of the old format
    ],
)
def test_well_formed_base64_of_the_wrong_json_is_refused(payload: bytes) -> None:
    with pytest.raises(InvalidCursorError):
        decode_cursor(base64.urlsafe_b64encode(payload).decode())
