"""BERT WordPiece ids without the tokenizers pipeline where it can: the same ids, ~4x less CPU.

Why: in the infer stage, tokenising a ~60-token bug report through ``tokenizers`` costs ~75 us
of CPU (its normalizer and pre-tokenizer track every character's offsets, and each text becomes
an ``Encoding`` with tokens, offsets and masks), the largest cost of the stage outside the model
and the dedup scorer. And ``encode_batch`` hands each batch to rayon's pool, whose threads spin
before they sleep: on 2 shared cores they spent more time waiting for a CPU than any other
thread of the worker (docs/benchmarks.md, the overhead runs' split of infer-0).

For an ASCII text the BERT pipeline (BertNormalizer, BertPreTokenizer, WordPiece, [CLS] ... [SEP],
truncation on the right) reduces to: drop the control characters, turn tab / newline / carriage
return into spaces, lowercase, split into runs of letters and digits and single punctuation
characters, and map each word to its word pieces. A word's pieces depend on the word alone, so
they come from a dictionary filled by the tokenizer's own WordPiece model the first time a word
is seen, and so do the ids of each space-separated chunk of text (bug reports reuse a
vocabulary of a few thousand words). In a text that is not ASCII, the chunks that are not are
tokenised by ``tokenizers`` alone, once each (``_unicode_chunk`` says why that gives the same
ids): 2.4 % of the workload's texts, which cost ~125 us each through ``tokenizers`` whole. A
text that contains an added token's text ([CLS], [MASK], ...) or a long chunk that is not
ASCII goes through ``tokenizers`` unchanged; so does every text of a tokenizer whose pipeline
is not this one (``matching`` returns None). The unit tests hold the ids equal to
``tokenizers``' on the workload's texts and on generated ASCII and Unicode text (control and
format characters, marks, other whitespace, CJK, punctuation, over-long words, truncation).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from itertools import chain, compress, repeat
from operator import is_
from typing import Any, TypeVar, cast

from tokenizers import Tokenizer

# BertNormalizer's clean_text and lowercase on ASCII, as one bytes.translate: tab, newline and
# carriage return become spaces, NUL and the other control characters (category Cc, DEL
# included) are removed, A-Z become a-z. On the text's ASCII bytes this is ~8x cheaper than
# str.translate with a mapping then str.lower (~2.7 us per bug report).
_DROP = bytes((*range(0, 9), 11, 12, *range(14, 32), 127))
_TABLE = bytes.maketrans(b"\t\n\r" + bytes(range(65, 91)), b"   " + bytes(range(97, 123)))
# BertPreTokenizer on cleaned, lowercased ASCII: spaces split; every other printable character
# that is not a letter or digit is ASCII punctuation, a word of its own.
_WORDS = re.compile(r"[a-z0-9]+|[^a-z0-9 ]")
# Each cache's bound, and the longest word or chunk kept (a long unbroken line, a URL or a blob
# is rarely seen twice): a few MB at most.
MAX_CACHED = 1 << 16
MAX_CACHED_CHARS = 64
# Fewer fallback texts than this in a batch go through ``Tokenizer.encode`` one by one, which
# does not wake the tokenizer's thread pool for a handful of texts.
POOL_MIN_TEXTS = 16

Ids = list[int]
# A cached word's or chunk's ids: a tuple of ints, which the garbage collector stops tracking
# once it has seen it (a list stays tracked: up to 2 x MAX_CACHED of them were scanned by every
# collection that reached them, ~a third of the objects of infer's young collections).
Pieces = tuple[int, ...]
K = TypeVar("K", str, bytes)


class AsciiWordPiece:
    """Token ids of texts for one BERT ``tokenizers.Tokenizer``, as it would give them (ASCII
    ones, and others chunk by chunk; None for those it leaves to the tokenizer)."""

    def __init__(self, tokenizer: Tokenizer, cls_id: int, sep_id: int, body: int | None) -> None:
        self._tokenizer = tokenizer
        self._model: Any = tokenizer.model
        self._cls, self._sep = cls_id, sep_id
        self._body = body  # word pieces kept between [CLS] and [SEP]; None: no truncation
        added = {token.content.lower() for token in tokenizer.get_added_tokens_decoder().values()}
        # Lowercased ASCII added-token texts (the others can never match an ASCII text), and
        # their first bytes: a text holding none of those ("[" for BERT's) holds none of them.
        self._added = tuple(sorted(a.encode() for a in added if a.isascii()))
        self._added_starts = tuple(sorted({a[:1] for a in self._added}))
        # Chunks that are not ASCII are tokenised alone (see ``_unicode_chunk``) only where no
        # added token could match across chunks or outside the ASCII check.
        self._unicode = all(a.isascii() and not any(c.isspace() for c in a) for a in added)
        # Word pieces of each word, and ids of each space-separated chunk (its UTF-8 bytes,
        # ASCII controls dropped and ASCII letters lowercased), as seen so far.
        self._words: dict[str, Pieces] = {}
        self._chunks: dict[bytes, Pieces] = {}

    @classmethod
    def matching(cls, tokenizer: Tokenizer) -> AsciiWordPiece | None:
        """The fast path for ``tokenizer`` as configured now, or None when its pipeline is not
        the BERT one this replicates (its ids would differ)."""
        config = json.loads(tokenizer.to_str())
        normalizer, model = config.get("normalizer") or {}, config.get("model") or {}
        if not (
            normalizer.get("type") == "BertNormalizer"
            and normalizer.get("clean_text") is True
            and normalizer.get("lowercase") is True
            and (config.get("pre_tokenizer") or {}).get("type") == "BertPreTokenizer"
            and model.get("type") == "WordPiece"
            and config.get("padding") is None
        ):
            return None
        specials = _cls_sep(config.get("post_processor") or {})
        truncation = config.get("truncation")
        if specials is None or not _right_truncation(truncation):
            return None
        body = None if truncation is None else max(0, int(truncation["max_length"]) - 2)
        return cls(tokenizer, specials[0], specials[1], body)

    def ids(self, text: str) -> Ids | None:
        """[CLS], the word pieces (truncated), [SEP] of a text; None for a text this cannot
        tokenise as ``tokenizers`` would (holding an added token's text: checked on the
        cleaned, lowercased text, where the tokenizer's matches all show; a long chunk that is
        not ASCII; any text that is not ASCII where ``_unicode`` is off)."""
        if text.isascii():
            cleaned = text.encode("ascii").translate(_TABLE, _DROP)
        elif self._unicode:
            try:
                cleaned = text.encode("utf-8").translate(_TABLE, _DROP)  # ASCII bytes only
            except UnicodeEncodeError:  # a lone surrogate
                return None
        else:
            return None
        if any(map(cleaned.__contains__, self._added_starts)) and any(
            map(cleaned.__contains__, self._added)
        ):
            return None
        # ASCII spaces are the only ASCII whitespace left and every whitespace splits words,
        # so a text's ids are those of its space-separated chunks in turn: one look-up per
        # chunk ("crash,", "foo.bar()") instead of a regex scan of the text and a look-up per
        # word.
        chunks = cleaned.split(b" ")
        found = list(map(self._chunks.get, chunks))
        # A chunk not cached yet is a None. Most texts hold one, so it is looked for first
        # (one C-level scan, ~0.5 us), not found by the TypeError of an extend that then
        # starts again (~1.5 us more per text that holds one).
        if None in found and self._fill(chunks, found) is None:
            return None
        ids = [self._cls]
        ids.extend(chain.from_iterable(cast("list[Pieces]", found)))
        if self._body is not None and len(ids) > self._body + 1:
            del ids[self._body + 1 :]
        ids.append(self._sep)
        return ids

    def encode_ids(
        self, texts: Sequence[str], batch: Callable[[list[str]], list[Ids]]
    ) -> list[Ids]:
        """Ids of every text in order: ``ids`` where it can, ``tokenizers`` for the rest
        (``batch`` for many, one ``encode`` each for a few)."""
        out = [self.ids(text) for text in texts]
        rest = [texts[i] for i, ids in enumerate(out) if ids is None]
        if len(rest) >= POOL_MIN_TEXTS:
            slow = iter(batch(rest))
        else:
            slow = iter([list(self._tokenizer.encode(text).ids) for text in rest])
        return [ids if ids is not None else next(slow) for ids in out]

    def _fill(self, chunks: list[bytes], found: list[Pieces | None]) -> list[Pieces] | None:
        """``found`` with the ids of the chunks not cached yet (its None entries, at the same
        positions as in ``chunks``) filled in, in place; None where ``_chunk`` gives None.
        Most texts hold a chunk never seen (a number, a name, a word with its punctuation: ~90 %
        of the held-out reports even after the example reports), so the look-ups made are kept
        and the new chunks are found by one C-level pass, instead of a set of every chunk to
        find them and every look-up made again."""
        new = compress(range(len(found)), map(is_, found, repeat(None)))
        for at in new:
            chunk = chunks[at]
            # A chunk twice in the text: the first one cached it (unless it is too long).
            ids = self._chunks.get(chunk)
            if ids is None:
                ids = self._chunk(chunk)
                if ids is None:
                    return None
            found[at] = ids
        return cast("list[Pieces]", found)

    def _chunk(self, chunk: bytes) -> Pieces | None:
        """A chunk's ids from its words' pieces (BertPreTokenizer: runs of letters and digits,
        single punctuation characters)."""
        if not chunk.isascii():
            return self._unicode_chunk(chunk)
        words = self._words
        ids: Ids = []
        for word in _WORDS.findall(chunk.decode("ascii")):
            hit = words.get(word)
            ids += hit if hit is not None else self._word(word)
        pieces = tuple(ids)
        _remember(self._chunks, chunk, pieces)
        return pieces

    def _unicode_chunk(self, chunk: bytes) -> Pieces | None:
        """The ids of a chunk that is not ASCII, by ``tokenizers`` on the chunk alone: the same
        as within its text, because each BertNormalizer step acts on a character or on a base
        character and its marks, which no ASCII space separates (clean_text, CJK spacing,
        NFD and the removal of nonspacing marks, lowercasing), and BertPreTokenizer splits at
        every whitespace; truncation is ours, and added tokens were checked on the whole
        text (none holds whitespace or is not ASCII: ``_unicode``). A chunk longer than
        MAX_CACHED_CHARS (which the tokenizer might truncate, and which is rarely seen again)
        sends its text to ``tokenizers`` whole."""
        if len(chunk) > MAX_CACHED_CHARS:
            return None
        encoding = self._tokenizer.encode(chunk.decode("utf-8"), add_special_tokens=False)
        if encoding.overflowing:  # cut by the tokenizer's own truncation: not the chunk's ids
            return None
        ids = tuple(encoding.ids)
        _remember(self._chunks, chunk, ids)
        return ids

    def _word(self, word: str) -> Pieces:
        # The tokenizer's own WordPiece (longest match first, [UNK] for a word it cannot split
        # or longer than max_input_chars_per_word).
        ids = tuple([token.id for token in self._model.tokenize(word)])
        _remember(self._words, word, ids)
        return ids


def _remember(cache: dict[K, Pieces], key: K, ids: Pieces) -> None:
    if len(key) > MAX_CACHED_CHARS:
        return
    if len(cache) >= MAX_CACHED:
        cache.clear()  # a vocabulary drift, not a working set: start again
    cache[key] = ids


def _cls_sep(post: dict[str, Any]) -> tuple[int, int] | None:
    """The ([CLS], [SEP]) ids a single text is wrapped in, if that is all the post-processor
    does to it (BertProcessing, or TemplateProcessing ``[CLS] $A [SEP]``)."""
    if post.get("type") == "BertProcessing":
        return int(post["cls"][1]), int(post["sep"][1])
    if post.get("type") != "TemplateProcessing":
        return None
    single = post.get("single") or []
    if len(single) != 3 or "Sequence" not in single[1]:
        return None
    ids = []
    for piece in (single[0], single[2]):
        name = (piece.get("SpecialToken") or {}).get("id")
        special = (post.get("special_tokens") or {}).get(name) or {}
        if len(special.get("ids") or []) != 1:
            return None
        ids.append(int(special["ids"][0]))
    return ids[0], ids[1]


def _right_truncation(truncation: dict[str, Any] | None) -> bool:
    """No truncation, or one that keeps a single text's first tokens (what ``ids`` does)."""
    if truncation is None:
        return True
    return (
        str(truncation.get("strategy", "LongestFirst")) in ("LongestFirst", "OnlyFirst")
        and int(truncation.get("stride", 0)) == 0
        and str(truncation.get("direction", "Right")).lower() == "right"
        and int(truncation.get("max_length", 0)) >= 2
    )
