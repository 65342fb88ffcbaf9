"""The model registry on the session's real Postgres and S3: register, refuse bad bundles
(at registration and again at load), promote, roll back with a reason, pin, canary fraction."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from _models import train_churn, write_named
from _stack import Stack
from typer.testing import CliRunner, Result

from inferstream.cli import app
from inferstream.models import registry
from inferstream.models.registry.store import bundle_prefix
from inferstream.models.tabular import METADATA_FILE, SUMS_FILE
from inferstream.storage.objectstore import ObjectStore


@pytest.fixture(scope="module")
def churn_models(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[bytes, dict[str, Any]]]:
    work = tmp_path_factory.mktemp("train")
    return [train_churn(work / "a", seed=4), train_churn(work / "b", seed=5)]


@pytest.fixture
def bundles(
    tmp_path: Path, churn_models: list[tuple[bytes, dict[str, Any]]]
) -> tuple[str, list[tuple[str, Path]]]:
    name = f"churn-test-{uuid.uuid4().hex[:8]}"
    return name, [write_named(tmp_path, name, g, m) for g, m in churn_models]


def test_register_list_promote_rollback(stack: Stack, bundles: tuple[str, list[Any]]) -> None:
    name, [(v1, d1), (v2, d2)] = bundles
    assert v1 != v2
    assert registry.register(d1)[1] is True
    assert registry.register(d1)[1] is False  # idempotent: the same bytes again
    registry.register(d2)
    assert [v.version for v in registry.list_versions(name)] == [v1, v2]
    keys = ObjectStore(stack.object_store).list_keys(bundle_prefix(name, v1))
    assert {k.rsplit("/", 1)[1] for k in keys} == {"classifier.onnx", METADATA_FILE, SUMS_FILE}

    assert registry.promote(name, v1, reason="first", actor="t") is None
    assert registry.promote(name, v2, reason="better auc", actor="t") == v1
    assert registry.rollback(name, "production", "p95 over the SLO", actor="monitor") == v1
    assert registry.get_alias(name, "production") is not None
    assert registry.get_alias(name, "production").version == v1  # type: ignore[union-attr]
    latest = registry.history(name, "production")[0]
    assert (latest.action, latest.version, latest.previous_version) == ("rollback", v1, v2)
    assert (latest.reason, latest.actor) == ("p95 over the SLO", "monitor")
    with pytest.raises(registry.RegistryError, match="no earlier version"):
        registry.rollback(name, "production", "again", actor="t")


def test_canary_fraction_and_rollback_clears_it(
    stack: Stack, bundles: tuple[str, list[Any]]
) -> None:
    name, [(v1, d1), (v2, d2)] = bundles
    registry.register(d1)
    registry.register(d2)
    registry.promote(name, v1)
    registry.promote(name, v2, "canary")  # the MLOps platform's 10 % unless said otherwise
    canary = registry.get_alias(name, "canary")
    assert canary is not None and (canary.version, canary.fraction) == (v2, 0.1)
    registry.promote(name, v2, "canary", fraction=0.25)
    assert registry.get_alias(name, "canary").fraction == 0.25  # type: ignore[union-attr]
    with pytest.raises(registry.RegistryError, match="canary alias only"):
        registry.promote(name, v2, "production", fraction=0.5)
    assert registry.rollback(name, "canary", "drift psi 0.31 > 0.2", actor="monitor") is None
    assert registry.get_alias(name, "canary") is None
    assert registry.history(name, "canary")[0].reason == "drift psi 0.31 > 0.2"


def test_pinned_alias_is_not_moved(stack: Stack, bundles: tuple[str, list[Any]]) -> None:
    name, [(v1, d1), (v2, d2)] = bundles
    registry.register(d1)
    registry.register(d2)
    registry.pin(name, "production", v1, reason="freeze for the audit")
    with pytest.raises(registry.RegistryError, match="pinned"):
        registry.promote(name, v2)
    with pytest.raises(registry.RegistryError, match="pinned"):
        registry.rollback(name, "production", "auto", actor="monitor")
    registry.pin(name, "production", off=True)
    assert registry.promote(name, v2) == v1


def test_bad_bundles_are_refused_at_registration(
    stack: Stack, bundles: tuple[str, list[Any]], tmp_path: Path
) -> None:
    name, [(_v1, d1), _] = bundles
    graph = d1 / "classifier.onnx"
    graph.write_bytes(graph.read_bytes()[:-8] + b"\0" * 8)
    with pytest.raises(registry.BadBundleError, match="does not match SHA256SUMS"):
        registry.register(d1)
    # Consistent checksums over a graph that is not ONNX: refused by the load check.
    garbage, meta = b"not an onnx graph", json.loads((d1 / METADATA_FILE).read_text())
    meta = {k: v for k, v in meta.items() if k not in ("name", "version", "graphs")}
    _, broken = write_named(tmp_path / "broken", name, garbage, meta)
    with pytest.raises(registry.BadBundleError, match="does not load or run"):
        registry.register(broken)
    assert registry.list_versions(name) == []


def test_a_bundle_changed_in_the_bucket_is_refused_at_load(
    stack: Stack, bundles: tuple[str, list[Any]], tmp_path: Path
) -> None:
    name, [(v1, d1), (_v2, d2)] = bundles
    registry.register(d1)
    assert registry.fetch(name, v1, tmp_path / "cache").version == v1
    objects = ObjectStore(stack.object_store)
    key = bundle_prefix(name, v1) + "classifier.onnx"
    objects.put_bytes(key, (d2 / "classifier.onnx").read_bytes())
    with pytest.raises(registry.BadBundleError, match="was changed"):
        registry.fetch(name, v1, tmp_path / "fresh-cache")


def test_cli_lifecycle_and_one_line_refusals(stack: Stack, bundles: tuple[str, list[Any]]) -> None:
    """In-process through the CLI's app (a subprocess start costs seconds per command on
    the loaded CI machine), except one refusal through the real executable."""
    name, [(v1, d1), (v2, d2)] = bundles
    runner = CliRunner()

    def cli(*args: str) -> Result:
        return runner.invoke(app, ["models", *args])

    for directory in (d1, d2):
        assert cli("register", str(directory)).exit_code == 0
    assert cli("promote", name, v1).exit_code == 0
    assert cli("promote", name, v2, "--reason", "auc").exit_code == 0
    assert cli("promote", name, v2, "--alias", "canary").exit_code == 0
    result = cli("rollback", name, "--reason", "error rate 7%")
    assert result.exit_code == 0, result.output
    assert f"rolled back to {v1}" in result.stdout
    listing = cli("list", name).stdout
    v2_line = next(line for line in listing.splitlines() if line.split()[1:2] == [v2])
    assert "canary 10%" in v2_line and "production" not in v2_line
    assert f"rollback {v2} -> {v1}" in listing and "error rate 7%" in listing
    diff = cli("diff", name, v1, v2)
    assert diff.exit_code == 0 and "metadata.metrics_held_out.roc_auc" in diff.stdout

    for args in (
        ("promote", name, "no-such-version"),
        ("rollback", name, "--alias", "shadow", "--reason", "x"),
        ("promote", name, v1, "--alias", "staging"),
    ):
        result = cli(*args)
        assert result.exit_code == 2, (args, result.output)
        assert result.stderr.startswith("error: ") and len(result.stderr.splitlines()) == 1
    (d1 / "classifier.onnx").write_bytes(b"tampered")
    real = stack.cli("models", "register", str(d1))
    assert real.returncode == 2 and real.stderr.startswith("error: "), real.stderr
    assert len(real.stderr.splitlines()) == 1 and "SHA256SUMS" in real.stderr
