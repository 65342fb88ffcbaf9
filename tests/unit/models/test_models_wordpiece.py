"""AsciiWordPiece: the ids of ``tokenizers``' BERT pipeline, for every text, without it."""

from __future__ import annotations

import gc
import string
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from models_texts import text_of_words, varied_texts
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

from inferstream.bench import workload
from inferstream.models import wordpiece
from inferstream.models.wordpiece import AsciiWordPiece

# Printable ASCII, the whitespace the normalizer rewrites and the control characters it drops,
# added-token texts in both cases, and a word past max_input_chars_per_word (100).
_PIECES = st.one_of(
    st.text(alphabet=string.printable, max_size=40),
    st.text(alphabet=[chr(c) for c in range(128)], max_size=20),
    st.sampled_from(["[CLS]", "[sep]", "[MASK ]", "[UNK]", "x" * 101, "ab\x00cd", "a\x7fb"]),
)
_ASCII_TEXTS = st.lists(_PIECES, max_size=8).map(" ".join)
# Characters each BertNormalizer and BertPreTokenizer step treats apart: accented letters
# precomposed and decomposed, marks after a space, other whitespace (NBSP, em space), format
# characters (zero-width space, soft hyphen), CJK, emoji, currency, Unicode punctuation,
# letters whose lowercase differs by context or length (capital sigma, dotted I, sharp s),
# Hangul (decomposed by NFD), Arabic, a spacing mark, U+FFFD, private use.
_UNICODE = "éÉe\u0301\u0301\u00a0\u2003\u200b\u00ad東京🎁£€—…«»¿İΣςßﬁ한글مرحبا\u0903\ufffd\ue000"
_UNICODE_PIECES = st.one_of(
    _PIECES,
    st.text(alphabet=_UNICODE + string.ascii_letters + " .,\t\n", max_size=30),
    st.sampled_from(["caf\u00e9", "\u00a3" + "9" * 70, "[CLS]\u00e9", "\u00e9" * 101]),
)
_UNICODE_TEXTS = st.lists(_UNICODE_PIECES, max_size=8).map(" ".join)


def _tokenizer(weights_dir: Path, max_length: int | None = 256) -> Tokenizer:
    """The packaged tokenizer as TextTokenizer configures it."""
    tokenizer = Tokenizer.from_file(str(weights_dir / "tokenizer.json"))
    tokenizer.no_padding()
    if max_length is None:
        tokenizer.no_truncation()
    else:
        tokenizer.enable_truncation(max_length=max_length)
    return tokenizer


def _reference(tokenizer: Tokenizer, texts: list[str]) -> list[list[int]]:
    return [encoding.ids for encoding in tokenizer.encode_batch(texts)]


@pytest.fixture(scope="module")
def bert(weights_dir: Path) -> Tokenizer:
    return _tokenizer(weights_dir)


@pytest.fixture(scope="module")
def fast(bert: Tokenizer) -> AsciiWordPiece:
    found = AsciiWordPiece.matching(bert)
    assert found is not None
    return found


def test_workload_and_varied_texts_get_the_tokenizers_ids(
    bert: Tokenizer, fast: AsciiWordPiece
) -> None:
    texts = workload.texts(400) + varied_texts(120) + [text_of_words(1000)]
    expected = _reference(bert, texts)
    assert fast.encode_ids(texts, lambda rest: _reference(bert, rest)) == expected
    ascii_texts = [t for t in texts if t.isascii() and "[" not in t]
    assert len(ascii_texts) > 400  # most of them took the fast path
    assert [fast.ids(t) for t in ascii_texts] == _reference(bert, ascii_texts)
    assert max(map(len, expected)) == 256  # truncation was exercised


@settings(max_examples=300, deadline=None)
@given(texts=st.lists(_ASCII_TEXTS, min_size=1, max_size=20))
def test_generated_ascii_texts_get_the_tokenizers_ids(
    bert: Tokenizer, fast: AsciiWordPiece, texts: list[str]
) -> None:
    assert fast.encode_ids(texts, lambda rest: _reference(bert, rest)) == _reference(bert, texts)


@settings(max_examples=300, deadline=None)
@given(texts=st.lists(_UNICODE_TEXTS, min_size=1, max_size=20))
def test_generated_unicode_texts_get_the_tokenizers_ids(
    bert: Tokenizer, fast: AsciiWordPiece, texts: list[str]
) -> None:
    """Chunks that are not ASCII go through tokenizers alone: the same ids as whole texts."""
    assert fast.encode_ids(texts, lambda rest: _reference(bert, rest)) == _reference(bert, texts)


@pytest.mark.parametrize("max_length", [3, 17])
def test_a_unicode_chunk_the_tokenizer_truncates_sends_its_text_whole(
    weights_dir: Path, max_length: int
) -> None:
    tokenizer = _tokenizer(weights_dir, max_length)
    fast = AsciiWordPiece.matching(tokenizer)
    assert fast is not None
    texts = ["caf\u00e9 " + "\u00e9a" * 30, "\u00e9-" * 20 + " x", "caf\u00e9 ok"]
    assert [fast.ids(t) for t in texts[:2]] == [None, None]
    assert fast.encode_ids(texts, lambda rest: _reference(tokenizer, rest)) == _reference(
        tokenizer, texts
    )


def test_added_tokens_and_long_unicode_chunks_are_left_to_tokenizers(
    bert: Tokenizer, fast: AsciiWordPiece
) -> None:
    assert fast.ids("see [SEP] here") is None
    assert fast.ids("a [mask] b") is None
    assert fast.ids("caf\u00e9 [MASK] \u00e9") is None
    assert fast.ids("\u00e9" * (wordpiece.MAX_CACHED_CHARS + 1) + " crash") is None
    assert fast.ids("plain text") is not None
    texts = ["caf\u00e9 crashes", "\u00a345.20 shown \u2014 green \U0001f381"]
    assert [fast.ids(t) for t in texts] == _reference(bert, texts)


@pytest.mark.parametrize("count", [1, wordpiece.POOL_MIN_TEXTS])
def test_fallback_texts_keep_their_places(
    bert: Tokenizer, fast: AsciiWordPiece, count: int
) -> None:
    """A few fallback texts go through encode one by one, many through the batch call: either
    way each lands at its own index."""
    texts = [f"ascii {i}" if i % 2 else f"[MASK] \u00fcnic\u00f6de {i}" for i in range(2 * count)]
    batched: list[int] = []

    def batch(rest: list[str]) -> list[list[int]]:
        batched.append(len(rest))
        return _reference(bert, rest)

    assert fast.encode_ids(texts, batch) == _reference(bert, texts)
    assert batched == ([] if count < wordpiece.POOL_MIN_TEXTS else [count])


@pytest.mark.parametrize("max_length", [2, 3, 17, None])
def test_truncation_as_the_tokenizer_truncates(weights_dir: Path, max_length: int | None) -> None:
    tokenizer = _tokenizer(weights_dir, max_length)
    fast = AsciiWordPiece.matching(tokenizer)
    assert fast is not None
    texts = ["", "one", text_of_words(300), "a, b. c!" * 10]
    assert [fast.ids(t) for t in texts] == _reference(tokenizer, texts)


def test_a_full_word_cache_starts_again(bert: Tokenizer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wordpiece, "MAX_CACHED", 3)
    fast = AsciiWordPiece.matching(bert)
    assert fast is not None
    texts = [text for text in workload.texts(40) if text.isascii()]
    assert len(texts) > 30
    assert [fast.ids(t) for t in texts] == _reference(bert, texts)
    assert len(fast._words) <= 3 and len(fast._chunks) <= 3


def test_long_words_and_chunks_are_not_kept(bert: Tokenizer, fast: AsciiWordPiece) -> None:
    long_word, long_chunk = "y" * (wordpiece.MAX_CACHED_CHARS + 1), "a.b," * 20
    texts = [f"{long_word} {long_chunk}  twice  {long_chunk}"] * 2
    assert [fast.ids(t) for t in texts] == _reference(bert, texts)
    assert long_word not in fast._words and long_chunk.encode() not in fast._chunks
    assert b"twice" in fast._chunks and "a" in fast._words


def test_new_chunks_among_known_ones_and_the_caches_out_of_the_collectors_sight(
    bert: Tokenizer,
) -> None:
    fast = AsciiWordPiece.matching(bert)
    assert fast is not None
    texts = [text for text in workload.texts(60) if text.isascii()]
    # Known chunks, then each text again with new ones (twice in a text, and one too long to
    # keep): the new ones are found once each, the rest by look-up.
    again = [f"{t} zq{n}x, zq{n}x, {'w.' * 40}{n}" for n, t in enumerate(texts)]
    assert [fast.ids(t) for t in texts + again] == _reference(bert, texts + again)
    gc.collect()
    cached = [*fast._chunks.values(), *fast._words.values()]
    assert cached and not any(gc.is_tracked(ids) for ids in cached)


def test_other_pipelines_get_no_fast_path(weights_dir: Path) -> None:
    cased = _tokenizer(weights_dir)
    cased.normalizer = normalizers.BertNormalizer(lowercase=False)
    assert AsciiWordPiece.matching(cased) is None
    padded = _tokenizer(weights_dir)
    padded.enable_padding(length=64)
    assert AsciiWordPiece.matching(padded) is None
    left = _tokenizer(weights_dir)
    left.enable_truncation(max_length=64, direction="left")
    assert AsciiWordPiece.matching(left) is None
    other = Tokenizer(models.WordLevel({"a": 0, "[UNK]": 1}, unk_token="[UNK]"))
    other.pre_tokenizer = pre_tokenizers.Whitespace()
    assert AsciiWordPiece.matching(other) is None
