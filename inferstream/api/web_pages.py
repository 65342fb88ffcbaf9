"""The web view's HTML, rendered from plain data (pure functions, no I/O).

Every value is escaped here; pages carry no script, so the CSP forbids scripts altogether.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Any
from urllib.parse import quote

STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem auto; max-width: 72rem; color: #222; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.1rem; margin-top: 1.6rem; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .25rem .5rem; border-bottom: 1px solid #ddd; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.ok { color: #17702c; } .down { color: #b3261e; font-weight: 600; }
.tag { padding: 0 .4rem; border-radius: .3rem; background: #eee; }
.duplicate { background: #fde2e1; } .possible_duplicate { background: #fff2cc; }
nav a { margin-right: 1rem; } form.inline { display: inline; } code { font-size: 12px; }
"""


@dataclass(frozen=True)
class RecentRow:
    submission_id: str
    duplicate_status: str
    duplicate_of: str | None
    quality_score: float
    low_quality: bool
    created_at: datetime


@dataclass(frozen=True)
class Health:
    probes: Mapping[str, bool]  # dependency -> reachable
    submissions: Sequence[tuple[str, str, int]]  # (task, status, count)
    dead_letters_last_hour: int
    last_result_at: datetime | None


@dataclass(frozen=True)
class Related:
    submission_id: str
    score: float
    relation: str  # "duplicate of", "similar", "nearest", "filed as its duplicate"


def _e(value: object) -> str:
    return escape("" if value is None else str(value), quote=True)


def _time(value: datetime | None) -> str:
    return "-" if value is None else value.strftime("%Y-%m-%d %H:%M:%S UTC")


def _link(submission_id: str) -> str:
    return f'<a href="/ui/submissions/{quote(submission_id, safe="")}">{_e(submission_id)}</a>'


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<title>{_e(title)} · inferstream</title><link rel="stylesheet" href="/ui/app.css">'
        '</head><body><nav><a href="/ui">Recent results</a>'
        '<form class="inline" method="post" action="/ui/logout">'
        '<button type="submit">Sign out</button></form></nav>'
        f"<h1>{_e(title)}</h1>{body}</body></html>"
    )


def _table(headers: Iterable[str], rows: Iterable[str], table_id: str) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join(rows)
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def login_page(error: str | None = None) -> str:
    message = f'<p class="down" id="error">{_e(error)}</p>' if error else ""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<title>Sign in · inferstream</title><link rel="stylesheet" href="/ui/app.css"></head>'
        f"<body><h1>inferstream results</h1>{message}"
        '<form method="post" action="/ui/login"><label>API key (reader or above) '
        '<input type="password" name="api_key" id="api_key" autocomplete="off" required>'
        '</label> <button type="submit" id="sign_in">Sign in</button></form></body></html>'
    )


def health_section(health: Health) -> str:
    probes = "".join(
        f'<li id="probe-{_e(name)}">{_e(name)}: <span class="{"ok" if up else "down"}">'
        f"{'reachable' if up else 'NOT reachable'}</span></li>"
        for name, up in sorted(health.probes.items())
    )
    counts = [
        f'<tr><td>{_e(task)}</td><td>{_e(status)}</td><td class="num">{count}</td></tr>'
        for task, status, count in health.submissions
    ]
    return (
        f'<h2>Pipeline health</h2><ul id="health">{probes}</ul>'
        f'<p>Dead letters in the last hour: <b id="dlq-last-hour">{health.dead_letters_last_hour}'
        f"</b>. Last result written: <b>{_time(health.last_result_at)}</b>.</p>"
        + _table(("task", "status", "submissions"), counts, "submission-counts")
    )


def home_page(recent: Sequence[RecentRow], health: Health) -> str:
    rows = [
        f'<tr class="{_e(r.duplicate_status)}"><td>{_link(r.submission_id)}</td>'
        f'<td><span class="tag">{_e(r.duplicate_status)}</span></td>'
        f"<td>{_link(r.duplicate_of) if r.duplicate_of else ''}</td>"
        f'<td class="num">{r.quality_score:.2f}{" (low)" if r.low_quality else ""}</td>'
        f"<td>{_time(r.created_at)}</td></tr>"
        for r in recent
    ]
    table = _table(
        ("submission", "duplicate status", "duplicate of", "quality", "written"),
        rows,
        "recent-results",
    )
    empty = "<p>No results yet.</p>" if not recent else ""
    return _page(
        "Recent results",
        f"<h2>bug_report: latest {len(recent)}</h2>{empty}{table}" + health_section(health),
    )


def detail_page(status: Mapping[str, Any], related: Sequence[Related]) -> str:
    """A submission: its status, its result's fields, and its duplicates with their scores."""
    result = status.get("result") or {}
    fields = {k: v for k, v in result.items() if k not in ("similar",)}
    facts = "".join(
        f'<tr><th>{_e(k)}</th><td id="field-{_e(k)}">{_e(v)}</td></tr>'
        for k, v in [("status", status["status"]), ("task", status.get("task")), *fields.items()]
    )
    rejected = "".join(
        f"<li>{_e(r['stage'])} ({_e(r['kind'])}): {_e(r['reason'])}</li>"
        for r in status.get("rejections", [])
    )
    rows = [
        f"<tr><td>{_link(r.submission_id)}</td><td>{_e(r.relation)}</td>"
        f'<td class="num">{r.score:.3f}</td></tr>'
        for r in related
    ]
    body = f'<table id="submission">{facts}</table>'
    if rejected:
        body += f'<h2>Rejected</h2><ul id="rejections">{rejected}</ul>'
    if status.get("task") == "bug_report" and result:
        body += "<h2>Duplicates and similar reports</h2>" + _table(
            ("submission", "relation", "cosine similarity"), rows, "related"
        )
    return _page(f"Submission {status['submission_id']}", body)


def not_found_page(submission_id: str) -> str:
    return _page("Not found", f"<p>No submission {_e(submission_id)} is known.</p>")
