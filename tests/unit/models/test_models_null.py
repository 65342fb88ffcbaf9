"""The null model (benchmarks only): unit vectors that depend on a text's token ids alone."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inferstream.models import ModelBundle, TextEmbedder
from inferstream.models.null import NULL_PROVIDER, NullSession, null_vectors

DIM = 384
token_rows = st.lists(
    st.lists(st.integers(1, 30_521), min_size=1, max_size=40), min_size=1, max_size=12
)


def padded(rows: list[list[int]], width: int) -> tuple[np.ndarray, np.ndarray]:
    ids = np.zeros((len(rows), width), dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = row
        mask[i, : len(row)] = 1
    return ids, mask


@given(rows=token_rows, extra=st.integers(0, 30))
def test_vectors_are_unit_float32_and_ignore_padding_and_batch(
    rows: list[list[int]], extra: int
) -> None:
    longest = max(map(len, rows))
    vectors = null_vectors(*padded(rows, longest), DIM)
    assert vectors.dtype == np.float32 and vectors.shape == (len(rows), DIM)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # Wider padding and other rows in the batch change nothing: only a row's own ids count.
    np.testing.assert_array_equal(null_vectors(*padded(rows, longest + extra), DIM), vectors)
    for i, row in enumerate(rows):
        np.testing.assert_array_equal(null_vectors(*padded([row], len(row)), DIM)[0], vectors[i])


@settings(max_examples=200)
@given(a=st.lists(st.integers(0, 30_521), min_size=1, max_size=40), data=st.data())
def test_different_ids_give_unrelated_vectors(a: list[int], data: st.DataObject) -> None:
    b = data.draw(
        st.lists(st.integers(0, 30_521), min_size=1, max_size=40).filter(lambda b: b != a)
    )
    va, vb = null_vectors(*padded([a, b], max(len(a), len(b))), DIM)
    # Random unit vectors in 384-d: |cosine| has a standard deviation of ~0.05.
    assert abs(float(va @ vb)) < 0.35


def test_session_checks_its_output_name() -> None:
    session = NullSession(DIM)
    assert session.get_providers() == [NULL_PROVIDER]
    ids, mask = padded([[101, 2023, 102]], 3)
    with pytest.raises(ValueError, match="one output"):
        session.run(["logits"], {"input_ids": ids, "attention_mask": mask})
    with pytest.raises(ValueError, match="dim must be"):
        NullSession(0)


def test_embedder_with_the_null_backend_still_tokenises(
    minilm_bundle: ModelBundle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INFERSTREAM_MODEL_BACKEND", "null")
    embedder = TextEmbedder(minilm_bundle, max_batch_items=2)
    assert embedder.providers == [NULL_PROVIDER]
    assert embedder.version == f"{minilm_bundle.version}+null"
    assert embedder.name == minilm_bundle.name
    texts = ["login fails after update", "crash on save", "login fails after update", "x " * 90]
    vectors = embedder.embed(texts)
    np.testing.assert_array_equal(vectors[0], vectors[2])  # identical texts, identical vectors
    assert abs(float(vectors[0] @ vectors[1])) < 0.35
    ids, mask = embedder.tokenizer.encode([texts[3]])
    np.testing.assert_array_equal(vectors[3], null_vectors(ids, mask, minilm_bundle.dim)[0])


def test_the_default_backend_is_onnx(minilm_bundle: ModelBundle) -> None:
    embedder = TextEmbedder(minilm_bundle, providers=["CPUExecutionProvider"])
    assert embedder.providers == ["CPUExecutionProvider"]
    assert embedder.version == minilm_bundle.version
