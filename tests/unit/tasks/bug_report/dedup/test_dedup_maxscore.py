"""The pruned walk of the lexical candidates (maxscore.py) against the exhaustive one and a
plain loop: the same documents and the same floats, ties at the k-th best included."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inferstream.tasks.bug_report.dedup import exhaustive, maxscore
from inferstream.tasks.bug_report.dedup.postings import Postings, terms_of

TERMS = 10
# A few idfs, equal ones among them (ties) and sums that round (0.1-like floats).
IDFS = [1.0, 1.1, 1.3, 1.7000000000000002, 2.2, 3.3, 5.5]
LIMIT = 20


def _index(
    calls: list[list[set[int]]],
) -> tuple[Postings, list[set[int]], np.ndarray, list[set[int]]]:
    """Postings of documents added call by call (each its set of term ids), as the lexical
    index adds them; the documents, the document frequencies, and each document's terms that
    were within the limit when it was added (those it is posted under)."""
    postings = Postings()
    df = np.zeros(TERMS, dtype=np.int64)
    docs: list[set[int]] = []
    posted: list[set[int]] = []
    for call in calls:
        terms = [t for held in call for t in sorted(held)]
        owners = [len(docs) + i for i, held in enumerate(call) for _ in held]
        docs.extend(call)
        np.add.at(df, terms, 1)
        posted.extend({t for t in held if df[t] <= LIMIT} for held in call)
        postings.add(np.array(terms, dtype=np.int64), np.array(owners, dtype=np.int64), df, LIMIT)
    return postings, docs, df, posted


def _plain(
    docs: list[set[int]], queries: list[list[tuple[int, float]]], k: int
) -> list[tuple[int, int, float]]:
    """Each query's documents reaching its k-th best sum of held terms' weights, summed by a
    loop in the query's term order."""
    out = []
    for q, terms in enumerate(queries):
        scores: dict[int, float] = {}
        for doc, held in enumerate(docs):
            total = 0.0
            for term, weight in terms:
                if term in held:
                    total += weight
            if any(term in held for term, _ in terms):
                scores[doc] = total
        if not scores:
            continue
        values = sorted(scores.values(), reverse=True)
        kth = values[min(k, len(values)) - 1]
        out.extend((q, doc, s) for doc, s in sorted(scores.items()) if s >= kth)
    return out


documents = st.lists(
    st.lists(st.sets(st.integers(0, TERMS - 1), min_size=1, max_size=6), min_size=1, max_size=8),
    max_size=8,
)
# A query: distinct terms (one term, repeated across queries, or none) each with an idf, in
# decreasing idf as rare_terms orders them.
query_terms = st.lists(
    st.tuples(st.integers(0, TERMS - 1), st.sampled_from(IDFS)),
    max_size=8,
    unique_by=lambda tw: tw[0],
).map(lambda terms: sorted(terms, key=lambda tw: -tw[1]))


@settings(max_examples=300, deadline=None)
@given(documents, st.lists(query_terms, min_size=1, max_size=6), st.integers(1, 12), st.data())
def test_the_pruned_walk_finds_the_exhaustive_documents_and_floats(
    calls: list[list[set[int]]],
    queries: list[list[tuple[int, float]]],
    k: int,
    data: st.DataObject,
) -> None:
    """Whatever the prefix walked first (one term, a few postings or all of them), with k above
    or below the matches, terms without postings, one-term queries and equal idfs: the pruned
    walk gives every query the exhaustive walk's documents and scores, which are the loop's."""
    postings, docs, df, _ = _index(calls)
    # As rare_terms asks: terms within the postings' limit only.
    queries = [[(t, w) for t, w in terms if df[t] <= LIMIT] for terms in queries]
    flat = [t for terms in queries for t, _ in terms]
    term_ids = np.array(flat, dtype=np.int64)
    weight = np.array([w for terms in queries for _, w in terms], dtype=np.float64)
    bounds = np.cumsum([0, *map(len, queries)]).tolist()
    n = len(docs)
    expected = _plain(docs, queries, k)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(maxscore, "PREFIX_POSTINGS", data.draw(st.sampled_from([0, 1, 4, 10**6])))
        got = maxscore.reached(postings, term_ids, df[term_ids], weight, bounds, n, k)
    whole = exhaustive.reached(postings, term_ids, weight, bounds, n, k)
    as_list = list(zip(*(a.tolist() for a in got), strict=True))
    assert as_list == expected
    assert list(zip(*(a.tolist() for a in whole), strict=True)) == expected
    # Documents ascending within a query, queries ascending.
    assert as_list == sorted(as_list, key=lambda row: row[:2])


@given(documents)
def test_a_documents_terms_are_those_it_was_posted_under(calls: list[list[set[int]]]) -> None:
    postings, docs, _, posted = _index(calls)
    wanted = np.arange(len(docs), dtype=np.int64)[::-1].copy()
    owner, term = terms_of(postings, wanted)
    got: dict[int, set[int]] = {}
    for i, t in zip(owner.tolist(), term.tolist(), strict=True):
        got.setdefault(int(wanted[i]), set()).add(t)
    assert got == {d: held for d, held in enumerate(posted) if held}
    assert (np.diff(owner) >= 0).all()
