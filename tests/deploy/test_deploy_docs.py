"""docs/configuration.md names every setting the code reads; docs/deploy.md covers the three
deploy paths; the README links both."""

from __future__ import annotations

import re

from _deploy_common import ROOT, setting_env_names, settings_classes


def documented_settings() -> set[str]:
    """Variables named in the first column of the tables of docs/configuration.md.

    A cell may abbreviate siblings: `INFERSTREAM_KAFKA_SASL_MECHANISM` / `_SASL_USERNAME` means
    INFERSTREAM_KAFKA_SASL_USERNAME too (the suffix joins the component prefix). Wildcards
    (`INFERSTREAM_WORKER_*`) document nothing by themselves.
    """
    lines = (ROOT / "docs" / "configuration.md").read_text().splitlines()
    prefixes = sorted(
        (str(cls.model_config.get("env_prefix", "")) for cls in settings_classes()),
        key=len,
        reverse=True,
    )
    names: set[str] = set()
    for line in lines:
        if not line.startswith("| `"):
            continue
        first_cell = line.split("|")[1]
        prefix = ""
        for token in re.findall(r"`([A-Z0-9_*]+)`", first_cell):
            if token.startswith("INFERSTREAM_"):
                prefix = next((p for p in prefixes if token.startswith(p)), "")
                names.add(token)
            elif token.startswith("_") and prefix:
                names.add(prefix + token[1:])
    return {name for name in names if "*" not in name}


def test_configuration_doc_documents_every_setting() -> None:
    missing = sorted(set(setting_env_names()) - documented_settings())
    assert not missing, f"docs/configuration.md lacks: {missing}"


def test_readme_table_parser_expands_suffixes() -> None:
    names = documented_settings()
    assert "INFERSTREAM_KAFKA_SASL_USERNAME" in names  # written as `_SASL_USERNAME`
    assert not any(name.endswith("_") for name in names)


def test_deploy_guide_covers_the_paths() -> None:
    guide = (ROOT / "docs" / "deploy.md").read_text()
    for heading in (
        "## Images",
        "## Docker Compose",
        "## Kubernetes",
        "## AWS with Terraform",
        "## Sizing",
        "## Secrets",
        "## TLS and SASL",
        "## Upgrades and migrations",
    ):
        assert heading in guide, heading
    for command in ("terraform apply", "kubectl apply -k infra/k8s/overlays/prod", "--scale"):
        assert command in guide, command
    readme = (ROOT / "README.md").read_text()
    assert "docs/deploy.md" in readme and "docs/configuration.md" in readme
