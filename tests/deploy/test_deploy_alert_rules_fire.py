"""The model alerts evaluated by Prometheus's own rule engine: promtool and amtool (Debian's
prometheus 2.42 and prometheus-alertmanager 0.25, which `make test-packages` installs; a missing one
is a failure). Both rule files (compose, and the k8s PrometheusRule's groups) pass `promtool
check rules`; `promtool test rules` feeds series named and labelled as
inferstream/monitor/metrics.py exports them and shows each alert firing only after its `for:`,
with its rendered message, and not on healthy series; both Alertmanager configurations pass
`amtool check-config`."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from _deploy_common import COMPOSE_DIR, K8S
from prometheus_client import Counter
from prometheus_client.metrics import MetricWrapperBase

from inferstream.monitor import metrics
from inferstream.settings.monitor import MonitorSettings

RULES = COMPOSE_DIR / "prometheus" / "model-alerts.yml"
ALERTING = K8S / "components" / "alerting"
TASK, MODEL, OTHER = "churn", "churn-logreg", "churn-gbm"
PROD, CANARY = "9b1ecf4016c1", "5d2a7e310f48"  # versions as the registry names them
SETTINGS = MonitorSettings()
# Values either side of the monitor's default thresholds (which the rules must equal:
# test_deploy_alerting.py). 0.032 and 0.456 are the demo's measured score PSI before and after
# the shifted customers, 0.75 the demo churn model's live accuracy (docs/monitoring.md).
PSI_OK, PSI_BAD = 0.032, 0.456
ACC_OK, ACC_DEMO = 0.9, 0.75
P95_OK, P95_BAD = 0.05, 0.3
ERR_OK, ERR_BAD = 0.01, 0.05


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(
            f"{name} not found on PATH: `make test-packages` installs it (apt: prometheus, "
            "prometheus-alertmanager)",
            pytrace=False,
        )
    return path


def _run(*args: str) -> str:
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, f"{' '.join(args)} failed:\n{proc.stdout}{proc.stderr}"
    return proc.stdout


def _name(metric: MetricWrapperBase) -> str:
    # a Counter is exposed (and scraped) with the _total suffix prometheus_client strips
    name: str = metric._name
    return f"{name}_total" if isinstance(metric, Counter) else name


def _series(metric: MetricWrapperBase, values: str, **labels: str) -> dict[str, str]:
    """An input series as the monitor exports ``metric``: a renamed metric or label fails."""
    assert set(labels) == set(metric._labelnames), (labels, metric._labelnames)
    inner = ",".join(f'{key}="{value}"' for key, value in labels.items())
    return {"series": f"{_name(metric)}{{{inner}}}", "values": values}


def _version(version: str) -> dict[str, str]:
    return {"task": TASK, "model": MODEL, "version": version}


def _gauges() -> list[dict[str, str]]:
    """40 minutes of each gauge: one breaching version and one healthy one."""
    psi, acc, p95, err = metrics.PSI, metrics.ACCURACY, metrics.LATENCY_P95, metrics.ERROR_RATE
    return [
        _series(psi, f"{PSI_OK}x40", **_version(PROD), kind="score", feature=""),
        _series(psi, f"{PSI_BAD}x40", **_version(CANARY), kind="score", feature=""),
        _series(psi, "1.05x40", **_version(PROD), kind="input", feature="tenure_months"),
        _series(psi, f"{PSI_OK}x40", **_version(PROD), kind="input", feature="monthly_charges"),
        _series(acc, f"{ACC_DEMO}x40", **_version(PROD)),
        _series(acc, f"{ACC_OK}x40", **_version(CANARY)),
        _series(p95, f"{P95_OK}x40", **_version(PROD)),
        _series(p95, f"{P95_BAD}x40", **_version(CANARY)),
        _series(err, f"{ERR_OK}x40", **_version(PROD)),
        _series(err, f"{ERR_BAD}x40", **_version(CANARY)),
    ]


def _counters() -> list[dict[str, str]]:
    """A model's first rollback (the series appears at 1 at 5m), a refused one (at 10m), and
    another model's counters that stay at 0."""
    rb, refused = metrics.ROLLBACKS, metrics.ROLLBACK_FAILURES
    return [
        _series(rb, "_x5 1x34", task=TASK, model=MODEL, breach="drift"),
        _series(rb, "0x40", task=TASK, model=OTHER, breach="latency"),
        _series(refused, "_x10 1x29", task=TASK, model=MODEL),
        _series(refused, "0x40", task=TASK, model=OTHER),
    ]


def _alert(labels: dict[str, str], severity: str, summary: str, description: str) -> Any:
    return {
        "exp_labels": {**labels, "severity": severity},
        "exp_annotations": {"summary": summary, "description": description},
    }


def _expected() -> list[tuple[str, str, Any]]:
    """(alertname, the time it starts firing, the alert); one minute earlier it must not fire
    (still pending, or no breach yet), and no healthy series may fire at either time."""
    canary, prod, who = _version(CANARY), _version(PROD), f"{MODEL}/{CANARY} ({TASK})"
    return [
        ("InferstreamModelScoreDrift", "10m", _alert(canary, "warning",
            f"{who} scores drifted from its training reference",
            f"Score PSI {PSI_BAD:.3f} > 0.05 over the monitor's window; see monitor.{TASK} for "
            "the inputs' PSI.")),
        ("InferstreamInputDrift", "10m", _alert({**prod, "feature": "tenure_months"}, "warning",
            f"{TASK} input tenure_months drifted from the training data of {MODEL}/{PROD}",
            "PSI 1.050 > 0.05: the traffic no longer looks like what the model was trained on.")),
        ("InferstreamModelAccuracyLow", "15m", _alert(prod, "critical",
            f"{MODEL}/{PROD} ({TASK}) live accuracy under 85 %",
            "Accuracy 75% on the feedback labels of the window.")),
        ("InferstreamModelLatencySLO", "5m", _alert(canary, "critical",
            f"{who} p95 over the 200 ms SLO",
            "Submission-to-result p95 is 300ms (upper edge of its bucket).")),
        ("InferstreamModelErrorRate", "5m", _alert(canary, "critical",
            f"{who} inference fails on over 2 % of records",
            "Error rate 5% (dead letters naming the version) over the monitor's window.")),
        ("InferstreamCanaryRolledBack", "5m", _alert(
            {"task": TASK, "model": MODEL, "breach": "drift"}, "critical",
            f"{MODEL} canary rolled back automatically (drift)",
            f"The reason is in `inferstream models list {MODEL}` (alias history) and on "
            f"monitor.{TASK}.")),
        ("InferstreamCanaryRollbackRefused", "10m", _alert(
            {"task": TASK, "model": MODEL}, "critical",
            f"{MODEL} canary breaches but the registry refused its rollback",
            "A pinned canary is not moved automatically: unpin it or roll it back by hand.")),
    ]  # fmt: skip


def _minutes(at: str) -> int:
    return int(at.removesuffix("m"))


def _rule_tests() -> list[dict[str, Any]]:
    checks: list[dict[str, Any]] = []
    for alertname, fires_at, alert in _expected():
        start = _minutes(fires_at)
        checks += [
            {"eval_time": f"{start - 1}m", "alertname": alertname, "exp_alerts": []},
            {"eval_time": fires_at, "alertname": alertname, "exp_alerts": [alert]},
            {"eval_time": f"{start + 5}m", "alertname": alertname, "exp_alerts": [alert]},
        ]
    # a rollback alerts for 15 minutes, then resolves (the counter no longer moves)
    for alertname, fires_at, _ in _expected()[-2:]:
        later = f"{_minutes(fires_at) + 16}m"
        checks.append({"eval_time": later, "alertname": alertname, "exp_alerts": []})
    return checks


def _second_rollback() -> dict[str, Any]:
    """A model rolled back long ago (its counter at 1 for 30 minutes) is quiet; a second
    rollback (the counter to 2) alerts again through increase()."""
    series = _series(metrics.ROLLBACKS, "1x30 2x9", task=TASK, model=OTHER, breach="latency")
    alert = _alert({"task": TASK, "model": OTHER, "breach": "latency"}, "critical",
        f"{OTHER} canary rolled back automatically (latency)",
        f"The reason is in `inferstream models list {OTHER}` (alias history) and on "
        f"monitor.{TASK}.")  # fmt: skip
    name = "InferstreamCanaryRolledBack"
    return {
        "interval": "1m",
        "input_series": [series],
        "alert_rule_test": [
            {"eval_time": "30m", "alertname": name, "exp_alerts": []},
            {"eval_time": "31m", "alertname": name, "exp_alerts": [alert]},
        ],
    }


def _unit_test_file(directory: Path, rules: Path) -> Path:
    test = {
        "rule_files": [str(rules)],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [*_gauges(), *_counters()],
                "alert_rule_test": _rule_tests(),
            },
            _second_rollback(),
        ],
    }
    path = directory / "model-alerts.test.yml"
    path.write_text(yaml.safe_dump(test, sort_keys=False))
    return path


def _k8s_rules(directory: Path) -> Path:
    rule = yaml.safe_load((ALERTING / "prometheusrule.yaml").read_text())
    path = directory / "prometheusrule-groups.yml"
    path.write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}))
    return path


def test_the_test_values_straddle_the_monitors_thresholds() -> None:
    assert PSI_OK < SETTINGS.psi_threshold < PSI_BAD
    assert ACC_DEMO < SETTINGS.accuracy_min < ACC_OK
    assert P95_OK < SETTINGS.latency_p95_ms / 1000 < P95_BAD
    assert ERR_OK < SETTINGS.error_rate_max < ERR_BAD


@pytest.mark.parametrize("target", ["compose", "k8s"])
def test_each_alert_fires_after_its_for_and_not_on_healthy_series(
    target: str, tmp_path: Path
) -> None:
    promtool = _tool("promtool")
    rules = RULES if target == "compose" else _k8s_rules(tmp_path)
    assert "SUCCESS: 7 rules found" in _run(promtool, "check", "rules", str(rules))
    out = _run(promtool, "test", "rules", str(_unit_test_file(tmp_path, rules)))
    assert "SUCCESS" in out


def test_promtool_fails_when_an_alert_does_not_fire(tmp_path: Path) -> None:
    """The harness can fail: with the accuracy threshold under the demo's 0.75, the expected
    alert is missing and promtool says so."""
    promtool = _tool("promtool")
    text = RULES.read_text().replace(f"< {SETTINGS.accuracy_min}", f"< {ACC_DEMO - 0.05}")
    assert text != RULES.read_text()
    rules = tmp_path / "weakened.yml"
    rules.write_text(text)
    test = _unit_test_file(tmp_path, rules)
    proc = subprocess.run(
        [promtool, "test", "rules", str(test)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 1 and "InferstreamModelAccuracyLow" in proc.stdout + proc.stderr


def _k8s_alertmanager_config(directory: Path) -> Path:
    docs = yaml.safe_load_all((ALERTING / "alertmanager.yaml").read_text())
    (config,) = [d for d in docs if d["kind"] == "ConfigMap"]
    path = directory / "alertmanager.yml"
    path.write_text(config["data"]["alertmanager.yml"])
    return path


def test_amtool_accepts_both_alertmanager_configurations(tmp_path: Path) -> None:
    amtool = _tool("amtool")
    for config in (
        COMPOSE_DIR / "alertmanager" / "alertmanager.yml",
        _k8s_alertmanager_config(tmp_path),
    ):
        out = _run(amtool, "check-config", str(config))
        assert "SUCCESS" in out and "- 1 receivers" in out, out
