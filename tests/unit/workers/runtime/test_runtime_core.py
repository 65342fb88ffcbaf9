"""Which consumers the runner puts off the latency path (the background fetch wait)."""

from __future__ import annotations

from inferstream.settings import WebhookSettings
from inferstream.workers.runtime.core import off_latency_path
from inferstream.workers.webhooks.driver import WebhookLogic


class _Plain:
    stage = "sink"


class _Truthy:
    background_consumer = "yes"  # only True itself counts: a typo must not slow a stage down


def test_only_drivers_that_say_so_are_background() -> None:
    assert off_latency_path(_Plain()) is False
    assert off_latency_path(_Truthy()) is False


def test_the_webhooks_stage_is_background() -> None:
    settings = WebhookSettings.load(urls=["https://hooks.example.com/h"], secret="s" * 32)
    assert off_latency_path(WebhookLogic("bug_report", settings)) is True
