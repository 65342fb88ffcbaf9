"""Lexical similarity for duplicate detection: TF-IDF cosine over title, description and steps,
kept incrementally (pure, in memory).

A report's lexical state is its term-frequency map (``terms``), which the result carries and
Postgres stores (``dedup_terms``), so the index is rebuilt from stored rows on restart and
followed live from other workers' results exactly like the faiss index. IDF is computed at query
time from the document frequencies of what has been indexed so far, so adding a report never
rewrites the others.

Cost per query is bounded, never a scan of the corpus: candidates come from the postings of the
query's ``MAX_QUERY_TERMS`` rarest terms, and terms found in more than ``MAX_POSTINGS`` reports
are skipped for candidate generation (they still count in the similarity of the candidates).
The walk over them (maxscore.py, pruned; exhaustive.py where pruning cannot help) is numpy
over the postings alone, whatever the index holds. The TF-IDF cosines
of a whole batch against its candidates are one ``tfidf.cosines`` call over flat term arrays
(a Python loop over term maps cost ~1.2 ms a report with ~60 candidates each).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from itertools import repeat
from operator import is_, itemgetter
from typing import Any

import numpy as np
import numpy.typing as npt

from inferstream.tasks.bug_report.dedup import maxscore, tfidf
from inferstream.tasks.bug_report.dedup.arrays import (
    Grown,
    Ints,
    Looked,
    looked_up,
    name_keys,
    pairs,
    rare_terms,
)
from inferstream.tasks.bug_report.dedup.postings import Postings
from inferstream.tasks.bug_report.dedup.terms import (
    TITLE_WEIGHT,
    Terms,
    term_frequencies,
    tokenize,
)

__all__ = ["TITLE_WEIGHT", "LexicalIndex", "Terms", "term_frequencies", "tokenize"]

MAX_QUERY_TERMS = 24
MAX_POSTINGS = 2_000


class LexicalIndex:
    """Inverted index id -> terms with document frequencies; thread-safe; replays harmless.

    A report's terms are kept as a run of (term id, 1 + log tf) in flat arrays, in its term
    map's order: what ``tfidf.cosines`` scores, with no Python loop per term at query time."""

    def __init__(
        self, max_query_terms: int = MAX_QUERY_TERMS, max_postings: int = MAX_POSTINGS
    ) -> None:
        self.max_query_terms = max_query_terms
        self.max_postings = max_postings
        self._lock = threading.Lock()
        self._ids: list[str] = []  # document number -> id, in the order added
        # document number -> its id's first bytes as integers (arrays.name_keys): ties at a
        # query's k-th best are ordered by id with one lexsort, not a Python sort of strs.
        self._name_keys = Grown(np.uint64, row_shape=(2,))
        self._numbers: dict[str, int] = {}  # id -> document number
        self._vocab: dict[str, int] = {}  # term -> term id
        self._df = Grown(np.int64)  # term id -> number of reports holding it
        self._run_start = Grown(np.int64)  # document number -> its first entry
        self._run_length = Grown(np.int64)  # document number -> its number of entries
        self._term = Grown(np.int64)  # entry -> term id
        self._log_tf = Grown(np.float64)  # entry -> 1 + log(term count)
        # A run's i-th entry by term id -> its index in the run: the TF-IDF cosines need each
        # run sorted by term, and sorting ~100 entries x every candidate per call was ~12 % of
        # the scorer's CPU (the run itself keeps its order: the sums of the norms follow it).
        self._within = Grown(np.int64)
        # A caller's integer key per document (the scorer's store row) and back, so that a
        # batch's candidates and pairs are arrays of keys, not ids looked up one by one.
        self._key = Grown(np.int64)  # document number -> key
        self._doc_of_key = Grown(np.int64)  # key -> document number, -1 for none
        # term id -> the numbers of the documents holding it, as runs sorted by term
        # (postings.py). A term found in more than max_postings reports is never a candidate
        # source again (df only grows), so its postings are dropped.
        self._postings = Postings()
        # The last batch looked up in the vocabulary: its maps (the objects), what
        # ``looked_up`` gave for them and the vocabulary's size then. The scorer passes one
        # batch to candidate_keys, similarities_by_key and add in turn: three look-ups of
        # every term of it were ~6-10 us per report.
        self._last: tuple[list[Terms], Looked, int] | None = None

    def __len__(self) -> int:
        with self._lock:
            return len(self._ids)

    def __contains__(self, item: object) -> bool:
        with self._lock:
            return item in self._numbers

    def add(self, entries: Iterable[tuple[str, Terms]], keys: Iterable[int] | None = None) -> int:
        """Index reports (ids already present or without terms are skipped); returns how many
        were new. ``keys``: a non-negative integer per entry that ``candidate_keys`` and
        ``similarities_by_key`` name the report by (its document number if not given). The
        flat arrays, document frequencies and postings grow once per call from flat lists of
        the call's (document, term, count) entries: no Python per posting (an ``extend`` per
        posting was ~7 % of the infer stage's CPU)."""
        new_terms: list[Terms] = []
        new_keys: list[int] = []
        with self._lock:
            first = len(self._ids)
            keyed = (
                zip(entries, keys, strict=True)
                if keys is not None
                else zip(entries, repeat(-1), strict=False)
            )
            for (id_, terms), key in keyed:
                if id_ in self._numbers or not terms:
                    continue
                number = self._numbers[id_] = len(self._ids)
                self._ids.append(id_)
                new_keys.append(number if keys is None else key)
                new_terms.append(terms)
            # The whole call's terms at once: one look-up pass, one growth of the document
            # frequencies (a report holds a term once, so a bincount counts the reports).
            term_ids, sizes, counts = self._term_ids(new_terms)
            if len(term_ids):
                owners = np.repeat(np.arange(first, len(self._ids), dtype=np.int64), sizes)
                self._df.data[: len(self._vocab)] += np.bincount(
                    term_ids, minlength=len(self._vocab)
                )
                self._grow(first, owners, term_ids, counts)
            if new_keys:
                self._add_keys(first, np.array(new_keys, dtype=np.int64))
                self._name_keys.extend(name_keys(self._ids[first:]))
            return len(self._ids) - first

    def _add_keys(self, first: int, keys: Ints) -> None:
        self._key.extend(keys)
        top = int(keys.max()) + 1
        if top > self._doc_of_key.used:
            self._doc_of_key.extend(np.full(top - self._doc_of_key.used, -1, dtype=np.int64))
        self._doc_of_key.data[keys] = np.arange(first, first + len(keys), dtype=np.int64)

    def _grow(self, first: int, owners: Ints, term_ids: Ints, count: npt.NDArray[Any]) -> None:
        """Append one add() call's documents (numbered from first): their runs of (term id,
        1 + log tf) over the positive counts, in each term map's order, and their postings. A
        term now in more than max_postings reports is never a candidate source again (df only
        grows), so its postings are dropped."""
        all_terms = np.asarray(term_ids, dtype=np.int64)
        self._postings.add(
            all_terms, np.asarray(owners, dtype=np.int64), self._df.data, self.max_postings
        )
        kept = count > 0
        owner = np.asarray(owners, dtype=np.int64)[kept] - first
        lengths = np.bincount(owner, minlength=len(self._ids) - first)
        starts = np.cumsum(lengths) - lengths  # within this call's entries
        self._run_start.extend(self._term.used + starts)
        self._run_length.extend(lengths)
        terms = all_terms[kept]
        # Runs are contiguous, in owner order; a run holds a term once, so one sort of
        # (owner, term) as one integer (a two-key lexsort took twice as long).
        by_term_id = np.argsort(owner * len(self._vocab) + terms)
        self._within.extend(by_term_id - starts[owner[by_term_id]])
        self._term.extend(terms)
        self._log_tf.extend(log_tfs(count[kept]))

    def _term_ids(self, batch: Sequence[Terms]) -> tuple[Ints, list[int], npt.NDArray[Any]]:
        """Ids of the batch's terms (flat, map after map), each map's size and the terms'
        counts; new terms numbered as they come (document frequency 0). Only the terms the
        vocabulary lacks take a Python step (a ``setdefault`` per term was ~3 us per report)."""
        flat, ids, sizes, counts = self._looked(batch)
        vocab = self._vocab
        known = len(vocab)
        missing = np.flatnonzero(ids < 0)
        if len(missing):
            ids = ids.copy()
            # setdefault's default is the size before the insertion: the next id.
            ids[missing] = [vocab.setdefault(flat[i], len(vocab)) for i in missing.tolist()]
            self._df.extend(np.zeros(len(vocab) - known, dtype=np.int64))
        return ids, sizes, counts

    def _looked(self, batch: Sequence[Terms]) -> Looked:
        """``looked_up(batch, vocabulary)``: the last batch's when these are its maps, the same
        objects of the same sizes (a ``Terms`` is read-only: a map is not changed once given),
        with the terms it lacked looked up again where the vocabulary grew since."""
        last = self._last
        if (
            last is not None
            and len(last[0]) == len(batch)
            and all(map(is_, last[0], batch))
            and list(map(len, batch)) == last[1][2]
        ):
            maps, (flat, ids, sizes, counts), known = last
            if len(self._vocab) > known:
                missing = np.flatnonzero(ids < 0)
                found = map(self._vocab.get, [flat[i] for i in missing.tolist()], repeat(-1))
                ids = ids.copy()
                ids[missing] = np.fromiter(found, np.int64, len(missing))
                self._last = (maps, (flat, ids, sizes, counts), len(self._vocab))
            return flat, ids, sizes, counts
        looked = looked_up(batch, self._vocab)
        self._last = (list(batch), looked, len(self._vocab))
        return looked

    def similarity(self, query: Terms, others: Sequence[Terms]) -> list[float]:
        """TF-IDF cosine of query to each of others, with the current document frequencies."""
        (scores,) = self.similarities([query, *others], [range(1, len(others) + 1)])
        return scores

    def similarities(
        self, batch: Sequence[Terms], others: Sequence[Iterable[int | str]]
    ) -> list[list[float]]:
        """TF-IDF cosine of batch[i] to each of others[i], all under one snapshot of the
        document frequencies: an int other is a position in batch (that report's terms), a str
        an indexed report (no terms, so 0.0, if it is not indexed). Sized for the infer stage's
        call: a batch's reports against their candidates and the earlier reports of the batch."""
        with self._lock:
            named, pair_query, pair_other = pairs(len(batch), others)
            stored = np.fromiter(map(self._numbers.get, named, repeat(-1)), np.int64, len(named))
            entities = self._entities(batch, stored)
            scores = tfidf.cosines(entities, pair_query, pair_other).tolist()
        out: list[list[float]] = []
        at = 0
        for count in np.bincount(pair_query, minlength=len(others)).tolist():
            out.append(scores[at : at + count])
            at += count
        return out

    def similarities_by_key(
        self, batch: Sequence[Terms], query: Ints, position: Ints, key: Ints
    ) -> npt.NDArray[np.float64]:
        """TF-IDF cosine of pairs p as arrays: batch[query[p]] to batch[position[p]] where that
        is >= 0, else to the indexed report of ``key[p]`` (0.0 if no report has that key); the
        floats of ``similarities``, under one snapshot of the document frequencies."""
        with self._lock:
            outside = position < 0
            wanted = key[outside]
            doc = np.full(len(wanted), -1, dtype=np.int64)
            known = (wanted >= 0) & (wanted < self._doc_of_key.used)
            doc[known] = self._doc_of_key.data[wanted[known]]
            stored, where = np.unique(doc, return_inverse=True)
            other = position.copy()
            other[outside] = len(batch) + where.reshape(-1)
            return tfidf.cosines(self._entities(batch, stored), query, other)

    def _entities(self, batch: Sequence[Terms], stored: Ints) -> tfidf.Entities:
        """The batch's reports (entities 0..len(batch)-1) and the indexed documents numbered
        in ``stored`` (after them; -1: none, no terms) as tfidf entities with the current
        weights."""
        unseen = len(self._vocab)
        batch_terms, batch_factors, batch_lengths = self._batch_runs(batch)
        present = stored >= 0
        lengths = np.zeros(len(stored), dtype=np.int64)
        starts = np.zeros(len(stored), dtype=np.int64)
        lengths[present] = self._run_length.view()[stored[present]]
        starts[present] = self._run_start.view()[stored[present]]
        gathered = tfidf.ranges(starts, lengths)
        stored_terms = self._term.data[gathered]
        all_lengths = np.concatenate([batch_lengths, lengths])
        term_ids = np.concatenate([batch_terms, stored_terms])
        factor = np.concatenate([batch_factors, self._log_tf.data[gathered]])
        # An indexed report's terms are all in the vocabulary; the batch's may not be (df 0).
        batch_df = np.zeros(len(batch_terms), dtype=np.int64)
        indexed = batch_terms < unseen
        batch_df[indexed] = self._df.data[batch_terms[indexed]]
        df = np.concatenate([batch_df, self._df.data[stored_terms]])
        within = self._within.data

        def order() -> Ints:
            """The entries in (entity, term) order: the batch's sorted here (few), each
            indexed run's read from its order kept at add time."""
            batch_owner = np.repeat(np.arange(len(batch), dtype=np.int64), batch_lengths)
            offsets = len(batch_terms) + np.cumsum(lengths) - lengths
            return np.concatenate(
                [
                    np.lexsort((batch_terms, batch_owner)),
                    np.repeat(offsets, lengths) + within[gathered],
                ]
            )

        return tfidf.Entities(
            start=np.cumsum(all_lengths) - all_lengths,
            length=all_lengths,
            term=term_ids,
            weight=factor * tfidf.idf(len(self._ids), df),
            order=order,
        )

    def _batch_runs(
        self, batch: Sequence[Terms]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.int64]]:
        """The batch's term ids, log tf factors (flat, in each map's order, positive counts
        only) and run lengths. Terms nothing indexed holds get ids past the vocabulary (df 0),
        shared within the call."""
        unseen = len(self._vocab)
        # C-level look-ups (``map``, shared with the batch's other calls), then a Python step
        # only for the terms nothing indexed holds (a comprehension per term was ~40 % of the
        # TF-IDF cosines' time).
        terms, ids, sizes, counts = self._looked(batch)
        new = np.flatnonzero(ids < 0)
        if len(new):
            local: dict[str, int] = {}
            ids = ids.copy()
            ids[new] = [local.setdefault(terms[i], unseen + len(local)) for i in new.tolist()]
        owner = np.repeat(np.arange(len(batch)), sizes)
        kept = counts > 0
        return (
            ids[kept],
            log_tfs(counts[kept]),
            np.bincount(owner[kept], minlength=len(batch)).astype(np.int64),
        )

    def candidates(self, query: Terms, k: int) -> list[tuple[str, float]]:
        """Up to k (id, partial score) by shared rare terms, best first (ties by id)."""
        (best,) = self.candidates_many([query], k)
        return best

    def candidates_many(self, queries: Sequence[Terms], k: int) -> list[list[tuple[str, float]]]:
        """``candidates(query, k)`` of every query, under one lock. The cost of a query is the
        postings it walks (at most max_query_terms x max_postings), not the index size."""
        if k <= 0:
            return [[] for _ in queries]
        with self._lock:
            query, docs, values = self._reached(queries, k)
            named = map(self._ids.__getitem__, docs.tolist())
        hits = list(zip(named, values.tolist(), strict=True))
        found: list[list[tuple[str, float]]] = []
        at = 0
        for size in np.bincount(query, minlength=len(queries)).tolist():
            best = hits[at : at + size]
            at += size
            # Best score first, ties by id: by id (distinct), then stably by score (reverse
            # keeps the order of equals): C-level keys, not a lambda and a tuple per hit.
            best.sort()
            best.sort(key=itemgetter(1), reverse=True)
            del best[k:]
            found.append(best)
        return found

    def candidate_keys(self, queries: Sequence[Terms], k: int) -> tuple[Ints, Ints]:
        """The documents of ``candidates_many(queries, k)`` as arrays (query, key), in no
        particular order: the scorer needs each query's set, not its ranking, so only a query
        whose k-th best score is tied past k sorts its tied ids."""
        if k <= 0:
            empty = np.empty(0, dtype=np.int64)
            return empty, empty
        with self._lock:
            query, docs, values = self._reached(queries, k)
            counts = np.bincount(query, minlength=len(queries))
            over = counts > k
            if not over.any():
                return query, self._key.data[docs]
            # A query past k has ties at its k-th best score (its lowest): of those, the
            # ones with the first ids fill the room the better ones leave. One sort of all
            # the tied ids of the call (by Python's str order), then a rank within each query.
            floor = np.full(len(queries), np.inf)
            np.minimum.at(floor, query, values)
            tied = np.flatnonzero(over[query] & (values == floor[query]))
            room = k - (counts - np.bincount(query[tied], minlength=len(queries)))
            ranked = self._by_name(tied, query[tied], docs[tied])
            first = np.searchsorted(query[ranked], np.arange(len(queries) + 1))
            within = np.arange(len(ranked)) - first[query[ranked]]
            keep = np.ones(len(docs), dtype=bool)
            keep[ranked[within >= room[query[ranked]]]] = False
            return query[keep], self._key.data[docs[keep]]

    def _by_name(self, tied: Ints, query: Ints, docs: Ints) -> Ints:
        """``tied`` ordered by (query, document id): by the ids' first 8 bytes, stably by
        query (two argsorts); where two of one query's ids share those, by their first 16
        (a lexsort), and where they share those too, by a Python sort of the ids as before.
        The first argsort need not be stable: ids sharing their first 8 bytes in one query
        are found and sorted again, and across queries their order is the query sort's."""
        keys = self._name_keys.data[docs]
        order = np.argsort(keys[:, 0])
        # Queries as 16-bit codes where they fit: numpy's stable sort of them is a radix sort.
        codes = query[order].astype(np.int16 if len(query) and query.max() < 2**15 else np.int64)
        order = order[np.argsort(codes, kind="stable")]
        for width in (1, 2):
            ranked, ranked_keys = query[order], keys[order, :width]
            same = (ranked[1:] == ranked[:-1]) & (ranked_keys[1:] == ranked_keys[:-1]).all(axis=1)
            if not same.any():
                return tied[order]
            order = np.lexsort((keys[:, 1], keys[:, 0], query))
        names = list(map(self._ids.__getitem__, docs.tolist()))
        by_name = np.array(sorted(range(len(tied)), key=names.__getitem__), dtype=np.int64)
        out: Ints = tied[by_name][np.argsort(query[by_name], kind="stable")]
        return out

    def _reached(
        self, queries: Sequence[Terms], k: int
    ) -> tuple[Ints, Ints, npt.NDArray[np.float64]]:
        """Per query (ascending), the documents reaching its k-th best partial score (ties at
        the k-th included) and those scores: arrays (query, document number, score)."""
        n = len(self._ids)
        term_ids, dfs, bounds = rare_terms(
            queries,
            self._vocab,
            self._df.data,
            self.max_postings,
            self.max_query_terms,
            self._looked(queries),
        )
        weight = tfidf.idf(n, dfs)
        return maxscore.reached(self._postings, term_ids, dfs, weight, bounds, n, k)


# ``tfidf.log_tf`` of the counts 1..LOG_TF_TABLE - 1 (index 0 unused): a report's counts are
# small integers, so a gather replaces a ``np.unique`` of every entry (~2 % of the scorer).
LOG_TF_TABLE = 1024
_LOG_TF = np.array([0.0, *(tfidf.log_tf(c) for c in range(1, LOG_TF_TABLE))], dtype=np.float64)


def log_tfs(counts: npt.NDArray[np.float64] | npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """``tfidf.log_tf`` of each count, ``math.log``'s floats (numpy's may differ in the last
    bit): gathered from a table of them for integer counts below LOG_TF_TABLE, else one call
    per distinct count, then gathered."""
    if len(counts) == 0:
        return np.empty(0, dtype=np.float64)
    if counts.dtype.kind in "iu" and counts.min() > 0 and counts.max() < LOG_TF_TABLE:
        table: npt.NDArray[np.float64] = _LOG_TF[counts]
        return table
    distinct, where = np.unique(counts, return_inverse=True)
    values = np.array([tfidf.log_tf(c) for c in distinct.tolist()], dtype=np.float64)
    out: npt.NDArray[np.float64] = values[where.reshape(-1)]
    return out
