"""API key format, parsing and argon2id hashing."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inferstream.api.keys import (
    KeyRecord,
    Role,
    expiring_soon,
    generate_key,
    hash_key,
    parse_key,
    verify_hash,
)

PREFIX = "isk_live_"


def test_generated_keys_have_the_documented_shape_and_parse_back() -> None:
    key = generate_key(PREFIX)
    assert re.fullmatch(r"isk_live_[a-z0-9]{8}_[A-Za-z0-9]{43}", key)
    parsed = parse_key(key, PREFIX)
    assert parsed is not None
    assert parsed.prefix == key[: len(PREFIX) + 8]
    assert parsed.secret == key[len(PREFIX) + 9 :]
    assert generate_key(PREFIX) != key


@pytest.mark.parametrize(
    "candidate",
    [
        "",
        "isk_live_",
        "isk_test_abcdefgh_" + "A" * 40,  # another prefix
        "isk_live_abcdefg_" + "A" * 40,  # lookup too short
        "isk_live_ABCDEFGH_" + "A" * 40,  # lookup upper case
        "isk_live_abcdefgh_" + "A" * 31,  # secret too short
        "isk_live_abcdefgh_" + "A" * 129,  # secret too long
        "isk_live_abcdefgh-" + "A" * 40,
        "isk_live_abcdefgh_" + "A" * 39 + "!",
        " isk_live_abcdefgh_" + "A" * 40,
    ],
)
def test_malformed_keys_do_not_parse(candidate: str) -> None:
    assert parse_key(candidate, PREFIX) is None


@given(st.text(max_size=80))
def test_parsing_arbitrary_text_never_raises(text: str) -> None:
    parse_key(text, PREFIX)


def test_the_hash_is_argon2id_and_verifies_only_the_same_key() -> None:
    key = generate_key(PREFIX)
    stored = hash_key(key)
    assert stored.startswith("$argon2id$")
    assert key not in stored
    assert verify_hash(stored, key)
    assert not verify_hash(stored, key[:-1] + ("A" if key[-1] != "A" else "B"))
    assert not verify_hash("not a hash", key)


def test_roles_are_ordered() -> None:
    assert Role.reader < Role.producer < Role.admin


def test_status_and_expiry_warnings() -> None:
    now = datetime(2025, 1, 1, tzinfo=UTC)

    def record(expires_in: timedelta, revoked: bool = False) -> KeyRecord:
        return KeyRecord(
            id=1,
            key_prefix="isk_live_abcdefgh",
            name="n",
            role=Role.reader,
            created_at=now - timedelta(days=1),
            expires_at=now + expires_in,
            revoked_at=now if revoked else None,
            last_used_at=None,
        )

    soon, later = record(timedelta(days=3)), record(timedelta(days=30))
    gone, revoked = record(timedelta(days=-1)), record(timedelta(days=3), revoked=True)
    assert [r.status(now) for r in (soon, later, gone, revoked)] == [
        "active",
        "active",
        "expired",
        "revoked",
    ]
    assert expiring_soon([soon, later, gone, revoked], now) == [soon]
