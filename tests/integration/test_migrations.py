"""Migrations on the real embedded PostgreSQL + pgvector."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from _stack import Stack

from inferstream.storage import MigrationError, migrate, pending
from inferstream.storage.migrator import available


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


def test_foundation_tables_and_vector_index_exist(stack: Stack) -> None:
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
        index = conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'results_bug_report_embedding_hnsw'"
        ).fetchone()
        assert index is not None and "hnsw" in index[0] and "vector_cosine_ops" in index[0]


def test_an_edited_applied_migration_is_refused(stack: Stack) -> None:
    base = stack.postgres
    name = f"mig_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(base.conninfo(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    conninfo = base.conninfo(database=name)
    try:
        assert len(migrate(conninfo)) == len(available())
        with psycopg.connect(conninfo) as conn:
            conn.execute("UPDATE schema_migrations SET checksum = repeat('0', 64) WHERE version=1")
        with pytest.raises(MigrationError, match=r"0001_foundation\.sql"):
            migrate(conninfo)
    finally:
        with psycopg.connect(base.conninfo(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
