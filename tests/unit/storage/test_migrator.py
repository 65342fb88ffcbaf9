"""The migrator's checksum: blind to comment edits, not to SQL edits (no database needed)."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inferstream.storage.migrator import SUPERSEDED, Migration, available, sql_checksum

ROOT = Path(__file__).resolve().parents[3]
MIGRATIONS = "inferstream/storage/migrations"
SQL = "CREATE TABLE t (\n    id integer PRIMARY KEY,\n    v text\n);\n"


def test_comment_lines_blank_lines_and_trailing_spaces_do_not_count() -> None:
    edited = "-- a header\n\nCREATE TABLE t (   \n  -- why id\n    id integer PRIMARY KEY,\n"
    edited += "    v text\n\n);\n-- a footer"
    assert sql_checksum(edited) == sql_checksum(SQL)


@pytest.mark.parametrize(
    "changed",
    [
        SQL.replace("text", "bigint"),
        SQL.replace("    id", "id"),  # indentation counts: only whole comment lines are blind
        SQL.replace("v text", "v text -- a trailing comment"),  # could be inside a literal
        SQL + "SELECT 1;\n",
    ],
)
def test_any_other_edit_changes_the_checksum(changed: str) -> None:
    assert sql_checksum(changed) != sql_checksum(SQL)


@given(st.lists(st.text(alphabet="ab -\n", max_size=12), max_size=6))
def test_inserting_comment_lines_never_changes_the_checksum(comments: list[str]) -> None:
    lines = SQL.splitlines()
    for i, comment in enumerate(comments):
        lines.insert(i % (len(lines) + 1), "-- " + comment.replace("\n", " "))
    assert sql_checksum("\n".join(lines)) == sql_checksum(SQL)


def test_a_migration_accepts_its_sql_its_whole_file_and_nothing_else() -> None:
    migration = Migration(99, "0099_t.sql", SQL)
    assert migration.accepts(sql_checksum(SQL))
    assert migration.accepts(hashlib.sha256(SQL.encode()).hexdigest())  # an earlier release's
    assert not migration.accepts(sql_checksum(SQL + "SELECT 1;"))
    assert not migration.accepts("0" * 64)


def _earlier_texts(path: str) -> dict[str, str]:
    """Every committed text of a file, by its sha256: the repository's own history. A tree
    without it (a shallow clone, an export) fails here rather than skipping the check."""
    shallow = subprocess.run(
        ["git", "rev-parse", "--is-shallow-repository"], cwd=ROOT, capture_output=True, check=False
    )
    assert shallow.returncode == 0 and shallow.stdout.strip() == b"false", (
        "this check reads the migrations' earlier texts from git history: run it in a full "
        "clone (not --depth)"
    )
    log = subprocess.run(
        ["git", "log", "--format=%H", "--", path], cwd=ROOT, capture_output=True, check=True
    )
    texts: dict[str, str] = {}
    for commit in log.stdout.decode().split():
        blob = subprocess.run(
            ["git", "show", f"{commit}:{path}"], cwd=ROOT, capture_output=True, check=False
        )
        if blob.returncode == 0:
            texts[hashlib.sha256(blob.stdout).hexdigest()] = blob.stdout.decode()
    return texts


@pytest.mark.parametrize("version", sorted(SUPERSEDED))
def test_each_superseded_checksum_is_an_earlier_text_that_differs_in_comments_only(
    version: int,
) -> None:
    """The table may only name comment edits: each checksum is found among the file's texts in
    the git history, and that text's SQL checksum is today's."""
    migration = next(m for m in available() if m.version == version)
    texts = _earlier_texts(f"{MIGRATIONS}/{migration.name}")
    for checksum in SUPERSEDED[version]:
        assert checksum in texts, f"{migration.name}: no committed text has sha256 {checksum}"
        assert sql_checksum(texts[checksum]) == migration.checksum
        assert checksum != migration.file_checksum  # the file was edited since
