"""Migrations 0020 and 0022: ANALYZE of results_bug_report skips the columns no query selects on
(the embedding, similar_items, dedup_terms, quality_flags; the four text fields and the content
digest) and keeps every other column's statistics, those the API's filters, joins and text
search are planned with."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from _stack import Stack, scratch_database

from inferstream.bench.sink import make_rows, report_texts
from inferstream.plugins import load_plugin
from inferstream.storage import migrate
from inferstream.workers.sink.writer import PostgresSinkWriter, SinkBatch

SKIPPED = {
    "embedding",
    "similar_items",
    "dedup_terms",
    "quality_flags",
    "title",
    "description",
    "steps_to_reproduce",
    "logs",
    "content_sha256",
}
KEPT = {
    "result_id",
    "submission_id",
    "created_at",
    "txid",
    "seq",
    "duplicate_status",
    "duplicate_of",
    "low_quality",
    "product",
    "component",
    "model_version",
    "search_vector",
}


@pytest.fixture(scope="module")
def conninfo(stack: Stack) -> Iterator[str]:
    with scratch_database(stack, "stats") as conninfo:
        migrate(conninfo)
        yield conninfo


def test_analyze_keeps_the_statistics_queries_use_and_skips_the_others(conninfo: str) -> None:
    rows = make_rows(40, seed=5, texts=report_texts(40))
    writer = PostgresSinkWriter(conninfo, load_plugin("bug_report").table, "stats", "bug_report")
    try:
        writer.write(SinkBatch(rows, [], [], {}))
    finally:
        writer.close()
    with psycopg.connect(conninfo, autocommit=True) as conn:
        targets: dict[str, int] = dict(
            conn.execute(
                "SELECT attname, coalesce(attstattarget, -1) FROM pg_attribute "
                "WHERE attrelid = 'results_bug_report'::regclass AND attnum > 0 "
                "AND NOT attisdropped"
            ).fetchall()
        )
        conn.execute("ANALYZE results_bug_report")
        analyzed = {
            str(r[0])
            for r in conn.execute(
                "SELECT attname FROM pg_stats WHERE tablename = 'results_bug_report'"
            )
        }
    assert {c for c, target in targets.items() if target == 0} == SKIPPED
    assert analyzed >= KEPT
    assert not SKIPPED & analyzed
