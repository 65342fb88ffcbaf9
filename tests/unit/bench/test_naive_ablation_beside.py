"""Scenario 2's ablation beside the contenders: at tiny size it runs in a thread while they do
(the smoke test's wall clock), at full size after them, as before (figures stay comparable)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from inferstream.bench import ablation, naive
from inferstream.bench.context import BenchContext
from inferstream.bench.device import choose
from inferstream.bench.pipeline import PipelineRun
from inferstream.bench.procs import BatchStats
from inferstream.bench.quix import ContenderRun
from inferstream.bench.scenarios import config

STEPS = [ablation.Step("naive encode", 4, 2.0), ablation.Step("int8", 4, 0.5, 0.995)]
ROUNDS = [naive.Round(PipelineRun(8, 1.0, {}, BatchStats()), None, ContenderRun(8, 4.0))]
BESIDE_NOTE = "the ablation ran beside the contenders"


def _run(cfg: naive.Config, tmp_path: Path) -> str:
    return naive.run(cfg, BenchContext(choose("cpu"), tmp_path)).markdown(tmp_path)


def test_beside_at_tiny_size_only() -> None:
    assert config("naive", True, {}).ablation_beside is True
    assert config("naive", False, {}).ablation_beside is False


def test_beside_the_ablation_runs_while_the_contenders_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = threading.Event()

    def ablation_steps(texts: list[str]) -> list[ablation.Step]:
        assert len(texts) == 4
        started.set()
        return STEPS

    def measure(cfg: naive.Config, gpu: bool, device: str) -> list[naive.Round]:
        # Run one after the other, this would wait in vain: the ablation has not started.
        assert started.wait(10), "the ablation did not run while the contenders did"
        return ROUNDS

    monkeypatch.setattr(ablation, "run_ablation", ablation_steps)
    monkeypatch.setattr(naive, "_measure", measure)
    text = _run(naive.Config.tiny(), tmp_path)
    assert "**ablation: the same 4 texts**" in text
    assert BESIDE_NOTE in text


def test_at_full_size_the_ablation_runs_after_the_contenders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    order: list[str] = []

    def ablation_steps(texts: list[str]) -> list[ablation.Step]:
        order.append("ablation")
        return STEPS

    def measure(cfg: naive.Config, gpu: bool, device: str) -> list[naive.Round]:
        order.append("contenders")
        return ROUNDS

    monkeypatch.setattr(ablation, "run_ablation", ablation_steps)
    monkeypatch.setattr(naive, "_measure", measure)
    text = _run(naive.Config(n=8, ablation_texts=4, quix=False), tmp_path)
    assert order == ["contenders", "ablation"]
    assert "**ablation: the same 4 texts**" in text
    assert BESIDE_NOTE not in text


def test_an_ablation_error_beside_fails_the_scenario(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def ablation_steps(texts: list[str]) -> list[ablation.Step]:
        raise RuntimeError("quantisation failed")

    monkeypatch.setattr(ablation, "run_ablation", ablation_steps)
    monkeypatch.setattr(naive, "_measure", lambda cfg, gpu, device: ROUNDS)
    with pytest.raises(RuntimeError, match="quantisation failed"):
        _run(naive.Config.tiny(), tmp_path)
