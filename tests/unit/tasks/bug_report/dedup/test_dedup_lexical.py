"""Lexical similarity: TF-IDF cosine, bounded candidate generation (per query and batched)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from inferstream.tasks.bug_report.dedup import exhaustive, lexical
from inferstream.tasks.bug_report.dedup.lexical import LexicalIndex
from inferstream.tasks.bug_report.dedup.terms import term_frequencies

ORIGINAL = term_frequencies(
    "Export to PNG crashes the editor",
    "Every PNG export crashes Lumen right after choosing the file name.",
    "",
)
PARAPHRASE = term_frequencies(
    "Editor crashes when I export a PNG",
    "Saving my picture as PNG closes the whole app, every time since the update.",
    "",
)
NEAR_MISS = term_frequencies(
    "Export to PDF loses layer names",
    "When I export a document as PDF the layer names are replaced by numbers.",
    "",
)
OTHERS = [
    term_frequencies(
        "Login button does nothing", "Tapping login on the start screen has no effect.", ""
    ),
    term_frequencies(
        "Dark mode colours wrong", "Menu text is black on a dark grey background.", ""
    ),
    term_frequencies("Sync stuck at 99%", "Notes never finish syncing to the laptop.", ""),
]


def test_a_paraphrase_is_lexically_closer_than_a_near_miss() -> None:
    index = LexicalIndex()
    index.add([("orig", ORIGINAL), *((f"o{n}", t) for n, t in enumerate(OTHERS))])
    paraphrase, near_miss = index.similarity(PARAPHRASE, [ORIGINAL, NEAR_MISS])
    assert paraphrase > 0.3
    assert near_miss < 0.2
    assert index.similarity(ORIGINAL, [ORIGINAL]) == [1.0]


def test_candidates_share_rare_terms_and_skip_terms_that_are_everywhere() -> None:
    index = LexicalIndex(max_postings=2)
    index.add([("orig", ORIGINAL), ("near", NEAR_MISS)])
    index.add((f"x{n}", {"export": 1, f"filler{n}": 1}) for n in range(5))
    found = dict(index.candidates(PARAPHRASE, 10))
    # "export" is in 7 reports (> max_postings): it brings no candidate on its own.
    assert set(found) == {"orig"}
    assert index.candidates({"nothing": 1}, 10) == []


def test_adding_the_same_report_twice_changes_nothing() -> None:
    index = LexicalIndex()
    assert index.add([("a", ORIGINAL), ("b", NEAR_MISS)]) == 2
    before = index.similarity(PARAPHRASE, [ORIGINAL, NEAR_MISS])
    assert index.add([("a", ORIGINAL)]) == 0
    assert len(index) == 2
    assert index.similarity(PARAPHRASE, [ORIGINAL, NEAR_MISS]) == before


term_maps = st.dictionaries(
    st.sampled_from(["crash", "export", "png", "pdf", "layer", "sync", "login", "note"]),
    st.integers(1, 4),
    min_size=1,
)


@given(st.lists(term_maps, min_size=1, max_size=12), st.randoms(use_true_random=False))
def test_rebuild_in_any_order_with_replays_gives_the_same_scores(
    docs: list[dict[str, int]], rnd: object
) -> None:
    """What the infer worker rebuilds from Postgres (any row order, rows replayed by the
    follower) scores exactly like the index built incrementally."""
    entries = [(f"d{n}", d) for n, d in enumerate(docs)]
    incremental = LexicalIndex()
    for entry in entries:
        incremental.add([entry])
    shuffled = list(entries)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    rebuilt = LexicalIndex()
    rebuilt.add(shuffled + shuffled[: len(shuffled) // 2])
    query = docs[0]
    assert rebuilt.similarity(query, docs) == incremental.similarity(query, docs)
    assert sorted(rebuilt.candidates(query, 5)) == sorted(incremental.candidates(query, 5))


def reference_cosines(
    indexed: Sequence[Mapping[str, int]],
    query: Mapping[str, int],
    others: Sequence[Mapping[str, int]],
) -> list[float]:
    """TF-IDF cosine as the plain loop over term maps computes it (sums left to right)."""
    n = len(indexed)

    def weigh(terms: Mapping[str, int]) -> tuple[dict[str, float], float]:
        weights: dict[str, float] = {}
        for t, c in terms.items():
            if c > 0:
                df = sum(t in d for d in indexed)
                weights[t] = (1.0 + math.log(c)) * (math.log((n + 1) / (df + 1)) + 1.0)
        squares = 0.0
        for w in weights.values():
            squares += w * w
        return weights, math.sqrt(squares)

    q, q_norm = weigh(query)
    out: list[float] = []
    for other in others:
        d, d_norm = weigh(other)
        dot = 0.0
        for t, w in q.items():
            if t in d:
                dot += w * d[t]
        out.append(min(1.0, dot / (q_norm * d_norm)) if q_norm and d_norm else 0.0)
    return out


counted_terms = st.dictionaries(
    st.sampled_from(["crash", "export", "png", "pdf", "layer", "sync", "login", "note", "new"]),
    st.integers(0, 40),
    min_size=0,
)


@given(
    st.lists(counted_terms, min_size=0, max_size=12),
    st.lists(counted_terms, min_size=1, max_size=6),
    st.data(),
)
def test_batched_cosines_are_the_plain_loops_floats(
    indexed: list[dict[str, int]], batch: list[dict[str, int]], data: st.DataObject
) -> None:
    """One call for a whole batch, each report against indexed reports (by id, unknown ids
    included), reports of the batch (by position) and terms nothing indexed holds ("new"):
    exactly the floats of the loop over term maps, whatever else the call holds."""
    index = LexicalIndex()
    index.add((f"d{n}", d) for n, d in enumerate(indexed))
    stored = [d for d in indexed if d]  # an empty map is not indexed
    names = [*(f"d{n}" for n in range(len(indexed))), "unknown", *range(len(batch))]
    others = [data.draw(st.lists(st.sampled_from(names), max_size=8)) for _ in batch]
    batched = index.similarities(batch, others)

    def terms(name: int | str) -> Mapping[str, int]:
        if isinstance(name, int):
            return batch[name]
        return {} if name == "unknown" else indexed[int(name[1:])]

    expected = [
        reference_cosines(stored, query, [terms(o) for o in named])
        for query, named in zip(batch, others, strict=True)
    ]
    assert batched == expected


@given(
    st.lists(st.lists(counted_terms, max_size=5), max_size=4),
    st.lists(counted_terms, min_size=1, max_size=4),
)
def test_the_term_order_kept_at_add_time_sorts_every_entity_by_term(
    calls: list[list[dict[str, int]]], batch: list[dict[str, int]]
) -> None:
    """The cosines read each indexed run in term order from what add() kept, over several
    add calls, instead of sorting: that order must sort every (entity, term) key."""
    index = LexicalIndex()
    added = 0
    for call in calls:
        index.add((f"d{added + n}", d) for n, d in enumerate(call))
        added += len(call)
    named = [*(f"d{n}" for n in range(added)), "unknown"]
    entities = index._entities(batch, np.array([index._numbers.get(o, -1) for o in named]))
    assert callable(entities.order)  # computed only for a call too large for the table
    order = entities.order()
    keys = entities.owner * (int(entities.term.max(initial=0)) + 1) + entities.term
    assert sorted(order.tolist()) == list(range(len(keys)))
    assert (np.diff(keys[order]) > 0).all()


@given(st.lists(term_maps, min_size=1, max_size=12), st.lists(term_maps, min_size=1, max_size=6))
def test_one_batched_call_scores_like_one_call_per_query(
    indexed: list[dict[str, int]], batch: list[dict[str, int]]
) -> None:
    """The scorer asks once per batch, with each report of the batch a candidate of the later
    ones (by position): the same floats as asking one query at a time."""
    index = LexicalIndex()
    index.add((f"d{n}", d) for n, d in enumerate(indexed))
    others = [[*(f"d{n}" for n in range(len(indexed))), *range(i)] for i in range(len(batch))]
    batched = index.similarities(batch, others)
    one_by_one = [index.similarity(query, [*indexed, *batch[:i]]) for i, query in enumerate(batch)]
    assert batched == one_by_one


@given(
    st.lists(term_maps, min_size=0, max_size=30),
    term_maps,
    st.integers(1, 8),
    st.integers(1, 40),
)
def test_candidates_are_the_first_k_of_the_full_ranking(
    docs: list[dict[str, int]], query: dict[str, int], k: int, max_postings: int
) -> None:
    """Only the ids reaching the k-th best score are sorted: the result is still the first k of
    every candidate ranked by score then id (many ties: 8 terms shared by up to 30 reports)."""
    index = LexicalIndex(max_postings=max_postings)
    index.add((f"r{n:02d}", d) for n, d in enumerate(docs))
    n = len(docs)
    usable = sorted(
        (t for t in query if 0 < sum(t in d for d in docs) <= max_postings),
        key=lambda t: (sum(t in d for d in docs), t),
    )
    full: dict[str, float] = {}
    for term in usable[: index.max_query_terms]:
        df = sum(term in d for d in docs)
        idf = math.log((n + 1) / (df + 1)) + 1.0
        for i, d in enumerate(docs):
            if term in d:
                full[f"r{i:02d}"] = full.get(f"r{i:02d}", 0.0) + idf
    expected = sorted(full.items(), key=lambda kv: (-kv[1], kv[0]))[:k]
    assert index.candidates(query, k) == expected


def test_positions_must_name_reports_of_the_batch() -> None:
    index = LexicalIndex()
    index.add([("orig", ORIGINAL)])
    with pytest.raises(ValueError, match="position 1 outside a batch of 1"):
        index.similarities([PARAPHRASE], [[1]])
    with pytest.raises(ValueError, match="2 lists of others for a batch of 1"):
        index.similarities([PARAPHRASE], [["orig"], ["orig"]])
    assert index.similarities([PARAPHRASE, ORIGINAL], [["orig"]]) == [
        index.similarity(PARAPHRASE, [ORIGINAL])
    ]


@given(
    st.lists(term_maps, min_size=0, max_size=30),
    st.lists(term_maps, min_size=1, max_size=8),
    st.integers(1, 8),
    st.integers(1, 40),
)
def test_batched_candidates_are_each_querys_own(
    docs: list[dict[str, int]], queries: list[dict[str, int]], k: int, max_postings: int
) -> None:
    """The infer stage asks for a whole batch's candidates in one call (one sort of the batch's
    postings): each query gets exactly what it gets alone, floats and tie order included."""
    index = LexicalIndex(max_postings=max_postings)
    index.add((f"r{n:02d}", d) for n, d in enumerate(docs))
    assert index.candidates_many(queries, k) == [index.candidates(q, k) for q in queries]
    assert index.candidates_many(queries, 0) == [[] for _ in queries]


@given(
    st.lists(term_maps, min_size=0, max_size=30),
    st.lists(term_maps, min_size=1, max_size=8),
    st.integers(1, 8),
    st.sampled_from([0, 10**9]),
    st.sampled_from([1, 7, 40, 1 << 17]),
    st.integers(1, 3),
)
def test_batched_candidates_by_table_and_by_query_are_the_same(
    docs: list[dict[str, int]],
    queries: list[dict[str, int]],
    k: int,
    factor: int,
    block: int,
    calls: int,
) -> None:
    """The (query x document) table of a whole batch, summed in blocks of queries of any size
    (exhaustive.BLOCK_CELLS), and the per-query walk (exhaustive.DENSE_FACTOR picks one by
    size) give every query the same candidates, floats and tie order included; documents added
    in several calls make several runs of postings."""
    index = LexicalIndex(max_postings=20)
    named = [(f"r{n:02d}", d) for n, d in enumerate(docs)]
    for part in range(calls):
        index.add(named[part::calls])
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(exhaustive, "DENSE_FACTOR", factor)
        patch.setattr(exhaustive, "BLOCK_CELLS", block)
        got = index.candidates_many(queries, k)
    assert got == [index.candidates(q, k) for q in queries]


def test_log_tfs_by_table_and_by_call_are_math_logs() -> None:
    counts = np.array([1, 2, 3, 7, 2, 1000, 1023, 1024, 5000], dtype=np.int64)
    expected = [1.0 + math.log(c) for c in counts.tolist()]
    assert lexical.log_tfs(counts).tolist() == expected
    assert lexical.log_tfs(counts[:5]).tolist() == expected[:5]  # all from the table
    assert lexical.log_tfs(counts.astype(np.float64)).tolist() == expected


@given(
    st.lists(term_maps, min_size=0, max_size=30),
    st.lists(term_maps, min_size=1, max_size=8),
    st.integers(1, 8),
    st.sampled_from([0, 10**9]),
)
def test_candidate_keys_are_the_candidates_of_each_query(
    docs: list[dict[str, int]], queries: list[dict[str, int]], k: int, factor: int
) -> None:
    """The scorer's arrays (query, key) hold each query's candidates (ties at the k-th cut
    by id), by the key given at add time, whichever way the sums were found."""
    index = LexicalIndex(max_postings=20)
    ids = [f"r{n:02d}" for n in range(len(docs))]
    index.add(zip(ids, docs, strict=True), [100 + 3 * n for n in range(len(docs))])
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(exhaustive, "DENSE_FACTOR", factor)
        query, key = index.candidate_keys(queries, k)
    got = [
        sorted(ids[(c - 100) // 3] for c in key[query == q].tolist()) for q in range(len(queries))
    ]
    assert got == [sorted(id_ for id_, _ in index.candidates(q, k)) for q in queries]


@given(
    st.lists(term_maps, min_size=1, max_size=8),
    st.integers(1, 8),
    st.sampled_from(["", "p" * 8, "p" * 13, "p" * 16, "\u00e9" * 8, "\U0001f600" * 4]),
    st.lists(st.text(max_size=6), min_size=0, max_size=30, unique=True),
    st.data(),
)
def test_ties_are_cut_by_python_str_order_whatever_the_ids(
    queries: list[dict[str, int]],
    k: int,
    prefix: str,
    names: list[str],
    data: st.DataObject,
) -> None:
    """Ties at the k-th best are cut by id in Python's str order, read from the ids' first 8
    or 16 bytes where they differ and by a sort of the ids where they do not (ids sharing 8,
    13 or 16 bytes, non-ASCII ids, ids that are prefixes of others)."""
    docs = [data.draw(term_maps) for _ in names]
    ids = [prefix + name for name in names]
    index = LexicalIndex(max_postings=20)
    index.add(zip(ids, docs, strict=True), range(len(docs)))
    query, key = index.candidate_keys(queries, k)
    got = [sorted(ids[c] for c in key[query == q].tolist()) for q in range(len(queries))]
    # candidates() ranks (id, score) tuples by Python's own sort.
    assert got == [sorted(id_ for id_, _ in index.candidates(q, k)) for q in queries]
