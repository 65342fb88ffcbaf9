"""Authentication (API keys, cached verification), authorisation (roles) and rate limits.

Verifying a key costs one argon2id hash, so verified keys are cached in-process for
``ttl_s``: within the TTL a request costs a dict lookup. When the entry is older than the TTL the
row is read again (one indexed SELECT), so a revocation or an expiry takes effect within the TTL
on every replica; argon2 is paid again only if the stored hash changed. A revoked or expired
key is refused from its row, before any hashing; failed verifies are throttled per client
address and per key prefix, and concurrent verifies are capped (``throttle``).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from psycopg_pool import ConnectionPool

from inferstream.api.keys import (
    KeyRecord,
    Role,
    get_key,
    parse_key,
    touch_key,
    utcnow,
    verify_hash,
)
from inferstream.api.problems import ProblemError
from inferstream.api.throttle import FailureThrottle

MAX_CACHED_KEYS = 10_000


@dataclass(frozen=True)
class Principal:
    """The caller, once authenticated."""

    key_id: int
    key_prefix: str
    name: str
    role: Role


@dataclass
class _Entry:
    digest: str  # sha256 of the presented key: the cache never holds a key in clear
    key_hash: str  # the stored argon2 hash this key was verified against
    record: KeyRecord
    checked_at: float


def unauthorized(detail: str) -> ProblemError:
    return ProblemError(
        401, detail, slug="unauthorized", headers={"WWW-Authenticate": 'Bearer realm="inferstream"'}
    )


class KeyVerifier:
    def __init__(
        self,
        pool: ConnectionPool,
        prefix: str,
        ttl_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = utcnow,
        throttle: FailureThrottle | None = None,
    ) -> None:
        self._pool = pool
        self._prefix = prefix
        self._ttl_s = ttl_s
        self._clock = clock
        self._now = now
        self.throttle = throttle or FailureThrottle(clock=clock)
        self._cache: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def invalidate(self, key_prefix: str) -> None:
        """Drop a key from this process's cache at once (e.g. after revoking it here)."""
        with self._lock:
            self._cache.pop(key_prefix, None)

    def verify(self, presented: str | None, address: str = "unknown") -> Principal:
        """The key's principal, or a 401 (429 when ``address`` or the key prefix has failed
        too often, 503 when every verify slot is busy). Blocking: call it off the event loop."""
        if not presented:
            raise unauthorized("an API key is required (Authorization: Bearer <key>)")
        parsed = parse_key(presented, self._prefix)
        if parsed is None:
            raise unauthorized("the API key is not valid")
        digest = hashlib.sha256(presented.encode()).hexdigest()
        with self._lock:
            entry = self._cache.get(parsed.prefix)
        fresh = entry is not None and self._clock() - entry.checked_at < self._ttl_s
        if entry is not None and fresh and entry.digest == digest:
            return self._admit(entry.record)
        entry = self._reload(parsed.prefix, presented, digest, entry, address)
        return self._admit(entry.record)

    def _reload(
        self, key_prefix: str, presented: str, digest: str, old: _Entry | None, address: str
    ) -> _Entry:
        with self._pool.connection() as conn:  # released before hashing: argon2 is slow
            found = get_key(conn, key_prefix)
        if found is None:
            self.invalidate(key_prefix)
            raise unauthorized("the API key is not valid")
        record, key_hash = found
        status = record.status(self._now())
        if status != "active":  # refused without hashing: a revoked key costs one SELECT
            self.invalidate(key_prefix)
            raise unauthorized(f"the API key is {status}")
        same = old is not None and old.digest == digest and old.key_hash == key_hash
        if not same:
            self._check_secret(key_prefix, key_hash, presented, address)
        with self._pool.connection() as conn:
            touch_key(conn, record.id)
        entry = _Entry(digest, key_hash, record, self._clock())
        with self._lock:
            if len(self._cache) >= MAX_CACHED_KEYS:
                self._cache.clear()
            self._cache[key_prefix] = entry
        return entry

    def _check_secret(self, key_prefix: str, key_hash: str, presented: str, address: str) -> None:
        self.throttle.check(address, key_prefix)
        with self.throttle.slot():
            ok = verify_hash(key_hash, presented)
        if not ok:
            self.throttle.failed(address, key_prefix)
            raise unauthorized("the API key is not valid")

    def _admit(self, record: KeyRecord) -> Principal:
        status = record.status(self._now())
        if status != "active":
            raise unauthorized(f"the API key is {status}")
        return Principal(record.id, record.key_prefix, record.name, record.role)


def require_role(principal: Principal, role: Role) -> None:
    if principal.role < role:
        raise ProblemError(
            403,
            f"this operation needs the {role.name} role (the key has {principal.role.name})",
            slug="forbidden",
        )
