"""The monitor's evaluation, on a timer beside the consumer: every few seconds it reads the
window from Postgres, sets the gauges, rolls a breaching canary back through the registry
(the reason recorded in the alias history) and publishes one event per version to
monitor.<task>."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta

import orjson
import psycopg
import structlog
from confluent_kafka import Producer

from inferstream.monitor import metrics
from inferstream.monitor.catalog import Catalog
from inferstream.monitor.evaluate import VersionReport, canary_verdict, evaluate
from inferstream.monitor.spec import TaskSpec
from inferstream.monitor.state import MonitorState
from inferstream.settings.monitor import MonitorSettings
from inferstream.topology import monitor_topic

log = structlog.get_logger("inferstream.monitor")
Event = tuple[bytes, bytes]  # (key, value) on monitor.<task>


class Evaluator:
    def __init__(
        self,
        spec: TaskSpec,
        state: MonitorState,
        catalog: Catalog,
        settings: MonitorSettings,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.spec, self.task = spec, spec.task
        self.state, self.catalog, self.settings, self.now = state, catalog, settings, now

    def evaluate_now(self) -> list[Event]:
        """Evaluate the window, publish the gauges, roll a breaching canary back; the events."""
        since = self.now() - timedelta(seconds=self.settings.window_s)
        window = self.state.window_counts(since)
        labelled = self.state.accuracy(since)
        reports = evaluate(window, labelled, self.catalog.reference, self.settings)
        publish_gauges(self.task, reports)
        at = self.now().isoformat()
        events: list[Event] = []
        # Each model seen in the window (a task normally serves one; tests and migrations
        # between bundles may show two) is checked against its own aliases.
        for name in sorted({r.model_name for r in reports}):
            own = [r for r in reports if r.model_name == name]
            aliases = self.catalog.aliases(name)
            action = self._canary(name, own, aliases)
            events += [self._event(r, aliases, action, at) for r in own]
        return events

    def _canary(
        self, name: str, reports: Sequence[VersionReport], aliases: Mapping[str, str]
    ) -> str | None:
        reason = canary_verdict(reports, aliases, self.settings)
        if reason is None or not self.settings.canary_rollback:
            return None
        try:
            now_serving = self.catalog.rollback(name, reason)
        except (ValueError, psycopg.Error) as err:  # e.g. a pinned canary: alert, keep going
            metrics.ROLLBACK_FAILURES.labels(self.task, name).inc()
            log.error("canary rollback refused", model=name, reason=reason, error=str(err))
            return None
        metrics.ROLLBACKS.labels(self.task, name, reason.split(":", 1)[0]).inc()
        log.warning(
            "canary rolled back",
            model=name,
            version=aliases.get("canary"),
            canary_now=now_serving,
            reason=reason,
        )
        return reason

    def _event(
        self, rep: VersionReport, aliases: Mapping[str, str], action: str | None, at: str
    ) -> Event:
        served_as = sorted(a for a, v in aliases.items() if v == rep.model_version)
        rolled_back = action is not None and aliases.get("canary") == rep.model_version
        body = {
            "task": self.task,
            "evaluated_at": at,
            "window_s": self.settings.window_s,
            "aliases": served_as,
            **rep.to_json(),
            "rollback": action if rolled_back else None,
        }
        return f"{rep.model_name}/{rep.model_version}".encode(), orjson.dumps(body)


def publish_gauges(task: str, reports: Sequence[VersionReport]) -> None:
    for rep in reports:
        labels = (task, rep.model_name, rep.model_version)
        metrics.SAMPLES.labels(*labels).set(rep.samples)
        metrics.LABELLED.labels(*labels).set(rep.labelled)
        metrics.BREACHES.labels(*labels).set(len(rep.breaches))
        if rep.score_psi is not None:
            metrics.PSI.labels(*labels, "score", "").set(rep.score_psi)
        for feature, value in rep.input_psi.items():
            metrics.PSI.labels(*labels, "input", feature).set(value)
        if rep.accuracy is not None:
            metrics.ACCURACY.labels(*labels).set(rep.accuracy)
        if rep.latency_p95_ms is not None:
            metrics.LATENCY_P95.labels(*labels).set(rep.latency_p95_ms / 1000)
        if rep.error_rate is not None:
            metrics.ERROR_RATE.labels(*labels).set(rep.error_rate)


def run_timer(
    evaluator: Evaluator, producer: Producer, stop: threading.Event, every_s: float
) -> None:
    """Evaluate every ``every_s`` until ``stop``; a Postgres outage skips a round, not the loop.
    Events are at-least-once (acks=all, flushed each round): a consumer keys on model/version
    and reads the latest."""
    topic = monitor_topic(evaluator.task)
    while not stop.wait(every_s):
        try:
            events = evaluator.evaluate_now()
        except psycopg.OperationalError as err:
            log.warning("evaluation skipped: Postgres unavailable", error=str(err))
            evaluator.state.close()
            continue
        except Exception:  # a bug here must not silently end the gauges and the canary check
            log.exception("evaluation failed")
            evaluator.state.close()
            continue
        for key, value in events:
            producer.produce(topic, key=key, value=value)
        producer.flush(10)
