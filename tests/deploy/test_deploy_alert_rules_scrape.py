"""A real Prometheus and Alertmanager (Debian's 2.42 and 0.25, installed by `make test-packages`):
`promtool check config` on the compose stack's configuration; then Prometheus scraping a worker's
/metrics server (the monitor's, inferstream.workers.runtime.health) every second with the model
alert rules, sending to an Alertmanager with the compose routing, which delivers to the logging
receiver (inferstream.monitor.receiver): the gauges the monitor's evaluator publishes reach
Prometheus, its rules match them, and a rollback alert reaches the receiver's log."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from _deploy_common import COMPOSE_DIR
from structlog.testing import capture_logs

from inferstream.monitor import metrics
from inferstream.monitor.evaluate import VersionReport
from inferstream.monitor.evaluator import publish_gauges
from inferstream.monitor.receiver import serve as receiver_serve
from inferstream.ports import PortHold
from inferstream.workers.runtime.health import HealthState, serve

PROMETHEUS_DIR = COMPOSE_DIR / "prometheus"
TASK = "churn"


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(
            f"{name} not found on PATH: `make test-packages` installs it (apt: prometheus)",
            pytrace=False,
        )
    return path


def test_promtool_accepts_the_compose_prometheus_config(tmp_path: Path) -> None:
    """The compose config as mounted, its rule files read from the repository."""
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    config["rule_files"] = [str(PROMETHEUS_DIR / Path(path).name) for path in config["rule_files"]]
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    proc = subprocess.run(
        [_tool("promtool"), "check", "config", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS: 7 rules found" in proc.stdout  # model-alerts.yml was read


@pytest.fixture
def monitor_metrics() -> Iterator[tuple[int, str]]:
    """The worker's /metrics server with one model's gauges as the evaluator sets them, and a
    rollback and a refused one counted; a unique model name keeps other tests' series apart."""
    model = f"churn-scrape-{uuid.uuid4().hex[:8]}"
    report = VersionReport(
        model_name=model,
        model_version="v1",
        samples=600,
        score_psi=0.456,
        input_psi={"tenure_months": 1.05},
        latency_p95_ms=300.0,
        latency_within_slo=False,
        accuracy=0.75,
        labelled=300,
        errors=30,
        error_rate=0.05,
    )
    publish_gauges(TASK, [report])
    metrics.ROLLBACKS.labels(TASK, model, "drift").inc()
    metrics.ROLLBACK_FAILURES.labels(TASK, model).inc()
    server = serve(HealthState(stale_after_s=60), "127.0.0.1", 0)
    try:
        yield server.server_port, model
    finally:
        server.shutdown()
        server.server_close()
        labels = (TASK, model, "v1")
        for gauge in (metrics.SAMPLES, metrics.LABELLED, metrics.BREACHES, metrics.ACCURACY):
            gauge.remove(*labels)
        for gauge in (metrics.LATENCY_P95, metrics.ERROR_RATE):
            gauge.remove(*labels)
        metrics.PSI.remove(*labels, "score", "")
        metrics.PSI.remove(*labels, "input", "tenure_months")
        metrics.ROLLBACKS.remove(TASK, model, "drift")
        metrics.ROLLBACK_FAILURES.remove(TASK, model)


def _alerts(port: int, model: str) -> dict[str, dict[str, Any]]:
    url = f"http://127.0.0.1:{port}/api/v1/alerts"
    with urllib.request.urlopen(url, timeout=5) as resp:
        alerts = json.load(resp)["data"]["alerts"]
    return {a["labels"]["alertname"]: a for a in alerts if a["labels"].get("model") == model}


def _wait_for_alerts(
    proc: subprocess.Popen[bytes], port: int, model: str, want: dict[str, str]
) -> dict[str, dict[str, Any]]:
    deadline = time.monotonic() + 120  # seconds when it works; generous for a loaded machine
    seen: dict[str, dict[str, Any]] = {}
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"prometheus exited with {proc.returncode}"
        try:
            seen = _alerts(port, model)
        except OSError:
            seen = {}  # not listening yet
        if {name: a["state"] for name, a in seen.items()} == want:
            return seen
        time.sleep(0.5)
    raise AssertionError(f"alerts after 120 s: {seen}, wanted states {want}")


def _start(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=30)


@pytest.fixture
def receiver() -> Iterator[str]:
    """The logging receiver (alert-log), in this process so its log lines can be captured."""
    server = receiver_serve("127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()


def _alertmanager(
    receiver_url: str, tmp_path: Path, hold: PortHold
) -> tuple[subprocess.Popen[bytes], int]:
    """Alertmanager with the compose configuration, its webhook pointed at ``receiver_url``;
    its port one of ``hold``'s (Go listens with SO_REUSEADDR, so it binds the held port)."""
    config = yaml.safe_load((COMPOSE_DIR / "alertmanager" / "alertmanager.yml").read_text())
    (receiver,) = config["receivers"]
    receiver["webhook_configs"][0]["url"] = receiver_url
    (tmp_path / "alertmanager.yml").write_text(yaml.safe_dump(config))
    port = hold.free()
    proc = _start(
        _tool("prometheus-alertmanager"),
        f"--config.file={tmp_path / 'alertmanager.yml'}",
        f"--storage.path={tmp_path / 'am-data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",  # one instance: no gossip port
    )
    return proc, port


def _prometheus(metrics_port: int, am_port: int, tmp_path: Path, hold: PortHold) -> tuple[Any, int]:
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(PROMETHEUS_DIR / "model-alerts.yml")],
        "alerting": {
            "alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}]
        },
        "scrape_configs": [
            {
                "job_name": "inferstream-monitor",
                "static_configs": [{"targets": [f"127.0.0.1:{metrics_port}"]}],
            }
        ],
    }
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = hold.free()
    proc = _start(
        _tool("prometheus"),
        f"--config.file={tmp_path / 'prometheus.yml'}",
        f"--storage.tsdb.path={tmp_path / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
    )
    return proc, port


def _wait_for_delivery(logs: list[dict[str, Any]], model: str) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        for line in list(logs):
            if (
                line.get("alertname") == "InferstreamCanaryRolledBack"
                and line.get("labels", {}).get("model") == model
            ):
                return line
        time.sleep(0.5)
    raise AssertionError(f"no rollback alert reached the receiver in 120 s: {logs}")


def _alerts_and_delivery(
    metrics_port: int, model: str, receiver: str, tmp_path: Path, hold: PortHold
) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """Alertmanager and Prometheus on ports of ``hold``; the alerts Prometheus shows for
    ``model`` and the rollback alert the receiver logged, once both are there."""
    manager, am_port = _alertmanager(receiver, tmp_path, hold)
    try:
        prometheus, port = _prometheus(metrics_port, am_port, tmp_path, hold)
        try:
            with capture_logs() as logs:
                # a rollback has no for: and fires at once; the others wait out their for:
                # (5-15 min), so they are pending
                want = {
                    "InferstreamCanaryRolledBack": "firing",
                    "InferstreamCanaryRollbackRefused": "firing",
                    "InferstreamInputDrift": "pending",
                    "InferstreamModelScoreDrift": "pending",
                    "InferstreamModelAccuracyLow": "pending",
                    "InferstreamModelLatencySLO": "pending",
                    "InferstreamModelErrorRate": "pending",
                }
                seen = _wait_for_alerts(prometheus, port, model, want)
                # the compose routing sends a rollback at once (group_wait 0s)
                return seen, _wait_for_delivery(logs, model)
        finally:
            _stop(prometheus)
    finally:
        _stop(manager)


def test_prometheus_scrapes_the_monitor_and_alertmanager_delivers(
    monitor_metrics: tuple[int, str], receiver: str, tmp_path: Path
) -> None:
    metrics_port, model = monitor_metrics
    # The two servers' ports are held from their choice until both have exited: a port found
    # free and closed before its server binds it can go to another process meanwhile.
    with PortHold() as hold:
        seen, delivered = _alerts_and_delivery(metrics_port, model, receiver, tmp_path, hold)
    assert float(seen["InferstreamModelAccuracyLow"]["value"]) == 0.75
    assert float(seen["InferstreamModelScoreDrift"]["value"]) == 0.456
    assert seen["InferstreamCanaryRolledBack"]["labels"]["breach"] == "drift"
    assert delivered["event"] == "alert firing" and delivered["severity"] == "critical"
    assert delivered["summary"] == f"{model} canary rolled back automatically (drift)"
    assert delivered["receiver"] == "alert-log"
