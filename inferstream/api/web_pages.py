"""The web view's HTML, rendered from plain data (pure functions, no I/O): the layout, lists,
the review queue and the pipeline page. A submission's page is in ``web_detail``.

Every value is escaped here; pages carry no script, so the CSP forbids scripts altogether.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Any
from urllib.parse import quote

from inferstream.api.review import QueueItem
from inferstream.api.web_charts import bar_chart, line_chart
from inferstream.api.web_queries import Minute, ReportFilter, ReportRow

STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem auto; max-width: 76rem; color: #222;
  padding: 0 1rem; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.1rem; margin-top: 1.6rem; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .25rem .5rem; border-bottom: 1px solid #ddd;
  vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.ok { color: #17702c; } .down { color: #b3261e; font-weight: 600; }
.tag { padding: 0 .4rem; border-radius: .3rem; background: #eee; }
.duplicate { background: #fde2e1; } .possible_duplicate { background: #fff2cc; }
nav { padding-bottom: .5rem; border-bottom: 1px solid #ddd; }
nav a { margin-right: 1rem; } form.inline { display: inline; } code { font-size: 12px; }
form.filters { margin: .5rem 0; } form.filters label { margin-right: .8rem; }
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; }
.report { border: 1px solid #ccc; border-radius: .4rem; padding: .3rem .8rem; }
.report h3 { font-size: 1rem; margin: .4rem 0; }
.report pre { white-space: pre-wrap; word-break: break-word; background: #f6f6f6;
  padding: .4rem; max-height: 16rem; overflow: auto; font-size: 12px; }
.meta { color: #555; font-size: 12px; }
.decide form { margin: .4rem 0; } .decide input[type=text] { width: 18rem; }
.charts { display: grid; grid-template-columns: repeat(2, 1fr); gap: 1rem; }
svg.chart { border: 1px solid #eee; background: #fff; }
"""

STATUSES = ("unique", "possible_duplicate", "duplicate")


@dataclass(frozen=True)
class Health:
    probes: Mapping[str, bool]  # dependency -> reachable
    submissions: Sequence[tuple[str, str, int]]  # (task, status, count)
    dead_letters_last_hour: int
    last_result_at: datetime | None


def e(value: object) -> str:
    return escape("" if value is None else str(value), quote=True)


def when(value: datetime | None) -> str:
    return "-" if value is None else value.strftime("%Y-%m-%d %H:%M:%S UTC")


def link(submission_id: str, text: str | None = None) -> str:
    """A link to a submission's page, labelled with its title when there is one."""
    label = text if text else submission_id
    return f'<a href="/ui/submissions/{quote(submission_id, safe="")}">{e(label)}</a>'


def page(title: str, body: str, tasks: Sequence[str] = ()) -> str:
    task_links = "".join(
        f'<a href="/ui/tasks/{quote(t, safe="")}">{e(t)}</a>' for t in tasks if t != "bug_report"
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<title>{e(title)} · inferstream</title><link rel="stylesheet" href="/ui/app.css">'
        '</head><body><nav><a href="/ui">Bug reports</a><a href="/ui/review">Review queue</a>'
        f'<a href="/ui/pipeline">Pipeline</a>{task_links}'
        '<form class="inline" method="post" action="/ui/logout">'
        '<button type="submit">Sign out</button></form></nav>'
        f"<h1>{e(title)}</h1>{body}</body></html>"
    )


def table(headers: Iterable[str], rows: Iterable[str], table_id: str) -> str:
    head = "".join(f"<th>{e(h)}</th>" for h in headers)
    body = "".join(rows)
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def login_page(error: str | None = None) -> str:
    message = f'<p class="down" id="error">{e(error)}</p>' if error else ""
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
        f'<li id="probe-{e(name)}">{e(name)}: <span class="{"ok" if up else "down"}">'
        f"{'reachable' if up else 'NOT reachable'}</span></li>"
        for name, up in sorted(health.probes.items())
    )
    counts = [
        f'<tr><td>{e(task)}</td><td>{e(status)}</td><td class="num">{count}</td></tr>'
        for task, status, count in health.submissions
    ]
    return (
        f'<h2>Pipeline health</h2><ul id="health">{probes}</ul>'
        f'<p>Dead letters in the last hour: <b id="dlq-last-hour">{health.dead_letters_last_hour}'
        f"</b>. Last result written: <b>{when(health.last_result_at)}</b>.</p>"
        + table(("task", "status", "submissions (last hour)"), counts, "submission-counts")
    )


def _options(values: Sequence[str], chosen: str | None, empty: str) -> str:
    options = [f'<option value="">{e(empty)}</option>']
    options += [
        f'<option value="{e(v)}"{" selected" if v == chosen else ""}>{e(v)}</option>'
        for v in values
    ]
    return "".join(options)


def filter_form(filters: ReportFilter, products: Sequence[str]) -> str:
    return (
        '<form class="filters" method="get" action="/ui" id="filters">'
        f'<label>Search <input type="search" name="q" id="q" value="{e(filters.text)}" '
        'placeholder="words in title or description"></label>'
        f'<label>Product <select name="product" id="product">'
        f"{_options(products, filters.product, 'any')}</select></label>"
        f'<label>Status <select name="status" id="status">'
        f"{_options(STATUSES, filters.status, 'any')}</select></label>"
        '<button type="submit" id="apply">Filter</button></form>'
    )


def home_page(
    rows: Sequence[ReportRow],
    filters: ReportFilter,
    products: Sequence[str],
    health: Health,
    tasks: Sequence[str] = (),
) -> str:
    lines = [
        f'<tr class="{e(r.status)}"><td>{link(r.submission_id, r.title)}</td>'
        f"<td>{e(r.product)}</td><td>{e(r.component)}</td>"
        f'<td><span class="tag">{e(r.status)}</span>{" (reviewed)" if r.reviewed else ""}</td>'
        f"<td>{link(r.original_id, r.original_title) if r.original_id else ''}</td>"
        f'<td class="num">{r.quality_score:.2f}{" (low)" if r.low_quality else ""}</td>'
        f"<td>{when(r.created_at)}</td></tr>"
        for r in rows
    ]
    listing = table(
        (
            "report",
            "product",
            "component",
            "duplicate status",
            "duplicate of",
            "quality",
            "written",
        ),
        lines,
        "recent-results",
    )
    empty = '<p id="empty">No reports match.</p>' if not rows else ""
    body = filter_form(filters, products) + f"<h2>Latest {len(rows)}</h2>{empty}{listing}"
    return page("Bug reports", body + health_section(health), tasks)


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    if isinstance(value, datetime):
        text = when(value)
    elif isinstance(value, float):
        text = f"{value:.4g}"
    return e(text if len(text) <= 120 else text[:117] + "...")


def task_page(
    task: str, columns: Sequence[str], rows: Sequence[Mapping[str, Any]], tasks: Sequence[str]
) -> str:
    lines = [
        "<tr>"
        + "".join(
            f"<td>{link(row[c]) if c == 'submission_id' else _cell(row[c])}</td>" for c in columns
        )
        + "</tr>"
        for row in rows
    ]
    search = (
        f'<form class="filters" method="get" action="/ui/tasks/{quote(task, safe="")}">'
        '<label>Submission id starts with <input type="search" name="q" id="q"></label>'
        '<button type="submit">Filter</button></form>'
    )
    empty = '<p id="empty">No results yet.</p>' if not rows else ""
    listing = table(columns, lines, "task-results")
    return page(f"{task}: latest {len(rows)}", search + empty + listing, tasks)


def review_page(
    items: Sequence[QueueItem], product: str | None, products: Sequence[str], tasks: Sequence[str]
) -> str:
    lines = [
        f'<tr class="possible_duplicate"><td>{link(i.submission_id, i.title)}</td>'
        f"<td>{e(i.product)}</td><td>{e(i.component)}</td>"
        f"<td>{link(i.candidate_id, i.candidate_title) if i.candidate_id else ''}</td>"
        f'<td class="num">{"" if i.score is None else f"{i.score:.3f}"}</td>'
        f"<td>{when(i.created_at)}</td></tr>"
        for i in items
    ]
    form = (
        '<form class="filters" method="get" action="/ui/review">'
        f'<label>Product <select name="product" id="product">'
        f"{_options(products, product, 'any')}</select></label>"
        '<button type="submit">Filter</button></form>'
    )
    intro = (
        "<p>Possible duplicates nobody has decided yet, newest first. Open one to compare it "
        "with the original the model proposes and decide.</p>"
    )
    empty = '<p id="empty">The queue is empty.</p>' if not items else ""
    listing = table(
        ("report", "product", "component", "proposed original", "score", "written"),
        lines,
        "review-queue",
    )
    return page(f"Review queue ({len(items)})", intro + form + empty + listing, tasks)


def pipeline_page(minutes: Sequence[Minute], health: Health, tasks: Sequence[str]) -> str:
    charts = "".join(
        (
            bar_chart("Results written per minute", [m.results for m in minutes], "", "throughput"),
            line_chart(
                "End-to-end latency (submitted to stored)",
                [
                    ("p50", [m.latency_p50_s for m in minutes]),
                    ("p95", [m.latency_p95_s for m in minutes]),
                ],
                "s",
                "latency",
            ),
            line_chart(
                "Sink lag (result produced to stored, worst)",
                [("max", [m.sink_lag_s for m in minutes])],
                "s",
                "lag",
            ),
            bar_chart("Dead letters per minute", [m.dead_letters for m in minutes], "", "dlq"),
        )
    )
    total = sum(m.results for m in minutes)
    summary = (
        f'<p>Last hour, every task: <b id="results-last-hour">{total}</b> results written, '
        f"<b>{sum(m.dead_letters for m in minutes)}</b> dead letters. One point per minute, "
        "read from Postgres.</p>"
    )
    body = summary + f'<div class="charts">{charts}</div>' + health_section(health)
    return page("Pipeline, last hour", body, tasks)


def message_page(title: str, text: str, tasks: Sequence[str] = ()) -> str:
    return page(title, f'<p id="message">{e(text)}</p>', tasks)
