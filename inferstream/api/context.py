"""Per-app state and the dependencies every protected route uses (auth, role, rate limit)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Protocol, cast

from fastapi import Depends, Request, Response, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from inferstream.api.auth import KeyVerifier, Principal, require_role
from inferstream.api.db import Database
from inferstream.api.keys import Role
from inferstream.api.problems import ProblemError
from inferstream.api.ratelimit import Decision, OpClass
from inferstream.api.search import Embed
from inferstream.settings import ApiSettings


class Limiter(Protocol):
    """``RateLimiter`` (in-process) or ``SharedRateLimiter`` (Postgres, every replica)."""

    def hit(self, key: str, op: OpClass) -> Decision: ...


@dataclass
class ApiContext:
    settings: ApiSettings
    db: Database
    verifier: KeyVerifier
    limiter: Limiter
    embed: Embed
    ingest: object = None  # inferstream.api.ingest.Ingest (typed loosely: no import cycle)


def context(request: Request) -> ApiContext:
    ctx = getattr(request.app.state, "ctx", None)
    if ctx is None:
        raise ProblemError(503, "the API is starting or stopping", slug="unavailable")
    return cast(ApiContext, ctx)


Context = Annotated[ApiContext, Depends(context)]

_bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer <API key>")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="The API key")


def client_address(request: Request) -> str:
    """The peer address (behind a proxy: what uvicorn's --forwarded-allow-ips trusts)."""
    return request.client.host if request.client is not None else "unknown"


def authenticate(
    ctx: Context,
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    header: Annotated[str | None, Security(_header)],
) -> Principal:
    presented = bearer.credentials if bearer is not None else header
    return ctx.verifier.verify(presented, client_address(request))


def authorize(role: Role, op: OpClass) -> Any:
    """A dependency: an authenticated key with at least ``role``, within its ``op`` rate."""

    def dependency(
        ctx: Context,
        response: Response,
        caller: Annotated[Principal, Depends(authenticate)],
    ) -> Principal:
        require_role(caller, role)
        decision = ctx.limiter.hit(caller.key_prefix, op)
        headers = {
            "RateLimit-Limit": str(decision.limit),
            "RateLimit-Remaining": str(decision.remaining),
            "RateLimit-Reset": str(decision.reset_s),
        }
        if not decision.allowed:
            headers["Retry-After"] = str(decision.retry_after_s)
            raise ProblemError(
                429,
                f"{op.value} rate limit of {decision.limit} per hour exceeded for this key",
                slug="rate-limited",
                headers=headers,
            )
        response.headers.update(headers)
        return caller

    return Depends(dependency)


Reader = Annotated[Principal, authorize(Role.reader, OpClass.read)]
Producer = Annotated[Principal, authorize(Role.producer, OpClass.write)]
AdminRead = Annotated[Principal, authorize(Role.admin, OpClass.read)]
AdminWrite = Annotated[Principal, authorize(Role.admin, OpClass.write)]


def reachable(probes: Mapping[str, Callable[[], bool]]) -> dict[str, bool]:
    """Each dependency probe's answer; a probe that raises means the dependency is not usable."""
    answers: dict[str, bool] = {}
    for name, probe in probes.items():
        try:
            answers[name] = bool(probe())
        except Exception:
            answers[name] = False
    return answers
