"""The packaged migration files are well-formed and ordered (no database needed)."""

from __future__ import annotations

from inferstream.storage.migrator import available


def test_migrations_are_numbered_without_gaps() -> None:
    migrations = available()
    assert [m.version for m in migrations] == list(range(1, len(migrations) + 1))
    assert migrations[0].name == "0001_foundation.sql"


def test_checksums_are_stable_and_distinct() -> None:
    first, second = available(), available()
    assert [m.checksum for m in first] == [m.checksum for m in second]
    assert len({m.checksum for m in first}) == len(first)


def test_results_table_has_the_minilm_vector() -> None:
    sql = next(m.sql for m in available() if m.name == "0002_results_bug_report.sql")
    assert "vector(384)" in sql
    assert "USING hnsw (embedding vector_cosine_ops)" in sql
