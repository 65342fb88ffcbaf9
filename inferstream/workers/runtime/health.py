"""/health, /ready and /metrics for one worker process (a small threaded HTTP server)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest


class HealthState:
    """Updated by the poll loop; read by the HTTP handler."""

    def __init__(self, stale_after_s: float) -> None:
        self.stale_after_s = stale_after_s
        self.last_progress = time.monotonic()
        self.ready_check: Callable[[], tuple[bool, str]] = lambda: (False, "starting")
        # Set by a consumer group member's first assignment, an empty one included (member_ready).
        self.joined = threading.Event()
        # Why no Kafka broker answers, None while one does (set by the consumer: broker_wait.py).
        self.broker_waiting: Callable[[], str | None] = lambda: None

    def progressed(self) -> None:
        self.last_progress = time.monotonic()

    def alive(self) -> tuple[bool, str]:
        age = time.monotonic() - self.last_progress
        if age > self.stale_after_s:
            return False, f"poll loop stalled for {age:.0f}s"
        return True, "ok"


def member_ready(
    state: HealthState, check: Callable[[], tuple[bool, str]]
) -> Callable[[], tuple[bool, str]]:
    """/ready of a consumer group member: ``check`` once it has joined its group, not before.

    A worker that answered ready while still joining looked ready to whoever replaces or counts
    members by it (a chaos run's rebalance storm stopped members that had never joined)."""

    def ready() -> tuple[bool, str]:
        waiting = state.broker_waiting()
        if waiting is not None:
            return False, waiting
        if not state.joined.is_set():
            return False, "joining its consumer group"
        return check()

    return ready


def serve(state: HealthState, host: str, port: int) -> ThreadingHTTPServer:
    """Start serving in a daemon thread; port 0 picks a free one (see server.server_port)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/metrics":
                self._send(200, generate_latest(), CONTENT_TYPE_LATEST)
            elif self.path == "/health":
                ok, why = state.alive()
                self._send(200 if ok else 503, why.encode())
            elif self.path == "/ready":
                ok, why = state.ready_check()
                self._send(200 if ok else 503, (b"ready" if ok else b"degraded: " + why.encode()))
            else:
                self._send(404, b"not found")

        def _send(self, code: int, body: bytes, ctype: str = "text/plain; charset=utf-8") -> None:
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("X-Content-Type-Options", "nosniff")
            try:
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                return  # the probe hung up first: nothing to answer, and no traceback in the log

        def log_message(self, format: str, *args: object) -> None:
            return  # probes every few seconds would flood the JSON logs

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="health-http", daemon=True).start()
    return server
