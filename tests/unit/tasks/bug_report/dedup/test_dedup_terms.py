"""A report's terms: tokens folded, stemmed and free of stop words; title terms weigh more."""

from __future__ import annotations

import ast
import re
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inferstream.chaos.workload import example_payloads
from inferstream.tasks.bug_report.dedup import terms
from inferstream.tasks.bug_report.dedup.terms import (
    MAX_TERMS,
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


@given(st.lists(st.one_of(WORDS, st.text(max_size=40)), max_size=20))
def test_a_full_memo_gives_the_same_terms(parts: list[str]) -> None:
    """Once the memo holds MEMO_SIZE tokens, new ones are looked up without being kept."""
    text = " ".join(parts)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(terms, "MEMO_SIZE", 0)
        assert tokenize(text) == _tokenize_uncached(text)


def _frequencies_loop(title: str, description: str, steps: str, most: int) -> dict[str, int]:
    counts: dict[str, int] = {}
    for token in _tokenize_uncached(title):
        counts[token] = counts.get(token, 0) + TITLE_WEIGHT
    for token in _tokenize_uncached(description) + _tokenize_uncached(steps):
        counts[token] = counts.get(token, 0) + 1
    if len(counts) > most:
        counts = dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:most])
    return dict(sorted(counts.items()))


texts = st.lists(st.one_of(WORDS, st.text(max_size=20)), max_size=20).map(" ".join)


@given(texts, texts, texts, st.integers(1, 6))
def test_term_frequencies_equal_the_plain_loop(
    title: str, description: str, steps: str, most: int
) -> None:
    """Counts, the title's weight, the cut to the most frequent terms, and the order."""
    got = term_frequencies(title, description, steps)
    assert got == _frequencies_loop(title, description, steps, MAX_TERMS)
    assert list(got) == sorted(got)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(terms, "MAX_TERMS", most)
        cut = term_frequencies(title, description, steps)
    assert cut == _frequencies_loop(title, description, steps, most)
    assert list(cut) == sorted(cut)


@given(texts, texts, texts)
def test_term_frequencies_with_a_full_memo_equal_the_plain_loop(
    title: str, description: str, steps: str
) -> None:
    """Runs the memo cannot keep are counted as their terms all the same (once or many times
    in a report, stop words and runs of underscores among them), and the memo stays as it
    was."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(terms, "MEMO_SIZE", 0)
        patch.setattr(terms, "_MEMO", {})
        got = term_frequencies(title, description, steps)
        assert terms._MEMO == {}
    assert got == _frequencies_loop(title, description, steps, MAX_TERMS)
    assert list(got) == sorted(got)


def test_a_report_of_new_and_known_runs_counts_each_once_per_occurrence() -> None:
    """A run new to the memo, seen twice in a report (and the title's twice more), counts as
    often as it occurs; a new stop word and a new run of underscores count as no term."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(terms, "_MEMO", {})
        first = term_frequencies("Zq1 crash", "zq1 zq1 the __ crash", "")
        second = term_frequencies("Zq1 crash", "zq1 zq1 the __ crash", "")
    assert first == second == {"crash": 3, "zq1": 4}


class _RacingMemo(dict[bytes, str]):
    """A memo that another thread fills while a report is counted: each run a look-up misses
    is added (with its term) right after that look-up."""

    def get(self, key: bytes, default: object = None) -> object:  # type: ignore[override]
        value = super().get(key, default)
        if value is default:
            self[key] = terms._term_of(key)
        return value


@given(texts, texts, texts)
def test_runs_another_thread_adds_meanwhile_are_counted(
    title: str, description: str, steps: str
) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(terms, "_MEMO", _RacingMemo())
        got = term_frequencies(title, description, steps)
    assert got == _frequencies_loop(title, description, steps, MAX_TERMS)


# Characters that NFKC or case folding change, compose or reorder: a field that starts or ends
# with one must give the same terms when the fields are tokenized joined by newlines.
EDGY = st.text(
    alphabet=st.sampled_from(
        [
            "a",
            "e",
            "s",
            "1",
            "_",
            " ",
            "\n",
            "\u0301",
            "\u0327",
            "\u1100",
            "\u1161",
            "\u11a8",
            "ß",
            "ﬁ",
            "Σ",
            "ς",
            "K",
            "\u212a",
            "①",
            "\uff21",
            "\u00a0",
            "İ",
        ]
    ),
    max_size=12,
)


@given(EDGY, EDGY, EDGY)
def test_term_frequencies_at_field_edges_equal_the_plain_loop(
    title: str, description: str, steps: str
) -> None:
    assert term_frequencies(title, description, steps) == _frequencies_loop(
        title, description, steps, MAX_TERMS
    )


@given(
    st.text(
        alphabet=st.sampled_from(["_", "a", "b", "1", " ", "é", "-", "K", "\u212a"]), max_size=40
    )
)
def test_tokens_around_underscores_equal_the_regex(text: str) -> None:
    """Runs of [a-z0-9_] split on everything else, leading underscores dropped, are the
    regex's matches (a run of underscores only is none)."""
    assert tokenize(text) == _tokenize_uncached(text)


EXAMPLES = Path(__file__).parents[5] / "examples" / "bug_reports.jsonl"


def test_the_examples_terms_equal_the_plain_loop() -> None:
    """Every example report, and its re-filing as the benchmarks' workload rewords it, twice:
    the second time its runs are in the memo."""
    reports = example_payloads(EXAMPLES, 1200)
    for _ in range(2):
        for p in reports:
            fields = (p["title"], p["description"], p["steps_to_reproduce"])
            assert term_frequencies(*fields) == _frequencies_loop(*fields, MAX_TERMS)


def test_terms_imports_no_private_name() -> None:
    """No private helper of another module (collections' _count_elements is CPython's, and
    not part of the language): the counting uses public API only."""
    tree = ast.parse(Path(terms.__file__).read_text())
    private = [
        f"{node.module}.{alias.name}"
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
        if alias.name.startswith("_")
    ]
    assert private == []
