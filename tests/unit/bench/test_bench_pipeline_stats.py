"""The pure parts of the pipeline runs: batch statistics read from a worker's /metrics text,
and the variants e2e compares on CPU and GPU."""

from __future__ import annotations

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Histogram, generate_latest

from inferstream.bench import e2e
from inferstream.bench.procs import BatchStats, parse_batch_stats
from inferstream.topology.spec import ENVIRONMENTS
from inferstream.workers.runtime.metrics import SIZE_BUCKETS


def exposition(batches: dict[str, list[tuple[int, float]]]) -> str:
    """The text a worker serves after closing ``batches`` (stage -> [(size, fill)])."""
    registry = CollectorRegistry()
    size = Histogram(
        "inferstream_batch_size", "", ["stage", "task"], buckets=SIZE_BUCKETS, registry=registry
    )
    fill = Histogram("inferstream_batch_fill_ratio", "", ["stage", "task"], registry=registry)
    for stage, closed in batches.items():
        for n, ratio in closed:
            size.labels(stage, "bug_report").observe(n)
            fill.labels(stage, "bug_report").observe(ratio)
    return generate_latest(registry).decode()


batch = st.tuples(st.integers(1, 2048), st.floats(0.01, 1.0))


@given(infer=st.lists(batch, max_size=30), sink=st.lists(batch, max_size=30))
def test_parse_reads_only_the_stage_asked_for(
    infer: list[tuple[int, float]], sink: list[tuple[int, float]]
) -> None:
    stats = parse_batch_stats(exposition({"infer": infer, "sink": sink}), "infer")
    assert stats.batches == len(infer)
    assert stats.records == sum(n for n, _ in infer)
    assert abs(stats.fill_sum - sum(r for _, r in infer)) < 1e-6
    if infer:
        assert stats.mean_size == sum(n for n, _ in infer) / len(infer)
    else:
        assert stats.mean_size is None and stats.mean_fill is None


def test_difference_of_two_readings_is_the_batches_in_between() -> None:
    before = parse_batch_stats(exposition({"infer": [(64, 1.0)]}), "infer")
    after = parse_batch_stats(exposition({"infer": [(64, 1.0), (10, 0.25), (30, 0.75)]}), "infer")
    between = after - before
    assert between == BatchStats(2, 40, 1.0)
    assert between.mean_size == 20 and between.mean_fill == 0.5
    assert before + between == after


def test_gpu_variants_give_every_stage_a_process_per_partition(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cpu = e2e.pipeline_variants(cores=2, gpu=False)
    gpu = e2e.pipeline_variants(cores=16, gpu=True)
    assert all(replicas == e2e.ONE_EACH for replicas, _ in cpu.values())
    assert gpu["default"] == (e2e.ONE_EACH, {})
    scaled = [v for name, v in gpu.items() if name != "default"]
    assert scaled and all(replicas == e2e.GPU_REPLICAS for replicas, _ in scaled)
    assert any(int(env.get("INFERSTREAM_WORKER_BATCH_MAX_ITEMS", "0")) > 64 for _, env in scaled)
    assert any(env.get("INFERSTREAM_WORKER_SINK_ARTIFACTS") == "false" for _, env in scaled)
    # One process per partition, or the extra ones sit idle: on a GPU the bench's stacks are
    # brought up with as many partitions as processes (the embedded profile's 2 otherwise).
    monkeypatch.delenv(e2e.PARTITIONS_ENV, raising=False)
    e2e.use_gpu_partitions(gpu=False)
    assert e2e.PARTITIONS_ENV not in os.environ
    e2e.use_gpu_partitions(gpu=True)
    assert {str(n) for n in e2e.GPU_REPLICAS.values()} == {os.environ[e2e.PARTITIONS_ENV]}
    assert int(os.environ[e2e.PARTITIONS_ENV]) > ENVIRONMENTS["embedded"].partitions
