"""infra/k8s: every overlay builds and validates against the Kubernetes (and CRD) schemas, and
the manifests agree with the code (topics, groups, ports, partitions, settings)."""

from __future__ import annotations

import copy
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from _deploy_common import (
    K8S,
    UNSET_IN_K8S_PROD,
    load_generator,
    setting_env_names,
)
from _deploy_kustomize import apply_component, build

from inferstream.topology import ENVIRONMENTS, STAGES, group_id, topic_name

KUBERNETES_VERSION = "1.35.0"  # the EKS version in infra/terraform (variable cluster_version)
SCHEMAS = Path(__file__).parent / "schemas"
CRD_SCHEMAS = {
    ("keda.sh/v1alpha1", "ScaledObject"): "keda-scaledobject.json",
    ("keda.sh/v1alpha1", "TriggerAuthentication"): "keda-triggerauthentication.json",
    ("external-secrets.io/v1", "ExternalSecret"): "eso-externalsecret.json",
    ("external-secrets.io/v1", "ClusterSecretStore"): "eso-clustersecretstore.json",
    ("monitoring.coreos.com/v1", "PodMonitor"): "prometheus-podmonitor.json",
    ("monitoring.coreos.com/v1", "PrometheusRule"): "prometheus-prometheusrule.json",
    ("cert-manager.io/v1", "ClusterIssuer"): "certmanager-clusterissuer.json",
}
OVERLAYS = ("dev", "prod")
GENERATOR = load_generator()


@cache
def rendered(overlay: str) -> tuple[dict[str, Any], ...]:
    return tuple(build(K8S / "overlays" / overlay))


def objects(overlay: str, kind: str) -> list[dict[str, Any]]:
    return [obj for obj in rendered(overlay) if obj["kind"] == kind]


def config(overlay: str) -> dict[str, str]:
    (configmap,) = [
        o for o in objects(overlay, "ConfigMap") if o["metadata"]["name"] == "inferstream-config"
    ]
    data: dict[str, str] = configmap["data"]
    return data


def validate(obj: dict[str, Any]) -> None:
    key = (obj["apiVersion"], obj["kind"])
    if key in CRD_SCHEMAS:
        schema = json.loads((SCHEMAS / CRD_SCHEMAS[key]).read_text())
        jsonschema.validate(obj, schema)
    else:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_validates_against_schemas(overlay: str) -> None:
    objs = rendered(overlay)
    assert len(objs) > 10
    for obj in objs:
        try:
            validate(obj)
        except (kubernetes_validate.ValidationError, jsonschema.ValidationError) as err:
            name = f"{obj['kind']}/{obj['metadata']['name']}"
            raise AssertionError(f"{overlay}: {name}: {err}") from None


def test_cluster_scoped_objects_stay_out_of_the_namespaced_overlays() -> None:
    cluster = build(K8S / "cluster")
    assert sorted(obj["kind"] for obj in cluster) == ["ClusterIssuer", "ClusterSecretStore"]
    for obj in cluster:
        assert "namespace" not in obj["metadata"]
        validate(obj)
    for overlay in OVERLAYS:
        kinds = {obj["kind"] for obj in rendered(overlay)}
        assert not {kind for kind in kinds if kind.startswith("Cluster")}, overlay


def test_every_task_directory_builds_and_validates() -> None:
    for task in GENERATOR.TASKS:
        for path in (K8S / "tasks" / task.name, K8S / "tasks" / task.name / "webhooks"):
            objs = build(path)
            assert {obj["kind"] for obj in objs} == {
                "Deployment",
                "PodDisruptionBudget",
                "ScaledObject",
            }
            for obj in objs:
                validate(obj)


def test_the_validators_reject_broken_objects() -> None:
    deployment = copy.deepcopy(objects("dev", "Deployment")[0])
    deployment["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGet"]["port"] = []
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(deployment)
    deployment = copy.deepcopy(objects("dev", "Deployment")[0])
    deployment["spec"]["replicaz"] = 2
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(deployment)
    scaled = copy.deepcopy(objects("dev", "ScaledObject")[0])
    scaled["spec"]["triggers"][0]["metadata"]["lagThreshold"] = 100
    with pytest.raises(jsonschema.ValidationError):
        validate(scaled)


def test_generated_files_are_current() -> None:
    stale = GENERATOR.stale_files()
    assert not stale, f"stale generated files (run python infra/generate.py): {stale}"


def test_no_secret_objects_are_committed() -> None:
    for overlay in OVERLAYS:
        assert not objects(overlay, "Secret"), "secrets come from the platform, never the repo"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_scaled_objects_match_the_topology(overlay: str) -> None:
    environment = config(overlay)["INFERSTREAM_TOPOLOGY_ENVIRONMENT"]
    partitions = ENVIRONMENTS[environment].partitions
    prefix = config(overlay)["INFERSTREAM_WORKER_GROUP_PREFIX"]
    deployments = {d["metadata"]["name"]: d for d in objects(overlay, "Deployment")}
    scaled = objects(overlay, "ScaledObject")
    assert scaled
    for obj in scaled:
        spec = obj["spec"]
        target = deployments[spec["scaleTargetRef"]["name"]]
        args = target["spec"]["template"]["spec"]["containers"][0]["args"]
        stage, task = args[1], args[3]
        assert 1 <= spec["minReplicaCount"] <= spec["maxReplicaCount"] <= partitions, obj
        triggers = spec["triggers"]
        assert triggers[0]["metadata"]["topic"] == topic_name(
            "submissions" if stage == "enrich" else "enriched" if stage == "infer" else "results",
            task,
        )
        for trigger in triggers:
            assert trigger["type"] == "kafka"
            assert trigger["metadata"]["consumerGroup"] == group_id(stage, task, prefix)
            assert (
                trigger["metadata"]["bootstrapServersFromEnv"]
                == "INFERSTREAM_KAFKA_BOOTSTRAP_SERVERS"
            )
    scaled_targets = {obj["spec"]["scaleTargetRef"]["name"] for obj in scaled}
    workers = {
        name
        for name, d in deployments.items()
        if d["metadata"]["labels"]["app.kubernetes.io/component"] in STAGES
    }
    assert workers <= scaled_targets, "every stage worker scales on consumer lag"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_pods_are_hardened_probed_and_sized(overlay: str) -> None:
    settings = config(overlay)
    ports = {
        "worker": int(settings["INFERSTREAM_WORKER_METRICS_PORT"]),
        "api": int(settings["INFERSTREAM_API_PORT"]),
    }
    for deployment in objects(overlay, "Deployment"):
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] == 1000
        assert pod["automountServiceAccountToken"] is False
        (container,) = pod["containers"]
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
        assert container["resources"]["requests"] and container["resources"]["limits"]
        assert container["livenessProbe"]["httpGet"]["path"] == "/health"
        assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
        assert container["startupProbe"]["httpGet"]["path"] == "/ready"
        (port,) = container["ports"]
        assert port["containerPort"] == ports[container["name"]]
        assert container["livenessProbe"]["httpGet"]["port"] == port["name"]
        envfrom = {next(iter(ref.values()))["name"] for ref in container["envFrom"]}
        component = deployment["metadata"]["labels"]["app.kubernetes.io/component"]
        if component == "api":
            # Least privilege: the API's own account, settings and Secret (its Postgres role and
            # Kafka principal), never the workers' Secret (their credentials, the webhook key).
            assert pod["serviceAccountName"] == "inferstream-api"
            assert envfrom == {
                "inferstream-config",
                "inferstream-api-config",
                "inferstream-api-secrets",
            }
            assert [next(iter(ref.values()))["name"] for ref in container["envFrom"]][-1] == (
                "inferstream-api-secrets"
            )  # later sources win
            continue
        assert pod["serviceAccountName"] == "inferstream-worker"
        if component == "archive":
            # Least privilege: the archive gets the S3 and Kafka secrets, never Postgres's.
            assert envfrom == {"inferstream-config"}
            secrets = {e["name"] for e in container["env"]}
            assert "INFERSTREAM_OBJECT_STORE_SECRET_KEY" in secrets
            assert not any("POSTGRES" in name for name in secrets)
        else:
            assert envfrom == {"inferstream-config", "inferstream-secrets"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_deployment_has_a_disruption_budget(overlay: str) -> None:
    budgets = [
        pdb["spec"]["selector"]["matchLabels"] for pdb in objects(overlay, "PodDisruptionBudget")
    ]
    for deployment in objects(overlay, "Deployment"):
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert any(all(labels.get(k) == v for k, v in sel.items()) for sel in budgets), deployment[
            "metadata"
        ]["name"]


def test_gpu_only_for_the_infer_stage_of_gpu_tasks_in_prod() -> None:
    gpu_tasks = {task.name for task in GENERATOR.TASKS if task.gpu}
    assert gpu_tasks
    for overlay in OVERLAYS:
        for deployment in objects(overlay, "Deployment"):
            container = deployment["spec"]["template"]["spec"]["containers"][0]
            gpus = container["resources"]["limits"].get("nvidia.com/gpu")
            labels = deployment["metadata"]["labels"]
            is_gpu_infer = (
                labels["app.kubernetes.io/component"] == "infer"
                and labels["inferstream.io/task"] in gpu_tasks
            )
            if overlay == "prod" and is_gpu_infer:
                assert gpus == 1
                assert "inferstream-gpu" in container["image"]
                tolerations = deployment["spec"]["template"]["spec"]["tolerations"]
                assert {
                    "key": "nvidia.com/gpu",
                    "operator": "Exists",
                    "effect": "NoSchedule",
                } in tolerations
            else:
                assert gpus is None


def test_gpu_infer_replicas_fit_the_gpu_nodes_in_prod() -> None:
    limits = [
        obj["spec"]["maxReplicaCount"]
        for obj in objects("prod", "ScaledObject")
        if obj["metadata"]["labels"].get("inferstream.io/accelerator") == "gpu"
    ]
    # gpu_nodes_max default in infra/terraform/examples/complete (one GPU per node)
    assert limits and max(limits) <= 4


def test_overlays_run_every_task() -> None:
    for overlay in OVERLAYS:
        tasks = {
            d["metadata"]["labels"]["inferstream.io/task"]
            for d in objects(overlay, "Deployment")
            if "inferstream.io/task" in d["metadata"]["labels"]
        }
        assert tasks == {task.name for task in GENERATOR.TASKS if task.shipped}, overlay


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policies_deny_by_default(overlay: str) -> None:
    policies = {p["metadata"]["name"]: p["spec"] for p in objects(overlay, "NetworkPolicy")}
    assert policies["default-deny"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    api = policies["api-from-ingress"]
    assert api["ingress"][0]["ports"] == [{"port": 8080, "protocol": "TCP"}]


def test_api_is_exposed_through_a_tls_ingress() -> None:
    for overlay in OVERLAYS:
        (service,) = objects(overlay, "Service")
        (ingress,) = objects(overlay, "Ingress")
        assert (
            ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"]
            == service["metadata"]["name"]
        )
        assert ingress["spec"]["tls"][0]["hosts"] == [ingress["spec"]["rules"][0]["host"]]


def test_prod_sets_every_setting_from_config_or_secret() -> None:
    settings = setting_env_names()
    data = config("prod")
    (external,) = [
        o
        for o in objects("prod", "ExternalSecret")
        if o["metadata"]["name"] == "inferstream-secrets"
    ]
    secret_keys = {item["secretKey"] for item in external["spec"]["data"]}
    for name, secret in settings.items():
        if name in UNSET_IN_K8S_PROD:
            assert name not in data and name not in secret_keys, (
                f"{name}: {UNSET_IN_K8S_PROD[name]}"
            )
            continue
        if secret:
            assert name in secret_keys, f"{name} is a secret: it belongs in the ExternalSecret"
            assert name not in data, f"{name} is a secret: never in the ConfigMap"
        else:
            # (the SASL username is not secret, but comes with the password from MSK's secret)
            assert (name in data) != (name in secret_keys), (
                f"{name}: one entry, ConfigMap or Secret"
            )
    unknown = (set(data) | secret_keys) - set(settings) - {"INFERSTREAM_DATA_DIR"}
    assert not unknown, f"ConfigMap/Secret keys no setting reads: {sorted(unknown)}"


def test_dev_config_holds_every_non_secret_setting() -> None:
    data = config("dev")
    for name, secret in setting_env_names().items():
        if secret:
            assert name not in data
        elif name not in UNSET_IN_K8S_PROD and name not in {
            "INFERSTREAM_KAFKA_SASL_MECHANISM",
            "INFERSTREAM_KAFKA_SASL_USERNAME",
            "INFERSTREAM_KAFKA_SSL_CA_LOCATION",
            "INFERSTREAM_POSTGRES_SSLROOTCERT",
        }:
            assert name in data, f"{name} has no entry in the dev ConfigMap"


def test_settings_values_parse() -> None:
    """The ConfigMap values are valid for the code's own settings models."""
    import os

    from _deploy_common import settings_classes

    for overlay in OVERLAYS:
        env = {
            **config(overlay),
            "INFERSTREAM_KAFKA_SASL_USERNAME": "u",
            "INFERSTREAM_KAFKA_SASL_PASSWORD": "p",
        }
        saved = dict(os.environ)
        try:
            os.environ.update(env)
            for cls in settings_classes():
                cls.load()
        finally:
            os.environ.clear()
            os.environ.update(saved)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_monitoring_component_scrapes_every_pod_with_the_compose_alerts(overlay: str) -> None:
    objs = apply_component(list(rendered(overlay)), K8S / "components" / "monitoring")
    monitors = [o for o in objs if o["kind"] == "PodMonitor"]
    (rule,) = [o for o in objs if o["kind"] == "PrometheusRule"]
    for obj in [*monitors, rule]:
        validate(obj)
    alerts = yaml.safe_load((K8S.parent / "compose" / "prometheus" / "alerts.yml").read_text())
    assert rule["spec"]["groups"] == alerts["groups"]
    jobs = set()
    for deployment in objects(overlay, "Deployment"):
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        (port,) = deployment["spec"]["template"]["spec"]["containers"][0]["ports"]
        scraping = [m for m in monitors if selects(m["spec"]["selector"], labels)]
        assert len(scraping) == 1, deployment["metadata"]["name"]
        endpoint = scraping[0]["spec"]["podMetricsEndpoints"][0]
        assert endpoint["port"] == port["name"]
        jobs.update(r["replacement"] for r in endpoint["relabelings"] if r["targetLabel"] == "job")
    # the alert rules select these job names (as in the compose Prometheus)
    assert jobs == {"inferstream-workers", "inferstream-api"}


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expr in selector.get("matchExpressions", []):
        if expr["operator"] == "In" and labels.get(expr["key"]) not in expr["values"]:
            return False
    return True


# ---- what would have kept the pipeline from coming up on a cluster ----

MSK_PORTS = {9092, 9094, 9096, 9098}  # plaintext, TLS, SASL/SCRAM, IAM


def pod_specs(overlay: str) -> list[tuple[str, dict[str, Any]]]:
    return [
        (obj["metadata"]["name"], obj["spec"]["template"]["spec"])
        for obj in objects(overlay, "Deployment")
    ]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_kubectl_kustomize_renders_the_same_objects(overlay: str) -> None:
    import shutil
    import subprocess

    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.fail("kubectl not found on PATH (it builds the overlays: kubectl kustomize)")
    result = subprocess.run(
        [kubectl, "kustomize", str(K8S / "overlays" / overlay)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    real = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    for obj in real:
        validate(obj)
    key = lambda o: (o["kind"], o["metadata"]["name"])  # noqa: E731
    assert sorted(map(key, real)) == sorted(map(key, rendered(overlay)))


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_pods_start_only_after_the_schema_and_topics_exist(overlay: str) -> None:
    """Workers crash-looped until the migrate Job ended: each now waits in an init container
    that applies the (idempotent) migrations and topology first."""
    for name, spec in pod_specs(overlay):
        (gate,) = [c for c in spec.get("initContainers", []) if c["name"] == "release-gate"]
        command = " ".join(gate["args"])
        if name == "api":
            # The API's role may not migrate: it waits, read-only, for no pending migration.
            assert "applied(conn)" in command and "available()" in command, name
            assert "migrate(" not in command and "topology" not in command, name
            assert gate["image"] == spec["containers"][0]["image"], name
            continue
        assert "inferstream topology apply" in command, name
        if not name.startswith("archive-"):
            assert command.startswith("inferstream db migrate && "), name
        assert gate["image"] == spec["containers"][0]["image"].replace("-gpu", ""), name


def test_gpu_infer_rolls_without_a_spare_gpu() -> None:
    gpu = [
        (name, obj)
        for obj in objects("prod", "Deployment")
        for name in [obj["metadata"]["name"]]
        if "nvidia.com/gpu"
        in obj["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]
    ]
    assert gpu
    for name, obj in gpu:
        rolling = obj["spec"]["strategy"]["rollingUpdate"]
        assert rolling == {"maxSurge": 0, "maxUnavailable": 1}, name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_egress_reaches_every_msk_listener(overlay: str) -> None:
    (policy,) = [
        o
        for o in objects(overlay, "NetworkPolicy")
        if o["metadata"]["name"] == "egress-dependencies"
    ]
    ports = {p["port"] for rule in policy["spec"]["egress"] for p in rule.get("ports", [])}
    assert ports >= MSK_PORTS, MSK_PORTS - ports


def test_keda_scales_to_partitions_with_lag_evenly() -> None:
    for obj in objects("prod", "ScaledObject"):
        for trigger in obj["spec"]["triggers"]:
            meta = trigger["metadata"]
            assert meta["limitToPartitionsWithLag"] == "true", obj["metadata"]["name"]
            assert meta["ensureEvenDistributionOfPartitions"] == "true", obj["metadata"]["name"]
            assert meta["allowIdleConsumers"] == "false"  # KEDA refuses it with the limit


def test_pods_never_use_the_rds_master_user() -> None:
    data = config("prod")
    assert data["INFERSTREAM_POSTGRES_USER"] == "inferstream_app"
    (job,) = objects("prod", "Job")
    (bootstrap,) = job["spec"]["template"]["spec"]["initContainers"]
    assert bootstrap["name"] == "db-bootstrap"
    # Only the bootstrap step sees the master credentials (their own Secret).
    text = json.dumps([o for o in rendered("prod") if o is not job])
    assert "inferstream-db-admin" not in text.replace('"name": "inferstream-db-admin"', "")
    assert "inferstream-db-admin" in json.dumps(bootstrap)


def test_prod_overlay_needs_no_hand_edits() -> None:
    """Account ids, role ARNs, hosts and the CA bundle came from hand edits and curl: now every
    deployment-specific value lives in a file terraform writes (docs/deploy.md)."""
    prod = K8S / "overlays" / "prod"
    written = {"config.yaml", "api-config.yaml", "external-secret.yaml", "site/kustomization.yaml"}
    for path in prod.rglob("*.yaml"):
        rel = str(path.relative_to(prod))
        text = path.read_text()
        if rel in written:
            assert "terraform -chdir=infra/terraform/examples/complete output" in text, rel
            continue
        assert not re.search(r"\d{12}|arn:aws|example\.com|amazonaws\.com", text), rel
    for obj in rendered("prod"):
        assert "inferstream-rds-ca" not in json.dumps(obj), "the RDS CA bundle is in the image"


def platform_release(name: str) -> dict[str, Any]:
    """A helm_release of the terraform module platform, as python-hcl2 reads it."""
    import hcl2

    path = K8S.parent / "terraform" / "modules" / "platform" / "main.tf"
    with path.open() as handle:
        loaded = hcl2.load(handle)

    def unquote(value: Any) -> Any:  # python-hcl2 8 keeps the quotes of strings and labels
        return value.strip('"') if isinstance(value, str) else value

    for block in loaded["resource"]:
        releases = {unquote(k): v for k, v in block.items()}.get("helm_release", {})
        body = {unquote(k): v for k, v in releases.items()}.get(name)
        if body is not None:
            return {unquote(k): unquote(v) for k, v in body.items()}
    raise AssertionError(f"helm_release.{name} is not in the platform module")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_api_certificate_is_issued_through_a_supported_controller(overlay: str) -> None:
    (ingress,) = objects(overlay, "Ingress")
    issuers = {
        o["metadata"]["name"]: o for o in build(K8S / "cluster") if o["kind"] == "ClusterIssuer"
    }
    issuer = issuers[ingress["metadata"]["annotations"]["cert-manager.io/cluster-issuer"]]
    (solver,) = issuer["spec"]["acme"]["solvers"]
    assert solver["http01"]["ingress"]["ingressClassName"] == ingress["spec"]["ingressClassName"]
    assert ingress["spec"]["tls"][0]["secretName"] == "inferstream-api-tls"
    # Annotations of the controller that serves class nginx (F5's, nginx.org/*), none of the
    # retired community ingress-nginx (nginx.ingress.kubernetes.io/*).
    assert not [a for a in ingress["metadata"]["annotations"] if a.startswith("nginx.ingress.")]
    controller = platform_release("nginx_ingress")
    assert controller["repository"] == "https://helm.nginx.com/stable"
    assert platform_release("cert_manager")["chart"] == "cert-manager"
    # The controller's namespace may reach the API and the ACME solver; nothing else may.
    policies = {o["metadata"]["name"]: o["spec"] for o in objects(overlay, "NetworkPolicy")}
    for name in ("api-from-ingress", "acme-solver-from-ingress"):
        source = policies[name]["ingress"][0]["from"][0]["namespaceSelector"]["matchLabels"]
        assert source == {"kubernetes.io/metadata.name": controller["namespace"]}, name
    solver_pods = policies["acme-solver-from-ingress"]["podSelector"]["matchLabels"]
    assert solver_pods == {"acme.cert-manager.io/http01-solver": "true"}
