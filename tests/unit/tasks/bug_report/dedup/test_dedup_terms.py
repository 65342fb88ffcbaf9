"""A report's terms: tokens folded, stemmed and free of stop words; title terms weigh more."""

from __future__ import annotations

from inferstream.tasks.bug_report.dedup.terms import TITLE_WEIGHT, term_frequencies, tokenize


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
