"""``create_app``: the results API as a FastAPI application."""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    GC_COLLECTOR,
    CollectorRegistry,
    ProcessCollector,
    generate_latest,
)
from psycopg_pool import ConnectionPool
from starlette.responses import Response

from inferstream import __version__
from inferstream.api.auth import KeyVerifier
from inferstream.api.context import ApiContext, Context, reachable
from inferstream.api.db import Database
from inferstream.api.ingest import Ingest
from inferstream.api.ingest import router as ingest_router
from inferstream.api.middleware import ApiMetrics, EdgeMiddleware
from inferstream.api.models import Health
from inferstream.api.problems import PROBLEM_RESPONSES, install_problem_handlers, problem_response
from inferstream.api.ratelimit import OpClass
from inferstream.api.revocations import RevocationListener
from inferstream.api.routes import router
from inferstream.api.search import Embed, LazyEmbedder
from inferstream.api.shared_limits import SharedRateLimiter
from inferstream.api.throttle import AuthLimits, FailureThrottle
from inferstream.api.triage import router as triage_router
from inferstream.api.uploads import router as uploads_router
from inferstream.api.web import router as web_router
from inferstream.settings import ApiSettings, KafkaSettings, PostgresSettings
from inferstream.storage import ObjectStore, make_pool

READY_TIMEOUT_S = 2.0
# /ready is public and probes Postgres, S3 and Kafka: its answer is reused for this long, so a
# flood of probes costs the dependencies one round of checks per replica per interval.
READY_CACHE_S = 5.0
RATE_WINDOW_S = 3600.0


def create_app(
    settings: ApiSettings,
    postgres: PostgresSettings,
    *,
    models_dir: Path | None = None,
    pool: ConnectionPool | None = None,
    embed: Embed | None = None,
    key_cache_ttl_s: float = 30.0,
    clock: Callable[[], float] | None = None,
    ready_checks: Mapping[str, Callable[[], bool]] | None = None,
    kafka: KafkaSettings | None = None,
    objects: ObjectStore | None = None,
    listen_revocations: bool = True,
) -> FastAPI:
    """The results API. The Postgres pool is opened on startup (``make_pool``) and closed on
    shutdown unless ``pool`` is given (then the caller owns it). ``embed`` replaces the lazily
    loaded MiniLM query embedder (``models_dir`` or the worker's models dir). ``ready_checks``
    are extra dependencies ``/ready`` probes besides Postgres (name -> reachable?).
    ``listen_revocations``: drop revoked keys from the cache on Postgres NOTIFY (else only the
    cache TTL bounds how long a key revoked elsewhere is honoured)."""

    monotonic = clock or time.monotonic

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = pool is None
        active = make_pool(postgres, name="inferstream-api") if pool is None else pool
        app.state.ctx = ApiContext(
            settings=settings,
            db=Database(active),
            verifier=KeyVerifier(
                active,
                settings.api_key_prefix,
                key_cache_ttl_s,
                monotonic,
                # Failed verifies counted in Postgres: the budgets hold across replicas.
                throttle=FailureThrottle(AuthLimits(), clock or time.time, pool=active),
            ),
            # Shared by every replica (Postgres); its clock is wall time, the same everywhere.
            limiter=SharedRateLimiter(
                active,
                {
                    OpClass.read: settings.rate_reads_per_hour,
                    OpClass.write: settings.rate_writes_per_hour,
                },
                RATE_WINDOW_S,
                clock or time.time,
            ),
            embed=embed or LazyEmbedder(models_dir),
            ingest=Ingest(kafka, objects),
        )
        listener = RevocationListener(postgres.conninfo(), app.state.ctx.verifier.invalidate)
        if listen_revocations:
            listener.start()
        app.state.revocations = listener
        try:
            yield
        finally:
            if listen_revocations:
                listener.stop()
            app.state.ctx = None
            if owned:
                active.close()

    app = FastAPI(
        title="inferstream results API",
        version=__version__,
        description="Results, submission status, similar items and search over the pipeline's "
        "Postgres. Every /v1 route needs an API key (Authorization: Bearer <key>).",
        lifespan=lifespan,
    )
    install_problem_handlers(app)
    app.include_router(router)
    app.include_router(ingest_router)
    app.include_router(uploads_router)
    app.include_router(triage_router)
    app.include_router(web_router)
    app.state.probes = dict(ready_checks or {})

    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    registry.register(GC_COLLECTOR)
    metrics = ApiMetrics(registry)

    @app.get("/health", tags=["ops"])
    def health() -> Health:
        """The process is up (no dependency is checked)."""
        return Health()

    last_ready: list[tuple[float, list[str]]] = []  # (when, what was down): the cached answer
    ready_lock = threading.Lock()

    def probe_dependencies(ctx: ApiContext) -> list[str]:
        with ready_lock:  # one probe round at a time; the others wait and reuse its answer
            if last_ready and monotonic() - last_ready[0][0] < READY_CACHE_S:
                return last_ready[0][1]
            down = [] if ctx.db.ping(READY_TIMEOUT_S) else ["postgres"]
            down += [name for name, up in reachable(ready_checks or {}).items() if not up]
            last_ready[:] = [(monotonic(), down)]
            return down

    @app.get("/ready", tags=["ops"], responses={503: PROBLEM_RESPONSES[503]})
    def ready(ctx: Context) -> Response:
        """Postgres (and every other configured dependency) is reachable: 200, else 503 with a
        problem object naming what is not. The answer is cached for READY_CACHE_S."""
        down = probe_dependencies(ctx)
        if down:
            return problem_response(
                503, f"not reachable: {', '.join(down)}", slug="not-ready", instance="/ready"
            )
        return Response(b'{"status":"ready"}', media_type="application/json")

    @app.get("/metrics", tags=["ops"], include_in_schema=False)
    def metrics_endpoint() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type"],
            expose_headers=[
                "Retry-After",
                "RateLimit-Limit",
                "RateLimit-Remaining",
                "RateLimit-Reset",
            ],
            max_age=600,
        )
    app.add_middleware(EdgeMiddleware, metrics=metrics, hsts=settings.tls_enabled)
    return app
