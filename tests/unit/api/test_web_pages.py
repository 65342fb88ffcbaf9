"""The web view's pure HTML rendering: everything user-supplied is escaped, links are encoded,
lists show titles, the detail page puts two reports side by side, decision forms only with a
CSRF token, and the charts are inline SVG without scripts or style attributes."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from inferstream.api.review import QueueItem
from inferstream.api.web_charts import bar_chart, line_chart
from inferstream.api.web_detail import compared_with, detail_page
from inferstream.api.web_pages import (
    Health,
    home_page,
    login_page,
    pipeline_page,
    review_page,
    task_page,
)
from inferstream.api.web_queries import Minute, Related, ReportFilter, ReportRow, task_columns

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
HEALTH = Health({"postgres": True, "kafka": False}, [("bug_report", "done", 3)], 2, NOW)
EVIL = 'x"><script>alert(1)</script>'


def _row(**overrides: object) -> ReportRow:
    fields: dict[str, object] = {
        "submission_id": "s1",
        "title": "Crash on save",
        "product": "editor",
        "component": "files",
        "status": "duplicate",
        "reviewed": False,
        "original_id": "s0",
        "original_title": "Saving crashes",
        "quality_score": 0.5,
        "low_quality": True,
        "created_at": NOW,
    }
    fields.update(overrides)
    return ReportRow(**fields)  # type: ignore[arg-type]


def test_home_lists_titles_escaped_with_filters_and_health() -> None:
    rows = [_row(submission_id=EVIL, title=None), _row(submission_id="a b", reviewed=True)]
    page = home_page(rows, ReportFilter(product="editor", text="<q>"), ["editor", "viewer"], HEALTH)
    assert "<script>" not in page and "&lt;script&gt;" in page
    # No title stored: the id is the link text; with a title, the title is.
    assert 'href="/ui/submissions/x%22%3E%3Cscript%3Ealert%281%29%3C%2Fscript%3E"' in page
    assert '<a href="/ui/submissions/a%20b">Crash on save</a>' in page
    assert '<a href="/ui/submissions/s0">Saving crashes</a>' in page
    assert "(reviewed)" in page
    assert '<option value="editor" selected>editor</option>' in page
    assert 'value="&lt;q&gt;"' in page
    assert 'kafka: <span class="down">NOT reachable' in page
    assert '<b id="dlq-last-hour">2</b>' in page
    assert "0.50 (low)" in page and "2026-11-26 12:00:00 UTC" in page


def test_empty_home_says_so() -> None:
    assert "No reports match." in home_page([], ReportFilter(), [], HEALTH)


def _report(sid: str, title: str, **more: object) -> dict[str, object]:
    return {
        "submission_id": sid,
        "title": title,
        "description": f"{title} <details>",
        "steps_to_reproduce": "1. open\n2. save",
        "logs": "Traceback: IOError",
        "product": "editor",
        "component": "files",
        "duplicate_status": "possible_duplicate",
        "duplicate_of": None,
        "similar": [{"submission_id": "s0", "score": 0.8}],
        **more,
    }


def test_detail_puts_the_two_reports_side_by_side_with_decision_forms() -> None:
    status = {"submission_id": "s1", "status": "done", "task": "bug_report"}
    status["result"] = _report("s1", "Crash on save")
    other = _report("s0", "Saving crashes")
    related = [Related("s0", 0.91234, "similar at inference")]
    page = detail_page(status, related, other=other, csrf="tok<en>")
    left, right = page.index('id="report-left"'), page.index('id="report-right"')
    assert left < page.index("Crash on save &lt;details&gt;") < right
    assert right < page.index("Saving crashes &lt;details&gt;")
    assert page.count('name="csrf" value="tok&lt;en&gt;"') == 3
    assert 'id="confirm">Confirm: duplicate of s0' in page
    assert 'similar at inference</td><td class="num">0.912</td>' in page
    assert "<title>Crash on save" in page


def test_detail_without_rights_shows_no_forms() -> None:
    status = {"submission_id": "s1", "status": "done", "task": "bug_report"}
    status["result"] = _report("s1", "Crash")
    page = detail_page(status, [], other=None, csrf=None)
    assert '<form method="post" action="/ui/review' not in page
    assert 'id="report-left"' in page and 'id="report-right"' not in page


def test_compared_with_prefers_the_reviewers_original() -> None:
    assert compared_with(_report("s1", "t")) == "s0"  # a possible duplicate's best candidate
    assert compared_with(_report("s1", "t", duplicate_of="s9")) == "s9"
    review = {"original_id": "s7", "model_duplicate_of": "s9"}
    assert compared_with(_report("s1", "t", review=review)) == "s7"
    cleared = {"original_id": None, "model_duplicate_of": "s9"}
    assert compared_with(_report("s1", "t", review=cleared)) == "s9"
    assert compared_with(_report("s1", "t", duplicate_status="unique", similar=[])) is None


def test_other_tasks_show_their_own_columns() -> None:
    columns = task_columns("churn")
    assert columns == ["submission_id", "probability", "label", "threshold", "top_features",
                       "created_at"]  # fmt: skip
    row = {"submission_id": "c1", "probability": 0.123456, "label": True, "threshold": 0.5,
           "top_features": {"tenure": 0.3}, "created_at": NOW}  # fmt: skip
    page = task_page("churn", columns, [row], ["bug_report", "churn"])
    assert "<th>probability</th>" in page and "<td>0.1235</td>" in page
    assert '<a href="/ui/tasks/churn">churn</a>' in page
    assert "embedding" not in task_columns("bug_report")


def test_review_queue_lists_titles_and_candidates() -> None:
    item = QueueItem("s1", "Crash", "editor", "files", "s0", "Saving <crashes>", 0.77, NOW)
    page = review_page([item], None, ["editor"], [])
    assert '<a href="/ui/submissions/s0">Saving &lt;crashes&gt;</a>' in page
    assert "0.770" in page and "Review queue (1)" in page
    assert "The queue is empty." in review_page([], None, [], [])


def test_pipeline_charts_are_inline_svg_without_scripts_or_styles() -> None:
    minutes = [Minute(59 - i, i % 7, 0.2 + i / 100, 0.5 + i / 50, None if i % 9 else 1.5, i % 2)
               for i in range(60)]  # fmt: skip
    page = pipeline_page(minutes, HEALTH, [])
    for chart in ("throughput", "latency", "lag", "dlq"):
        assert f'<svg id="{chart}"' in page
    assert "<script" not in page and "style=" not in page
    assert f'<b id="results-last-hour">{sum(i % 7 for i in range(60))}</b>' in page


def test_bar_heights_scale_to_a_round_maximum() -> None:
    svg = bar_chart("n", [0, 5, 10, 37], "", "c")
    heights = [float(h) for h in re.findall(r'<rect [^>]*height="([0-9.]+)"', svg)]
    assert len(heights) == 3  # zero draws no bar
    assert heights[1] / heights[0] == 2.0 and heights[2] == round(heights[1] * 3.7, 1)
    assert ">50</text>" in svg  # 37 rounds up to 50


def test_a_gap_breaks_the_line() -> None:
    svg = line_chart("latency", [("p50", [0.1, 0.2, None, 0.3, 0.4])], "s", "c")
    assert svg.count("<polyline") == 2
    assert ">500 ms</text>" in svg  # under a second: milliseconds


def test_login_shows_the_error_escaped() -> None:
    page = login_page("the API key is <revoked>")
    assert 'id="error">the API key is &lt;revoked&gt;</p>' in page
    assert 'type="password" name="api_key"' in page
