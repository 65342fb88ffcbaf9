"""The bare model loop of bench e2e: each chunk is prepared before the one ahead of it is run,
every chunk is run once in order; the sweep keeps each batch size's best round."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from inferstream.bench import bare


class RecordingModel:
    """Stands in for a TextEmbedder: logs prepare and run in the order they are called."""

    def __init__(self) -> None:
        self.log: list[tuple[str, tuple[str, ...]]] = []

    def embed(self, texts: Sequence[str]) -> None:
        self.log.append(("embed", tuple(texts)))

    def prepare(self, texts: Sequence[str]) -> tuple[str, ...]:
        self.log.append(("prepare", tuple(texts)))
        return tuple(texts)

    def run(self, prepared: tuple[str, ...]) -> None:
        self.log.append(("run", prepared))


@pytest.mark.parametrize("n", [0, 1, 5, 6, 7])
def test_each_chunk_is_prepared_before_the_one_ahead_runs(n: int) -> None:
    texts = [f"t{i}" for i in range(n)]
    model = RecordingModel()
    result = bare.run_bare(model, texts, 3)  # type: ignore[arg-type]
    chunks = [tuple(texts[i : i + 3]) for i in range(0, n, 3)]
    assert result.texts == n
    steps = model.log[1:]  # after the warm-up
    assert [c for step, c in steps if step == "run"] == chunks
    assert [c for step, c in steps if step == "prepare"] == chunks
    for k in range(1, len(chunks)):
        # chunk k is prepared before chunk k-1 runs
        assert steps.index(("prepare", chunks[k])) < steps.index(("run", chunks[k - 1]))


def test_the_sweep_keeps_each_sizes_best_round(monkeypatch: pytest.MonkeyPatch) -> None:
    seconds = {8: iter([2.0, 1.0]), 16: iter([1.5, 3.0])}

    def fake_run(model: Any, texts: Sequence[str], batch: int) -> bare.BareResult:
        return bare.BareResult(batch, len(texts), next(seconds[batch]))

    monkeypatch.setattr(bare, "embedder", lambda batch, providers=None: None)
    monkeypatch.setattr(bare, "run_bare", fake_run)
    best, sweep = bare.best_batch(["x"] * 10, sizes=(8, 16), probe=10, rounds=2)
    assert [(r.batch, r.seconds) for r in sweep] == [(8, 1.0), (16, 1.5)]
    assert best == 8
