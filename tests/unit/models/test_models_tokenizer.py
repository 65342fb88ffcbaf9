"""TextTokenizer: dynamic padding, truncation at max_seq_length, lengths for batch cost."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from models_texts import text_of_words, varied_texts
from tokenizers import Tokenizer

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


def test_the_fast_batch_gives_the_ids_of_the_plain_encode(tokenizer: TextTokenizer) -> None:
    """encode_batch_fast skips the offsets only: the ids are encode_batch's, truncation and
    special tokens included (long, accented, CJK and empty texts)."""
    texts = [*varied_texts(120), text_of_words(1000), "Café naïve 東京 crash", ""]
    plain = [enc.ids for enc in tokenizer._tokenizer.encode_batch(texts)]
    assert tokenizer.encode_ids(texts) == plain


@given(st.lists(st.lists(st.integers(1, 30_000), max_size=12), max_size=8))
def test_pad_is_the_row_by_row_fill(rows: list[list[int]]) -> None:
    tokenizer = TextTokenizer.__new__(TextTokenizer)
    tokenizer.pad_id = PAD
    longest = max((len(row) for row in rows), default=0)
    ids = np.full((len(rows), longest), PAD, dtype=np.int64)
    mask = np.zeros((len(rows), longest), dtype=np.int64)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = row
        mask[i, : len(row)] = 1
    input_ids, attention_mask = tokenizer.pad(rows)
    assert input_ids.dtype == attention_mask.dtype == np.int64
    assert np.array_equal(input_ids, ids) and np.array_equal(attention_mask, mask)


def test_the_ascii_fast_path_is_used_and_gives_the_tokenizers_ids(
    minilm_bundle: ModelBundle, tokenizer: TextTokenizer
) -> None:
    # encode_ids goes through models/wordpiece.py for the packaged BERT tokenizer; ASCII and
    # non-ASCII texts in one call come back in their places with tokenizers' own ids.
    assert tokenizer._ascii is not None
    reference = Tokenizer.from_file(str(minilm_bundle.tokenizer_path))
    reference.no_padding()
    reference.enable_truncation(max_length=tokenizer.max_length)
    texts = [*varied_texts(40), "Crash in Überblick view", "[MASK] token", text_of_words(400)]
    assert tokenizer.encode_ids(texts) == [e.ids for e in reference.encode_batch(texts)]
