"""One ASGI middleware: security headers, request metrics, and a problem 500 for any crash."""

from __future__ import annotations

import time
from typing import Any

import structlog
from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from inferstream.api.problems import problem_response

log = structlog.get_logger("inferstream.api")

# Paths whose pages load Swagger UI from a CDN: no restrictive CSP there.
_DOCS_PATHS = ("/docs", "/redoc")
_CSP = b"default-src 'none'; frame-ancestors 'none'"
_HSTS = b"max-age=31536000; includeSubDomains"


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


def _route_label(scope: Scope) -> str:
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


class EdgeMiddleware:
    def __init__(self, app: ASGIApp, metrics: ApiMetrics, *, hsts: bool) -> None:
        self.app = app
        self.metrics = metrics
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
            await self.app(scope, receive, send_wrapper)
        except Exception:
            log.exception("unhandled error", path=path, method=scope.get("method"))
            status = 500
            if not started:
                response = problem_response(
                    500, "an internal error occurred", slug="internal", instance=path
                )
                await response(scope, receive, send_wrapper)
        finally:
            labels = (_route_label(scope), str(scope.get("method", "")), str(status))
            self.metrics.duration.labels(*labels).observe(time.perf_counter() - start)
            self.metrics.requests.labels(*labels).inc()
