"""A worker whose broker does not answer waits and says so: one warning (with the address and
how long) after 10 s of failed connections, repeated every 30 s however often librdkafka
reports a failure (~20 a second against a refused port), /ready not ready meanwhile; a single
dropped connection is no outage, and a quiet spell ends one."""

from __future__ import annotations

from typing import Any

import structlog
from confluent_kafka import Consumer, KafkaError
from structlog.testing import capture_logs

from inferstream.workers.runtime.broker_wait import BrokerWait
from inferstream.workers.runtime.health import HealthState, member_ready

REFUSED = KafkaError(KafkaError._TRANSPORT, "Connect to ipv4#127.0.0.1:9 failed: refused")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _fail_for(wait: BrokerWait, clock: Clock, seconds: float, every_s: float = 0.05) -> None:
    end = clock.now + seconds
    while clock.now < end:
        wait.on_error(REFUSED)
        clock.now += every_s


def _warnings(logs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [entry for entry in logs if entry["log_level"] == "warning"]


def test_one_warning_after_10_s_then_every_30_s_and_ready_says_why() -> None:
    clock = Clock()
    wait = BrokerWait("127.0.0.1:9", structlog.get_logger("test"), clock=clock)
    health = HealthState(60.0)
    health.broker_waiting = wait.waiting
    health.joined.set()
    ready = member_ready(health, lambda: (True, "ok"))
    with capture_logs() as logs:
        _fail_for(wait, clock, 9.9)
        assert _warnings(logs) == [] and wait.waiting() is None
        _fail_for(wait, clock, 61.0)  # 10 s to 71 s: warned at 10, 40 and 70
    warned = _warnings(logs)
    assert [entry["waiting_s"] for entry in warned] == [10, 40, 70]
    assert {entry["bootstrap"] for entry in warned} == {"127.0.0.1:9"}
    ok, why = ready()
    assert not ok and why == "no Kafka broker answers at 127.0.0.1:9 (71s)"

    clock.now += 46.0  # no failure for longer than a reconnect and a connection setup take
    assert wait.waiting() is None and ready() == (True, "ok")


def test_a_single_dropped_connection_is_no_outage() -> None:
    clock = Clock()
    wait = BrokerWait("b:9092", structlog.get_logger("test"), clock=clock)
    with capture_logs() as logs:
        wait.on_error(REFUSED)
        clock.now += 5.0
        assert wait.waiting() is None
        clock.now += 45.0
        wait.on_error(REFUSED)  # another one after a quiet spell: a new start, not 50 s of it
        wait.on_error(KafkaError(KafkaError._MSG_TIMED_OUT))  # not a reachability error
    assert _warnings(logs) == [] and wait.waiting() is None


def test_librdkafka_reports_a_refused_broker_to_the_error_callback() -> None:
    """The real client against a port nothing listens on: the callback is what the worker's
    consumer gets (served by poll), and the failures it reports are the ones counted."""
    seen: list[int] = []
    consumer = Consumer(
        {
            "bootstrap.servers": "127.0.0.1:9",
            "group.id": "broker-wait-test",
            "error_cb": lambda err: seen.append(err.code()),
            "log_level": 0,
        }
    )
    try:
        consumer.subscribe(["t"])
        for _ in range(50):
            consumer.poll(0.1)
            if KafkaError._TRANSPORT in seen:
                break
    finally:
        consumer.close()
    assert KafkaError._TRANSPORT in seen
