"""The lexical index's postings as runs sorted by term, against a plain dict of lists."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from inferstream.tasks.bug_report.dedup.postings import Postings, gather_runs, slices

TERMS = 8
# add() calls: each a list of documents, each document the term ids it holds.
calls = st.lists(
    st.lists(st.sets(st.integers(0, TERMS - 1), min_size=1), min_size=1, max_size=6),
    max_size=12,
)


@given(calls, st.integers(1, 20), st.lists(st.integers(-1, TERMS), max_size=12))
def test_gather_is_the_plain_postings_in_the_asked_order(
    adds: list[list[set[int]]], limit: int, wanted: list[int]
) -> None:
    """Every document holding a wanted term whose document frequency is within the limit, and
    each document's postings in the order the terms were asked for (runs merge whole)."""
    postings = Postings()
    df = np.zeros(TERMS, dtype=np.int64)
    plain: dict[int, list[int]] = {}
    number = 0
    for call in adds:
        terms: list[int] = []
        docs: list[int] = []
        for held in call:
            for term in sorted(held):
                terms.append(term)
                docs.append(number)
                plain.setdefault(term, []).append(number)
            number += 1
        np.add.at(df, terms, 1)
        postings.add(np.array(terms, dtype=np.int64), np.array(docs, dtype=np.int64), df, limit)
    assert len(postings.runs) <= max(1, 2 * int(np.log2(max(len(postings), 1))) + 2)
    asked = np.array([t for t in wanted if 0 <= t < TERMS and df[t] <= limit], dtype=np.int64)
    which, docs = postings.gather(asked)
    got: dict[int, list[int]] = {}  # position in asked -> documents
    for w, doc in zip(which.tolist(), docs.tolist(), strict=True):
        got.setdefault(w, []).append(doc)
    expected = {w: plain[t] for w, t in enumerate(asked.tolist()) if t in plain}
    assert {w: sorted(d) for w, d in got.items()} == expected
    per_doc: dict[int, list[int]] = {}
    for w, doc in zip(which.tolist(), docs.tolist(), strict=True):
        per_doc.setdefault(doc, []).append(w)
    assert all(ws == sorted(ws) for ws in per_doc.values())
    # The same postings keyed by a base per asked term, with its weight, in the same order.
    base = np.arange(len(asked), dtype=np.int64) * 1000
    weight = np.arange(len(asked), dtype=np.float64) + 0.5
    runs, run_weights, found = gather_runs(postings, asked, base, weight)
    assert [len(r) for r in runs] == [len(w) for w in run_weights]
    assert [key for run in runs for key in run.tolist()] == (base[which] + docs).tolist()
    assert [w for run in run_weights for w in run.tolist()] == weight[which].tolist()
    # Each run's postings come in the order of base (what a block of queries relies on).
    assert all((np.diff(run // 1000) >= 0).all() for run in runs)
    assert found.tolist() == [len(plain.get(t, [])) for t in asked.tolist()]
    # The same postings as places in the one buffer every run's documents sit in, in the
    # order of asked: each document's postings in the asked order, every run's part its own.
    buffer = postings.docs.data
    assert all(
        (buffer[run.offset : run.offset + len(run.docs)] == run.docs).all() for run in postings.runs
    )
    which_at, starts, lengths = slices(postings, asked)
    assert (np.diff(which_at) >= 0).all() and (lengths > 0).all()
    placed = [
        (w, int(d))
        for w, s, n in zip(which_at, starts, lengths, strict=True)
        for d in buffer[s : s + n]
    ]
    assert sorted(placed) == sorted(zip(which.tolist(), docs.tolist(), strict=True))


def test_a_term_past_the_limit_is_dropped() -> None:
    """Term 0 is in every document: past the limit its postings are no longer added, and the
    ones added before go at the next merge of their run, so memory follows the rare terms."""
    postings = Postings()
    df = np.zeros(65, dtype=np.int64)
    for doc in range(64):
        terms = np.array([0, 1 + doc], dtype=np.int64)
        df[terms] += 1
        postings.add(terms, np.array([doc, doc], dtype=np.int64), df, 2)
    assert len(postings) == 64
    assert postings.gather(np.array([0], dtype=np.int64))[1].tolist() == []
    which, docs = postings.gather(np.array([5, 1], dtype=np.int64))
    assert (which.tolist(), docs.tolist()) == ([0, 1], [4, 0])  # one run: asked order
