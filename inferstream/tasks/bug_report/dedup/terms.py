"""A bug report's terms for lexical similarity: tokens (case-folded, stop words out, a light
stem) and their counts over title, description and steps.

What the infer stage computes per report and the result carries (``dedup_terms``); the index
(lexical.py) only ever sees these maps, so the two change independently.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Mapping

Terms = Mapping[str, int]

TITLE_WEIGHT = 2  # title terms count twice: the title is the densest statement of the bug
MIN_TOKEN = 2
MAX_TOKEN = 64  # longer runs are hashes or ids, noise for similarity
MAX_TERMS = 400  # a report's most frequent terms kept (bounds the stored jsonb and the wire)

STOPWORDS = frozenset(
    {
        "a",
        "after",
        "again",
        "all",
        "also",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "each",
        "even",
        "few",
        "for",
        "from",
        "further",
        "get",
        "gets",
        "getting",
        "got",
        "had",
        "has",
        "have",
        "here",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "it's",
        "its",
        "just",
        "me",
        "more",
        "most",
        "my",
        "no",
        "not",
        "now",
        "of",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "own",
        "same",
        "should",
        "so",
        "some",
        "still",
        "such",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "too",
        "up",
        "us",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "why",
        "will",
        "with",
        "would",
        "yes",
        "you",
        "your",
    }
)


def _stem(token: str) -> str:
    """A light suffix strip (plurals, -ing, -ed): "crashes", "crashing", "crashed" -> "crash"."""
    if token.isdigit() or len(token) <= 4:
        return token
    for suffix, keep in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if token.endswith(suffix) and len(token) - len(suffix) >= 3:
            stem = token[: -len(suffix)] + keep
            if suffix == "s" and token.endswith("ss"):
                return token
            return stem
    return token


def tokenize(text: str) -> list[str]:
    """The text's terms in order (see ``_term_of``), looked up in a memo: a report's words mostly
    recur (the per-token checks and stem were ~15 % of the infer stage's CPU). The memo is a
    plain dict read by C-level ``map`` and ``filter`` (an lru_cache call per token, and a
    Python step per token to drop the stop words, were ~2 % of the stage); it stops growing at
    MEMO_SIZE tokens, so ids and hashes that never recur cannot grow it.

    The tokens are the matches of ``[a-z0-9][a-z0-9_]*``, found without the regex engine:
    every character outside [a-z0-9_] (a non-ASCII one too: it is encoded as "?") becomes a
    space, and each run of the rest is one match once its leading underscores are dropped (the
    memo keys on the run; a run of underscores only is no token). ``findall`` was a third of
    the tokenizing."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    tokens = folded.encode("ascii", "replace").translate(_WORD_BYTES).split()
    missing = set(tokens).difference(_MEMO)
    if missing:
        found = {token: _term_of(token) for token in missing}
        if len(_MEMO) + len(found) > MEMO_SIZE:  # full: these are looked up here only
            terms = (found[token] if token in found else _MEMO[token] for token in tokens)
            return [term for term in terms if term is not None]
        _MEMO.update(found)  # tokens are only ever added: a key seen stays
    # A term is never empty (at least MIN_TOKEN characters): filter(None) drops only None.
    return list(filter(None, map(_MEMO.__getitem__, tokens)))


MEMO_SIZE = 1 << 16
_MEMO: dict[bytes, str | None] = {}  # run -> its term, None for a run that is none
_WORD = b"abcdefghijklmnopqrstuvwxyz0123456789_"
_WORD_BYTES = bytes(c if c in _WORD else ord(" ") for c in range(256))


def _term_of(run: bytes) -> str | None:
    """A run's term (the run less its leading underscores: the token the pattern matches), or
    None for a stop word or a token too short or long."""
    token = run.lstrip(b"_").decode("ascii")
    if not MIN_TOKEN <= len(token) <= MAX_TOKEN or token in STOPWORDS:
        return None
    return _stem(token)


def term_frequencies(title: str, description: str, steps: str) -> dict[str, int]:
    """The report's terms and counts (title counted ``TITLE_WEIGHT`` times), at most
    ``MAX_TERMS`` of them (the most frequent, ties by term). Counted by ``Counter`` (C), not a
    Python step per token, over one ``tokenize`` of the fields joined by newlines (the title
    ``TITLE_WEIGHT`` times): a token never spans a newline, and NFKC and case folding never
    join characters across one, so it finds the tokens of each field, in one call instead of
    one a field."""
    joined = "\n".join((description, steps, *([title] * TITLE_WEIGHT)))
    counts = Counter(tokenize(joined))
    if len(counts) > MAX_TERMS:
        kept = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_TERMS]
        return dict(sorted(kept))
    return dict(sorted(counts.items()))
