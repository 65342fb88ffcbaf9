"""One ASGI middleware: security headers, a request body limit, request metrics (bounded
labels), and a problem 500 for any crash."""

from __future__ import annotations

import time
from typing import Any

import structlog
from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from inferstream.api.problems import problem_response

log = structlog.get_logger("inferstream.api")

# Paths whose pages load Swagger UI from a CDN: no restrictive CSP there.
_DOCS_PATHS = ("/docs", "/redoc")
_CSP = b"default-src 'none'; frame-ancestors 'none'"
_HSTS = b"max-age=31536000; includeSubDomains"
# The method label takes only these values: any other method name (HTTP allows arbitrary
# tokens) is counted as OTHER, so a client cannot grow /metrics without bound.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# The largest request body the app reads (JSON submissions and searches are a few KB; media goes
# to object storage by presigned upload). The ingress has its own limit; a direct deployment
# relies on this one.
MAX_BODY_BYTES = 1024 * 1024


class BodyTooLargeError(HTTPException):
    """A body went past MAX_BODY_BYTES. An HTTPException, so that FastAPI's body parsing passes
    it through (it turns other errors into a 400) and the problem handler answers 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is over {limit} bytes")


class ApiMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        labels = ["route", "method", "status"]
        self.duration = Histogram(
            "api_request_duration_seconds",
            "Results API request duration by route template, method and status.",
            labels,
            registry=registry,
        )
        self.requests = Counter(
            "api_requests",
            "Results API requests by route template, method and status.",
            labels,
            registry=registry,
        )


def method_label(method: str) -> str:
    return method if method in KNOWN_METHODS else "OTHER"


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _route_label(scope: Scope) -> str:
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


class EdgeMiddleware:
    def __init__(
        self, app: ASGIApp, metrics: ApiMetrics, *, hsts: bool, max_body: int = MAX_BODY_BYTES
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body = max_body
        self.headers: list[tuple[bytes, bytes]] = [
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"no-referrer"),
        ]
        if hsts:
            self.headers.append(
                (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
            )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500
        started = False
        path: str = scope.get("path", "")
        extra = list(self.headers)
        if not path.startswith(_DOCS_PATHS):
            extra.append(
                (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")
            )
            extra.append((b"cache-control", b"no-store"))

        received = 0

        async def receive_limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise BodyTooLargeError(self.max_body)
            return message

        async def send_wrapper(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                started = True
                status = int(message["status"])
                present = {name.lower() for name, _ in message.get("headers", [])}
                headers = list(message.get("headers", []))
                headers.extend(item for item in extra if item[0] not in present)
                message = {**message, "headers": headers}
            await send(message)

        try:
            declared = _declared_length(scope)
            if declared is not None and declared > self.max_body:
                raise BodyTooLargeError(self.max_body)
            await self.app(scope, receive_limited, send_wrapper)
        except BodyTooLargeError as err:
            status = 413
            if not started:  # declared too large: refused before the app reads anything
                response = problem_response(413, str(err.detail), slug="too-large", instance=path)
                await response(scope, receive, send_wrapper)
        except Exception:
            log.exception("unhandled error", path=path, method=scope.get("method"))
            status = 500
            if not started:
                response = problem_response(
                    500, "an internal error occurred", slug="internal", instance=path
                )
                await response(scope, receive, send_wrapper)
        finally:
            labels = (_route_label(scope), method_label(str(scope.get("method", ""))), str(status))
            self.metrics.duration.labels(*labels).observe(time.perf_counter() - start)
            self.metrics.requests.labels(*labels).inc()
