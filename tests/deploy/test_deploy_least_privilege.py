"""Least privilege in the deploy files: the results API has its own Postgres role, Kafka
principal, IAM role and service account; no static IAM keys by default; upload staging objects
expire; /metrics and /ready stay off the public ingress; the API trusts forwarded headers only
from the ingress's network; terraform state and .env files are never committed."""

from __future__ import annotations

import ipaddress
import json
import subprocess
from typing import Any

import pytest
import yaml
from _deploy_common import K8S, ROOT, TERRAFORM
from _deploy_kustomize import build
from test_deploy_terraform import blocks

OVERLAYS = ("dev", "prod")


def _objects(overlay: str, kind: str) -> list[dict[str, Any]]:
    return [o for o in build(K8S / "overlays" / overlay) if o["kind"] == kind]


@pytest.mark.parametrize(
    "path",
    [
        "infra/terraform/examples/complete/terraform.tfstate",
        "infra/terraform/examples/platform/terraform.tfstate.backup",
        "terraform.tfstate",
        "infra/terraform/modules/s3/.terraform/providers/x",
        ".terraform/modules/modules.json",
        ".env",
        "infra/compose/.env",
        "somewhere/else/.env.local",
    ],
)
def test_state_plugins_and_env_files_are_ignored(path: str) -> None:
    result = subprocess.run(
        ["git", "check-ignore", "-q", "--no-index", path], cwd=ROOT, check=False
    )
    assert result.returncode == 0, f"{path} is not git-ignored"


def test_no_static_iam_keys_by_default_and_upload_staging_expires() -> None:
    variables = blocks(TERRAFORM / "modules" / "s3", "variable")
    assert variables["create_app_user"]["default"] is False
    resources = blocks(TERRAFORM / "modules" / "s3", "resource")
    rules = resources["aws_s3_bucket_lifecycle_configuration.this"]["rule"]
    (staging,) = [r for r in rules if r["id"] == "expire-upload-staging"]
    assert staging["status"] == "Enabled"
    assert staging["filter"][0]["prefix"] == "uploads/"
    assert staging["expiration"][0]["days"] == "${var.upload_staging_days}"
    assert variables["upload_staging_days"]["default"] == 1


def test_the_api_has_its_own_iam_role_limited_to_its_prefixes() -> None:
    data = blocks(TERRAFORM / "modules" / "s3", "data")
    statements = data["aws_iam_policy_document.api"]["statement"]
    writable = {
        s["sid"]: s["resources"]
        for s in statements
        if {"s3:PutObject", "s3:DeleteObject"} & set(s["actions"])
    }
    assert set(writable) == {"UploadStaging", "VerifiedBlobs"}
    assert "/uploads/*" in str(writable["UploadStaging"])
    assert "/blobs/*" in str(writable["VerifiedBlobs"])
    modules = blocks(TERRAFORM / "examples" / "complete", "module")
    api = modules["irsa_api"]
    assert api["service_account"] == "inferstream-api"
    assert api["policy_json"] == "${module.s3.api_access_policy_json}"
    assert modules["irsa_workers"]["service_account"] == "inferstream-worker"


def test_the_api_has_its_own_kafka_principal_and_postgres_role() -> None:
    msk = blocks(TERRAFORM / "modules" / "msk", "resource")
    association = msk["aws_msk_scram_secret_association.this"]
    assert association["secret_arn_list"] == [
        "${module.scram_secret.arn}",
        "${module.api_secret.arn}",
    ]
    calls = blocks(TERRAFORM / "modules" / "msk", "module")
    assert calls["api_secret"]["name"].startswith("AmazonMSK_")
    assert calls["api_secret"]["username"] != calls["scram_secret"]["username"]
    rds = blocks(TERRAFORM / "modules" / "rds", "variable")
    assert rds["api_username"]["default"] != rds["app_username"]["default"]
    secrets = {
        doc["metadata"]["name"]: {
            item["secretKey"]: item["remoteRef"]["key"] for item in doc["spec"]["data"]
        }
        for doc in _objects("prod", "ExternalSecret")
    }
    api, workers = secrets["inferstream-api-secrets"], secrets["inferstream-secrets"]
    assert set(api) == {
        "INFERSTREAM_KAFKA_SASL_USERNAME",
        "INFERSTREAM_KAFKA_SASL_PASSWORD",
        "INFERSTREAM_POSTGRES_PASSWORD",
    }
    for key in api:
        assert api[key] != workers[key], f"{key}: the API must not share the workers' secret"
    assert not any("OBJECT_STORE" in key for key in workers), "S3 through IRSA, no static keys"
    (config,) = [
        c
        for c in _objects("prod", "ConfigMap")
        if c["metadata"]["name"] == "inferstream-api-config"
    ]
    assert config["data"]["INFERSTREAM_POSTGRES_USER"] == "inferstream_api"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_metrics_and_ready_are_not_routed_by_the_public_ingress(overlay: str) -> None:
    (ingress,) = _objects(overlay, "Ingress")
    paths = [
        (p["path"], p["pathType"])
        for rule in ingress["spec"]["rules"]
        for p in rule["http"]["paths"]
    ]

    def routed(url: str) -> bool:
        return any(
            url == path
            or (kind == "Prefix" and url.startswith(path.rstrip("/") + "/"))
            or (kind == "Prefix" and url == path.rstrip("/"))
            for path, kind in paths
        )

    for private in ("/metrics", "/ready", "/ready/", "/metrics/x", "/"):
        assert not routed(private), private
    for public in ("/v1/results/churn", "/ui", "/ui/login", "/health", "/openapi.json", "/docs"):
        assert routed(public), public


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_api_trusts_forwarded_headers_only_from_private_networks(overlay: str) -> None:
    (config,) = [
        c
        for c in _objects(overlay, "ConfigMap")
        if c["metadata"]["name"] == "inferstream-api-config"
    ]
    allowed = config["data"]["FORWARDED_ALLOW_IPS"].split(",")
    assert "*" not in allowed
    for item in allowed:
        assert ipaddress.ip_network(item.strip()).is_private, item


def test_prod_trusts_exactly_the_private_subnets_terraform_plans() -> None:
    (config,) = [
        c
        for c in _objects("prod", "ConfigMap")
        if c["metadata"]["name"] == "inferstream-api-config"
    ]
    allowed = config["data"]["FORWARDED_ALLOW_IPS"].split(",")
    # module vpc: private subnets are eighths 1..az_count of the VPC CIDR (10.40.0.0/16, 3 AZs)
    vpc = ipaddress.ip_network("10.40.0.0/16")
    eighths = list(vpc.subnets(new_prefix=19))
    assert allowed == [str(eighths[i]) for i in (1, 2, 3)]
    outputs = (TERRAFORM / "examples" / "complete" / "outputs.tf").read_text()
    assert 'FORWARDED_ALLOW_IPS       = join(",", module.vpc.subnet_cidrs.private)' in outputs


def _containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    spec = obj["spec"]["template"]["spec"]
    return [*spec.get("initContainers", []), *spec["containers"]]


def test_only_the_api_pods_carry_the_api_secret() -> None:
    for obj in build(K8S / "overlays" / "prod"):
        if obj["kind"] not in ("Deployment", "Job", "CronJob"):
            continue
        text = json.dumps(obj)
        if obj["metadata"]["name"] == "api":
            assert "inferstream-secrets" not in text.replace("inferstream-api-secrets", "")
        elif obj["kind"] == "Job":
            # the bootstrap step sets the API role's Postgres password from it, and the ACL step
            # reads the API's Kafka user name (for its principal); nothing else reads it
            assert text.count('"inferstream-api-secrets"') == 2
            refs = [
                item["valueFrom"]["secretKeyRef"]["key"]
                for container in _containers(obj)
                for item in container.get("env", [])
                if item.get("valueFrom", {}).get("secretKeyRef", {}).get("name")
                == "inferstream-api-secrets"
            ]
            assert sorted(refs) == [
                "INFERSTREAM_KAFKA_SASL_USERNAME",
                "INFERSTREAM_POSTGRES_PASSWORD",
            ]
        else:
            assert "inferstream-api-secrets" not in text, obj["metadata"]["name"]


def test_committed_api_config_is_what_terraform_writes() -> None:
    committed = yaml.safe_load((K8S / "overlays" / "prod" / "api-config.yaml").read_text())
    outputs = (TERRAFORM / "examples" / "complete" / "outputs.tf").read_text()
    section = outputs[outputs.index('output "k8s_api_config"') :]
    for key in committed["data"]:
        assert f"{key} " in section, key


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_dead_letters_are_purged_daily(overlay: str) -> None:
    (cron,) = [
        c for c in _objects(overlay, "CronJob") if c["metadata"]["name"] == "inferstream-dlq-purge"
    ]
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    (container,) = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["inferstream dlq purge --yes"]


def test_the_compose_api_does_not_get_the_webhook_key() -> None:
    compose = yaml.safe_load((ROOT / "infra" / "compose" / "compose.yaml").read_text())
    services = compose["services"]
    assert services["api"]["environment"]["INFERSTREAM_WEBHOOK_SECRET"] == ""
    webhooks = [name for name in services if name.startswith("webhooks")]
    assert webhooks
    for name in webhooks:
        assert services[name]["environment"]["INFERSTREAM_WEBHOOK_SECRET"] != ""


def test_the_prod_migrate_job_applies_the_kafka_acls_of_both_principals() -> None:
    """On MSK nothing else applies them: the Job runs `topology acls --apply` (idempotent) with
    the principals of the two SCRAM secrets, before the topics are created."""
    (job,) = _objects("prod", "Job")
    (container,) = job["spec"]["template"]["spec"]["containers"]
    command = container["args"][0]
    acls = command.index("inferstream topology acls --apply")
    assert acls < command.index("inferstream topology apply")
    assert '--worker-principal "User:$INFERSTREAM_KAFKA_SASL_USERNAME"' in command
    assert '--api-principal "User:$API_KAFKA_USER"' in command
    env = {item["name"]: item["valueFrom"] for item in container["env"]}
    assert env["API_KAFKA_USER"]["secretKeyRef"] == {
        "name": "inferstream-api-secrets",
        "key": "INFERSTREAM_KAFKA_SASL_USERNAME",
    }
    workers = {ref["secretRef"]["name"] for ref in container["envFrom"] if "secretRef" in ref}
    assert workers == {"inferstream-secrets"}  # runs as the workers' principal
