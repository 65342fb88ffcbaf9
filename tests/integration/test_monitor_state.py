"""The monitor's Postgres state on the real server (a scratch database migrated to head): counts
add up across batches and are read back per window, offsets are stored with them, and live
accuracy joins the labels with the predictions the sink stored."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import psycopg
from _stack import Stack, scratch_database

from inferstream.monitor.spec import spec_for
from inferstream.monitor.state import Accuracy, CountKey, Delta, MonitorState
from inferstream.storage import migrate

NOW = datetime(2026, 12, 6, 16, 0, tzinfo=UTC)
OLD = NOW - timedelta(hours=1)


def _result_row(
    conn: psycopg.Connection[tuple[object, ...]], sid: str, version: str, label: bool
) -> None:
    conn.execute(
        "INSERT INTO results_churn (result_id, submission_id, model_name, model_version,"
        " probability, label, threshold, produced_at) VALUES (%s, %s, 'm', %s, %s, %s, 0.5, %s)",
        (hashlib.sha256(sid.encode()).hexdigest(), sid, version, 0.9 if label else 0.1, label, NOW),
    )


def test_counts_offsets_and_accuracy_on_postgres(stack: Stack) -> None:
    with scratch_database(stack, "monitor") as conninfo:
        migrate(conninfo)
        state = MonitorState(conninfo, spec_for("churn"), "g.monitor.churn")
        first = Delta()
        first.counts[CountKey("m", "v1", "score", "", NOW, 3)] += 5
        first.counts[CountKey("m", "v1", "score", "", OLD, 3)] += 7  # outside the window
        first.offsets[("results.churn", 0)] = 5
        state.write(first)
        second = Delta()
        second.counts[CountKey("m", "v1", "score", "", NOW, 3)] += 2
        second.counts[CountKey("m", "v1", "latency", "", NOW, 0)] += 2
        second.feedback = {"s1": ("true", NOW), "s2": ("true", NOW), "s3": ("false", NOW)}
        second.offsets[("results.churn", 0)] = 7
        second.offsets[("feedback.churn", 1)] = 3
        state.write(second)

        window = state.window_counts(NOW - timedelta(minutes=10))
        assert window == {("m", "v1", "score", ""): {3: 7}, ("m", "v1", "latency", ""): {0: 2}}
        assert state.stored_offsets([]) == {("results.churn", 0): 7, ("feedback.churn", 1): 3}

        with psycopg.connect(conninfo) as conn:
            _result_row(conn, "s1", "v1", True)  # right
            _result_row(conn, "s2", "v2", False)  # wrong
            _result_row(conn, "s3", "v2", False)  # right
            _result_row(conn, "s4", "v2", True)  # no label yet
        assert sorted(state.accuracy(NOW - timedelta(minutes=10)), key=str) == [
            Accuracy("m", "v1", 1, 1),
            Accuracy("m", "v2", 2, 1),
        ]
        # a relabel replaces the label; labels older than the window are left out
        relabel = Delta(feedback={"s2": ("false", NOW)})
        state.write(relabel)
        assert Accuracy("m", "v2", 2, 2) in state.accuracy(NOW - timedelta(minutes=10))
        assert state.accuracy(NOW + timedelta(minutes=1)) == []
        state.close()
