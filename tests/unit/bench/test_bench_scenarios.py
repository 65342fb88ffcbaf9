"""Scenario registry and --set overrides: every scenario has a tiny and a full config."""

from __future__ import annotations

import dataclasses

import pytest
from _inprocess_cli import run_cli
from hypothesis import given
from hypothesis import strategies as st

from inferstream.bench.device import DeviceError, choose
from inferstream.bench.scenarios import SCENARIOS, ScenarioError, config, module


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_every_scenario_has_tiny_and_full_configs(name: str) -> None:
    mod = module(name)
    assert callable(mod.run)
    tiny, full = config(name, True, {}), config(name, False, {})
    numbers = [
        f.name for f in dataclasses.fields(full) if type(getattr(full, f.name)) in (int, float)
    ]
    assert numbers, "a scenario has at least one size option"
    # Tiny is never bigger than full in any size.
    assert all(getattr(tiny, f) <= getattr(full, f) for f in numbers)
    assert any(getattr(tiny, f) < getattr(full, f) for f in numbers)


@given(st.integers(min_value=1, max_value=10**7))
def test_int_override_round_trips(value: int) -> None:
    assert config("e2e", True, {"n": str(value)}).n == value


def test_bool_and_float_overrides() -> None:
    assert config("sink", True, {"hnsw": "false"}).hnsw is False
    assert config("latency", True, {"seconds": "2.5"}).seconds == 2.5
    with pytest.raises(ScenarioError, match="expected bool"):
        config("sink", True, {"hnsw": "maybe"})


def test_unknown_names_are_one_line_errors() -> None:
    with pytest.raises(ScenarioError, match="unknown scenario 'nope'"):
        module("nope")
    with pytest.raises(ScenarioError, match="not an option of e2e; options: n, probe"):
        config("e2e", True, {"x": "1"})
    with pytest.raises(ScenarioError, match="expected int"):
        config("e2e", True, {"n": "many"})


def test_device_choice() -> None:
    assert choose("cpu").providers == ("CPUExecutionProvider",)
    with pytest.raises(DeviceError, match="expected cpu or cuda"):
        choose("tpu")


def test_cuda_is_chosen_only_with_a_gpu_build() -> None:
    """A CPU build of onnxruntime refuses --device cuda in one line; a GPU build (the device
    machine) gets its GPU providers first, CPU last. No skip: each build checks its half."""
    import onnxruntime

    if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
        with pytest.raises(DeviceError, match="onnxruntime-gpu"):
            choose("cuda")
        return
    chosen = choose("cuda")
    assert chosen.providers[-1] == "CPUExecutionProvider"
    assert "CUDAExecutionProvider" in chosen.providers[:-1]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["nope"], "unknown scenario 'nope'"),
        (["e2e,nope"], "unknown scenario 'nope'"),  # a list is checked whole, before any runs
        (["e2e", "--set", "n"], "expected FIELD=VALUE"),
        (["e2e", "--set", "bogus=1"], "not an option of e2e"),
        (["e2e", "--device", "tpu"], "expected cpu or cuda"),
        (["overhead", "--set", "n=0"], "at least 1 record"),
        (["overhead", "--set", "infer=0"], "at least 1 worker"),
        (["e2e", "--stack-dir", "/nonexistent/stack"], "no stack started there"),
    ],
)
def test_cli_mistakes_are_one_line(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    expected: str,
) -> None:
    result = run_cli(capsys, monkeypatch, "bench", *args)  # the CLI's entry point, in-process
    assert result.returncode == 2  # a user mistake, not a failed run (exit 1)
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
