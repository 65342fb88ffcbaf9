"""Other versions' results (``model_results``) looked up by their own id, as the API does on a
miss in the served table (GET /v1/results/{task}/{result_id}), on the session's real Postgres:
the planner finds the row through the (task, result_id) index (migration 0018) instead of
reading every row of the task, and the lookup returns the row it names."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import psycopg
from _stack import Stack
from psycopg.types.json import Jsonb

from inferstream.api import model_results

INDEX = "model_results_result_id"


def test_the_index_exists_on_task_and_result_id(stack: Stack) -> None:
    with psycopg.connect(stack.postgres.conninfo()) as conn:
        row = conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'model_results' AND indexname = %s",
            (INDEX,),
        ).fetchone()
    assert row is not None, "migration 0018 not applied"
    assert "(task, result_id)" in str(row[0])


def test_the_api_lookup_by_result_id_uses_the_index(stack: Stack) -> None:
    result_id = f"lookup-{uuid.uuid4().hex}"
    with psycopg.connect(stack.postgres.conninfo()) as conn, conn.transaction(force_rollback=True):
        # The session's other tests may have written rows, or none: the plan is judged with
        # sequential scans priced out, so it depends on which index fits, not on the row count.
        conn.execute("SET LOCAL enable_seqscan = off")
        statement = model_results._SELECT + "result_id = %s LIMIT 1"
        plan = "\n".join(
            str(r[0]) for r in conn.execute("EXPLAIN " + statement, ("churn", result_id)).fetchall()
        )
        assert INDEX in plan, plan
        # The id is matched in the index, not filtered from the task's rows afterwards.
        assert any("Index Cond" in ln and "result_id" in ln for ln in plan.splitlines()), plan
        _insert(conn, result_id)
        assert conn.execute(statement, ("churn", result_id)).fetchone() is not None
        assert conn.execute(statement, ("anomaly", result_id)).fetchone() is None


def _insert(conn: psycopg.Connection[tuple[object, ...]], result_id: str) -> None:
    conn.execute(
        "INSERT INTO model_results (task, submission_id, model_name, model_version, kind, "
        "result_id, result, produced_at) VALUES ('churn', %s, 'm', 'v', 'shadow', %s, %s, %s)",
        (str(uuid.uuid4()), result_id, Jsonb({"result_id": result_id}), datetime.now(UTC)),
    )
