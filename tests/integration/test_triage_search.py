"""Text search over bug reports on the real Postgres: the generated search vector (migration
0017) finds reports by stemmed words of their title, description and logs, excludes words and
matches phrases as people type them, serves the web view's list and the review queue alike, and
its GIN index can answer the search condition.

The words searched are made unique per run (a random tag spelled in letters), so other tests'
rows in the shared table never match; results are still filtered to this test's ids."""

from __future__ import annotations

import json
import uuid
from typing import Any

import numpy as np
import psycopg
from _reports import store_report, unit_vector
from _stack import Stack
from pgvector.psycopg import register_vector

from inferstream.api.report_search import MATCH, match_params
from inferstream.api.review import review_queue
from inferstream.api.web_queries import ReportFilter, bug_reports


def _word() -> str:
    """A made-up word no other row holds (letters only: the parser keeps it one token)."""
    return "".join(chr(ord("a") + int(c, 16)) for c in uuid.uuid4().hex[:10])


def _plan(conn: psycopg.Connection[Any], text: str) -> str:
    """The plan of the search condition alone, with sequential scans priced out: a condition
    the GIN index cannot serve would still show a Seq Scan here (a small shared table is
    cheaper to scan, so with seqscans allowed the planner's choice proves nothing)."""
    with conn.transaction():
        conn.execute("SET LOCAL enable_seqscan = off")
        rows = conn.execute(
            f"EXPLAIN (FORMAT JSON) SELECT r.submission_id FROM results_bug_report r WHERE {MATCH}",
            match_params(text),
        ).fetchall()
    return json.dumps(rows[0][0])


def test_full_text_search_finds_by_words_and_uses_the_index(stack: Stack) -> None:
    tag, other = _word(), _word()
    product = f"search-{tag}"
    crash, blur, queued = (str(uuid.uuid4()) for _ in range(3))
    rng = np.random.default_rng(11)
    with psycopg.connect(stack.postgres.conninfo(), autocommit=True) as conn:
        register_vector(conn)
        store_report(
            conn, crash, unit_vector(rng), title=f"Editor crashes saving {tag} files",
            product=product, description=f"The {other} plugin is loaded.",
        )  # fmt: skip
        store_report(conn, blur, unit_vector(rng), title=f"Blurry {tag} icons", product=product)
        store_report(
            conn, queued, unit_vector(rng), title=f"Crash on {tag} export", product=product,
            status="possible_duplicate", similar=[{"submission_id": crash, "score": 0.8}],
        )  # fmt: skip
        mine = {crash, blur, queued}

        def found(text: str) -> set[str]:
            rows = bug_reports(conn, ReportFilter(text=text))
            return {r.submission_id for r in rows} & mine

        assert found(tag) == mine
        assert found(f"{tag} crash") == {crash, queued}  # "crashes" and "Crash" stem alike
        assert found(f"{tag} -crash") == {blur}
        assert found(f'"saving {tag}"') == {crash}
        assert found(other) == {crash}  # the description is searched too
        assert found(crash) == {crash}  # a submission id matches exactly
        assert found(f"{tag} and the") == mine  # stop words are dropped, not required
        assert found(f"{tag}zzz") == set()
        assert found("'&|!") == set()  # odd input is no query, not an error
        assert found(f"{tag}\x00") == mine  # nor is a NUL, which Postgres text cannot hold
        # The review queue (the API's GET /v1/review/bug_report?q=) searches the same way.
        queue = review_queue(conn, product=product, text=f"{tag} export")
        assert [i.submission_id for i in queue] == [queued]
        assert review_queue(conn, product=product, text=other) == []

        plan = _plan(conn, tag)
        assert "results_bug_report_search_idx" in plan, plan
        assert "Seq Scan" not in plan, plan
