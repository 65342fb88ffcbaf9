"""The web view: recent results, a submission's detail with its duplicates, pipeline health.

Server-rendered HTML without scripts under ``/ui``. Signing in verifies the API key once and
starts a server-side session (``sessions``): the HttpOnly, SameSite=Strict cookie scoped to
``/ui`` holds only the session's random token (Secure behind TLS, here or at a proxy). Every page
resolves the session (live, key still active, role reader or above, the read rate limit);
signing out deletes it. Both POSTs refuse requests whose Origin is not this site (CSRF).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from html import escape
from typing import Annotated, Any
from urllib.parse import parse_qs, urlsplit

import psycopg
from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from psycopg.rows import dict_row
from starlette.concurrency import run_in_threadpool

from inferstream.api.auth import require_role
from inferstream.api.context import ApiContext, Context, client_address, reachable
from inferstream.api.keys import Role
from inferstream.api.problems import ProblemError
from inferstream.api.queries import embedding_of, nearest, submission_status
from inferstream.api.ratelimit import OpClass
from inferstream.api.sessions import end_session, session_principal, start_session
from inferstream.api.web_pages import (
    STYLE,
    Health,
    RecentRow,
    Related,
    detail_page,
    home_page,
    login_page,
    not_found_page,
)

COOKIE = "inferstream_session"
SESSION_S = 8 * 3600
RECENT = 50
HEALTH_CACHE_S = 10.0  # the counts scan recent rows: at most one scan per replica per 10 s
CSP = (
    "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)
MAX_FORM_BYTES = 4096

router = APIRouter(prefix="/ui", include_in_schema=False)


def _html(body: str, status: int = 200, headers: Mapping[str, str] | None = None) -> HTMLResponse:
    # same-origin, not the API's no-referrer: under no-referrer a browser sends "Origin: null"
    # with the page's form POSTs, and the Origin check would refuse the site's own forms.
    base = {"Content-Security-Policy": CSP, "Referrer-Policy": "same-origin"}
    return HTMLResponse(body, status, headers={**base, **(headers or {})})


def _to_login() -> Response:
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(COOKIE, path="/ui")
    return response


def _behind_tls(request: Request, ctx: ApiContext) -> bool:
    """TLS here or at a proxy in front (X-Forwarded-Proto): the cookie is then Secure. Trusting
    the header can only make the cookie stricter."""
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return ctx.settings.tls_enabled or request.url.scheme == "https" or forwarded == "https"


def _cross_origin(request: Request, ctx: ApiContext) -> Response | None:
    """A form POST must come from this site: its Origin's host equals the Host it was sent to
    (or is a configured CORS origin). Browsers send Origin on every POST; a missing or "null"
    Origin is refused too (forged cross-site forms, sandboxed frames)."""
    origin = request.headers.get("origin", "")
    netloc = urlsplit(origin).netloc if origin.startswith(("http://", "https://")) else ""
    if netloc and (netloc == request.headers.get("host") or origin in ctx.settings.cors_origins):
        return None
    return _html("<p>Cross-site request refused.</p>", 403)


def _admit(request: Request, ctx: ApiContext) -> Response | None:
    """None when the session's key may read; else the response to send instead."""
    with ctx.db.connection() as conn:
        caller = session_principal(conn, request.cookies.get(COOKIE))
    if caller is None:
        return _to_login()
    try:
        require_role(caller, Role.reader)
    except ProblemError as err:
        return _html(f"<p>{escape(str(err))}</p>", err.status)
    decision = ctx.limiter.hit(caller.key_prefix, OpClass.read)
    if not decision.allowed:
        return _html(
            "<p>Read rate limit exceeded for this key.</p>",
            429,
            {"Retry-After": str(decision.retry_after_s)},
        )
    return None


@router.get("/app.css")
def stylesheet() -> Response:
    return Response(STYLE, media_type="text/css", headers={"Cache-Control": "max-age=3600"})


@router.get("/login")
def login_form() -> Response:
    return _html(login_page())


@router.post("/login")
async def login(request: Request, ctx: Context) -> Response:
    refused = _cross_origin(request, ctx)
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
        return _html(login_page(str(err)), err.status, err.headers)
    token = await run_in_threadpool(_start_session, ctx, caller.key_id)
    response = RedirectResponse("/ui", status_code=303)
    response.set_cookie(
        COOKIE,
        token,
        max_age=SESSION_S,
        path="/ui",
        httponly=True,
        samesite="strict",
        secure=_behind_tls(request, ctx),
    )
    return response


def _start_session(ctx: ApiContext, key_id: int) -> str:
    with ctx.db.connection() as conn:
        return start_session(conn, key_id, SESSION_S)


@router.post("/logout")
def logout(request: Request, ctx: Context) -> Response:
    """Ends the session server-side (the token is dead even if a copy of the cookie lives on)."""
    refused = _cross_origin(request, ctx)
    if refused is not None:
        return refused
    with ctx.db.connection() as conn:
        end_session(conn, request.cookies.get(COOKIE))
    return _to_login()


@router.get("")
def home(request: Request, ctx: Context) -> Response:
    refused = _admit(request, ctx)
    if refused is not None:
        return refused
    with ctx.db.connection() as conn:
        recent = _recent(conn)
        health = _health(conn, request.app.state)
    return _html(home_page(recent, health))


@router.get("/submissions/{submission_id}")
def submission(
    submission_id: Annotated[str, Path(max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")],
    request: Request,
    ctx: Context,
) -> Response:
    refused = _admit(request, ctx)
    if refused is not None:
        return refused
    with ctx.db.connection(vectors=True) as conn:
        status = submission_status(conn, submission_id)
        if status.status == "unknown":
            return _html(not_found_page(submission_id), 404)
        document = status.model_dump(mode="json")
        related = _related(conn, document) if status.task == "bug_report" else []
    return _html(detail_page(document, related))


def _recent(conn: psycopg.Connection[Any]) -> list[RecentRow]:
    rows = conn.execute(
        "SELECT submission_id, duplicate_status, duplicate_of, quality_score, low_quality, "
        "created_at FROM results_bug_report ORDER BY created_at DESC, result_id DESC LIMIT %s",
        (RECENT,),
    ).fetchall()
    return [RecentRow(*row) for row in rows]


def _health(conn: psycopg.Connection[Any], state: Any) -> Health:
    """Cached on the app (``state.health``) for HEALTH_CACHE_S."""
    cached: tuple[float, Health] | None = getattr(state, "health", None)
    if cached is not None and time.monotonic() - cached[0] < HEALTH_CACHE_S:
        return cached[1]
    counts = conn.execute(
        "SELECT task, status, count(*) FROM submissions "
        "WHERE updated_at >= now() - interval '1 hour' GROUP BY task, status ORDER BY 1, 2"
    ).fetchall()
    dead = conn.execute(
        "SELECT count(*) FROM dead_letters WHERE created_at >= now() - interval '1 hour'"
    ).fetchone()
    last = conn.execute("SELECT max(created_at) FROM results_bug_report").fetchone()
    health = Health(
        probes={"postgres": True, **reachable(state.probes)},  # this page just read Postgres
        submissions=[(task, state, int(n)) for task, state, n in counts],
        dead_letters_last_hour=int(dead[0]) if dead else 0,
        last_result_at=last[0] if last else None,
    )
    state.health = (time.monotonic(), health)
    return health


def _related(conn: psycopg.Connection[Any], document: Mapping[str, Any]) -> list[Related]:
    """Its duplicate, the candidates recorded at inference, later reports filed as its
    duplicates, and its nearest neighbours now (pgvector), each once, with cosine scores."""
    result = document.get("result") or {}
    own = document["submission_id"]
    related: list[Related] = []
    seen = {own}

    def add(submission_id: str | None, score: float, relation: str) -> None:
        if submission_id and submission_id not in seen:
            seen.add(submission_id)
            related.append(Related(submission_id, score, relation))

    # The cosine behind each candidate (profile seed stores only the score, which is the cosine).
    similar = {
        item["submission_id"]: item["score"] if item.get("cosine") is None else item["cosine"]
        for item in result.get("similar", [])
    }
    duplicate_of = result.get("duplicate_of")
    if duplicate_of:
        add(duplicate_of, similar.get(duplicate_of, float("nan")), "duplicate of")
    for submission_id, score in similar.items():
        add(submission_id, score, "similar at inference")
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            "SELECT r.submission_id, 1 - (r.embedding <=> o.embedding) AS score "
            "FROM results_bug_report r JOIN results_bug_report o ON o.submission_id = %s "
            "WHERE r.duplicate_of = %s ORDER BY score DESC LIMIT 20",
            (own, own),
        )
        for row in cur.fetchall():
            add(row["submission_id"], float(row["score"]), "filed as its duplicate")
    query = embedding_of(conn, result["result_id"]) if result.get("result_id") else None
    if query is not None:
        for neighbour in nearest(conn, query, 5, exclude_result_id=result["result_id"]):
            add(neighbour.result.submission_id, neighbour.score, "nearest now")
    return related
