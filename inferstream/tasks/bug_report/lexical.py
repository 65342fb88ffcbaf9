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
Python loop over them cost ~1 ms a query once the index held ~10k reports).
"""

from __future__ import annotations

import math
import re
import threading
import unicodedata
from collections.abc import Hashable, Iterable, Mapping, Sequence

import numpy as np
import numpy.typing as npt

Terms = Mapping[str, int]
_NO_POSTINGS: npt.NDArray[np.int64] = np.empty(0, dtype=np.int64)

TITLE_WEIGHT = 2  # title terms count twice: the title is the densest statement of the bug
MAX_QUERY_TERMS = 24
MAX_POSTINGS = 2_000
MIN_TOKEN = 2
MAX_TOKEN = 64  # longer runs are hashes or ids, noise for similarity
MAX_TERMS = 400  # a report's most frequent terms kept (bounds the stored jsonb and the wire)

_TOKEN = re.compile(r"[a-z0-9][a-z0-9_]*")
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
    folded = unicodedata.normalize("NFKC", text).casefold()
    out: list[str] = []
    for token in _TOKEN.findall(folded):
        if not MIN_TOKEN <= len(token) <= MAX_TOKEN or token in STOPWORDS:
            continue
        out.append(_stem(token))
    return out


def term_frequencies(title: str, description: str, steps: str) -> dict[str, int]:
    """The report's terms and counts (title counted ``TITLE_WEIGHT`` times), at most
    ``MAX_TERMS`` of them (the most frequent, ties by term)."""
    counts: dict[str, int] = {}
    for token in tokenize(title):
        counts[token] = counts.get(token, 0) + TITLE_WEIGHT
    for token in tokenize(description) + tokenize(steps):
        counts[token] = counts.get(token, 0) + 1
    if len(counts) > MAX_TERMS:
        kept = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_TERMS]
        counts = dict(kept)
    return dict(sorted(counts.items()))


def _idf(n: int, df: int) -> float:
    """Smoothed inverse document frequency of a term found in df of n reports."""
    return math.log((n + 1) / (df + 1)) + 1.0


class LexicalIndex:
    """Inverted index id -> terms with document frequencies; thread-safe; replays harmless."""

    def __init__(
        self, max_query_terms: int = MAX_QUERY_TERMS, max_postings: int = MAX_POSTINGS
    ) -> None:
        self.max_query_terms = max_query_terms
        self.max_postings = max_postings
        self._lock = threading.Lock()
        self._docs: dict[str, dict[str, int]] = {}
        self._df: dict[str, int] = {}
        self._ids: list[str] = []  # document number -> id, in the order added
        # term -> (document numbers, how many are used): grown by doubling. A term found in
        # more than max_postings reports is never a candidate source again (df only grows), so
        # its postings are dropped.
        self._postings: dict[str, tuple[npt.NDArray[np.int64], int]] = {}

    def __len__(self) -> int:
        with self._lock:
            return len(self._docs)

    def __contains__(self, item: object) -> bool:
        with self._lock:
            return item in self._docs

    def add(self, entries: Iterable[tuple[str, Terms]]) -> int:
        added = 0
        with self._lock:
            for id_, terms in entries:
                if id_ in self._docs or not terms:
                    continue
                self._docs[id_] = dict(terms)
                number = len(self._ids)
                self._ids.append(id_)
                for term in terms:
                    df = self._df[term] = self._df.get(term, 0) + 1
                    if df <= self.max_postings:
                        self._append_posting(term, number)
                    else:
                        self._postings.pop(term, None)
                added += 1
        return added

    def _append_posting(self, term: str, number: int) -> None:
        numbers, used = self._postings.get(term, (_NO_POSTINGS, 0))
        if used == len(numbers):
            grown = np.empty(max(4, 2 * used), dtype=np.int64)
            grown[:used] = numbers[:used]
            numbers = grown
        numbers[used] = number
        self._postings[term] = (numbers, used + 1)

    def terms_of_many(self, ids: Iterable[str]) -> dict[str, Terms]:
        """The term maps of those of ``ids`` that are indexed, read under one lock."""
        with self._lock:
            docs = self._docs
            return {id_: docs[id_] for id_ in ids if id_ in docs}

    def _idf(self, term: str, n: int) -> float:
        return _idf(n, self._df.get(term, 0))

    def similarity(self, query: Terms, others: Sequence[Terms]) -> list[float]:
        """TF-IDF cosine of query to each of others, with the current document frequencies."""
        (scores,) = self.similarities([(-1, query, list(enumerate(others)))])
        return scores

    def similarities(
        self, queries: Sequence[tuple[Hashable, Terms, Sequence[tuple[Hashable, Terms]]]]
    ) -> list[list[float]]:
        """TF-IDF cosine of each query to each of its others, all under one snapshot of the
        document frequencies. Queries and others carry a key: a report's weight vector is
        computed once per call however many queries it is a candidate of (a batch's reports
        are candidates of every later report of the batch). One key must mean one term map,
        whether it is a query's or a candidate's."""
        with self._lock:
            weigh = _Weigher(len(self._docs), self._df)
            out: list[list[float]] = []
            for qkey, query, others in queries:
                q, q_norm = weigh(qkey, query)
                scores: list[float] = []
                for key, other in others:
                    d, d_norm = weigh(key, other)
                    if not q_norm or not d_norm:
                        scores.append(0.0)
                        continue
                    dot = sum(w * d[t] for t, w in q.items() if t in d)
                    scores.append(min(1.0, dot / (q_norm * d_norm)))
                out.append(scores)
            return out

    def candidates(self, query: Terms, k: int) -> list[tuple[str, float]]:
        """Up to k (id, partial score) by shared rare terms, best first (ties by id)."""
        if k <= 0:
            return []
        with self._lock:
            n = len(self._docs)
            usable = [t for t in query if 0 < self._df.get(t, 0) <= self.max_postings]
            usable.sort(key=lambda t: (self._df[t], t))
            terms = usable[: self.max_query_terms]
            if not terms:
                return []
            postings = [self._postings[t] for t in terms]
            numbers = np.concatenate([found[:used] for found, used in postings])
            idf = np.repeat([self._idf(t, n) for t in terms], [used for _, used in postings])
            # Sums each document's idf in term order, as a Python loop adding them would.
            scores = np.bincount(numbers, weights=idf)
            hit = np.flatnonzero(scores)
            values = scores[hit]
            # The k best of often thousands: the k-th best score first, then sort only the ids
            # that reach it (ties by id), in the order sorting them all would give.
            floor = values.min() if len(values) <= k else np.partition(values, -k)[-k]
            best = [(self._ids[j], float(scores[j])) for j in hit[values >= floor]]
        best.sort(key=lambda kv: (-kv[1], kv[0]))
        return best[:k]


class _Weigher:
    """Log-scaled tf x idf weight vectors and their norms under one snapshot (n documents, their
    document frequencies), memoised per term and per key. Used with the index's lock held."""

    def __init__(self, n: int, df: Mapping[str, int]) -> None:
        self._n = n
        self._df = df
        self._idf: dict[str, float] = {}
        self._seen: dict[Hashable, tuple[dict[str, float], float]] = {}

    def __call__(self, key: Hashable, terms: Terms) -> tuple[dict[str, float], float]:
        known = self._seen.get(key)
        if known is not None:
            return known
        idf = self._idf
        out: dict[str, float] = {}
        for t, c in terms.items():
            if c > 0:
                w = idf.get(t)
                if w is None:
                    w = idf[t] = _idf(self._n, self._df.get(t, 0))
                out[t] = (1.0 + math.log(c)) * w
        weighed = (out, math.sqrt(sum(w * w for w in out.values())))
        self._seen[key] = weighed
        return weighed
