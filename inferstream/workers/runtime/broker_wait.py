"""A worker whose broker does not answer keeps waiting (a deployed worker may start before its
broker) and says so: one warning every WARN_EVERY_S with the address and how long, and /ready
not ready meanwhile. librdkafka reports each failed connection to the consumer's error_cb
(~20 a second against a refused port), served by the poll loop's poll: only while it fails,
never per record."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from confluent_kafka import KafkaError

# How often the warning is repeated while no broker answers.
WARN_EVERY_S = 30.0
# Failures for this long make an outage (as publish and verify give up after 10 s): one dropped
# connection that librdkafka restores at once (an idle one closed by the broker) is none.
OUTAGE_AFTER_S = 10.0
# No failure for this long ends it: librdkafka tries again at least every 10 s (its reconnect
# backoff's ceiling) and gives a connection up to 30 s to be set up before it fails.
RECOVERED_AFTER_S = 45.0
# Errors that mean the broker cannot be reached (not a refusal by a broker that answers).
UNREACHABLE = frozenset({KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN, KafkaError._RESOLVE})


class BrokerWait:
    """The consumer's error_cb: when no broker answers, since when, and the warning."""

    def __init__(
        self,
        bootstrap: str,
        log: Any,
        *,
        every_s: float = WARN_EVERY_S,
        outage_after_s: float = OUTAGE_AFTER_S,
        recovered_after_s: float = RECOVERED_AFTER_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.bootstrap = bootstrap
        self._log = log
        self._every_s = every_s
        self._outage_after_s = outage_after_s
        self._recovered_after_s = recovered_after_s
        self._clock = clock
        self._since: float | None = None  # the first failure of the current outage
        self._last_failure = 0.0
        self._last_warning: float | None = None

    def on_error(self, err: KafkaError) -> None:
        if err.code() not in UNREACHABLE:
            return
        now = self._clock()
        if self._since is None or now - self._last_failure > self._recovered_after_s:
            self._since = now  # a new outage (or a single failure)
            self._last_warning = None
        self._last_failure = now
        if now - self._since < self._outage_after_s:
            return
        if self._last_warning is None or now - self._last_warning >= self._every_s:
            self._last_warning = now
            self._log.warning(
                "cannot reach the Kafka broker: waiting for it",
                bootstrap=self.bootstrap,
                waiting_s=round(now - self._since),
                error=err.str(),
            )

    def waiting(self) -> str | None:
        """Why /ready is not ready, or None while the broker answers (no failure lately)."""
        now = self._clock()
        if self._since is None or now - self._last_failure > self._recovered_after_s:
            return None
        if self._last_failure - self._since < self._outage_after_s:
            return None
        return f"no Kafka broker answers at {self.bootstrap} ({now - self._since:.0f}s)"
