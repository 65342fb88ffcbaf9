"""Who may see a web page, and which form POSTs are this site's: the session cookie, the
admission of a session's key (role and rate limit), the Origin check and the decision forms'
CSRF token, and the headers every page is sent with (see web.py for the pages)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from html import escape
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from inferstream.api.auth import Principal, require_role
from inferstream.api.context import ApiContext
from inferstream.api.keys import Role
from inferstream.api.problems import ProblemError
from inferstream.api.ratelimit import OpClass
from inferstream.api.sessions import session_principal, start_session

COOKIE = "inferstream_session"
SESSION_S = 8 * 3600
CSP = (
    "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)
MAX_FORM_BYTES = 4096


def html(body: str, status: int = 200, headers: Mapping[str, str] | None = None) -> HTMLResponse:
    # same-origin, not the API's no-referrer: under no-referrer a browser sends "Origin: null"
    # with the page's form POSTs, and the Origin check would refuse the site's own forms.
    base = {"Content-Security-Policy": CSP, "Referrer-Policy": "same-origin"}
    return HTMLResponse(body, status, headers={**base, **(headers or {})})


def to_login() -> Response:
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(COOKIE, path="/ui")
    return response


def behind_tls(request: Request, ctx: ApiContext) -> bool:
    """TLS here or at a proxy in front (X-Forwarded-Proto): the cookie is then Secure. Trusting
    the header can only make the cookie stricter."""
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return ctx.settings.tls_enabled or request.url.scheme == "https" or forwarded == "https"


def cross_origin(request: Request, ctx: ApiContext) -> Response | None:
    """A form POST must come from this site: its Origin's host equals the Host it was sent to
    (or is a configured CORS origin). Browsers send Origin on every POST; a missing or "null"
    Origin is refused too (forged cross-site forms, sandboxed frames)."""
    origin = request.headers.get("origin", "")
    netloc = urlsplit(origin).netloc if origin.startswith(("http://", "https://")) else ""
    if netloc and (netloc == request.headers.get("host") or origin in ctx.settings.cors_origins):
        return None
    return html("<p>Cross-site request refused.</p>", 403)


def admit(
    request: Request, ctx: ApiContext, role: Role = Role.reader, op: OpClass = OpClass.read
) -> Principal | Response:
    """The session's key when it has ``role`` and is within its ``op`` rate; else the response
    to send instead."""
    with ctx.db.connection() as conn:
        caller = session_principal(conn, request.cookies.get(COOKIE))
    if caller is None:
        return to_login()
    try:
        require_role(caller, role)
    except ProblemError as err:
        return html(f"<p>{escape(str(err))}</p>", err.status)
    decision = ctx.limiter.hit(caller.key_prefix, op)
    if not decision.allowed:
        return html(
            f"<p>{op.value.capitalize()} rate limit exceeded for this key.</p>",
            429,
            {"Retry-After": str(decision.retry_after_s)},
        )
    return caller


def csrf_token(session_token: str) -> str:
    """The decision forms' token: a digest of the session's secret token (the cookie is
    HttpOnly and SameSite=Strict, so another site can neither read nor send it). Postgres keeps
    only sha256(token), from which this cannot be computed."""
    return hashlib.sha256(b"inferstream-csrf\0" + session_token.encode()).hexdigest()


def create_session(ctx: ApiContext, key_id: int) -> str:
    """A new session for the key; the token its cookie holds."""
    with ctx.db.connection() as conn:
        return start_session(conn, key_id, SESSION_S)
