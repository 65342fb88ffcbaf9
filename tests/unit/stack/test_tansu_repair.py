"""The header parser and the choice of sequences of the Tansu state repair (stack/tansu_repair.py);
the repair itself runs against a real broker and S3 in tests/integration/test_broker_kill.py."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inferstream.stack.tansu_repair import HEADER_SIZE, current_sequences, parse_header

i16 = st.integers(-(2**15), 2**15 - 1)
i32 = st.integers(0, 2**31 - 2)
i64 = st.integers(0, 2**63 - 1)


def _header(pid: int, epoch: int, base_seq: int, last_delta: int, magic: int = 2) -> bytes:
    # base offset, length, leader epoch, magic, crc, attributes, last offset delta,
    # base/max timestamp, producer id, producer epoch, base sequence, record count
    return struct.pack(
        ">qiibIhiqqqhii",
        0,
        99,
        -1,
        magic,
        7,
        0,
        last_delta,
        1,
        2,
        pid,
        epoch,
        base_seq,
        last_delta + 1,
    )


@given(pid=i64, epoch=i16, base_seq=i32, last_delta=st.integers(0, 10_000))
def test_header_round_trip(pid: int, epoch: int, base_seq: int, last_delta: int) -> None:
    header = parse_header(_header(pid, epoch, base_seq, last_delta) + b"records follow")
    assert (header.producer_id, header.producer_epoch) == (pid, epoch)
    assert header.next_sequence == base_seq + last_delta + 1


def test_a_short_or_foreign_header_is_refused() -> None:
    with pytest.raises(ValueError, match="61 bytes"):
        parse_header(_header(1, 0, 0, 0)[: HEADER_SIZE - 1])
    with pytest.raises(ValueError, match="magic 1"):
        parse_header(_header(1, 0, 0, 0, magic=1))


def test_only_the_latest_epoch_of_each_producer_counts() -> None:
    # The shape Tansu writes to clusters/<cluster>/meta.json (keys are strings in JSON).
    meta = {
        "producers": {
            "7": {"sequences": {"0": {"t": {"0": 50}}, "2": {"t": {"0": 5, "3": 9}}}},
            "8": {"sequences": {"0": {"u": {"1": 12}}}},
            "9": {"sequences": {}},
        },
        "topics": {},
        "transactions": {},
    }
    assert current_sequences(meta) == {
        ("t", 0): {(7, 2): 5},
        ("t", 3): {(7, 2): 9},
        ("u", 1): {(8, 0): 12},
    }
