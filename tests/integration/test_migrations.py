"""Migrations on the real embedded PostgreSQL + pgvector."""

from __future__ import annotations

import hashlib

import numpy as np
import psycopg
import pytest
from _stack import Stack, scratch_database
from pgvector.psycopg import register_vector

from inferstream.api.queries import nearest
from inferstream.settings.vector_index import VectorIndexSettings
from inferstream.storage import MigrationError, migrate, pending
from inferstream.storage.migrator import SUPERSEDED, available, sql_checksum
from inferstream.storage.vector_maintenance import maintain
from inferstream.storage.vector_ranges import SeqRange


def test_migrate_twice_is_a_no_op(stack: Stack) -> None:
    conninfo = stack.postgres.conninfo()
    assert migrate(conninfo) == []
    assert pending(conninfo) == []
    result = stack.cli("db", "migrate")
    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stdout
    with psycopg.connect(conninfo) as conn:
        versions = [r[0] for r in conn.execute("SELECT version FROM schema_migrations")]
    assert sorted(versions) == [m.version for m in available()]


def test_foundation_tables_and_the_open_tail_index_exist(stack: Stack) -> None:
    with psycopg.connect(stack.postgres.conninfo()) as conn:
        tables = {
            r[0]
            for r in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema='public'"
            )
        }
        assert {
            "submissions",
            "consumer_offsets",
            "dead_letters",
            "model_versions",
            "api_keys",
            "results_bug_report",
        } <= tables
        column = conn.execute(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = 'results_bug_report'::regclass AND attname = 'embedding'"
        ).fetchone()
        assert column == ("vector(384)",)
        # No HNSW index over the whole table: the sink would maintain it on every insert.
        # `db maintain` builds partial ones on closed seq ranges (test_vector_ranges.py).
        indexes = dict(
            conn.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'results_bug_report'"
            ).fetchall()
        )
        assert "results_bug_report_embedding_hnsw" not in indexes
        assert all("WHERE" in d for d in indexes.values() if "USING hnsw" in d), indexes
        assert "(seq)" in indexes["results_bug_report_seq_idx"]


def test_an_edited_applied_migration_is_refused(stack: Stack) -> None:
    with scratch_database(stack, "mig") as conninfo:
        assert len(migrate(conninfo)) == len(available())
        with psycopg.connect(conninfo) as conn:
            conn.execute("UPDATE schema_migrations SET checksum = repeat('0', 64) WHERE version=1")
        with pytest.raises(MigrationError, match=r"0001_foundation\.sql"):
            migrate(conninfo)


def _recorded(conninfo: str) -> dict[int, str]:
    with psycopg.connect(conninfo) as conn:
        rows = conn.execute("SELECT version, checksum FROM schema_migrations").fetchall()
    return {int(version): str(checksum).strip() for version, checksum in rows}


def test_a_database_migrated_before_the_comment_edits_starts(stack: Stack) -> None:
    """Rows as a release before the SQL checksum wrote them (whole-file checksums, of the earlier
    texts for the migrations whose comments were edited since) are accepted and left as they
    are, so that release can still open the database."""
    with scratch_database(stack, "mig") as conninfo:
        migrate(conninfo)
        earlier = {m.version: m.file_checksum for m in available()}
        earlier |= {v: min(checksums) for v, checksums in SUPERSEDED.items()}
        with psycopg.connect(conninfo) as conn:
            for version, checksum in earlier.items():
                conn.execute(
                    "UPDATE schema_migrations SET checksum = %s WHERE version = %s",
                    (checksum, version),
                )
        assert migrate(conninfo) == []
        assert pending(conninfo) == []
        assert _recorded(conninfo) == earlier
        assert earlier != {m.version: m.checksum for m in available()}  # not the new format


def test_a_real_sql_change_is_refused_in_either_checksum(stack: Stack) -> None:
    """A release whose file 0002 had other SQL (the vector's size) recorded either checksum."""
    migration = available()[1]
    changed = migration.sql.replace("vector(384)", "vector(768)")
    assert changed != migration.sql
    with scratch_database(stack, "mig") as conninfo:
        migrate(conninfo)
        for checksum in (sql_checksum(changed), hashlib.sha256(changed.encode()).hexdigest()):
            with psycopg.connect(conninfo) as conn:
                conn.execute(
                    "UPDATE schema_migrations SET checksum = %s WHERE version = 2", (checksum,)
                )
            with pytest.raises(MigrationError, match=r"0002_results_bug_report\.sql"):
                migrate(conninfo)
            assert _recorded(conninfo)[2] == checksum  # refused, not overwritten


def test_upgrade_from_the_full_hnsw_index_keeps_every_row_findable(stack: Stack) -> None:
    """A data dir at migration 0007 (one HNSW index over the whole table, rows in it) upgrades:
    the rows stay exactly findable (open tail), then `db maintain` indexes them again."""
    with scratch_database(stack, "mig") as conninfo:
        assert len(migrate(conninfo, upto=7)) == 7
        rng = np.random.default_rng(8)
        vectors = rng.standard_normal((300, 384)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        with psycopg.connect(conninfo) as conn:
            register_vector(conn)
            for i, vector in enumerate(vectors):
                conn.execute(
                    "INSERT INTO results_bug_report (result_id, submission_id, model_name, "
                    "model_version, quality_score, low_quality, duplicate_status, "
                    "content_sha256, embedding, produced_at) "
                    "VALUES (%s, %s, 'm', 'v', 0.5, false, 'unique', %s, %s, now())",
                    (f"{i:064x}", f"s{i}", f"{i:064x}", vector),
                )
        assert migrate(conninfo) == [m.name for m in available()[7:]]
        with psycopg.connect(conninfo, autocommit=True) as conn:
            register_vector(conn)
            names = {r[0] for r in conn.execute("SELECT indexname FROM pg_indexes")}
            assert "results_bug_report_embedding_hnsw" not in names
            for i in (0, 150, 299):
                assert nearest(conn, vectors[i], 1)[0].result.result_id == f"{i:064x}"
        (report,) = maintain(conninfo, VectorIndexSettings.load(close_rows=100))
        assert report.closed == [SeqRange(0, 301)] and report.open_rows == 0
        with psycopg.connect(conninfo, autocommit=True) as conn:
            register_vector(conn)
            conn.execute("SET enable_seqscan = off")
            found = [nearest(conn, vectors[i], 1)[0].result.result_id for i in range(0, 300, 10)]
        assert sum(f == f"{i:064x}" for f, i in zip(found, range(0, 300, 10), strict=True)) >= 29
