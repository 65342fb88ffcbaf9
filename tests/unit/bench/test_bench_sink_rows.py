"""The sink benchmark's rows: the report text only when asked, in the columns the sink writes."""

from __future__ import annotations

from inferstream.bench import sink, workload
from inferstream.plugins import load_plugin
from inferstream.schemas.tasks.bug_report import EXCERPT_CHARS

TEXT_COLUMNS = ("title", "description", "steps_to_reproduce", "logs", "product", "component")


def _column(rows: list[sink.Row], name: str) -> list[object]:
    index = list(load_plugin("bug_report").table.columns).index(name)
    return [row[index] for row in rows]


def test_rows_without_texts_leave_the_text_columns_null() -> None:
    rows = sink.make_rows(3)
    for name in TEXT_COLUMNS:
        assert _column(rows, name) == [None, None, None]


def test_rows_with_texts_carry_the_workload_reports() -> None:
    payloads = workload.payloads(4)
    rows = sink.make_rows(4, texts=sink.report_texts(4))
    assert _column(rows, "title") == [p["title"] for p in payloads]
    assert _column(rows, "description") == [p["description"][:EXCERPT_CHARS] for p in payloads]
    assert _column(rows, "product") == [p["product"] for p in payloads]
    # The rest of a row is the text-less row's: the same ids, vectors and scores.
    plain = sink.make_rows(4)
    assert _column(rows, "submission_id") == _column(plain, "submission_id")
    assert _column(rows, "content_sha256") == _column(plain, "content_sha256")
