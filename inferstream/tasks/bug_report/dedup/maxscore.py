"""The lexical candidates of a batch of queries: each query's documents reaching its k-th best
score (the sum of the idfs of the query terms a document holds), pruned MaxScore-style, with
the exhaustive walk's floats (pure numpy).

A query's terms come rarest first, so in decreasing idf (rare_terms), and a document's score
adds the idfs of the terms it holds in that order, from 0.0. Late in a 20,000-report run 99 %
of a batch's ~750,000 postings belong to terms that cannot bring a document to its query's
k-th best, and summing them all (exhaustive.py) was most of the candidates' cost. Here, for a
query whose rarest term has at least k postings:

1. The postings of its rarest terms, up to ``PREFIX_POSTINGS`` (at least one term), give each
   document seen a partial score (a ``bincount``: it adds in input order, and a document's
   postings come in the query's term order, postings.py).
2. k documents of the best partial scores get their exact scores: each adds the idfs of the
   query's other terms it holds (read from its own terms, ``postings.terms_of``) in term order,
   an exact + 0.0 where it does not hold one, so the float of the exhaustive walk. Their k-th
   best, or the idf of a term with k postings (``floor_bounds``), is a lower bound ``theta`` of
   the query's k-th best.
3. A document none of the walked terms holds scores at most the sum of the other terms' idfs
   (``suffix_bounds``: raised by a margin far above the rounding of <= 24 additions). If that
   is below ``theta``, no unseen document can reach the k-th best; else the query is walked
   whole after all. A seen document's score is at most its partial score plus that sum
   (rounding to nearest is monotone: adding a positive idf never lowers a sum), so only those
   reaching ``theta`` are scored, and the k-th best and its ties are the exhaustive walk's.

A query whose rarest term has fewer than k postings is walked whole from the start: its k-th
best is then seldom a document sharing its rarest terms, so little would be pruned (early in a
run, when each report has fewer than k near-copies, that is most queries).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from inferstream.tasks.bug_report.dedup import exhaustive
from inferstream.tasks.bug_report.dedup.arrays import kth_best
from inferstream.tasks.bug_report.dedup.postings import Postings, gather_runs, terms_of
from inferstream.tasks.bug_report.dedup.tfidf import distinct_places, ranges

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]

# The postings of each query's rarest terms walked before its k-th best is bounded: enough to
# see the documents that share the query's rarest terms, few next to its ~6,000 postings.
PREFIX_POSTINGS = 128
# Relative margin of the upper bounds: far above the rounding of a sum of <= 24 positive
# floats (24 x 2**-53 ~ 3e-15); a looser bound only prunes less.
MARGIN = 1e-12

_NONE = np.empty(0, dtype=np.int64)
_NO_WEIGHT = np.empty(0, dtype=np.float64)


def reached(
    postings: Postings,
    term_ids: Ints,
    dfs: Ints,
    weight: Floats,
    bounds: list[int],
    n: int,
    k: int,
) -> tuple[Ints, Ints, Floats]:
    """Per query (ascending), the documents reaching its k-th best score (ties at the k-th
    included) and those scores, as arrays (query, document number, score). Query i's terms
    are term_ids[bounds[i]:bounds[i + 1]], in decreasing ``weight`` (their idfs, each >= 1),
    with their document frequencies ``dfs`` (a term within the postings' limit has every
    document holding it in its postings); n documents are indexed; k >= 1."""
    edges = np.asarray(bounds, dtype=np.int64)
    lengths = edges[1:] - edges[:-1]
    # A query whose rarest term has fewer than k postings is walked whole (exhaustive.py):
    # its k-th best is then seldom a document sharing its rarest terms, so little is pruned.
    # So is every query of a batch where most are: pruning a few costs more than it saves.
    whole = lengths == 0
    whole[~whole] = dfs[edges[:-1][~whole]] < k
    if 2 * np.count_nonzero(whole) > len(whole):
        whole[:] = True
    picked = np.flatnonzero(~whole)
    parts: list[tuple[Ints, Ints, Ints, Floats]] = []
    if len(picked):
        entries = _entries(edges, picked)
        query, docs, scores, weak = _pruned(
            postings, term_ids[entries], dfs[entries], weight[entries], lengths[picked], n, k
        )
        parts.append((picked, query, docs, scores))
        whole[picked[weak]] = True
    if whole.any():
        picked = np.flatnonzero(whole)
        entries = _entries(edges, picked)
        subset = np.concatenate([[0], np.cumsum(lengths[picked])]).tolist()
        found = exhaustive.reached(postings, term_ids[entries], weight[entries], subset, n, k)
        parts.append((picked, *found))
    if not parts:
        return _NONE, _NONE, _NO_WEIGHT
    query = np.concatenate([picked[query] for picked, query, _, _ in parts])
    order = np.argsort(query, kind="stable")
    docs = np.concatenate([docs for _, _, docs, _ in parts])[order]
    return query[order], docs, np.concatenate([scores for *_, scores in parts])[order]


def _entries(edges: Ints, picked: Ints) -> Ints:
    """The indexes of the picked queries' terms (query i's: edges[i]..edges[i + 1] - 1)."""
    return ranges(edges[picked], edges[picked + 1] - edges[picked])


def _pruned(
    postings: Postings, term_ids: Ints, dfs: Ints, weight: Floats, lengths: Ints, n: int, k: int
) -> tuple[Ints, Ints, Floats, npt.NDArray[np.bool_]]:
    """``reached`` of queries whose terms each start with k postings or more, pruned; and the
    queries it leaves to be walked whole (``weak``: their results are left out)."""
    size = len(lengths)
    table = _Terms(postings, term_ids, weight, lengths)
    found = np.zeros(table.terms.shape, dtype=np.int64)
    found[table.slots] = dfs
    # Past the last slot: 0.0, no document holds more.
    suffix = np.append(suffix_bounds(table.weights), np.zeros((size, 1)), axis=1)
    # Step 1: the rarest terms, up to PREFIX_POSTINGS postings (at least one term).
    walked = np.count_nonzero(np.cumsum(found, axis=1) <= PREFIX_POSTINGS, axis=1)
    walked = np.minimum(np.maximum(walked, 1), lengths)
    cells, sums = table.walk(n, np.zeros(size, dtype=np.int64), walked)
    # Step 2: the exact scores of k of each query's best partial scores: their k-th best
    # bounds the query's k-th best from below.
    query = cells // n
    top = best_k(query, sums, k, size)
    exact = table.scores(query[top], cells[top] - query[top] * n, sums[top], walked)
    theta = np.maximum(floor_bounds(found, table.weights, k), kth_best(query[top], exact, k, size))
    scores = np.full(len(cells), np.nan)
    scores[top] = exact
    # A query whose theta a document none of the walked terms holds may still reach is
    # walked whole too: its unseen documents would all need their terms read.
    weak = suffix[np.arange(size), walked] >= theta
    strong = ~weak[query]
    query, cells, sums, scores = query[strong], cells[strong], sums[strong], scores[strong]
    # Step 3: the scores of the other seen documents that may still reach theta; with them,
    # every document that can reach the k-th best is scored.
    bound = (sums + suffix[query, walked[query]]) * (1 + MARGIN)
    rest = np.flatnonzero(np.isnan(scores) & (bound >= theta[query]))
    scores[rest] = table.scores(query[rest], cells[rest] - query[rest] * n, sums[rest], walked)
    known = np.flatnonzero(~np.isnan(scores))
    query, docs, scores = query[known], cells[known] - query[known] * n, scores[known]
    reach = scores >= kth_best(query, scores, k, size)[query]
    return query[reach], docs[reach], scores[reach], weak


class _Terms:
    """A batch's terms as (query x slot) tables (padded: term -1, weight 0.0) and the
    postings they come from."""

    def __init__(self, postings: Postings, term_ids: Ints, weight: Floats, lengths: Ints) -> None:
        size, width = len(lengths), int(lengths.max(initial=0))
        self.postings = postings
        self.slots = np.arange(width) < lengths[:, None]
        self.terms = np.full((size, width), -1, dtype=np.int64)
        self.terms[self.slots] = term_ids
        self.weights = np.zeros((size, width), dtype=np.float64)
        self.weights[self.slots] = weight
        # The batch's distinct terms, each term id's place among them (``place``: a table
        # up to the batch's largest term id, its last entry for every term past it, as for a
        # term outside the batch) and each one's slot in each query (-1: none; the last
        # column for a term outside the batch): a document's terms meet its query's slots by
        # two gathers (a binary search per term was twice the time, a ``np.unique`` and a
        # table as long as the vocabulary per call a tenth of the pruned walk).
        self.distinct, self.place = distinct_places(term_ids, int(term_ids.max(initial=-1)) + 2)
        self.slot_of = np.full((size, len(self.distinct) + 1), -1, dtype=np.int64)
        query = np.repeat(np.arange(size), lengths)
        self.slot_of[query, self.place[term_ids]] = (
            np.arange(len(term_ids)) - (np.cumsum(lengths) - lengths)[query]
        )

    def walk(
        self, n: int, first: Ints, end: Ints, cells: Ints = _NONE, sums: Floats = _NO_WEIGHT
    ) -> tuple[Ints, Floats]:
        """The partial scores after adding each query's slots first..end-1 to ``sums`` (of
        ``cells``: query x n + document, ascending): the distinct cells and their sums, each
        starting from its earlier sum and adding its new postings in slot order."""
        slots = np.arange(self.terms.shape[1])
        chosen = (slots >= first[:, None]) & (slots < end[:, None])
        query = np.broadcast_to(np.arange(len(self.terms))[:, None], self.terms.shape)[chosen]
        keys, idfs, _ = gather_runs(
            self.postings, self.terms[chosen], query * n, self.weights[chosen]
        )
        every = np.concatenate([cells, *keys])
        if len(every) == 0:
            return _NONE, _NO_WEIGHT
        # Each key's place among the distinct ones by a stable sort (timsort: the keys come
        # in ascending runs, a run's postings query by query) and its runs of equals: a third
        # of ``np.unique``'s time with its inverse.
        order = np.argsort(every, kind="stable")
        ranked = every[order]
        first = np.ones(len(ranked), dtype=bool)
        np.not_equal(ranked[1:], ranked[:-1], out=first[1:])
        where = np.empty(len(every), dtype=np.int64)
        where[order] = np.cumsum(first) - 1
        added = np.bincount(where, weights=np.concatenate([sums, *idfs]))
        return ranked[first], added.astype(np.float64, copy=False)

    def scores(self, query: Ints, docs: Ints, sums: Floats, first: Ints) -> Floats:
        """The scores of (query, document) pairs from their partial ``sums``: each adds the
        weights of its query's slots from first[query] on that the document holds (read from
        the document's terms), slot by slot: an exact + 0.0 where it does not, so the walk's
        order of additions."""
        out = sums.copy()
        if len(query) == 0:
            return out
        pair, term = terms_of(self.postings, docs)
        asker = query[pair]
        # A term id past the table's end clips to its last entry: outside the batch. Flat
        # gathers and stores (a 2-D fancy index was twice the time).
        columns = self.slot_of.shape[1]
        slot = self.slot_of.take(asker * columns + self.place.take(term, mode="clip"))
        new = np.flatnonzero(slot >= first[asker])
        # Slot-major (slot x pair): each slot's additions are one contiguous row, where the
        # pair-major table's columns were strided reads (~25 % more of this function).
        pairs = len(query)
        held = np.zeros((self.terms.shape[1], pairs), dtype=bool)
        held.reshape(-1)[slot[new] * pairs + pair[new]] = True
        for row in np.where(held, self.weights.T[:, query], 0.0):
            out += row
        return out


def best_k(query: Ints, values: Floats, k: int, size: int) -> Ints:
    """Indexes of k of each query's best values (query ascending; all where it has fewer)."""
    count = np.bincount(query, minlength=size)
    starts = np.cumsum(count) - count
    picked = [np.flatnonzero(count[query] <= k)]
    for q in np.flatnonzero(count > k).tolist():
        start = int(starts[q])
        part = values[start : start + int(count[q])]
        picked.append(start + part.argpartition(-k)[-k:])
    out: Ints = np.sort(np.concatenate(picked))
    return out


def suffix_bounds(weights: Floats) -> Floats:
    """Per (query, slot j), an upper bound of the score of a document holding none of the
    query's terms before j: the sum of the weights from j on (each row summed from its end,
    one by one), raised by MARGIN."""
    tails: Floats = np.cumsum(weights[:, ::-1], axis=1)[:, ::-1] * (1 + MARGIN)
    return tails


def floor_bounds(found: Ints, weights: Floats, k: int) -> Floats:
    """A lower bound of each query's k-th best score from its terms alone: a term with at
    least k postings gives k documents each scoring at least its idf, so the k-th best is at
    least the largest idf of such a term. 0.5, below every idf (>= 1), where no term has k."""
    low: Floats = np.where(found >= k, weights, 0.5).max(axis=1, initial=0.5)
    return low
