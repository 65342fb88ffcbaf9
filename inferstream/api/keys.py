"""API keys: ``<prefix><lookup>_<secret>``, stored as an argon2id hash with a lookup prefix.

The lookup part (8 characters of ``[a-z0-9]``) is public: it is shown in listings and, joined to
the configured prefix, is the ``api_keys.key_prefix`` column used to find the row. The secret (43
base62 characters, about 256 bits) is shown once at creation; only the argon2id hash of the whole
key is stored.
"""

from __future__ import annotations

import re
import secrets
import string
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from typing import Any

import psycopg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from psycopg.rows import dict_row

LOOKUP_LENGTH = 8
SECRET_LENGTH = 43
_LOOKUP_ALPHABET = string.ascii_lowercase + string.digits
_SECRET_ALPHABET = string.ascii_letters + string.digits
_BODY = re.compile(rf"^([a-z0-9]{{{LOOKUP_LENGTH}}})_([A-Za-z0-9]{{32,128}})$")
# Postgres NOTIFY channel: revoke_key announces the key prefix on it (api/revocations.py).
REVOCATION_CHANNEL = "inferstream_api_key_revoked"
_HASHER = PasswordHasher()  # argon2id with the library's (RFC 9106 low-memory) parameters


class Role(IntEnum):
    """Roles in increasing order of privilege: a role grants everything below it."""

    reader = 1
    producer = 2
    admin = 3


class UnknownKeyError(LookupError):
    """No API key has this lookup prefix."""


@dataclass(frozen=True)
class ParsedKey:
    prefix: str  # the configured prefix + the lookup part: the api_keys.key_prefix value
    secret: str


@dataclass(frozen=True)
class NewKey:
    key: str  # the full key: shown once, never stored
    record: KeyRecord


@dataclass(frozen=True)
class KeyRecord:
    id: int
    key_prefix: str
    name: str
    role: Role
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None

    def status(self, now: datetime) -> str:
        if self.revoked_at is not None and self.revoked_at <= now:
            return "revoked"
        if self.expires_at <= now:
            return "expired"
        return "active"


def generate_key(prefix: str) -> str:
    """A fresh random key with the given public prefix (e.g. ``isk_live_``)."""
    lookup = "".join(secrets.choice(_LOOKUP_ALPHABET) for _ in range(LOOKUP_LENGTH))
    secret = "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(SECRET_LENGTH))
    return f"{prefix}{lookup}_{secret}"


def parse_key(key: str, prefix: str) -> ParsedKey | None:
    """Split a presented key; None when it is not shaped like one of ours."""
    if not key.startswith(prefix):
        return None
    match = _BODY.match(key[len(prefix) :])
    if match is None:
        return None
    return ParsedKey(prefix=prefix + match.group(1), secret=match.group(2))


def hash_key(key: str) -> str:
    return _HASHER.hash(key)


def verify_hash(key_hash: str, key: str) -> bool:
    try:
        return _HASHER.verify(key_hash, key)
    except (VerificationError, InvalidHashError):
        return False


_COLUMNS = "id, key_prefix, name, role, created_at, expires_at, revoked_at, last_used_at"


def _record(row: dict[str, Any]) -> KeyRecord:
    return KeyRecord(
        id=row["id"],
        key_prefix=row["key_prefix"],
        name=row["name"],
        role=Role[row["role"]],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
        last_used_at=row["last_used_at"],
    )


def create_key(
    conn: psycopg.Connection[Any], *, prefix: str, name: str, role: Role, ttl_days: int
) -> NewKey:
    """Insert a new key (retrying the rare lookup collision) and return it with its record."""
    if not 1 <= len(name) <= 200:
        raise ValueError("key name must have 1 to 200 characters")
    if ttl_days < 1:
        raise ValueError("ttl_days must be >= 1")
    for _ in range(5):
        key = generate_key(prefix)
        parsed = parse_key(key, prefix)
        assert parsed is not None
        with conn.cursor(row_factory=dict_row) as cur:
            cur.execute(
                "INSERT INTO api_keys (key_prefix, key_hash, name, role, expires_at) "
                "VALUES (%s, %s, %s, %s, now() + make_interval(days => %s)) "
                f"ON CONFLICT (key_prefix) DO NOTHING RETURNING {_COLUMNS}",
                (parsed.prefix, hash_key(key), name, role.name, ttl_days),
            )
            row = cur.fetchone()
        if row is not None:
            return NewKey(key=key, record=_record(row))
    raise RuntimeError("could not allocate a unique key prefix")  # pragma: no cover


def get_key(conn: psycopg.Connection[Any], key_prefix: str) -> tuple[KeyRecord, str] | None:
    """The record and the stored hash for a lookup prefix."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            f"SELECT {_COLUMNS}, key_hash FROM api_keys WHERE key_prefix = %s", (key_prefix,)
        )
        row = cur.fetchone()
    return None if row is None else (_record(row), str(row["key_hash"]))


def list_keys(conn: psycopg.Connection[Any]) -> list[KeyRecord]:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(f"SELECT {_COLUMNS} FROM api_keys ORDER BY created_at, id")
        return [_record(row) for row in cur.fetchall()]


def revoke_key(conn: psycopg.Connection[Any], key_prefix: str) -> KeyRecord:
    """Revoke now (idempotent: an already revoked key keeps its first revocation time)."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, now()) "
            f"WHERE key_prefix = %s RETURNING {_COLUMNS}",
            (key_prefix,),
        )
        row = cur.fetchone()
    if row is None:
        raise UnknownKeyError(f"no API key with prefix {key_prefix!r}")
    # Every API replica drops the key from its cache when this commits (not only at TTL).
    conn.execute("SELECT pg_notify(%s, %s)", (REVOCATION_CHANNEL, key_prefix))
    return _record(row)


def rotate_key(
    conn: psycopg.Connection[Any], key_prefix: str, *, prefix: str, ttl_days: int
) -> tuple[NewKey, KeyRecord]:
    """A replacement with the same name and role, and the old key revoked, in one transaction."""
    with conn.transaction():
        found = get_key(conn, key_prefix)
        if found is None:
            raise UnknownKeyError(f"no API key with prefix {key_prefix!r}")
        old, _ = found
        new = create_key(conn, prefix=prefix, name=old.name, role=old.role, ttl_days=ttl_days)
        revoked = revoke_key(conn, key_prefix)
    return new, revoked


def touch_key(conn: psycopg.Connection[Any], key_id: int) -> None:
    """Record use; at most once a minute per key so a busy key does not write per request."""
    conn.execute(
        "UPDATE api_keys SET last_used_at = now() WHERE id = %s "
        "AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')",
        (key_id,),
    )


def expiring_soon(records: list[KeyRecord], now: datetime, days: int = 7) -> list[KeyRecord]:
    """Active keys that expire within ``days``."""
    horizon = now + timedelta(days=days)
    return [r for r in records if r.status(now) == "active" and r.expires_at <= horizon]


def utcnow() -> datetime:
    return datetime.now(UTC)
