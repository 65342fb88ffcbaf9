"""Dead letters keep the rejected records' original bytes: `inferstream dlq purge` deletes those
past the retention, on the real embedded Postgres, and only after a dry run shows them and an
explicit confirmation (or --yes); the deadletter topic on the real broker has a retention too."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from _stack import Stack

from inferstream.settings import PostgresSettings
from inferstream.topology import DEADLETTER_TOPIC, admin_client, observe
from inferstream.topology.spec import DAY_MS


@pytest.fixture
def dead(stack: Stack) -> Iterator[dict[str, list[int]]]:
    """Dead letters of two tasks aged 40 days (past the 30-day default) and 10 days (within),
    each with a raw payload; their ids by label. Removed again afterwards."""
    tag = uuid.uuid4().hex[:8]
    rows = {
        "old_churn": ("churn", 40, 3),
        "old_bug": ("bug_report", 40, 5),
        "new": ("churn", 10, 2),
    }
    ids: dict[str, list[int]] = {}
    with psycopg.connect(PostgresSettings.load().conninfo(), autocommit=True) as conn:
        for label, (task, age_days, count) in rows.items():
            ids[label] = [
                _insert(conn, f"purge-{tag}-{label}-{i}", task, age_days) for i in range(count)
            ]
        yield ids
        conn.execute("DELETE FROM dead_letters WHERE submission_id LIKE %s", (f"purge-{tag}-%",))


def _insert(conn: psycopg.Connection[Any], sid: str, task: str, age_days: int) -> int:
    row = conn.execute(
        "INSERT INTO dead_letters (submission_id, task, stage, kind, reason, original_topic, "
        "original_partition, original_offset, payload, created_at) VALUES (%s, %s, 'enrich', "
        "'rejected', 'schema: test', %s, 0, %s, %s, now() - make_interval(days => %s)) "
        "RETURNING id",
        (
            sid,
            task,
            f"submissions.{task}",
            uuid.uuid4().int % 2**62,
            b"secret raw bytes" * 64,
            age_days,
        ),
    ).fetchone()
    assert row is not None
    return int(row[0])


def _left(ids: dict[str, list[int]]) -> dict[str, int]:
    """How many of each label's rows are still there."""
    with psycopg.connect(PostgresSettings.load().conninfo()) as conn:
        counts = {
            label: conn.execute(
                "SELECT count(*) FROM dead_letters WHERE id = ANY(%s)", (group,)
            ).fetchone()
            for label, group in ids.items()
        }
    return {label: int(row[0]) if row else 0 for label, row in counts.items()}


def test_purge_shows_asks_and_deletes_only_what_is_past_the_retention(
    stack: Stack, dead: dict[str, list[int]]
) -> None:
    everything = {label: len(group) for label, group in dead.items()}

    preview = stack.cli("dlq", "purge", "--dry-run")
    assert preview.returncode == 0, preview.stderr
    assert "would delete" in preview.stdout and "nothing deleted" in preview.stdout
    assert "older than 30 days" in preview.stdout
    assert _left(dead) == everything

    # A script without --yes gets a one-line usage error; a "no" deletes nothing.
    unattended = stack.cli("dlq", "purge", input_text="")
    assert unattended.returncode == 2
    assert "pass --yes" in unattended.stderr and "Traceback" not in unattended.stderr
    declined = stack.cli("dlq", "purge", input_text="n\n")
    assert declined.returncode == 1 and "nothing deleted" in declined.stdout
    assert _left(dead) == everything

    one_task = stack.cli("dlq", "purge", "--task", "churn", "--yes")
    assert one_task.returncode == 0, one_task.stderr
    assert _left(dead) == {"old_churn": 0, "old_bug": 5, "new": 2}

    # Confirmed interactively, in batches of 2 rows (3 transactions for the 5 left).
    small_batches = dataclasses.replace(
        stack, env={**stack.env, "INFERSTREAM_DLQ_PURGE_BATCH_ROWS": "2"}
    )
    confirmed = small_batches.cli("dlq", "purge", input_text="y\n")
    assert confirmed.returncode == 0, confirmed.stderr
    assert "deleted" in confirmed.stdout
    assert _left(dead) == {"old_churn": 0, "old_bug": 0, "new": 2}

    # A shorter retention reaches the 10-day-old rows; a retention under a day is refused.
    shorter = stack.cli("dlq", "purge", "--older-than-days", "7", "--yes")
    assert shorter.returncode == 0, shorter.stderr
    assert _left(dead) == {"old_churn": 0, "old_bug": 0, "new": 0}
    refused = stack.cli("dlq", "purge", "--older-than-days", "0", "--yes")
    assert refused.returncode == 2 and "Traceback" not in refused.stderr


def test_the_deadletter_topic_has_a_retention_on_the_broker(stack: Stack) -> None:
    observed = observe(admin_client(stack.kafka), [DEADLETTER_TOPIC])
    config = observed[DEADLETTER_TOPIC].config
    assert config.get("cleanup.policy") == "delete"
    assert int(config["retention.ms"]) == 30 * DAY_MS
