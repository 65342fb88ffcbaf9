"""The logging alert receiver: Alertmanager's webhook payload in, one log line per alert out."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from structlog.testing import capture_logs

from inferstream.monitor.receiver import alert_lines, serve

# As Alertmanager's webhook sends it (version 4), trimmed to the fields the receiver reads.
NOTIFICATION = {
    "version": "4",
    "status": "firing",
    "receiver": "alert-log",
    "alerts": [
        {
            "status": "firing",
            "labels": {
                "alertname": "InferstreamCanaryRolledBack",
                "severity": "critical",
                "task": "churn",
                "model": "churn-logreg",
                "breach": "drift",
            },
            "annotations": {"summary": "churn-logreg canary rolled back automatically (drift)"},
            "startsAt": "2026-12-06T16:00:00Z",
        },
        {
            "status": "resolved",
            "labels": {"alertname": "InferstreamModelScoreDrift", "severity": "warning"},
            "annotations": {},
        },
    ],
}


@pytest.fixture
def receiver() -> Iterator[str]:
    server = serve("127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()


def test_alert_lines_flatten_each_alert() -> None:
    first, second = alert_lines(NOTIFICATION)
    assert first["alertname"] == "InferstreamCanaryRolledBack" and first["severity"] == "critical"
    assert first["labels"] == {"task": "churn", "model": "churn-logreg", "breach": "drift"}
    assert first["summary"].endswith("(drift)") and first["receiver"] == "alert-log"
    assert second["status"] == "resolved" and second["summary"] == ""
    assert alert_lines({}) == []


def _post(url: str, body: bytes) -> int:
    request = urllib.request.Request(url, data=body, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as err:
        return int(err.code)


def test_the_receiver_logs_every_alert_and_refuses_garbage(receiver: str) -> None:
    with capture_logs() as logs:
        assert _post(receiver, json.dumps(NOTIFICATION).encode()) == 200
    events = [(e["event"], e["alertname"]) for e in logs]
    assert events == [
        ("alert firing", "InferstreamCanaryRolledBack"),
        ("alert resolved", "InferstreamModelScoreDrift"),
    ]
    assert _post(receiver, b"not json") == 400
    assert _post(receiver, b"[1, 2]") == 400
