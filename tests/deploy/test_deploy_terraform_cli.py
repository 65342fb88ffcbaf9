"""infra/terraform with the terraform CLI itself: `terraform validate` on every root that needs
only the AWS provider (it comes from the machine's provider mirror, TF_CLI_CONFIG_FILE), and
`terraform console` on the VPC module's planned subnets, which must never overlap (AWS refuses
an overlapping subnet with InvalidSubnet.Conflict at apply time, long after a plan succeeded).

A missing terraform CLI or CLI config is a failure with a one-line reason, never a skip."""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from _deploy_common import ROOT, TERRAFORM

# Every root whose providers are all in the offline mirror (the AWS provider only).
VALIDATED = (
    "modules/vpc",
    "modules/eks",
    "modules/msk",
    "modules/rds",
    "modules/s3",
    "modules/irsa",
    "modules/generated_secret",
    "examples/complete",
)
# Roots that need the helm provider, which the mirror lacks: named in docs/deploy.md. The module
# is validated and planned with its releases as terraform_data (test_deploy_helm_values.py).
NOT_VALIDATED = ("modules/platform", "examples/platform")
TIMEOUT_S = 300


# Where this machine's offline provider mirror lives when no CLI config names it.
DEFAULT_MIRROR = Path(os.environ.get("INFERSTREAM_TF_PROVIDER_MIRROR", "/opt/tf-plugins"))


@dataclass(frozen=True)
class Cli:
    """The terraform binary and the environment it runs with (its CLI config)."""

    path: str
    env: dict[str, str]


def terraform_cli(scratch: Path) -> Cli:
    found = shutil.which("terraform")
    if found is None:
        pytest.fail("terraform CLI not found on PATH (install terraform >= 1.11)", pytrace=False)
    config = os.environ.get("TF_CLI_CONFIG_FILE")
    base = {**os.environ, "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1"}
    if config and Path(config).is_file():
        return Cli(found, base)
    # A fresh machine may set TF_CLI_CONFIG_FILE to a file nobody wrote: write our own config
    # for the mirror rather than let terraform try the registry (no internet here).
    if not (DEFAULT_MIRROR / "registry.terraform.io" / "hashicorp" / "aws").is_dir():
        pytest.fail(
            f"no terraform CLI config (TF_CLI_CONFIG_FILE={config}) and no AWS provider mirror "
            f"at {DEFAULT_MIRROR} (set INFERSTREAM_TF_PROVIDER_MIRROR)",
            pytrace=False,
        )
    written = scratch / "terraformrc"
    written.write_text(
        "provider_installation {\n"
        f'  filesystem_mirror {{\n    path = "{DEFAULT_MIRROR}"\n'
        '    include = ["registry.terraform.io/hashicorp/aws"]\n  }\n'
        '  direct {\n    exclude = ["registry.terraform.io/hashicorp/aws"]\n  }\n}\n'
    )
    return Cli(found, {**base, "TF_CLI_CONFIG_FILE": str(written)})


def run(cli: Cli, root: Path, *args: str, stdin: str | None = None) -> str:
    result = subprocess.run(
        [cli.path, *args, "-no-color"],
        cwd=root,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        env=cli.env,
    )
    assert result.returncode == 0, f"terraform {args[0]} in {root}:\n{result.stderr[-3000:]}"
    return result.stdout


@pytest.fixture(scope="module")
def initialised(tmp_path_factory: pytest.TempPathFactory) -> tuple[Cli, Path]:
    """A copy of infra/terraform (the repository stays free of .terraform/ and lock files) with
    every validated root initialised, in parallel."""
    cli = terraform_cli(tmp_path_factory.mktemp("terraform-cli"))
    copy = tmp_path_factory.mktemp("terraform") / "terraform"
    shutil.copytree(TERRAFORM, copy, ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*"))

    def init(root: str) -> str:
        return run(cli, copy / root, "init", "-backend=false", "-input=false")

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(init, VALIDATED))
    return cli, copy


@pytest.mark.parametrize("root", VALIDATED)
def test_terraform_validate(initialised: tuple[Cli, Path], root: str) -> None:
    cli, copy = initialised
    out = json.loads(run(cli, copy / root, "validate", "-json"))
    assert out["valid"] is True, out["diagnostics"]
    assert out["error_count"] == 0


def test_every_root_is_validated_or_named_in_the_guide() -> None:
    roots = {str(p.parent.relative_to(TERRAFORM)) for p in TERRAFORM.glob("*/*/versions.tf")}
    assert roots == set(VALIDATED) | set(NOT_VALIDATED)
    for root in NOT_VALIDATED:  # these need the helm provider, nothing else does
        assert "hashicorp/helm" in (TERRAFORM / root / "versions.tf").read_text()
    for root in VALIDATED:
        text = (TERRAFORM / root / "versions.tf").read_text()
        providers = re.findall(r'source\s*=\s*"([^"]+)"', text)
        assert providers == ["hashicorp/aws"], (root, providers)
    guide = (ROOT / "docs" / "deploy.md").read_text()
    for root in NOT_VALIDATED:
        assert f"`{root}`" in guide, f"docs/deploy.md must say {root} is not validated offline"


def overlaps(cidrs: list[str]) -> list[tuple[str, str]]:
    nets = [ipaddress.ip_network(c) for c in cidrs]
    return [(str(a), str(b)) for i, a in enumerate(nets) for b in nets[i + 1 :] if a.overlaps(b)]


def test_the_overlap_check_catches_the_old_layout() -> None:
    # Before the fix: private cidrsubnet(/16, 3, 1) and database cidrsubnet(/16, 6, 8..10).
    old = ["10.40.32.0/19", "10.40.64.0/19", "10.40.32.0/22", "10.40.36.0/22", "10.40.40.0/22"]
    assert len(overlaps(old)) == 3
    assert overlaps(["10.40.0.0/23", "10.40.32.0/19"]) == []


@pytest.mark.parametrize(("cidr", "az_count"), [("10.40.0.0/16", 3), ("172.20.0.0/20", 6)])
def test_planned_subnets_never_overlap(
    initialised: tuple[Cli, Path], cidr: str, az_count: int
) -> None:
    cli, copy = initialised
    expr = (
        "jsonencode({public = local.public_cidr, private = local.private_cidr,"
        " database = local.database_cidr})"
    )
    out = run(
        cli,
        copy / "modules" / "vpc",
        "console",
        "-var",
        "name=overlap-check",
        "-var",
        f"cidr={cidr}",
        "-var",
        f"az_count={az_count}",
        stdin=expr + "\n",
    )
    tiers: dict[str, list[str]] = json.loads(json.loads(out.strip()))
    assert {tier: len(c) for tier, c in tiers.items()} == dict.fromkeys(tiers, az_count)
    every = [c for tier in tiers.values() for c in tier]
    assert not overlaps(every), overlaps(every)
    vpc = ipaddress.ip_network(cidr)
    assert all(ipaddress.ip_network(c).subnet_of(vpc) for c in every)  # type: ignore[arg-type]
