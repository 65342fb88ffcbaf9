"""Which storage engine the embedded broker gets, and what Tansu is told for it (no servers)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from inferstream.stack import StackError
from inferstream.stack.manager import STORAGE_FILE, choose_storage, recorded_storage
from inferstream.stack.servers import SeaweedInfo, tansu_storage
from inferstream.stack.settings import STORAGE_ENV


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(STORAGE_ENV, raising=False)


def test_a_first_up_is_durable(tmp_path: Path) -> None:
    assert choose_storage(tmp_path) == "s3"


def test_the_engine_used_last_is_kept(tmp_path: Path) -> None:
    (tmp_path / STORAGE_FILE).write_text("memory\n")
    assert recorded_storage(tmp_path) == "memory"
    assert choose_storage(tmp_path) == "memory"


def test_precedence_explicit_then_environment_then_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / STORAGE_FILE).write_text("memory\n")
    monkeypatch.setenv(STORAGE_ENV, "s3")
    assert choose_storage(tmp_path) == "s3"
    assert choose_storage(tmp_path, "memory") == "memory"


def test_an_unreadable_record_is_ignored(tmp_path: Path) -> None:
    (tmp_path / STORAGE_FILE).write_text("postgres\n")
    assert recorded_storage(tmp_path) is None
    assert choose_storage(tmp_path) == "s3"


def test_a_bad_environment_value_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(STORAGE_ENV, "disk")
    with pytest.raises(StackError, match=STORAGE_ENV):
        choose_storage(tmp_path)


def test_tansu_storage_urls_and_environment() -> None:
    assert tansu_storage(None) == ("memory://tansu/", {})
    seaweed = SeaweedInfo(pid=1, s3_port=8333, access_key="ak", secret_key="sk", bucket="b")
    url, env = tansu_storage(seaweed)
    assert url == "s3://tansu/"
    # Tansu's object_store client reads these; plain http needs AWS_ALLOW_HTTP.
    assert env["AWS_ENDPOINT"] == "http://127.0.0.1:8333"
    assert env["AWS_ALLOW_HTTP"] == "true"
    assert (env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]) == ("ak", "sk")
    assert env["AWS_DEFAULT_REGION"]
    # Bodies are not hashed for the signature (Tansu and SeaweedFS would each hash every batch).
    assert env["AWS_UNSIGNED_PAYLOAD"] == "true"


def test_up_rejects_an_unknown_engine_before_starting_anything(tmp_path: Path) -> None:
    data_dir = tmp_path / "stack"
    result = subprocess.run(
        [sys.executable, "-m", "inferstream", "up", "--broker-storage", "disk"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "INFERSTREAM_DATA_DIR": str(data_dir)},
    )
    assert result.returncode == 2
    assert "--broker-storage disk" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not data_dir.exists()
