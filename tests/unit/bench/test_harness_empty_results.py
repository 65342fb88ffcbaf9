"""On a running stack shared by two bench processes (the smoke test), a scenario that never
reads the bug_report results (media, similarity) leaves them alone: emptying them would delete
the rows the other process is waiting for. Every other scenario still starts from an empty
table."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from inferstream.bench import harness, media, similarity
from inferstream.bench.context import BenchContext
from inferstream.bench.device import choose


@pytest.fixture
def emptied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    calls: list[Path] = []
    monkeypatch.setattr(harness, "_running", [tmp_path])
    monkeypatch.setattr(
        harness.BenchStack, "forget_results", lambda self: calls.append(self.data_dir)
    )
    return calls


def test_a_scenario_on_the_running_stack_starts_from_an_empty_table(
    tmp_path: Path, emptied: list[Path]
) -> None:
    with harness.bench_stack() as stack:
        assert stack.data_dir == tmp_path
    assert emptied == [tmp_path]


def test_one_that_never_reads_them_leaves_the_results_alone(
    tmp_path: Path, emptied: list[Path]
) -> None:
    with harness.bench_stack(empty_results=False) as stack:
        assert stack.data_dir == tmp_path
    assert emptied == []


class _Stop(Exception):
    """Ends a scenario's run at its stack: what it asked for is all these tests read."""


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, object]]:
    calls: list[dict[str, object]] = []

    @contextmanager
    def bench_stack(**kwargs: object) -> Iterator[None]:
        calls.append(kwargs)
        raise _Stop
        yield

    monkeypatch.setattr(media, "bench_stack", bench_stack)
    monkeypatch.setattr(similarity, "bench_stack", bench_stack)
    return calls


def test_media_leaves_them_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, asked: list[dict[str, object]]
) -> None:
    monkeypatch.setattr(media, "images", lambda n, side: [])
    with pytest.raises(_Stop):
        media.run(media.Config.tiny(), BenchContext(choose("cpu"), tmp_path, tiny=True))
    assert asked == [{"empty_results": False}]


def test_similarity_leaves_them_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, asked: list[dict[str, object]]
) -> None:
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((20, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    monkeypatch.setattr(similarity, "dataset", lambda config: (vectors[:15], vectors[15:]))
    with pytest.raises(_Stop):
        similarity.run(similarity.Config.tiny(), BenchContext(choose("cpu"), tmp_path, tiny=True))
    assert asked == [{"empty_results": False}]
