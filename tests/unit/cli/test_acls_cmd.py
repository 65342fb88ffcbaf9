"""`inferstream topology acls`: the dry run prints the set offline; mistakes exit 2 in one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from inferstream.topology.acls import desired_acls

CLI = [sys.executable, "-m", "inferstream", "topology", "acls"]


def _run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, **env},
    )


def test_the_dry_run_prints_every_binding_without_a_broker(tmp_path: Path) -> None:
    # An unreachable bootstrap: the dry run must not contact any broker.
    result = _run(
        "--api-principal",
        "User:api-x",
        INFERSTREAM_KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:1",
        INFERSTREAM_DATA_DIR=str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    expected = [acl.describe() for acl in desired_acls(api="User:api-x")]
    assert result.stdout.splitlines() == expected


def test_a_malformed_principal_exits_2(tmp_path: Path) -> None:
    result = _run("--worker-principal", "inferstream", INFERSTREAM_DATA_DIR=str(tmp_path))
    assert result.returncode == 2
    assert "User:<name>" in result.stderr
    assert "Traceback" not in result.stderr


def test_apply_on_the_embedded_broker_is_refused_before_any_call(tmp_path: Path) -> None:
    result = _run(
        "--apply",
        INFERSTREAM_TOPOLOGY_ENVIRONMENT="embedded",
        INFERSTREAM_KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:1",
        INFERSTREAM_DATA_DIR=str(tmp_path),
    )
    assert result.returncode == 2
    assert "Tansu" in result.stderr
    assert "Traceback" not in result.stderr
