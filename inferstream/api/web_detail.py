"""A submission's page (pure rendering): a bug report's own text, side by side with the report
it may duplicate, the reviewer's decision forms, the decisions so far, related reports; any
other task's result fields."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from inferstream.api.web_pages import e, link, page, table, when
from inferstream.api.web_queries import Related

# Result fields shown as the report's text, not in the facts table.
TEXT_FIELDS = ("title", "description", "steps_to_reproduce", "logs", "product", "component")
HIDDEN = ("similar", "review", *TEXT_FIELDS)


def report_block(result: Mapping[str, Any], side: str, heading: str) -> str:
    """One report's own text (excerpts as stored) with its product and component."""
    sid = str(result.get("submission_id", ""))
    parts = [
        f'<div class="report" id="report-{side}"><p class="meta">{e(heading)}: {link(sid)}</p>',
        f'<h3 class="title">{e(result.get("title") or "(no title stored)")}</h3>',
        f'<p class="meta">product <b class="product">{e(result.get("product"))}</b>, component '
        f'<b class="component">{e(result.get("component") or "-")}</b>, written '
        f"{e(result.get('created_at', '-'))}</p>",
    ]
    for field, label in (
        ("description", "Description"),
        ("steps_to_reproduce", "Steps to reproduce"),
        ("logs", "Logs"),
    ):
        text = result.get(field)
        if text:
            parts.append(f'<h4>{label}</h4><pre class="{field}">{e(text)}</pre>')
    return "".join(parts) + "</div>"


def compared_with(result: Mapping[str, Any]) -> str | None:
    """The report this one is put beside: the reviewer's original, else the model's duplicate_of,
    else (a possible duplicate without one) its best candidate."""
    review = result.get("review") or {}
    if review:
        return review.get("original_id") or review.get("model_duplicate_of")
    if result.get("duplicate_of"):
        return str(result["duplicate_of"])
    similar = result.get("similar") or []
    if result.get("duplicate_status") == "possible_duplicate" and similar:
        return str(similar[0]["submission_id"])
    return None


def _decision_forms(sid: str, proposed: str | None, related: Sequence[Related], csrf: str) -> str:
    action = f"/ui/review/{quote(sid, safe='')}"
    hidden = f'<input type="hidden" name="csrf" value="{e(csrf)}">'
    note = '<input type="text" name="note" maxlength="2000" placeholder="note (optional)">'
    forms = []
    if proposed:
        forms.append(
            f'<form method="post" action="{action}">{hidden}'
            '<input type="hidden" name="decision" value="confirm">'
            f'{note} <button type="submit" id="confirm">Confirm: duplicate of '
            f"{e(proposed)}</button></form>"
        )
    forms.append(
        f'<form method="post" action="{action}">{hidden}'
        '<input type="hidden" name="decision" value="not_duplicate">'
        f'{note} <button type="submit" id="not-duplicate">Not a duplicate</button></form>'
    )
    options = "".join(f'<option value="{e(r.submission_id)}">' for r in related)
    forms.append(
        f'<form method="post" action="{action}">{hidden}'
        '<input type="hidden" name="decision" value="other_original">'
        '<input type="text" name="original_id" id="original_id" list="candidates" required '
        f'placeholder="submission id of the original"><datalist id="candidates">{options}'
        f'</datalist> {note} <button type="submit" id="other-original">Duplicate of this '
        "other report</button></form>"
    )
    return f'<div class="decide" id="decide"><h2>Decide</h2>{"".join(forms)}</div>'


def _history(decisions: Sequence[Mapping[str, Any]]) -> str:
    rows = [
        f"<tr><td>{when(d['decided_at'])}</td><td>{e(d['decided_by_name'])}</td>"
        f"<td>{e(d['decision'])}</td><td>{e(d['original_id'] or '')}</td>"
        f"<td>{e(d['model_status'])}</td><td>{e(d['note'])}</td></tr>"
        for d in decisions
    ]
    return "<h2>Decisions</h2>" + table(
        ("when", "by", "decision", "original", "model said", "note"), rows, "decisions"
    )


def detail_page(
    status: Mapping[str, Any],
    related: Sequence[Related],
    *,
    other: Mapping[str, Any] | None = None,
    csrf: str | None = None,
    decisions: Sequence[Mapping[str, Any]] = (),
    tasks: Sequence[str] = (),
) -> str:
    """A submission: its text and verdict; for a bug report, ``other`` (the report it may
    duplicate) beside it, and the decision forms when ``csrf`` is given (producer or admin)."""
    result = status.get("result") or {}
    is_report = status.get("task") == "bug_report" and bool(result)
    hidden = HIDDEN if is_report else ("similar",)
    fields = {k: v for k, v in result.items() if k not in hidden}
    facts = "".join(
        f'<tr><th>{e(k)}</th><td id="field-{e(k)}">{e(v)}</td></tr>'
        for k, v in [("status", status["status"]), ("task", status.get("task")), *fields.items()]
    )
    rejected = "".join(
        f"<li>{e(r['stage'])} ({e(r['kind'])}): {e(r['reason'])}</li>"
        for r in status.get("rejections", [])
    )
    body = ""
    if is_report:
        review = result.get("review")
        verdict = f'<p id="verdict">Status <span class="tag">{e(result["duplicate_status"])}</span>'
        if review:
            verdict += (
                f" decided by {e(review['decided_by'])} ({e(review['decision'])}); the model "
                f"said {e(review['model_status'])}"
            )
        body += verdict + ".</p>"
        mine = report_block(result, "left", "This report")
        if other:
            theirs = report_block(other, "right", "Compared with")
            body += f'<div class="pair" id="pair">{mine}{theirs}</div>'
        else:
            body += mine
        if csrf is not None:
            body += _decision_forms(
                str(status["submission_id"]), compared_with(result), related, csrf
            )
        if decisions:
            body += _history(decisions)
    body += f'<h2>Fields</h2><table id="submission">{facts}</table>'
    if rejected:
        body += f'<h2>Rejected</h2><ul id="rejections">{rejected}</ul>'
    if is_report:
        rows = [
            f"<tr><td>{link(r.submission_id)}</td><td>{e(r.relation)}</td>"
            f'<td class="num">{r.score:.3f}</td></tr>'
            for r in related
        ]
        body += "<h2>Duplicates and similar reports</h2>" + table(
            ("submission", "relation", "cosine similarity"), rows, "related"
        )
    title = result.get("title") if is_report else None
    return page(str(title or f"Submission {status['submission_id']}"), body, tasks)


def not_found_page(submission_id: str, tasks: Sequence[str] = ()) -> str:
    return page("Not found", f"<p>No submission {e(submission_id)} is known.</p>", tasks)
