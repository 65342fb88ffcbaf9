"""infra/terraform: every file parses (python-hcl2), modules keep the terraform-aws-modules
layout, variables are described (and validated where a wrong value is possible), the security
properties hold (MSK over SASL/SCRAM and TLS only, S3 encrypted and private, no secret values),
and checkov finds no failed check (skips carry a reason)."""

from __future__ import annotations

import json
import re
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import hcl2
import pytest
from _deploy_common import ROOT, TERRAFORM, TOOLS_BIN

MODULES = ("vpc", "msk", "rds", "s3", "eks", "irsa", "generated_secret", "platform")
ROOTS = [TERRAFORM / "modules" / name for name in MODULES] + [
    TERRAFORM / "examples" / name for name in ("complete", "platform")
]
LAYOUT = ("main.tf", "variables.tf", "outputs.tf", "versions.tf")
# Variables where no wrong value is possible beyond its type (IDs, tags, toggles, lists of IDs).
NAME_NOT_VALUE = re.compile(r"secretKey\s*[=:]\s*\"?INFERSTREAM_[A-Z_]+\"?\s*(,|$)")
NO_VALIDATION_NEEDED = {
    "tags",
    "vpc_id",
    "client_security_group_ids",
    "single_nat_gateway",
    "multi_az",
    "deletion_protection",
    "create_app_user",
    "endpoint_public_access",
    "cpu_instance_types",
}


def normalise(node: Any) -> Any:
    """python-hcl2 8 keeps the quotes of string literals and marks blocks: drop both."""
    if isinstance(node, dict):
        return {normalise(k): normalise(v) for k, v in node.items() if k != "__is_block__"}
    if isinstance(node, list):
        return [normalise(item) for item in node]
    if isinstance(node, str) and len(node) >= 2 and node[0] == node[-1] == '"':
        return node[1:-1]
    return node


@cache
def parsed(path: Path) -> dict[str, Any]:
    with path.open() as handle:
        loaded: dict[str, Any] = normalise(hcl2.load(handle))
    return loaded


def blocks(root: Path, kind: str) -> dict[str, Any]:
    """{"aws_s3_bucket.this": body, ...} for resources/data, {"name": body} for variables etc."""
    out: dict[str, Any] = {}
    for tf in sorted(root.glob("*.tf")):
        for block in parsed(tf).get(kind, []):
            for name, body in block.items():
                if kind in ("resource", "data"):
                    for label, inner in body.items():
                        out[f"{name}.{label}"] = inner
                else:
                    out[name] = body
    return out


def test_every_file_parses_and_modules_keep_the_layout() -> None:
    files = sorted(TERRAFORM.rglob("*.tf"))
    assert len(files) >= 4 * len(ROOTS)
    for tf in files:
        parsed(tf)
    for root in ROOTS:
        assert sorted(p.name for p in root.glob("*.tf")) == sorted(LAYOUT), root


def test_versions_pin_terraform_and_providers() -> None:
    for root in ROOTS:
        (terraform,) = parsed(root / "versions.tf")["terraform"]
        assert terraform["required_version"]
        for provider in terraform["required_providers"]:
            for spec in provider.values():
                assert re.search(r"\d", spec["version"]), (root, spec)


def test_variables_are_described_typed_and_validated() -> None:
    for root in ROOTS:
        for name, body in blocks(root, "variable").items():
            assert body.get("description"), f"{root.name}: variable {name} has no description"
            assert body.get("type"), f"{root.name}: variable {name} has no type"
            if name not in NO_VALIDATION_NEEDED:
                assert body.get("validation"), f"{root.name}: variable {name} has no validation"
        for name, body in blocks(root, "output").items():
            assert body.get("description"), f"{root.name}: output {name} has no description"


def test_msk_uses_sasl_scram_over_tls_only() -> None:
    cluster = blocks(TERRAFORM / "modules" / "msk", "resource")["aws_msk_cluster.this"]
    auth = cluster["client_authentication"][0]
    assert auth["sasl"][0]["scram"] is True and auth["unauthenticated"] is False
    transit = cluster["encryption_info"][0]["encryption_in_transit"][0]
    assert transit == {"client_broker": "TLS", "in_cluster": True}
    secrets = blocks(TERRAFORM / "modules" / "msk", "module")
    for name in ("scram_secret", "api_secret"):  # MSK only associates AmazonMSK_* secrets
        assert secrets[name]["source"] == "../generated_secret"
        assert secrets[name]["name"].startswith("AmazonMSK_")


def test_rds_is_postgres_16_with_the_pgvector_parameter_group() -> None:
    resources = blocks(TERRAFORM / "modules" / "rds", "resource")
    instance = resources["aws_db_instance.this"]
    group = resources["aws_db_parameter_group.this"]
    variables = blocks(TERRAFORM / "modules" / "rds", "variable")
    assert instance["engine"] == "postgres"
    assert variables["engine_version"]["default"].startswith("16.")
    assert group["family"] == "postgres16"
    params = {p["name"]: p["value"] for p in group["parameter"]}
    assert params["rds.force_ssl"] == "1"
    assert "maintenance_work_mem" in params  # HNSW builds
    assert instance["storage_encrypted"] is True and instance["publicly_accessible"] is False
    assert instance["manage_master_user_password"] is True  # the password never enters the state


def test_s3_buckets_are_versioned_encrypted_and_private() -> None:
    resources = blocks(TERRAFORM / "modules" / "s3", "resource")
    for suffix in ("this", "logs"):
        versioning = resources[f"aws_s3_bucket_versioning.{suffix}"]
        assert versioning["versioning_configuration"][0]["status"] == "Enabled"
        block = resources[f"aws_s3_bucket_public_access_block.{suffix}"]
        for key in (
            "block_public_acls",
            "block_public_policy",
            "ignore_public_acls",
            "restrict_public_buckets",
        ):
            assert block[key] is True
        sse = resources[f"aws_s3_bucket_server_side_encryption_configuration.{suffix}"]
        assert sse["rule"][0]["apply_server_side_encryption_by_default"][0]["sse_algorithm"]
    sse = resources["aws_s3_bucket_server_side_encryption_configuration.this"]
    assert (
        sse["rule"][0]["apply_server_side_encryption_by_default"][0]["sse_algorithm"] == "aws:kms"
    )


def test_eks_has_cpu_and_gpu_node_groups_and_irsa() -> None:
    resources = blocks(TERRAFORM / "modules" / "eks", "resource")
    cpu, gpu = resources["aws_eks_node_group.cpu"], resources["aws_eks_node_group.gpu"]
    assert "NVIDIA" in gpu["ami_type"] and "NVIDIA" not in cpu["ami_type"]
    assert gpu["taint"][0]["key"] == "nvidia.com/gpu"
    assert gpu["labels"] == "${local.gpu_labels}"
    assert "aws_iam_openid_connect_provider.this" in resources
    irsa = blocks(TERRAFORM / "modules" / "irsa", "data")["aws_iam_policy_document.assume"]
    assert irsa["statement"][0]["actions"] == ["sts:AssumeRoleWithWebIdentity"]


def test_keda_and_the_gpu_device_plugin_come_from_helm() -> None:
    releases = blocks(TERRAFORM / "modules" / "platform", "resource")
    charts = {body["chart"] for name, body in releases.items() if name.startswith("helm_release.")}
    assert {"keda", "nvidia-device-plugin", "external-secrets"} <= charts


def test_example_wires_every_module() -> None:
    """Every module is used: by an example, or by a module an example uses."""
    sources = {
        Path(body["source"]).name
        for caller in ("examples/complete", "examples/platform", "modules/msk", "modules/rds")
        for body in blocks(TERRAFORM / caller, "module").values()
    }
    assert set(MODULES) <= sources


def test_no_secret_values_in_terraform() -> None:
    pattern = re.compile(r"(password|secret|token)\s*=\s*\"[^\"$]{6,}\"", re.I)
    for tf in TERRAFORM.rglob("*.tf"):
        assert not pattern.search(tf.read_text()), tf


def run_checkov(*args: str) -> list[dict[str, Any]]:
    checkov = TOOLS_BIN / "checkov"
    assert checkov.is_file(), f"{checkov} is missing: run `make tools` (part of `make test`)"
    result = subprocess.run(
        [str(checkov), *args, "--quiet", "--compact", "--skip-download", "-o", "json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.stdout.strip(), result.stderr[-2000:]
    loaded = json.loads(result.stdout)
    reports: list[dict[str, Any]] = loaded if isinstance(loaded, list) else [loaded]
    return reports


def failures(reports: list[dict[str, Any]]) -> list[str]:
    return [
        f"{check['check_id']} {check['resource']} ({check['file_path']}): {check['check_name']}"
        for report in reports
        for check in report.get("results", {}).get("failed_checks", [])
    ]


def test_checkov_finds_no_failed_check() -> None:
    # Open-source checkov reports no severities offline, so every failed check counts.
    reports = run_checkov("-d", "infra/terraform", "--framework", "terraform")
    (report,) = reports
    assert report["summary"]["resource_count"] > 50
    assert report["summary"]["parsing_errors"] == 0
    assert not failures(reports), "\n".join(failures(reports))


def test_every_checkov_skip_has_a_reason() -> None:
    skips = 0
    for tf in TERRAFORM.rglob("*.tf"):
        for match in re.finditer(r"#\s*checkov:skip=([A-Z0-9_]+)(?::(.*))?", tf.read_text()):
            skips += 1
            assert match.group(2) and len(match.group(2).strip()) > 20, (
                f"{tf}: {match.group(1)} needs a reason"
            )
    assert skips > 0


def test_no_secrets_in_infra_or_images() -> None:
    reports = run_checkov(
        "-d",
        "infra",
        "-f",
        "Dockerfile",
        "-f",
        "Dockerfile.gpu",
        "--framework",
        "secrets",
        "dockerfile",
    )
    found = []
    for report in reports:
        for check in report.get("results", {}).get("failed_checks", []):
            path = ROOT / check["file_abs_path"] if "file_abs_path" in check else None
            line = ""
            if path is not None and path.is_file():
                line = path.read_text().splitlines()[check["file_line_range"][0] - 1]
            # The ExternalSecret maps variable NAMES (secretKey: INFERSTREAM_..._SECRET_KEY):
            # a high-entropy-looking name, not a value.
            if check["check_id"] == "CKV_SECRET_6" and NAME_NOT_VALUE.search(line):
                continue
            found.append(f"{check['check_id']} {check['file_path']}:{check['file_line_range']}")
    assert reports and not found, "\n".join(found)


BROKEN = (
    'resource "aws_s3_bucket_public_access_block" "x" {\n'
    '  bucket = "x"\n  block_public_acls = false\n  block_public_policy = false\n}\n'
    'locals {\n  aws_secret_access_key = "' + "wJalrXUtnFEMI/K7MDENG/bPxRfiCYz" + '4Hq9Lm2"\n}\n'
)


def test_checkov_is_not_vacuous(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(BROKEN)
    reports = run_checkov("-d", str(tmp_path), "--framework", "terraform", "secrets")
    found = failures(reports)
    assert any(f.startswith("CKV_AWS_") for f in found), found
    assert any(f.startswith("CKV_SECRET_") for f in found), found


def test_terraform_writes_the_files_the_prod_overlay_commits() -> None:
    """outputs k8s_config_patch / k8s_external_secret name the same keys as the committed files."""
    import yaml

    text = (TERRAFORM / "examples" / "complete" / "outputs.tf").read_text()
    config_part = text[
        text.index('output "k8s_config_patch"') : text.index('output "k8s_external_secret"')
    ]
    secret_part = text[
        text.index('output "k8s_external_secret"') : text.index('output "k8s_site_component"')
    ]
    overlay = ROOT / "infra" / "k8s" / "overlays" / "prod"
    committed_config = yaml.safe_load((overlay / "config.yaml").read_text())["data"]
    committed_secrets = list(yaml.safe_load_all((overlay / "external-secret.yaml").read_text()))
    assert set(re.findall(r"^\s+(INFERSTREAM_[A-Z_]+)\s*=", config_part, re.M)) == set(
        committed_config
    )
    assert set(re.findall(r'secretKey = "([A-Z_]+)"', secret_part)) == {
        item["secretKey"] for doc in committed_secrets for item in doc["spec"]["data"]
    }
    assert set(re.findall(r'metadata\s*=\s*\{ name = "([a-z-]+)" \}', secret_part)) == {
        doc["metadata"]["name"] for doc in committed_secrets
    }


def tf_text(root: Path) -> str:
    return "\n".join(tf.read_text() for tf in sorted(root.glob("*.tf")))


def without_comments(text: str) -> str:
    return re.sub(r"(?m)^\s*#.*$", "", text)


@pytest.mark.parametrize("root", ROOTS, ids=lambda root: root.name)
def test_references_resolve(root: Path) -> None:
    """What `terraform validate` would catch without provider downloads: every var., local.,
    resource, data source and module output referenced is declared."""
    # A moved block names an address that no longer exists, by design.
    text = re.sub(r"(?ms)^moved \{.*?^\}", "", without_comments(tf_text(root)))
    variables = set(blocks(root, "variable"))
    assert set(re.findall(r"\bvar\.([a-z0-9_]+)", text)) == variables, "undeclared or unused"
    locals_ = {
        name for tf in root.glob("*.tf") for block in parsed(tf).get("locals", []) for name in block
    }
    assert set(re.findall(r"\blocal\.([a-z0-9_]+)", text)) <= locals_
    resources = set(blocks(root, "resource"))
    used = set(re.findall(r"(?<![.\w\"/])((?:aws|random|tls|helm)_[a-z0-9_]+\.[a-z0-9_]+)\b", text))
    assert used <= resources, used - resources
    data = set(blocks(root, "data"))
    assert set(re.findall(r"\bdata\.([a-z0-9_]+\.[a-z0-9_]+)", text)) <= data


@pytest.mark.parametrize("caller", ["examples/complete", "modules/msk", "modules/rds"])
def test_module_calls_match_the_modules(caller: str) -> None:
    root = TERRAFORM / caller
    meta = {"source", "depends_on", "providers", "count", "for_each"}
    calls = blocks(root, "module")
    assert calls, caller
    for name, call in calls.items():
        module = (root / call["source"]).resolve()
        declared = blocks(module, "variable")
        passed = set(call) - meta
        assert passed <= set(declared), f"module {name}: unknown inputs {passed - set(declared)}"
        required = {var for var, body in declared.items() if "default" not in body}
        assert required <= passed, f"module {name}: missing inputs {required - passed}"
    text = re.sub(r"(?ms)^moved \{.*?^\}", "", without_comments(tf_text(root)))
    for module_name, output in re.findall(r"\bmodule\.([a-z0-9_]+)\.([a-z0-9_]+)", text):
        module = (root / calls[module_name]["source"]).resolve()
        assert output in blocks(module, "output"), f"module.{module_name}.{output} is not an output"


# The nvidia-device-plugin chart's default node affinity (deployments/helm values.yaml, the same
# in 0.17 and 0.18): a node qualifies when ANY term matches. Without node-feature-discovery only
# the forcing label nvidia.com/gpu.present=true can match, so GPU nodes must carry it.
DEVICE_PLUGIN_DEFAULT_AFFINITY = (
    {"feature.node.kubernetes.io/pci-10de.present": "true"},
    {"feature.node.kubernetes.io/cpu-model.vendor_id": "NVIDIA"},
    {"nvidia.com/gpu.present": "true"},
)


def gpu_node_labels() -> dict[str, str]:
    eks = TERRAFORM / "modules" / "eks"
    found = [
        block["gpu_labels"]
        for tf in eks.glob("*.tf")
        for block in parsed(tf).get("locals", [])
        if "gpu_labels" in block
    ]
    (labels,) = found
    return dict(labels)


def test_gpu_nodes_satisfy_the_device_plugin_affinity() -> None:
    labels = gpu_node_labels()
    assert any(
        all(labels.get(k) == v for k, v in term.items()) for term in DEVICE_PLUGIN_DEFAULT_AFFINITY
    ), f"GPU node labels {labels} match no term of the device plugin's node affinity"
    # ... and the GPU pods' node selector (components/gpu) selects those nodes.
    import yaml

    component = yaml.safe_load((ROOT / "infra/k8s/components/gpu/kustomization.yaml").read_text())
    patch = yaml.safe_load(component["patches"][0]["patch"])
    (selector,) = [op["value"] for op in patch if op["path"].endswith("/nodeSelector")]
    assert selector.items() <= labels.items()
    # The autoscaler's scale-from-zero template names the same labels and the GPU resource.
    eks = blocks(TERRAFORM / "modules" / "eks", "resource")
    assert "aws_autoscaling_group_tag.gpu_template" in eks
    text = (TERRAFORM / "modules" / "eks" / "main.tf").read_text()
    assert "node-template/resources/nvidia.com/gpu" in text


def test_the_old_gpu_labels_would_have_failed() -> None:
    old = {"inferstream.io/node-pool": "gpu"}
    assert not any(
        all(old.get(k) == v for k, v in term.items()) for term in DEVICE_PLUGIN_DEFAULT_AFFINITY
    )


def test_network_policies_are_enforced_on_eks() -> None:
    addon = blocks(TERRAFORM / "modules" / "eks", "resource")["aws_eks_addon.vpc_cni"]
    assert addon["addon_name"] == "vpc-cni"
    assert "enableNetworkPolicy" in addon["configuration_values"]
    assert '"true"' in addon["configuration_values"] or "true" in addon["configuration_values"]


def test_metrics_server_and_an_autoscaler_are_installed() -> None:
    eks = blocks(TERRAFORM / "modules" / "eks", "resource")["aws_eks_addon.this"]
    assert "metrics-server" in eks["for_each"]
    charts = {
        body["chart"]
        for name, body in blocks(TERRAFORM / "modules" / "platform", "resource").items()
        if name.startswith("helm_release.")
    }
    assert "cluster-autoscaler" in charts


def test_cluster_files_come_from_terraform_outputs() -> None:
    import yaml

    text = (TERRAFORM / "examples" / "complete" / "outputs.tf").read_text()
    for output, path in (
        ("cluster_issuer", "infra/k8s/cluster/cluster-issuer.yaml"),
        ("cluster_secret_store", "infra/k8s/cluster/secret-store.yaml"),
    ):
        assert f'output "{output}"' in text
        committed = (ROOT / path).read_text()
        assert f"output -raw {output} > {path}" in committed, path
        kind = yaml.safe_load(committed)["kind"]
        part = text[text.index(f'output "{output}"') :]
        assert (
            f'kind       = "{kind}"'
            in part[: part.index("\noutput ") if "\noutput " in part else None]
        )


def test_state_lives_in_a_locked_remote_backend() -> None:
    (terraform,) = parsed(TERRAFORM / "examples" / "complete" / "versions.tf")["terraform"]
    assert "s3" in terraform["backend"][0]
    example = (TERRAFORM / "examples" / "complete" / "backend.hcl.example").read_text()
    assert re.search(r"^use_lockfile\s*=\s*true$", example, re.M)
    assert re.search(r"^encrypt\s*=\s*true$", example, re.M)


def test_generated_secrets_keep_their_state_through_moved_blocks() -> None:
    """The secret + write-only version pairs became calls of modules/generated_secret: without a
    `moved` block per object, an existing deployment's next apply would destroy and re-create
    its secrets (new passwords, and Secrets Manager refuses the name during its recovery window)."""
    expected = {
        "msk": {"scram_secret": "scram", "api_secret": "api"},
        "rds": {"app_secret": "app", "api_secret": "api"},
    }
    for module, calls in expected.items():
        root = TERRAFORM / "modules" / module
        moves = {
            move["from"].strip("${}"): move["to"].strip("${}")
            for tf in sorted(root.glob("*.tf"))
            for move in parsed(tf).get("moved", [])
        }
        for call, old in calls.items():
            assert blocks(root, "module")[call]["source"] == "../generated_secret"
            for kind in ("aws_secretsmanager_secret", "aws_secretsmanager_secret_version"):
                assert moves.get(f"{kind}.{old}") == f"module.{call}.{kind}.this", (module, kind)
        resources = blocks(root, "resource")
        assert not any(name.startswith("aws_secretsmanager_secret") for name in resources)
