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
The postings walk is one numpy ``bincount`` (up to MAX_QUERY_TERMS x MAX_POSTINGS entries: a
Python loop over them cost ~1 ms a query once the index held ~10k reports). The TF-IDF cosines
of a whole batch against its candidates are one ``tfidf.cosines`` call over flat term arrays
(a Python loop over term maps cost ~1.2 ms a report with ~60 candidates each).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from inferstream.tasks.bug_report.dedup import tfidf
from inferstream.tasks.bug_report.dedup.terms import (
    TITLE_WEIGHT,
    Terms,
    term_frequencies,
    tokenize,
)

__all__ = ["TITLE_WEIGHT", "LexicalIndex", "Terms", "term_frequencies", "tokenize"]

MAX_QUERY_TERMS = 24
MAX_POSTINGS = 2_000


class _Grown:
    """A numpy array appended to in place, its capacity doubled when full."""

    def __init__(self, dtype: type[np.int64] | type[np.float64], capacity: int = 64) -> None:
        self.data: npt.NDArray[Any] = np.empty(capacity, dtype=dtype)
        self.used = 0

    def extend(self, values: Sequence[float] | Sequence[int]) -> None:
        end = self.used + len(values)
        if end > len(self.data):
            grown = np.empty(max(end, 2 * len(self.data)), dtype=self.data.dtype)
            grown[: self.used] = self.data[: self.used]
            self.data = grown
        self.data[self.used : end] = values
        self.used = end

    def view(self) -> npt.NDArray[Any]:
        return self.data[: self.used]


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
        self._numbers: dict[str, int] = {}  # id -> document number
        self._vocab: dict[str, int] = {}  # term -> term id
        self._df = _Grown(np.int64)  # term id -> number of reports holding it
        self._run_start = _Grown(np.int64)  # document number -> its first entry
        self._run_length = _Grown(np.int64)  # document number -> its number of entries
        self._term = _Grown(np.int64)  # entry -> term id
        self._log_tf = _Grown(np.float64)  # entry -> 1 + log(term count)
        # term -> the numbers of the documents holding it. A term found in more than
        # max_postings reports is never a candidate source again (df only grows), so its
        # postings are dropped.
        self._postings: dict[str, _Grown] = {}

    def __len__(self) -> int:
        with self._lock:
            return len(self._ids)

    def __contains__(self, item: object) -> bool:
        with self._lock:
            return item in self._numbers

    def add(self, entries: Iterable[tuple[str, Terms]]) -> int:
        """Index reports (ids already present or without terms are skipped); returns how many
        were new. The flat arrays and each term's postings grow once per call, not once per
        report and term (an ``extend`` per posting was ~7 % of the infer stage's CPU)."""
        postings: dict[str, list[int]] = {}
        runs: list[list[int]] = [[], [], []]  # run start, run length, term ids
        factors: list[float] = []
        counted: list[int] = []  # the term ids of every new document, to count in df
        with self._lock:
            for id_, terms in entries:
                if id_ in self._numbers or not terms:
                    continue
                number = self._numbers[id_] = len(self._ids)
                self._ids.append(id_)
                ids = self._term_ids(terms)
                counted.extend(ids)
                for term in terms:
                    postings.setdefault(term, []).append(number)
                weighed = [
                    (i, _log_tf(c)) for i, c in zip(ids, terms.values(), strict=True) if c > 0
                ]
                runs[0].append(self._term.used + len(runs[2]))
                runs[1].append(len(weighed))
                runs[2].extend(i for i, _ in weighed)
                factors.extend(f for _, f in weighed)
            np.add.at(self._df.data, np.array(counted, dtype=np.int64), 1)
            self._grow(postings, runs, factors)
        return len(runs[0])

    def _grow(
        self, postings: dict[str, list[int]], runs: list[list[int]], factors: list[float]
    ) -> None:
        """Append one add() call's documents. A term now in more than max_postings reports is
        never a candidate source again (df only grows), so its postings are dropped."""
        df = self._df.data
        for term, numbers in postings.items():
            if df[self._vocab[term]] <= self.max_postings:
                self._postings.setdefault(term, _Grown(np.int64, 4)).extend(numbers)
            else:
                self._postings.pop(term, None)
        self._run_start.extend(runs[0])
        self._run_length.extend(runs[1])
        self._term.extend(runs[2])
        self._log_tf.extend(factors)

    def _term_ids(self, terms: Iterable[str]) -> list[int]:
        """Ids of terms, new terms numbered as they come (document frequency 0)."""
        vocab = self._vocab
        out: list[int] = []
        for term in terms:
            term_id = vocab.get(term)
            if term_id is None:
                term_id = vocab[term] = len(vocab)
                self._df.extend([0])
            out.append(term_id)
        return out

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
            entities, pair_query, pair_other = self._entities(batch, others)
            scores = tfidf.cosines(entities, pair_query, pair_other).tolist()
        out: list[list[float]] = []
        at = 0
        for count in np.bincount(pair_query, minlength=len(others)).tolist():
            out.append(scores[at : at + count])
            at += count
        return out

    def _entities(
        self, batch: Sequence[Terms], others: Sequence[Iterable[int | str]]
    ) -> tuple[tfidf.Entities, npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """The batch's reports (entities 0..len(batch)-1) and the indexed reports named in others
        (after them) as tfidf entities with the current weights, and the pairs to score."""
        unseen = len(self._vocab)
        batch_terms, batch_factors, batch_lengths = self._batch_runs(batch)
        named, pair_query, pair_other = _pairs(len(batch), others)
        stored = np.array([self._numbers.get(id_, -1) for id_ in named], dtype=np.int64)
        present = stored >= 0
        lengths = np.zeros(len(stored), dtype=np.int64)
        starts = np.zeros(len(stored), dtype=np.int64)
        lengths[present] = self._run_length.view()[stored[present]]
        starts[present] = self._run_start.view()[stored[present]]
        gathered = tfidf.ranges(starts, lengths)
        all_lengths = np.concatenate([batch_lengths, lengths])
        term_ids = np.concatenate([batch_terms, self._term.view()[gathered]])
        factor = np.concatenate([batch_factors, self._log_tf.view()[gathered]])
        df = np.zeros(len(term_ids), dtype=np.int64)
        indexed = term_ids < unseen
        df[indexed] = self._df.view()[term_ids[indexed]]
        entities = tfidf.Entities(
            start=np.cumsum(all_lengths) - all_lengths,
            length=all_lengths,
            term=term_ids,
            weight=factor * tfidf.idf(len(self._ids), df),
        )
        return entities, pair_query, pair_other

    def _batch_runs(
        self, batch: Sequence[Terms]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.int64]]:
        """The batch's term ids, log tf factors (flat, in each map's order) and run lengths.
        Terms nothing indexed holds get ids past the vocabulary (df 0), shared within the call."""
        vocab, unseen = self._vocab, len(self._vocab)
        local: dict[str, int] = {}
        ids: list[int] = []
        factors: list[float] = []
        lengths: list[int] = []
        for terms in batch:
            before = len(ids)
            for term, count in terms.items():
                if count > 0:
                    term_id = vocab.get(term)
                    if term_id is None:
                        term_id = local.setdefault(term, unseen + len(local))
                    ids.append(term_id)
                    factors.append(_log_tf(count))
            lengths.append(len(ids) - before)
        return (
            np.array(ids, dtype=np.int64),
            np.array(factors, dtype=np.float64),
            np.array(lengths, dtype=np.int64),
        )

    def candidates(self, query: Terms, k: int) -> list[tuple[str, float]]:
        """Up to k (id, partial score) by shared rare terms, best first (ties by id)."""
        (best,) = self.candidates_many([query], k)
        return best

    def candidates_many(self, queries: Sequence[Terms], k: int) -> list[list[tuple[str, float]]]:
        """``candidates(query, k)`` of every query, under one lock. Still one ``bincount`` per
        query: the cost is the postings walked (O(postings), ~0.2 ms a query at 5k reports),
        and one sort of a whole batch's (query, document) keys or a dense score matrix per
        batch measured 1.1-1.9x slower than this (docs/benchmarks.md, "dedup scoring")."""
        if k <= 0:
            return [[] for _ in queries]
        with self._lock:
            n = len(self._ids)
            found = [self._best(self._rare_terms(query), n, k) for query in queries]
        for best in found:
            best.sort(key=lambda kv: (-kv[1], kv[0]))
            del best[k:]
        return found

    def _best(self, terms: list[tuple[int, str]], n: int, k: int) -> list[tuple[str, float]]:
        """The documents reaching the k-th best partial score over these (df, term) (ties at
        the k-th included: the caller breaks them by id)."""
        if not terms:
            return []
        postings = [self._postings[t].view() for _, t in terms]
        numbers = np.concatenate(postings)
        idf = np.repeat([tfidf.idf_of(n, df) for df, _ in terms], [len(p) for p in postings])
        # Sums each document's idf in term order, as a Python loop adding them would.
        scores = np.bincount(numbers, weights=idf)
        hit = np.flatnonzero(scores)
        values = scores[hit]
        # The k best of often thousands: the k-th best score first, then sort only the ids
        # that reach it (ties by id), in the order sorting them all would give.
        floor = values.min() if len(values) <= k else np.partition(values, -k)[-k]
        return [(self._ids[j], float(scores[j])) for j in hit[values >= floor]]

    def _rare_terms(self, query: Terms) -> list[tuple[int, str]]:
        """The query's candidate sources: its rarest ``max_query_terms`` indexed terms that are
        in at most ``max_postings`` reports, as (df, term), rarest first (ties by term)."""
        vocab, df = self._vocab, self._df.data
        limit = self.max_postings
        usable = []
        for term in query:
            term_id = vocab.get(term)
            if term_id is not None and 0 < (count := int(df[term_id])) <= limit:
                usable.append((count, term))
        usable.sort()
        return usable[: self.max_query_terms]


def _pairs(
    batch_size: int, others: Sequence[Iterable[int | str]]
) -> tuple[list[str], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The (query, other) entity pairs of a similarities call, and the ids named in it in the
    order their entities are numbered (after the batch's)."""
    if len(others) > batch_size:
        raise ValueError(f"{len(others)} lists of others for a batch of {batch_size}")
    entity_of: dict[str, int] = {}
    pair_query: list[int] = []
    pair_other: list[int] = []
    for q, named in enumerate(others):
        for other in named:
            if isinstance(other, str):
                entity = entity_of.setdefault(other, batch_size + len(entity_of))
            elif 0 <= other < batch_size:
                entity = other
            else:
                raise ValueError(f"position {other} outside a batch of {batch_size}")
            pair_query.append(q)
            pair_other.append(entity)
    return (
        list(entity_of),
        np.array(pair_query, dtype=np.int64),
        np.array(pair_other, dtype=np.int64),
    )


@functools.lru_cache(maxsize=4096)
def _log_tf(count: int) -> float:
    return tfidf.log_tf(count)
