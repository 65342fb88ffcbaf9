"""The Quix contender's driver without servers: its install location and what it says when the
packages are missing."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest

from inferstream.bench import quix
from inferstream.bench.harness import BenchError, BenchStack


def test_missing_quixstreams_is_one_actionable_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(quix, "QUIX_DIR", tmp_path / "quix")
    assert not quix.quix_installed()
    assert quix.quix_version() == "(not installed)"
    stack = cast(BenchStack, object())  # never reached: the check comes first
    with pytest.raises(BenchError, match=r"pip install --target .*quix 'quixstreams\[postgresql\]"):
        quix.run_quix(stack, 10, 1.0)


def test_version_is_read_from_the_separate_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dist = tmp_path / "quixstreams-9.9.9.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: quixstreams\nVersion: 9.9.9\n")
    (tmp_path / "quixstreams").mkdir()
    monkeypatch.setattr(quix, "QUIX_DIR", tmp_path)
    assert quix.quix_installed()
    assert quix.quix_version() == "9.9.9"


def test_spec_matches_the_bench_extra() -> None:
    import tomllib

    root = Path(__file__).resolve().parents[3]
    project: dict[str, Any] = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    assert project["optional-dependencies"]["bench"] == [quix.QUIX_SPEC]
    assert quix.QUIX_SPEC in (root / "Makefile").read_text()
