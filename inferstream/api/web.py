"""The web view: bug reports (filters, search), any task's results, a submission's text beside
the report it may duplicate with the reviewer's decision forms, the review queue, and the
pipeline's last hour in server-rendered SVG charts.

Server-rendered HTML without scripts under ``/ui``; the session, admission, Origin and CSRF
checks are in web_guard.py. Signing in verifies the API key once and
starts a server-side session (``sessions``): the HttpOnly, SameSite=Strict cookie scoped to
``/ui`` holds only the session's random token (Secure behind TLS, here or at a proxy). Every page
resolves the session (live, key still active, role reader or above, the read rate limit);
signing out deletes it. Every POST refuses requests whose Origin is not this site (CSRF);
decision forms also carry a token derived from the session's (``csrf_token``), checked on
submit, and need a producer or admin key.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from typing import Annotated, Any, TypeVar
from urllib.parse import parse_qs, quote

import psycopg
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from inferstream.api.auth import require_role
from inferstream.api.context import Context, client_address, reachable
from inferstream.api.keys import Role
from inferstream.api.problems import ProblemError
from inferstream.api.queries import submission_status
from inferstream.api.ratelimit import OpClass
from inferstream.api.review import decision_history, review_queue
from inferstream.api.sessions import end_session
from inferstream.api.triage import DecisionIn, ProductFilter, record_decision
from inferstream.api.web_detail import compared_with, detail_page, not_found_page
from inferstream.api.web_guard import (
    COOKIE,
    MAX_FORM_BYTES,
    SESSION_S,
    admit,
    behind_tls,
    create_session,
    cross_origin,
    csrf_token,
    html,
    to_login,
)
from inferstream.api.web_pages import (
    STATUSES,
    STYLE,
    Health,
    home_page,
    login_page,
    message_page,
    pipeline_page,
    review_page,
    task_page,
)
from inferstream.api.web_queries import (
    ReportFilter,
    bug_reports,
    last_hour,
    products,
    related_reports,
    task_columns,
    task_rows,
)
from inferstream.plugins.columns import TABLES

HEALTH_CACHE_S = 10.0  # the counts scan recent rows: at most one scan per replica per 10 s
TASKS = tuple(TABLES)
SubmissionId = Annotated[str, Path(max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")]
T = TypeVar("T")

router = APIRouter(prefix="/ui", include_in_schema=False)


def _cached(state: Any, name: str, compute: Callable[[], T]) -> T:
    """``compute()``, reused for HEALTH_CACHE_S per app (state.<name>)."""
    cached: tuple[float, T] | None = getattr(state, name, None)
    if cached is not None and time.monotonic() - cached[0] < HEALTH_CACHE_S:
        return cached[1]
    value = compute()
    setattr(state, name, (time.monotonic(), value))
    return value


@router.get("/app.css")
def stylesheet() -> Response:
    return Response(STYLE, media_type="text/css", headers={"Cache-Control": "max-age=3600"})


@router.get("/login")
def login_form() -> Response:
    return html(login_page())


@router.post("/login")
async def login(request: Request, ctx: Context) -> Response:
    refused = cross_origin(request, ctx)
    if refused is not None:
        return refused
    body = await request.body()
    key = parse_qs(body[:MAX_FORM_BYTES].decode(errors="replace")).get("api_key", [""])[0]
    try:
        # argon2 takes ~150 ms: off the event loop, like the JSON routes' sync dependencies.
        caller = await run_in_threadpool(
            ctx.verifier.verify, key.strip() or None, client_address(request)
        )
        require_role(caller, Role.reader)
    except ProblemError as err:
        return html(login_page(str(err)), err.status, err.headers)
    token = await run_in_threadpool(create_session, ctx, caller.key_id)
    response = RedirectResponse("/ui", status_code=303)
    response.set_cookie(
        COOKIE,
        token,
        max_age=SESSION_S,
        path="/ui",
        httponly=True,
        samesite="strict",
        secure=behind_tls(request, ctx),
    )
    return response


@router.post("/logout")
def logout(request: Request, ctx: Context) -> Response:
    """Ends the session server-side (the token is dead even if a copy of the cookie lives on)."""
    refused = cross_origin(request, ctx)
    if refused is not None:
        return refused
    with ctx.db.connection() as conn:
        end_session(conn, request.cookies.get(COOKIE))
    return to_login()


Text = Annotated[str | None, Query(max_length=200)]


@router.get("")
def home(
    request: Request,
    ctx: Context,
    q: Text = None,
    product: ProductFilter = None,
    status: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:
    admitted = admit(request, ctx)
    if isinstance(admitted, Response):
        return admitted
    filters = ReportFilter(
        product=product or None,
        status=status if status in STATUSES else None,
        text=(q or "").strip() or None,
    )
    with ctx.db.connection() as conn:
        rows = bug_reports(conn, filters)
        offered = products(conn)
        health = _health(conn, request.app.state)
    return html(home_page(rows, filters, offered, health, TASKS))


@router.get("/tasks/{task}")
def task_list(
    task: Annotated[str, Path(max_length=64, pattern=r"^[a-z][a-z0-9_]*$")],
    request: Request,
    ctx: Context,
    q: Text = None,
) -> Response:
    admitted = admit(request, ctx)
    if isinstance(admitted, Response):
        return admitted
    if task == "bug_report":
        return RedirectResponse("/ui", status_code=303)
    if task not in TABLES:
        return html(message_page("Not found", f"No task {task} has results.", TASKS), 404)
    with ctx.db.connection() as conn:
        rows = task_rows(conn, task, (q or "").strip() or None)
    return html(task_page(task, task_columns(task), rows, TASKS))


@router.get("/submissions/{submission_id}")
def submission(submission_id: SubmissionId, request: Request, ctx: Context) -> Response:
    admitted = admit(request, ctx)
    if isinstance(admitted, Response):
        return admitted
    may_decide = admitted.role >= Role.producer
    with ctx.db.connection(vectors=True) as conn:
        status = submission_status(conn, submission_id)
        if status.status == "unknown":
            return html(not_found_page(submission_id, TASKS), 404)
        document = status.model_dump(mode="json")
        if status.task != "bug_report" or document.get("result") is None:
            return html(detail_page(document, [], tasks=TASKS))
        related = related_reports(conn, document)
        other_id = compared_with(document["result"])
        other = submission_status(conn, other_id).result if other_id else None
        decisions = decision_history(conn, submission_id)
    token = request.cookies.get(COOKIE, "")
    page = detail_page(
        document,
        related,
        other=other.model_dump(mode="json") if other is not None else None,
        csrf=csrf_token(token) if may_decide else None,
        decisions=decisions,
        tasks=TASKS,
    )
    return html(page)


@router.get("/review")
def review(
    request: Request,
    ctx: Context,
    product: ProductFilter = None,
) -> Response:
    admitted = admit(request, ctx)
    if isinstance(admitted, Response):
        return admitted
    with ctx.db.connection() as conn:
        items = review_queue(conn, product=product or None)
        offered = products(conn)
    return html(review_page(items, product or None, offered, TASKS))


@router.post("/review/{submission_id}")
async def decide(submission_id: SubmissionId, request: Request, ctx: Context) -> Response:
    """A decision form: same-site Origin, the session's CSRF token, a producer or admin key."""
    refused = cross_origin(request, ctx)
    if refused is not None:
        return refused
    admitted = await run_in_threadpool(admit, request, ctx, Role.producer, OpClass.write)
    if isinstance(admitted, Response):
        return admitted
    form = parse_qs((await request.body())[:MAX_FORM_BYTES].decode(errors="replace"))
    sent = form.get("csrf", [""])[0]
    if not hmac.compare_digest(sent, csrf_token(request.cookies.get(COOKIE, ""))):
        return html("<p>The form is stale or forged: reload the page.</p>", 403)
    try:
        body = DecisionIn(
            decision=form.get("decision", [""])[0],
            original_id=form.get("original_id", [""])[0].strip() or None,
            note=form.get("note", [""])[0].strip(),
        )
        await run_in_threadpool(record_decision, ctx, submission_id, body, admitted)
    except ValidationError as err:
        message = "; ".join(str(x["msg"]) for x in err.errors())
        return html(message_page("Decision refused", message, TASKS), 422)
    except ProblemError as err:
        return html(message_page("Decision refused", str(err), TASKS), err.status)
    return RedirectResponse(f"/ui/submissions/{quote(submission_id, safe='')}", status_code=303)


@router.get("/pipeline")
def pipeline(request: Request, ctx: Context) -> Response:
    admitted = admit(request, ctx)
    if isinstance(admitted, Response):
        return admitted
    with ctx.db.connection() as conn:
        minutes = _cached(request.app.state, "pipeline_minutes", lambda: last_hour(conn))
        health = _health(conn, request.app.state)
    return html(pipeline_page(minutes, health, TASKS))


def _health(conn: psycopg.Connection[Any], state: Any) -> Health:
    """Cached on the app (``state.health``) for HEALTH_CACHE_S."""

    def compute() -> Health:
        counts = conn.execute(
            "SELECT task, status, count(*) FROM submissions "
            "WHERE updated_at >= now() - interval '1 hour' GROUP BY task, status ORDER BY 1, 2"
        ).fetchall()
        dead = conn.execute(
            "SELECT count(*) FROM dead_letters WHERE created_at >= now() - interval '1 hour'"
        ).fetchone()
        last = conn.execute("SELECT max(created_at) FROM results_bug_report").fetchone()
        return Health(
            probes={"postgres": True, **reachable(state.probes)},  # this page just read Postgres
            submissions=[(task, status, int(n)) for task, status, n in counts],
            dead_letters_last_hour=int(dead[0]) if dead else 0,
            last_result_at=last[0] if last else None,
        )

    return _cached(state, "health", compute)
