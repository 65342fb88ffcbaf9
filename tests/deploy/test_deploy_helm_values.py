"""The helm roots (modules/platform, examples/platform) offline: the helm provider is not in the
machine's provider mirror and there is no helm binary, so the test rewrites a copy of the
platform module with every `helm_release` as a built-in `terraform_data` resource whose input is
the release's arguments, then runs `terraform validate` and `terraform plan` on it (no provider
at all). The plan renders each release's values exactly as the helm provider would receive
them; every key path they set must be one the pinned chart version declares
(tests/deploy/schemas/helm-values.json, read from each chart's values.yaml)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from _deploy_common import TERRAFORM
from test_deploy_terraform_cli import Cli, run, terraform_cli

SCHEMAS = Path(__file__).resolve().parent / "schemas"
PLATFORM = TERRAFORM / "modules" / "platform"
VARS = {
    "region": "eu-west-1",
    "cluster_name": "inferstream-check",
    "external_secrets_role_arn": "arn:aws:iam::123456789012:role/inferstream-check-eso",
    "cluster_autoscaler_role_arn": "arn:aws:iam::123456789012:role/inferstream-check-ca",
    # what modules/eks labels its GPU node group with (its gpu_node_labels output)
    "gpu_node_labels": {"inferstream.io/node-pool": "gpu", "nvidia.com/gpu.present": "true"},
}


def as_terraform_data(main_tf: str) -> str:
    """`resource "helm_release" "x" { ... }` -> `resource "terraform_data" "x" { input = {...} }`
    (the module's resources are top-level blocks closed by a `}` in column 0)."""
    out, inside = [], False
    for line in main_tf.splitlines():
        match = re.match(r'^resource "helm_release" "(\w+)" \{$', line)
        if match:
            out += [f'resource "terraform_data" "{match.group(1)}" {{', "  input = {"]
            inside = True
        elif inside and line == "}":
            out += ["  }", "}"]
            inside = False
        else:
            out.append(line)
    assert not inside, "unclosed helm_release block"
    return "\n".join(out) + "\n"


@pytest.fixture(scope="module")
def releases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """name -> the arguments each helm_release gets (values parsed), from a real plan."""
    cli: Cli = terraform_cli(tmp_path_factory.mktemp("helm-cli"))
    root = tmp_path_factory.mktemp("helm") / "platform"
    shutil.copytree(PLATFORM, root, ignore=shutil.ignore_patterns(".terraform*"))
    text = (PLATFORM / "main.tf").read_text()
    assert text.count('resource "helm_release"') == 6
    (root / "main.tf").write_text(as_terraform_data(text))
    for tf in root.glob("*.tf"):  # references to a release's arguments (outputs: namespaces)
        tf.write_text(
            re.sub(r"\bhelm_release\.(\w+)\.(\w+)", r"terraform_data.\1.input.\2", tf.read_text())
        )
    (root / "versions.tf").write_text('terraform {\n  required_version = ">= 1.11"\n}\n')
    (root / "check.auto.tfvars.json").write_text(json.dumps(VARS))
    run(cli, root, "init", "-backend=false", "-input=false")
    validated = json.loads(run(cli, root, "validate", "-json"))
    assert validated["valid"] is True, validated["diagnostics"]
    run(cli, root, "plan", "-input=false", "-out=plan.bin")
    plan = json.loads(run(cli, root, "show", "-json", "plan.bin"))
    out: dict[str, dict[str, Any]] = {}
    for change in plan["resource_changes"]:
        args = dict(change["change"]["after"]["input"])
        args["values"] = [yaml.safe_load(v) for v in args.get("values") or []]
        out[change["name"]] = args
    return out


def leaf_paths(values: Any, prefix: str = "") -> set[str]:
    """Dotted key paths down to the first non-mapping value (lists and free maps are leaves)."""
    if not isinstance(values, dict) or not values:
        return {prefix}
    paths: set[str] = set()
    for key, value in values.items():
        paths |= leaf_paths(value, f"{prefix}.{key}" if prefix else str(key))
    return paths


def declared(path: str, chart: dict[str, Any]) -> bool:
    """The path is a declared key, or lies under a declared free-form map (extraArgs, ...)."""
    if path in chart["keys"]:
        return True
    return any(path.startswith(f"{free}.") for free in chart["maps"])


def test_every_release_renders_and_pins_a_known_chart(
    releases: dict[str, dict[str, Any]],
) -> None:
    charts = json.loads((SCHEMAS / "helm-values.json").read_text())["charts"]
    assert set(releases) == {
        "keda",
        "nvidia_device_plugin",
        "cluster_autoscaler",
        "external_secrets",
        "nginx_ingress",
        "cert_manager",
    }
    for name, release in releases.items():
        chart = charts[release["chart"]]
        assert release["repository"] == chart["repository"], name
        assert release["version"] == chart["version"], f"{name}: re-check its values keys"
        assert release["atomic"] is True, name


def test_every_value_set_is_a_key_of_the_pinned_chart(
    releases: dict[str, dict[str, Any]],
) -> None:
    charts = json.loads((SCHEMAS / "helm-values.json").read_text())["charts"]
    for name, release in releases.items():
        chart = charts[release["chart"]]
        for values in release["values"]:
            unknown = sorted(p for p in leaf_paths(values) if not declared(p, chart))
            assert not unknown, f"{name} ({release['chart']} {release['version']}): {unknown}"


def test_the_rendered_values_carry_what_the_cluster_needs(
    releases: dict[str, dict[str, Any]],
) -> None:
    (gpu,) = releases["nvidia_device_plugin"]["values"]
    assert gpu["nodeSelector"]["nvidia.com/gpu.present"] == "true"
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in (
        gpu["tolerations"]
    )
    (autoscaler,) = releases["cluster_autoscaler"]["values"]
    assert autoscaler["autoDiscovery"]["clusterName"] == VARS["cluster_name"]
    role = autoscaler["rbac"]["serviceAccount"]["annotations"]["eks.amazonaws.com/role-arn"]
    assert role == VARS["cluster_autoscaler_role_arn"]
    (eso,) = releases["external_secrets"]["values"]
    assert (
        eso["serviceAccount"]["annotations"]["eks.amazonaws.com/role-arn"]
        == (VARS["external_secrets_role_arn"])
    )
    (ingress,) = releases["nginx_ingress"]["values"]
    assert ingress["controller"]["ingressClass"]["name"] == "nginx"


def test_the_rewrite_keeps_every_argument() -> None:
    rewritten = as_terraform_data((PLATFORM / "main.tf").read_text())
    assert "helm_release" not in rewritten.replace("# ", "")
    assert rewritten.count("input = {") == 6


def test_the_key_check_catches_a_misspelt_value() -> None:
    charts = json.loads((SCHEMAS / "helm-values.json").read_text())["charts"]
    ingress = charts["nginx-ingress"]
    values = {"controller": {"ingresClass": {"name": "nginx"}, "service": {"annotations": {}}}}
    paths = leaf_paths(values)
    assert paths == {"controller.ingresClass.name", "controller.service.annotations"}
    assert not declared("controller.ingresClass.name", ingress)
    assert declared("controller.service.annotations.any/key", ingress)
