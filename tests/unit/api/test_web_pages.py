"""The web view's pure HTML rendering: everything user-supplied is escaped, links are encoded."""

from __future__ import annotations

from datetime import UTC, datetime

from inferstream.api.web_pages import (
    Health,
    RecentRow,
    Related,
    detail_page,
    home_page,
    login_page,
)

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
HEALTH = Health({"postgres": True, "kafka": False}, [("bug_report", "done", 3)], 2, NOW)


def test_home_escapes_ids_and_shows_health() -> None:
    evil = 'x"><script>alert(1)</script>'
    page = home_page([RecentRow(evil, "duplicate", "a b", 0.5, True, NOW)], HEALTH)
    assert "<script>" not in page
    assert "&lt;script&gt;" in page
    assert 'href="/ui/submissions/x%22%3E%3Cscript%3Ealert%281%29%3C%2Fscript%3E"' in page
    assert 'href="/ui/submissions/a%20b"' in page
    assert 'kafka: <span class="down">NOT reachable' in page
    assert 'postgres: <span class="ok">reachable' in page
    assert '<b id="dlq-last-hour">2</b>' in page
    assert "0.50 (low)" in page and "2026-11-26 12:00:00 UTC" in page


def test_empty_home_says_so() -> None:
    assert "No results yet." in home_page([], HEALTH)


def test_detail_lists_related_reports_with_scores_and_rejections() -> None:
    status = {
        "submission_id": "s1",
        "status": "done",
        "task": "bug_report",
        "result": {"duplicate_status": "duplicate", "similar": [], "note": "<b>"},
        "rejections": [{"stage": "enrich", "kind": "rejected", "reason": "title <empty>"}],
    }
    page = detail_page(status, [Related("s0", 0.91234, "duplicate of")])
    assert '<td id="field-duplicate_status">duplicate</td>' in page
    assert "&lt;b&gt;" in page and "title &lt;empty&gt;" in page
    assert 'duplicate of</td><td class="num">0.912</td>' in page


def test_login_shows_the_error_escaped() -> None:
    page = login_page("the API key is <revoked>")
    assert 'id="error">the API key is &lt;revoked&gt;</p>' in page
    assert 'type="password" name="api_key"' in page
