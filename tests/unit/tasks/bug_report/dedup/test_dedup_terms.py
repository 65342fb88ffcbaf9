"""A report's terms: tokens folded, stemmed and free of stop words; title terms weigh more."""

from __future__ import annotations

import re
import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from inferstream.tasks.bug_report.dedup.terms import (
    MAX_TOKEN,
    MIN_TOKEN,
    STOPWORDS,
    TITLE_WEIGHT,
    _stem,
    term_frequencies,
    tokenize,
)


def test_tokens_are_folded_stemmed_and_free_of_stopwords() -> None:
    assert tokenize("The app CRASHES when exporting, it crashed twice") == [
        "app",
        "crash",
        "export",
        "crash",
        "twice",
    ]


def test_title_terms_weigh_more_than_description_terms() -> None:
    terms = term_frequencies("Crash on export", "export fails", "")
    assert terms["crash"] == TITLE_WEIGHT
    assert terms["export"] == TITLE_WEIGHT + 1
    assert terms["fail"] == 1


def _tokenize_uncached(text: str) -> list[str]:
    """tokenize as a plain loop: checks and stem per token, nothing memoised."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    out = []
    for token in re.findall(r"[a-z0-9][a-z0-9_]*", folded):
        if MIN_TOKEN <= len(token) <= MAX_TOKEN and token not in STOPWORDS:
            out.append(_stem(token))
    return out


WORDS = st.sampled_from(
    ["crashes", "crashing", "the", "a", "x", "login", "ies", "studies", "class", "2024", "é"]
)


@given(st.lists(st.one_of(WORDS, st.text(max_size=80)), max_size=30))
def test_tokenize_equals_the_plain_loop(parts: list[str]) -> None:
    text = " ".join(parts)
    # Twice: the second call is served from the memo.
    assert tokenize(text) == _tokenize_uncached(text)
    assert tokenize(text) == _tokenize_uncached(text)
