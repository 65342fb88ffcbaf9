"""TextTokenizer: dynamic padding, truncation at max_seq_length, lengths for batch cost."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from models_texts import text_of_words, varied_texts

from inferstream.models import ModelBundle, TextTokenizer
from inferstream.models.tokenizer import read_max_seq_length

CLS, SEP, PAD = 101, 102, 0


@pytest.fixture(scope="module")
def tokenizer(minilm_bundle: ModelBundle) -> TextTokenizer:
    return TextTokenizer(minilm_bundle.tokenizer_path, minilm_bundle.max_seq_length)


def test_packaged_tokenizer_pads_to_128_but_ours_pads_to_longest(
    weights_dir: Path, tokenizer: TextTokenizer
) -> None:
    packaged = json.loads((weights_dir / "tokenizer.json").read_text(encoding="utf-8"))
    assert packaged["padding"]["strategy"] == {"Fixed": 128}  # what we override
    input_ids, attention_mask = tokenizer.encode(["short", "a slightly longer text here"])
    lengths = tokenizer.token_lengths(["short", "a slightly longer text here"])
    assert input_ids.shape == attention_mask.shape == (2, max(lengths))
    assert max(lengths) < 128
    assert input_ids.dtype == attention_mask.dtype == np.int64
    assert input_ids[0, 0] == CLS
    assert input_ids[0, lengths[0] - 1] == SEP
    assert (input_ids[0, lengths[0] :] == PAD).all()
    assert (attention_mask[0, lengths[0] :] == 0).all()


def test_truncates_at_max_seq_length_from_sentence_bert_config(
    weights_dir: Path, tokenizer: TextTokenizer
) -> None:
    assert read_max_seq_length(weights_dir) == tokenizer.max_length == 256
    long_text = text_of_words(1000)
    input_ids, attention_mask = tokenizer.encode([long_text, "tiny"])
    assert input_ids.shape == (2, 256)
    assert input_ids[0, 0] == CLS
    assert input_ids[0, -1] == SEP
    assert attention_mask[0].sum() == 256
    assert tokenizer.token_lengths([long_text]) == [256]


def test_token_lengths_match_attention_mask(tokenizer: TextTokenizer) -> None:
    texts = varied_texts(120)
    _, attention_mask = tokenizer.encode(texts)
    assert tokenizer.token_lengths(texts) == attention_mask.sum(axis=1).tolist()
    assert min(tokenizer.token_lengths(texts)) == 2  # the empty text: [CLS] [SEP]


def test_empty_batch(tokenizer: TextTokenizer) -> None:
    input_ids, attention_mask = tokenizer.encode([])
    assert input_ids.shape == attention_mask.shape == (0, 0)
    assert tokenizer.token_lengths([]) == []


def test_rejects_max_length_without_room_for_special_tokens(minilm_bundle: ModelBundle) -> None:
    with pytest.raises(ValueError, match="max_length"):
        TextTokenizer(minilm_bundle.tokenizer_path, max_length=1)
