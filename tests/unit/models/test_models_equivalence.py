"""Our torch-free ONNX MiniLM against the sentence-transformers reference on the same weights."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from models_texts import varied_texts

from inferstream.models import TextEmbedder, TextTokenizer


@pytest.fixture(scope="module")
def reference(weights_dir: Path) -> Any:
    # Offline: the model loads from the installed package directory, never from a hub.
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        return SentenceTransformer(str(weights_dir), device="cpu")


def test_embeddings_match_sentence_transformers(embedder: TextEmbedder, reference: Any) -> None:
    texts = varied_texts(200)
    lengths = embedder.tokenizer.token_lengths(texts)
    assert sum(length == 256 for length in lengths) >= 10, "want texts that hit truncation"
    ours = embedder.embed(texts)
    theirs = reference.encode(texts, batch_size=32, convert_to_numpy=True)
    assert ours.shape == theirs.shape == (200, 384)
    # The reference normalises too; compare cosine robustly anyway.
    theirs = theirs / np.linalg.norm(theirs, axis=1, keepdims=True)
    cosine = (ours * theirs).sum(axis=1)
    worst = int(np.argmin(cosine))
    assert cosine.min() >= 0.9999, f"text {worst} {texts[worst][:60]!r}: cosine {cosine[worst]}"


def test_tokenizer_matches_reference(embedder: TextEmbedder, reference: Any) -> None:
    texts = varied_texts(200)
    features = reference.tokenize(texts)
    tokenizer: TextTokenizer = embedder.tokenizer
    assert reference.max_seq_length == tokenizer.max_length == 256
    input_ids, attention_mask = tokenizer.encode(texts)
    np.testing.assert_array_equal(input_ids, features["input_ids"].numpy())
    np.testing.assert_array_equal(attention_mask, features["attention_mask"].numpy())
