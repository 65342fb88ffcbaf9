"""Webhook delivery against real loopback HTTP receivers: a redirect is never followed (no blind
SSRF into the internal network), and neither logs nor dead-letter reasons show a receiver's
path or query (which often carries its token)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import orjson
import pytest
import structlog

from inferstream.settings import WebhookSettings
from inferstream.settings.webhooks import MIN_SECRET_LENGTH, redact_url
from inferstream.workers.runtime.records import Emit, InRecord, Reject
from inferstream.workers.webhooks.driver import DeliveryError, WebhookLogic, post

TOKEN = "tok_9f2c41d7e3b8a6f0"  # what a receiver puts in its URL; must never be shown


class Receiver:
    """A real HTTP server on loopback answering every POST with `status` (and `location`)."""

    def __init__(self, status: int, location: str | None = None) -> None:
        self.requests: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.requests.append(self.path)
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self) -> None:  # a 303 would be followed with a GET
                self.do_POST()

            def log_message(self, format: str, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def internal() -> Iterator[Receiver]:
    """Stands for a service on the internal network a redirect would aim at."""
    server = Receiver(200)
    yield server
    server.server.shutdown()


def _settings(*urls: str) -> WebhookSettings:
    return WebhookSettings.load(
        urls=",".join(urls),
        secret="k" * MIN_SECRET_LENGTH,
        allow_loopback_http=True,
        max_attempts=2,
        backoff_initial_s=0.01,
        backoff_max_s=0.01,
    )


def _record() -> InRecord:
    body = orjson.dumps({"result_id": "r-1", "submission_id": "s-1"})
    return InRecord("results.bug_report", 0, 7, b"s-1", body)


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_refused_and_never_followed(internal: Receiver, status: int) -> None:
    hop = Receiver(status, location=f"{internal.base}/admin/delete?{TOKEN}")
    try:
        with pytest.raises(DeliveryError) as err:
            post(f"{hop.base}/hook/{TOKEN}", b"{}", {"Content-Type": "application/json"}, 5.0)
        assert f"HTTP {status} (redirect refused)" in str(err.value)
        assert TOKEN not in str(err.value)
        assert len(hop.requests) == 1
        assert internal.requests == []  # the redirect target was never called
    finally:
        hop.server.shutdown()


def test_dead_letter_reasons_and_logs_show_receivers_redacted(internal: Receiver) -> None:
    redirecting = Receiver(302, location=f"{internal.base}/metadata")
    failing = Receiver(503)
    hooks = [f"{redirecting.base}/hook/{TOKEN}", f"{failing.base}/hook?token={TOKEN}"]
    logic = WebhookLogic("bug_report", _settings(*hooks))
    try:
        with structlog.testing.capture_logs() as logs:
            outcome = logic.deliver(_record())
        assert isinstance(outcome, Reject)
        assert TOKEN not in outcome.reason
        for url in hooks:
            assert f"{redact_url(url)} after 2 attempts" in outcome.reason
        assert "redirect refused" in outcome.reason and "HTTP 503" in outcome.reason
        assert len(logs) == 4  # two attempts per receiver
        assert TOKEN not in repr(logs)
        assert TOKEN not in logic.ready()[1]
        assert internal.requests == []
        assert len(redirecting.requests) == 2 and len(failing.requests) == 2

        # The same logic delivers to a receiver that answers 2xx: the refusal is not blanket.
        accepting = Receiver(204)
        try:
            ok = WebhookLogic("bug_report", _settings(f"{accepting.base}/hook/{TOKEN}"))
            assert isinstance(ok.deliver(_record()), Emit)
            assert accepting.requests == [f"/hook/{TOKEN}"]
        finally:
            accepting.server.shutdown()
    finally:
        redirecting.server.shutdown()
        failing.server.shutdown()


def test_a_connection_error_names_the_receiver_redacted() -> None:
    closed = Receiver(200)
    url = f"{closed.base}/hook/{TOKEN}"
    closed.server.shutdown()
    closed.server.server_close()
    with pytest.raises(DeliveryError) as err:
        post(url, b"{}", {}, 2.0)
    assert str(err.value).startswith(redact_url(url))
    assert TOKEN not in str(err.value)
