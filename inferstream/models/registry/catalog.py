"""The registry's catalog in Postgres: versions (``model_versions``), the aliases workers load
(``model_aliases``) and every alias move with who, when and why (``model_alias_history``).

Alias moves lock the alias (an advisory lock on name + alias, for aliases not yet created) and
write the alias row and its history row in one transaction, so the history is never behind.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from inferstream.models.registry.bundles import LocalBundle

ALIASES = ("production", "canary", "shadow")
DEFAULT_CANARY_FRACTION = 0.10  # seed 004 (the MLOps platform): "start with 10% traffic"
Conn = psycopg.Connection[Any]


class RegistryError(ValueError):
    """A request the catalog refuses (unknown version, pinned alias, nothing to roll back to)."""


@dataclass(frozen=True)
class VersionRow:
    name: str
    version: str
    sha256: str
    uri: str
    created_at: datetime
    files: dict[str, str]
    metadata: dict[str, Any]


@dataclass(frozen=True)
class AliasRow:
    alias: str
    version: str
    pinned: bool
    fraction: float | None
    updated_at: datetime


@dataclass(frozen=True)
class HistoryRow:
    alias: str
    version: str | None
    previous_version: str | None
    action: str
    reason: str
    actor: str
    fraction: float | None
    at: datetime


def register_version(conn: Conn, bundle: LocalBundle, uri: str) -> bool:
    """Record a checked, uploaded bundle; False when this exact bundle was already registered.
    The same name/version with other bytes is refused: a version names one set of bytes."""
    meta = {"bundle": bundle.metadata, "files": bundle.files}
    inserted = conn.execute(
        "INSERT INTO model_versions (name, version, sha256, uri, metadata) "
        "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (name, version) DO NOTHING",
        (bundle.name, bundle.version, bundle.sums_sha256, uri, Jsonb(meta)),
    ).rowcount
    if inserted:
        return True
    existing = get_version(conn, bundle.name, bundle.version)
    if existing.sha256 != bundle.sums_sha256:
        raise RegistryError(
            f"{bundle.name}/{bundle.version} is already registered with other bytes "
            f"(SHA256SUMS {existing.sha256[:12]} != {bundle.sums_sha256[:12]})"
        )
    return False


def _version_row(row: tuple[Any, ...]) -> VersionRow:
    meta = row[5] if isinstance(row[5], Mapping) else {}
    files = meta.get("files") or {}
    bundle = meta.get("bundle") or {}
    return VersionRow(row[0], row[1], row[2], row[3], row[4], dict(files), dict(bundle))


_VERSION_COLUMNS = "name, version, sha256, uri, created_at, metadata"


def get_version(conn: Conn, name: str, version: str) -> VersionRow:
    row = conn.execute(
        f"SELECT {_VERSION_COLUMNS} FROM model_versions WHERE name = %s AND version = %s",
        (name, version),
    ).fetchone()
    if row is None:
        raise RegistryError(f"{name}/{version} is not registered (see `inferstream models list`)")
    return _version_row(row)


def list_versions(conn: Conn, name: str | None = None) -> list[VersionRow]:
    rows = conn.execute(
        f"SELECT {_VERSION_COLUMNS} FROM model_versions "
        "WHERE %(name)s::text IS NULL OR name = %(name)s ORDER BY name, created_at, version",
        {"name": name},
    ).fetchall()
    return [_version_row(r) for r in rows]


def get_aliases(conn: Conn, name: str) -> dict[str, AliasRow]:
    rows = conn.execute(
        "SELECT alias, version, pinned, fraction, updated_at FROM model_aliases WHERE name = %s",
        (name,),
    ).fetchall()
    return {r[0]: AliasRow(r[0], r[1], r[2], r[3], r[4]) for r in rows}


def history(conn: Conn, name: str, alias: str | None = None, limit: int = 50) -> list[HistoryRow]:
    rows = conn.execute(
        "SELECT alias, version, previous_version, action, reason, actor, fraction, at "
        "FROM model_alias_history WHERE name = %(name)s "
        "AND (%(alias)s::text IS NULL OR alias = %(alias)s) ORDER BY id DESC LIMIT %(limit)s",
        {"name": name, "alias": alias, "limit": limit},
    ).fetchall()
    return [HistoryRow(*r) for r in rows]


def _lock(conn: Conn, name: str, alias: str) -> AliasRow | None:
    if alias not in ALIASES:
        raise RegistryError(f"unknown alias {alias!r}; one of {', '.join(ALIASES)}")
    conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"model-alias:{name}:{alias}",))
    return get_aliases(conn, name).get(alias)


def _record(
    conn: Conn,
    name: str,
    alias: str,
    version: str | None,
    previous: AliasRow | None,
    *,
    action: str,
    reason: str,
    actor: str,
    fraction: float | None,
    pinned: bool,
) -> None:
    if version is None:
        conn.execute("DELETE FROM model_aliases WHERE name = %s AND alias = %s", (name, alias))
    else:
        conn.execute(
            "INSERT INTO model_aliases (name, alias, version, pinned, fraction) "
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (name, alias) DO UPDATE SET "
            "version = EXCLUDED.version, pinned = EXCLUDED.pinned, "
            "fraction = EXCLUDED.fraction, updated_at = now()",
            (name, alias, version, pinned, fraction),
        )
    conn.execute(
        "INSERT INTO model_alias_history "
        "(name, alias, version, previous_version, action, reason, actor, fraction) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
        (
            name,
            alias,
            version,
            previous.version if previous else None,
            action,
            reason,
            actor,
            fraction,
        ),
    )


def promote(
    conn: Conn,
    name: str,
    alias: str,
    version: str,
    *,
    actor: str,
    reason: str = "",
    fraction: float | None = None,
) -> str | None:
    """Point ``alias`` at ``version``; the version it pointed at before (None if unset).
    A pinned alias is refused; ``fraction`` applies to the canary alias only (default 10 %)."""
    with conn.transaction():
        get_version(conn, name, version)
        current = _lock(conn, name, alias)
        if current is not None and current.pinned:
            raise RegistryError(f"{name} {alias} is pinned to {current.version}; unpin it first")
        if fraction is not None and alias != "canary":
            raise RegistryError("a traffic fraction applies to the canary alias only")
        if alias == "canary" and fraction is None:
            fraction = DEFAULT_CANARY_FRACTION
        _record(
            conn,
            name,
            alias,
            version,
            current,
            action="promote",
            reason=reason,
            actor=actor,
            fraction=fraction,
            pinned=False,
        )
    return current.version if current else None


def rollback(conn: Conn, name: str, alias: str, *, reason: str, actor: str) -> str | None:
    """Move ``alias`` back to the version it served before its current one, recording the
    reason; the version it now names (None: a canary or shadow with no earlier version is
    cleared, which ends the canary). A pinned alias is refused."""
    if not reason.strip():
        raise RegistryError("a rollback needs a reason (--reason)")
    with conn.transaction():
        current = _lock(conn, name, alias)
        if current is None:
            raise RegistryError(f"{name} has no {alias} alias to roll back")
        if current.pinned:
            raise RegistryError(f"{name} {alias} is pinned to {current.version}; unpin it first")
        target = _previous(conn, name, alias, current.version)
        if target is None and alias == "production":
            raise RegistryError(f"{name} production has no earlier version to roll back to")
        fraction = current.fraction if target is not None else None
        _record(
            conn,
            name,
            alias,
            target,
            current,
            action="rollback",
            reason=reason,
            actor=actor,
            fraction=fraction,
            pinned=False,
        )
    return target


def _previous(conn: Conn, name: str, alias: str, version: str) -> str | None:
    """The version ``alias`` named before the promotion that set ``version``."""
    row = conn.execute(
        "SELECT previous_version FROM model_alias_history WHERE name = %s AND alias = %s "
        "AND version = %s AND action IN ('promote', 'pin') "
        "AND previous_version IS DISTINCT FROM version ORDER BY id DESC LIMIT 1",
        (name, alias, version),
    ).fetchone()
    return None if row is None else row[0]


def pin(
    conn: Conn, name: str, alias: str, version: str | None, *, actor: str, reason: str = ""
) -> None:
    """Pin ``alias`` (to ``version``, or where it is) so that neither promote nor an automatic
    rollback moves it; ``version=None`` on an unset alias is refused."""
    with conn.transaction():
        current = _lock(conn, name, alias)
        target = version or (current.version if current else None)
        if target is None:
            raise RegistryError(f"{name} has no {alias} alias; name the version to pin")
        get_version(conn, name, target)
        fraction = current.fraction if current else None
        _record(
            conn,
            name,
            alias,
            target,
            current,
            action="pin",
            reason=reason,
            actor=actor,
            fraction=fraction,
            pinned=True,
        )


def unpin(conn: Conn, name: str, alias: str, *, actor: str, reason: str = "") -> None:
    with conn.transaction():
        current = _lock(conn, name, alias)
        if current is None or not current.pinned:
            raise RegistryError(f"{name} {alias} is not pinned")
        _record(
            conn,
            name,
            alias,
            current.version,
            current,
            action="unpin",
            reason=reason,
            actor=actor,
            fraction=current.fraction,
            pinned=False,
        )
