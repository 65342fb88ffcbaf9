"""TextEmbedder: length bucketing never changes results or their order."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from models_texts import text_of_words, varied_texts

from inferstream.models import ModelBundle, TextEmbedder, plan_buckets
from inferstream.models.embedder import CPU_MIN_FILL


@pytest.fixture(scope="module")
def small_batches(minilm_bundle: ModelBundle) -> TextEmbedder:
    # Tight bounds so even a handful of texts splits into several sub-batches.
    return TextEmbedder(minilm_bundle, max_batch_items=3, max_batch_tokens=300)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(word_counts=st.lists(st.integers(0, 300), min_size=1, max_size=8), seed=st.integers(0, 99))
def test_order_restored_after_bucketing(
    small_batches: TextEmbedder, word_counts: list[int], seed: int
) -> None:
    texts = [text_of_words(n, seed=seed + i) for i, n in enumerate(word_counts)]
    batched = small_batches.embed(texts)
    alone = np.stack([small_batches.embed([t])[0] for t in texts])
    np.testing.assert_allclose(batched, alone, atol=1e-5)


@given(
    lengths=st.lists(st.integers(2, 256), max_size=60),
    max_items=st.integers(1, 40),
    max_tokens=st.integers(1, 5000),
    min_fill=st.sampled_from([0.0, 0.5, 0.85, 1.0]),
    min_groups=st.integers(1, 8),
)
def test_plan_buckets_partitions_within_bounds(
    lengths: list[int], max_items: int, max_tokens: int, min_fill: float, min_groups: int
) -> None:
    groups = plan_buckets(lengths, max_items, max_tokens, min_fill, min_groups)
    assert sorted(i for g in groups for i in g) == list(range(len(lengths)))
    # Enough groups for the parallel calls, where there are enough texts.
    assert len(groups) >= min(min_groups, len(lengths))
    for group in groups:
        assert [lengths[i] for i in group] == sorted(lengths[i] for i in group)
        longest = max(lengths[i] for i in group)
        assert len(group) <= max_items
        # Only a lone text may exceed the token budget (it cannot be split).
        assert len(group) * longest <= max_tokens or len(group) == 1
        assert sum(lengths[i] for i in group) >= min_fill * len(group) * longest


def test_parallel_calls_give_the_same_vectors_in_order(minilm_bundle: ModelBundle) -> None:
    texts = varied_texts(40)
    one = TextEmbedder(minilm_bundle, parallel_calls=1, intra_op_threads=1)
    four = TextEmbedder(minilm_bundle, parallel_calls=4)
    assert (one.parallel_calls, four.parallel_calls) == (1, 4)
    prepared = four.prepare(texts)
    assert len(prepared.batches) >= 4
    np.testing.assert_allclose(four.run(prepared), one.embed(texts), atol=1e-6)


def test_call_layout_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    from inferstream.models.embedder import _call_layout, cpu_cores

    cpu = ["CPUExecutionProvider"]
    monkeypatch.delenv("INFERSTREAM_MODEL_INTRA_OP_THREADS", raising=False)
    monkeypatch.delenv("INFERSTREAM_MODEL_PARALLEL_CALLS", raising=False)
    assert _call_layout(cpu, None, None) == (cpu_cores(), 1 if cpu_cores() > 1 else None)
    assert _call_layout(cpu, 2, None) == (1, 2)  # threads asked for: one call at a time
    gpu = ["CUDAExecutionProvider", *cpu]
    # On a GPU: one call at a time, one CPU thread unless asked for (the model runs there).
    assert _call_layout(gpu, None, 4) == (1, 1)
    assert _call_layout(gpu, 3, None) == (1, 3)
    monkeypatch.setenv("INFERSTREAM_MODEL_PARALLEL_CALLS", "3")
    assert _call_layout(cpu, None, None) == (3, 1)
    monkeypatch.setenv("INFERSTREAM_MODEL_INTRA_OP_THREADS", "2")
    assert _call_layout(cpu, None, None) == (3, 2)


def test_prepared_sub_batches_respect_bounds(minilm_bundle: ModelBundle) -> None:
    embedder = TextEmbedder(minilm_bundle, max_batch_items=8, max_batch_tokens=1024)
    texts = varied_texts(150)
    prepared = embedder.prepare(texts)
    assert prepared.size == 150
    assert sorted(prepared.order.tolist()) == list(range(150))
    assert len(prepared.batches) > 150 // 8
    for batch in prepared.batches:
        rows, width = batch.input_ids.shape
        assert rows <= 8
        assert batch.padded_tokens == rows * width <= 1024
        # Dynamic padding: each sub-batch is exactly as wide as its longest text.
        assert width == batch.attention_mask.sum(axis=1).max()
    assert prepared.real_tokens == sum(embedder.tokenizer.token_lengths(texts))
    assert prepared.real_tokens / prepared.padded_tokens > 0.8  # bucketing keeps padding low


def test_min_fill_defaults_to_on_for_cpu_only_sessions(
    embedder: TextEmbedder, minilm_bundle: ModelBundle
) -> None:
    assert embedder.min_fill == CPU_MIN_FILL
    assert TextEmbedder(minilm_bundle, min_fill=0.0).min_fill == 0.0
    with pytest.raises(ValueError, match="min_fill"):
        TextEmbedder(minilm_bundle, min_fill=1.5)


def test_norms_are_one_and_identical_texts_agree(embedder: TextEmbedder) -> None:
    texts = [*varied_texts(60), "duplicate text", "duplicate text"]
    vectors = embedder.embed(texts)
    assert vectors.dtype == np.float32
    assert vectors.shape == (62, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(vectors[-1], vectors[-2], atol=1e-6)


def test_empty_input(embedder: TextEmbedder) -> None:
    vectors = embedder.embed([])
    assert vectors.shape == (0, 384)
    assert vectors.dtype == np.float32


def test_stamps_and_providers(embedder: TextEmbedder, minilm_bundle: ModelBundle) -> None:
    assert embedder.name == "all-MiniLM-L6-v2"
    assert embedder.version == minilm_bundle.version
    assert embedder.tokenizer_version == minilm_bundle.tokenizer_version
    assert embedder.providers[-1] == "CPUExecutionProvider"


def test_rejects_non_positive_bounds(minilm_bundle: ModelBundle) -> None:
    with pytest.raises(ValueError, match="must be >= 1"):
        TextEmbedder(minilm_bundle, max_batch_items=0)
