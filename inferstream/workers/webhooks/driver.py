"""The webhooks stage: a consumer group on results.<task> that POSTs each result, signed, to
every configured URL; retries with exponential backoff, dead-letters after max_attempts, and
(through the runtime) commits only after delivery or dead-lettering. Never inline with
inference: a slow receiver only slows this group."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from email.message import Message
from typing import IO

import orjson
import structlog

from inferstream.settings import WebhookSettings
from inferstream.settings.webhooks import redact_url
from inferstream.topology import topic_name
from inferstream.workers.runtime.backoff import Backoff
from inferstream.workers.runtime.records import Emit, InRecord, Outcome, Reject
from inferstream.workers.runtime.watermark import Position
from inferstream.workers.webhooks.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

log = structlog.get_logger("inferstream.webhooks")


class DeliveryError(RuntimeError):
    pass


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    """A 3xx is a failed delivery, never followed: a receiver (or whoever took over its name)
    could otherwise point the worker at internal addresses (blind SSRF)."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: Message,
        newurl: str,
    ) -> None:
        return None


# No redirects; proxies from the environment still apply (a deployment's egress proxy).
_OPENER = urllib.request.build_opener(_RefuseRedirects())


def post(url: str, body: bytes, headers: Mapping[str, str], timeout_s: float) -> None:
    """POST once. Errors name the URL only in its redacted form (its path may be a token)."""
    shown = redact_url(url)
    # Only https (or loopback http) URLs reach here (WebhookSettings validates them).
    request = urllib.request.Request(url, data=body, method="POST", headers=dict(headers))  # noqa: S310
    try:
        with _OPENER.open(request, timeout=timeout_s) as response:
            if not 200 <= response.status < 300:
                raise DeliveryError(f"{shown}: HTTP {response.status}")
    except urllib.error.HTTPError as err:
        moved = " (redirect refused)" if 300 <= err.code < 400 else ""
        raise DeliveryError(f"{shown}: HTTP {err.code}{moved}") from None
    except urllib.error.URLError as err:
        raise DeliveryError(f"{shown}: {_reason(err.reason)}") from None
    except OSError as err:
        raise DeliveryError(f"{shown}: {_reason(err)}") from None


def _reason(err: object) -> str:
    """The error's kind and OS text, without anything the URL put into it."""
    if isinstance(err, OSError) and err.strerror:
        return f"{type(err).__name__}: {err.strerror}"
    if isinstance(err, BaseException):
        return type(err).__name__
    return "connection failed"


class WebhookLogic:
    stage = "webhooks"
    # Deliveries are not on the records' path to the results table: the runner gives this
    # consumer the longer background fetch wait (KafkaSettings.background_fetch_wait_max_ms).
    background_consumer = True

    def __init__(
        self,
        task: str,
        settings: WebhookSettings,
        send: Callable[[str, bytes, Mapping[str, str], float], None] = post,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not settings.urls:
            raise ValueError("no webhook URLs: set INFERSTREAM_WEBHOOK_URLS")
        if settings.secret is None:
            raise ValueError("no webhook secret: set INFERSTREAM_WEBHOOK_SECRET")
        self.task = task
        self.settings = settings
        self.secret = settings.secret.get_secret_value().encode()
        self.send = send
        self.sleep = sleep

    @property
    def input_topics(self) -> Sequence[str]:
        return [topic_name("results", self.task)]

    def cost(self, record: InRecord) -> int:
        return 1

    def prepare(self, batch: Sequence[InRecord]) -> object:
        return None

    def process(self, batch: Sequence[InRecord], prepared: object) -> list[Outcome]:
        return [self.deliver(record) for record in batch]

    def deliver(self, record: InRecord) -> Outcome:
        """Every URL gets the result, or the record is dead-lettered naming the failures."""
        failures = [error for url in self.settings.urls if (error := self._deliver_to(url, record))]
        if failures:
            sid = record.key.decode(errors="replace") if record.key else None
            return Reject("webhook delivery failed: " + "; ".join(failures), submission_id=sid)
        return Emit()

    def _deliver_to(self, url: str, record: InRecord) -> str | None:
        backoff = Backoff(self.settings.backoff_initial_s, self.settings.backoff_max_s)
        last = ""
        for attempt in range(1, self.settings.max_attempts + 1):
            timestamp = int(time.time())
            headers = {
                "Content-Type": "application/json",
                TIMESTAMP_HEADER: str(timestamp),
                SIGNATURE_HEADER: sign(self.secret, timestamp, record.value),
                "X-Inferstream-Result-Id": _result_id(record.value),
                "User-Agent": "inferstream-webhooks",
            }
            traceparent = record.header("traceparent")
            if traceparent:
                headers["traceparent"] = traceparent
            try:
                self.send(url, record.value, headers, self.settings.timeout_s)
                return None
            except DeliveryError as err:
                last = str(err)
                log.warning(
                    "webhook attempt failed", url=redact_url(url), attempt=attempt, error=last
                )
                if attempt < self.settings.max_attempts:
                    self.sleep(backoff.next_delay())
        return f"{redact_url(url)} after {self.settings.max_attempts} attempts ({last})"

    def after_durable(self, batch: Sequence[InRecord], outcomes: Sequence[Outcome]) -> None:
        return None

    def initial_offsets(self, positions: Sequence[Position]) -> Mapping[Position, int] | None:
        return None

    def ready(self) -> tuple[bool, str]:
        shown = ", ".join(redact_url(url) for url in self.settings.urls)
        return True, f"delivering to {len(self.settings.urls)} URL(s): {shown}"

    def close(self) -> None:
        return None


def _result_id(body: bytes) -> str:
    """The dedupe key receivers should use (results are delivered at least once)."""
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        return ""
    return str(value.get("result_id", "")) if isinstance(value, dict) else ""
