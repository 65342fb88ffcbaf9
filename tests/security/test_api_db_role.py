"""The results API's own Postgres role on the real embedded Postgres: after `db migrate` and
`db grant-api`, it reads results and writes submissions and keys, and everything else a stolen
API credential would try (changing results, offsets, dead letters, the schema) is refused."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from _stack import Stack, scratch_database
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from inferstream.storage import migrate
from inferstream.storage.api_role import grant_api_role


@contextmanager
def _role(stack: Stack) -> Iterator[str]:
    name = f"api_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(stack.postgres.conninfo(), autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{name}" LOGIN')
    try:
        yield name
    finally:
        with psycopg.connect(stack.postgres.conninfo(), autocommit=True) as conn:
            conn.execute(f'DROP ROLE "{name}"')


REFUSED = [
    "UPDATE results_bug_report SET quality_score = 0",
    "DELETE FROM results_churn",
    "INSERT INTO consumer_offsets (group_id, topic, partition, next_offset) "
    "VALUES ('g', 't', 0, 0)",
    "SELECT * FROM consumer_offsets",
    "DELETE FROM dead_letters",
    "UPDATE submissions SET status = 'done'",
    "DELETE FROM submissions",
    "DELETE FROM api_keys",
    "INSERT INTO model_aliases (name, alias, version) VALUES ('m', 'production', 'v')",
    "DELETE FROM model_results",
    "DROP TABLE results_anomaly",
    "CREATE TABLE planted (x int)",
    "TRUNCATE api_rate_hits",
]


def test_the_api_role_reads_results_and_writes_only_its_own_tables(stack: Stack) -> None:
    with _role(stack) as role, scratch_database(stack, "apirole") as owner:
        migrate(owner)
        statements = grant_api_role(owner, role)
        assert any('GRANT SELECT ON "results_bug_report"' in s for s in statements)
        assert grant_api_role(owner, role) == statements  # idempotent
        as_api = make_conninfo(**{**conninfo_to_dict(owner), "user": role})
        with psycopg.connect(as_api, autocommit=True) as conn:
            for table in (
                "results_bug_report",
                "results_churn",
                "submissions",
                "dead_letters",
                "model_results",  # other versions' results (GET /v1/results/{task}/{id}?version=)
                "model_alias_history",
            ):
                conn.execute(f"SELECT count(*) FROM {table}").fetchone()
            conn.execute(
                "INSERT INTO submissions (submission_id, task, status) "
                "VALUES ('s-1', 'churn', 'processing') ON CONFLICT (submission_id) DO NOTHING"
            )
            conn.execute("INSERT INTO api_rate_hits (key_prefix, op, at) VALUES ('k', 'read', 1)")
            conn.execute("DELETE FROM api_rate_hits WHERE key_prefix = 'k'")
            refused = []
            for statement in REFUSED:
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    conn.execute(statement)
                refused.append(statement)
        assert len(refused) == len(REFUSED)


def test_granting_to_a_missing_role_is_a_clear_error(stack: Stack) -> None:
    with pytest.raises(ValueError, match="does not exist"):
        grant_api_role(stack.postgres.conninfo(), "no_such_role_here")
