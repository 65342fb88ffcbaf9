"""Versioned SQL migrations: files ``NNNN_name.sql`` in this package, applied once each.

Each migration runs in its own transaction under an advisory lock (so two workers starting at
once do not race), is recorded with its checksum in ``schema_migrations``, and a recorded
migration whose file has since changed is an error rather than silently skipped.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources

import psycopg

# Any fixed 64-bit number; all inferstream processes agree on it.
ADVISORY_LOCK_KEY = 0x1F5E_2A3B_0001
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class MigrationError(RuntimeError):
    """The database's migration history does not match the migration files."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def available() -> list[Migration]:
    """The packaged migrations, in version order."""
    found: list[Migration] = []
    for entry in resources.files("inferstream.storage.migrations").iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text()))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"two migration files share a version: {versions}")
    return found


_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    checksum   char(64) NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


def applied(conn: psycopg.Connection[tuple[object, ...]]) -> dict[int, tuple[str, str]]:
    """version -> (name, checksum) of what the database has recorded."""
    rows = conn.execute("SELECT version, name, checksum FROM schema_migrations").fetchall()
    return {int(str(v)): (str(n), str(c)) for v, n, c in rows}


def migrate(conninfo: str, *, upto: int | None = None) -> list[str]:
    """Apply pending migrations (those numbered <= ``upto`` when given: upgrade tests start
    from an older schema); return the names applied (empty when up to date)."""
    done: list[str] = []
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(_CREATE_TABLE)
        conn.execute("SELECT pg_advisory_lock(%s)", (ADVISORY_LOCK_KEY,))
        try:
            recorded = applied(conn)
            for migration in available():
                if upto is not None and migration.version > upto:
                    break
                if migration.version in recorded:
                    _check_unchanged(migration, recorded[migration.version])
                    continue
                with conn.transaction():
                    conn.execute(migration.sql.encode())
                    conn.execute(
                        "INSERT INTO schema_migrations (version, name, checksum) "
                        "VALUES (%s, %s, %s)",
                        (migration.version, migration.name, migration.checksum),
                    )
                done.append(migration.name)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (ADVISORY_LOCK_KEY,))
    return done


def _check_unchanged(migration: Migration, recorded: tuple[str, str]) -> None:
    name, checksum = recorded
    if checksum.strip() != migration.checksum:
        raise MigrationError(
            f"migration {migration.name} differs from the one applied as {name}: "
            "never edit an applied migration, add a new one"
        )


def pending(conninfo: str) -> list[str]:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(_CREATE_TABLE)
        recorded = applied(conn)
    return [m.name for m in available() if m.version not in recorded]
