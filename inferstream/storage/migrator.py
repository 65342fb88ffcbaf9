"""Versioned SQL migrations: files ``NNNN_name.sql`` in this package, applied once each.

Each migration runs in its own transaction under an advisory lock (so two workers starting at
once do not race), is recorded with its checksum in ``schema_migrations``, and a recorded
migration whose SQL has since changed is an error rather than silently skipped.

The checksum covers the SQL without its comment lines and blank lines, so a comment may be
corrected in an applied migration; any other edit is refused. Releases before this one recorded
the checksum of the whole file: such a row is accepted when it matches the file as it is, or a
whole-file checksum declared in ``SUPERSEDED`` (an earlier text of that migration that differed
from today's only in comment lines). Such a row is left as it is: the release that wrote it can
still open the database (rolling back, or alternating two builds on one data dir).
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

# Whole-file checksums (as releases before the SQL checksum recorded them) of earlier texts of a
# migration whose comment lines alone were edited since: a database migrated with the earlier
# file is the same schema. Only comment edits belong here (tests rebuild each earlier text and
# check its SQL checksum is today's).
SUPERSEDED: dict[int, frozenset[str]] = {
    # The header pointed to a design file outside the repository.
    1: frozenset({"1b24ebd434fda5cf2a9dcc029d9bf9bebdf8cd3f7a923bac6639238c7d992e21"}),
    # The header named the bug deduplication system by its seed number alone.
    2: frozenset({"fb07f09fedf868968aa312da317834e02e848bde886a4cd1e7d600714521f1c3"}),
    # The headers referred to tracker issue numbers.
    7: frozenset({"a45dc7f6ab483b4fcfcd964170d2f31f2229d1edaf705ae0b130acb7afcc5bd3"}),
    8: frozenset({"2041f7c522d41fc28d92d43b879fc5e24baa112990e7c05305da8607cd749236"}),
}


class MigrationError(RuntimeError):
    """The database's migration history does not match the migration files."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        """What is recorded: the SQL's, blind to comment lines and blank lines."""
        return sql_checksum(self.sql)

    @property
    def file_checksum(self) -> str:
        """The whole file's, as releases before the SQL checksum recorded it."""
        return hashlib.sha256(self.sql.encode()).hexdigest()

    def accepts(self, recorded: str) -> bool:
        """Whether a recorded checksum is this migration's SQL (today's or a comment edit ago)."""
        known = {self.checksum, self.file_checksum} | SUPERSEDED.get(self.version, frozenset())
        return recorded.strip() in known


def sql_checksum(text: str) -> str:
    """sha256 over the lines that are not blank or whole-line ``--`` comments, each stripped of
    trailing spaces. A comment after SQL on the same line still counts (telling it from ``--``
    inside a string literal needs a SQL parser); so does a change of indentation."""
    lines = (line.rstrip() for line in text.splitlines())
    kept = [line for line in lines if line and not line.lstrip().startswith("--")]
    return hashlib.sha256("\n".join(kept).encode()).hexdigest()


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
    if not migration.accepts(checksum):
        raise MigrationError(
            f"migration {migration.name} differs from the one applied as {name}: "
            "never edit an applied migration's SQL, add a new one"
        )


def pending(conninfo: str) -> list[str]:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(_CREATE_TABLE)
        recorded = applied(conn)
    return [m.name for m in available() if m.version not in recorded]
