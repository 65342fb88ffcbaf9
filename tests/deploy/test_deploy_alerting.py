"""The model alerts and their delivery, checked statically (the rules are parsed as PromQL;
test_deploy_alert_rules_fire.py evaluates them with promtool): every alert reads metrics the
monitor exports with the thresholds of seed 004 (the MLOps platform), Prometheus loads the
rules and talks to Alertmanager, Alertmanager's receiver is the logging webhook, and the k8s
component carries the same rules and configuration."""

from __future__ import annotations

from typing import Any

import yaml
from _deploy_common import COMPOSE_DIR, K8S, metric_names_in
from _deploy_kustomize import apply_component
from prometheus_client import REGISTRY
from test_deploy_k8s import rendered, validate

import inferstream.monitor.metrics  # noqa: F401  (registers the monitor's metric names)
from inferstream.settings.monitor import MonitorSettings

RULES = COMPOSE_DIR / "prometheus" / "model-alerts.yml"
COMPONENT = K8S / "components" / "alerting"


def _monitor_metric_names() -> set[str]:
    names: set[str] = set()
    for family in REGISTRY.collect():
        if family.name.startswith("inferstream_monitor_"):
            names.add(family.name)
            names.update(f"{family.name}{s}" for s in ("_total", "_bucket", "_sum", "_count"))
    return names


def _alerts() -> dict[str, dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return {rule["alert"]: rule for group in groups for rule in group["rules"]}


def test_model_alerts_read_the_monitors_metrics_with_seed_thresholds() -> None:
    alerts = _alerts()
    exported = _monitor_metric_names()
    assert set(alerts) == {
        "InferstreamModelScoreDrift",
        "InferstreamInputDrift",
        "InferstreamModelAccuracyLow",
        "InferstreamModelLatencySLO",
        "InferstreamModelErrorRate",
        "InferstreamCanaryRolledBack",
        "InferstreamCanaryRollbackRefused",
    }
    for name, rule in alerts.items():
        used = metric_names_in(rule["expr"])  # a PromQL syntax error raises here
        assert used and used <= exported, f"{name}: unknown metrics {used - exported}"
        assert rule["labels"]["severity"] in {"warning", "critical"}
        assert rule["annotations"]["summary"]
    defaults = MonitorSettings()
    # the thresholds the monitor applies, as the rules write them
    assert alerts["InferstreamModelScoreDrift"]["expr"].endswith(f"> {defaults.psi_threshold}")
    assert alerts["InferstreamInputDrift"]["expr"].endswith(f"> {defaults.psi_threshold}")
    assert alerts["InferstreamModelAccuracyLow"]["expr"].endswith(f"< {defaults.accuracy_min}")
    slo_s = defaults.latency_p95_ms / 1000
    assert alerts["InferstreamModelLatencySLO"]["expr"].endswith(f"> {slo_s}")
    assert alerts["InferstreamModelErrorRate"]["expr"].endswith(f"> {defaults.error_rate_max}")
    assert "offset 15m" in alerts["InferstreamCanaryRolledBack"]["expr"]  # a first rollback


def test_prometheus_loads_the_rules_scrapes_the_monitor_and_notifies_alertmanager() -> None:
    config = yaml.safe_load((COMPOSE_DIR / "prometheus" / "prometheus.yml").read_text())
    assert "/etc/prometheus/model-alerts.yml" in config["rule_files"]
    (manager,) = config["alerting"]["alertmanagers"]
    assert manager["static_configs"][0]["targets"] == ["alertmanager:9093"]
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert jobs["inferstream-monitor"]["static_configs"][0]["targets"] == ["monitor-churn:9400"]
    services = yaml.safe_load((COMPOSE_DIR / "compose.yaml").read_text())["services"]
    mounts = services["prometheus"]["volumes"]
    assert "./prometheus/model-alerts.yml:/etc/prometheus/model-alerts.yml:ro" in mounts
    monitor = services["monitor-churn"]
    assert [*monitor["entrypoint"], *monitor["command"]] == [
        "inferstream", "worker", "monitor", "--task", "churn",
    ]  # fmt: skip
    assert monitor["environment"] == services["init"]["environment"]
    assert monitor["read_only"] is True and monitor["cap_drop"] == ["ALL"]


def _alertmanager_config() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(
        (COMPOSE_DIR / "alertmanager" / "alertmanager.yml").read_text()
    )
    return loaded


def test_alertmanager_routes_every_alert_to_the_logging_receiver() -> None:
    config = _alertmanager_config()
    receivers = {r["name"]: r for r in config["receivers"]}
    assert config["route"]["receiver"] == "alert-log"
    assert {r["receiver"] for r in config["route"].get("routes", [])} <= set(receivers)
    (hook,) = receivers["alert-log"]["webhook_configs"]
    assert hook["url"] == "http://alert-log:9095/" and hook["send_resolved"] is True
    services = yaml.safe_load((COMPOSE_DIR / "compose.yaml").read_text())["services"]
    receiver = services["alert-log"]
    assert receiver["entrypoint"] == ["python", "-m", "inferstream.monitor.receiver"]
    assert receiver["command"] == ["--port", "9095"] and "9095" in receiver["expose"]
    manager = services["alertmanager"]
    assert manager["image"].startswith("prom/alertmanager:v")
    assert (
        "./alertmanager/alertmanager.yml:/etc/alertmanager/alertmanager.yml:ro"
        in manager["volumes"]
    )


def test_k8s_alerting_component_has_the_same_rules_and_configuration() -> None:
    base = {(o["kind"], o["metadata"]["name"]) for o in rendered("prod")}
    objs = apply_component(list(rendered("prod")), COMPONENT)
    names = {(o["kind"], o["metadata"]["name"]) for o in objs} - base
    assert names == {
        ("Deployment", "monitor-churn"),
        ("PodMonitor", "inferstream-monitor"),
        ("PrometheusRule", "inferstream-models"),
        ("ConfigMap", "alertmanager-config"),
        ("Deployment", "alertmanager"),
        ("Service", "alertmanager"),
        ("Deployment", "alert-log"),
        ("Service", "alert-log"),
    }
    by_key = {(o["kind"], o["metadata"]["name"]): o for o in objs}
    for key in names:
        validate(by_key[key])
    rule = by_key[("PrometheusRule", "inferstream-models")]
    assert rule["spec"]["groups"] == yaml.safe_load(RULES.read_text())["groups"]
    config = by_key[("ConfigMap", "alertmanager-config")]["data"]["alertmanager.yml"]
    assert yaml.safe_load(config) == _alertmanager_config()
    monitor = by_key[("Deployment", "monitor-churn")]["spec"]["template"]["spec"]
    assert monitor["containers"][0]["args"] == ["worker", "monitor", "--task", "churn"]
    receiver = by_key[("Deployment", "alert-log")]["spec"]["template"]["spec"]["containers"][0]
    assert receiver["command"] == ["python", "-m", "inferstream.monitor.receiver"]
