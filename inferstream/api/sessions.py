"""Server-side web sessions (table ``web_sessions``, migration 0009).

The web view's cookie holds a random 256-bit token, never the API key. The table stores the
token's sha256 with the key it was signed in with and an expiry (capped at the key's own
expiry). Every page resolves the token joined to ``api_keys``, so signing out (the row is
deleted), revoking the key or its expiry ends the session on every replica at once.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

import psycopg
from psycopg.rows import dict_row

from inferstream.api.auth import Principal
from inferstream.api.keys import Role

TOKEN_BYTES = 32


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(conn: psycopg.Connection[Any], key_id: int, ttl_s: int) -> str:
    """A new session for ``key_id`` ending in ``ttl_s`` (or when the key expires); the token."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    # Expired rows are swept here, at sign-in, so the table stays small without a job.
    conn.execute("DELETE FROM web_sessions WHERE expires_at < now()")
    conn.execute(
        "INSERT INTO web_sessions (token_sha256, key_id, expires_at) "
        "SELECT %s, id, least(expires_at, now() + make_interval(secs => %s)) "
        "FROM api_keys WHERE id = %s",
        (_digest(token), ttl_s, key_id),
    )
    return token


def session_principal(conn: psycopg.Connection[Any], token: str | None) -> Principal | None:
    """The signed-in key of a live session: None when the token is unknown, the session has
    ended, or its key is revoked or expired."""
    if not token or len(token) > 128:
        return None
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            "SELECT k.id, k.key_prefix, k.name, k.role FROM web_sessions s "
            "JOIN api_keys k ON k.id = s.key_id WHERE s.token_sha256 = %s "
            "AND s.expires_at > now() AND k.expires_at > now() "
            "AND (k.revoked_at IS NULL OR k.revoked_at > now())",
            (_digest(token),),
        )
        row = cur.fetchone()
    if row is None:
        return None
    return Principal(row["id"], row["key_prefix"], row["name"], Role[row["role"]])


def end_session(conn: psycopg.Connection[Any], token: str | None) -> bool:
    """Delete the session (sign-out); True when there was one."""
    if not token or len(token) > 128:
        return False
    cur = conn.execute("DELETE FROM web_sessions WHERE token_sha256 = %s", (_digest(token),))
    return cur.rowcount > 0
