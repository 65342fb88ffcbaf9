"""The lexical index's postings (term id -> the numbers of the documents holding it) as a few
runs sorted by term, each in flat arrays (pure numpy).

An ``add`` call's (term, document) entries become one run, sorted by term once; a run as large
as the one before it is merged into it (a merge of two sorted runs, then the next pair up), so
there are ~log2(entries / call) runs and each entry is merged ~log2 times in all. Before, each
term had a growable array of its own and a call appended to every term it held (a Python loop
over ~2,000 distinct terms per infer batch, ~6 % of the stage's CPU), and a query walked a
Python list of its terms' arrays. Here a whole batch's terms are found in every run by one
binary search each and gathered by one fancy index.

Every run's documents sit in one buffer, run after run (``Postings.docs``; a run's ``docs`` is a
view of its part), so the postings of a batch's terms in all runs are one gather by their
places in it (``slices``), not a gather per run and a concatenation of them.

A document's entries all sit in the run its ``add`` call made (runs merge whole), so a look-up
returns each document's postings in the order its terms were asked for: the sums over them
keep that order (lexical.py compares them with a plain loop using ``==``). A term found in
more than ``limit`` documents is never looked up again (document frequencies only grow), so a
merge drops its entries.

The same entries are also kept by document (``Postings.by_doc``, with where each document's
entries start), so a document's terms are one slice (``terms_of``): the lexical candidates read
them for the few documents that can still reach a query's k best, instead of walking the long
postings of its commoner terms (maxscore.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from inferstream.tasks.bug_report.dedup.arrays import Grown
from inferstream.tasks.bug_report.dedup.tfidf import ranges

Ints = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Run:
    """Entries sorted by term: term ``terms[i]`` holds ``docs[starts[i]:starts[i + 1]]``."""

    terms: Ints  # distinct term ids, ascending
    starts: Ints  # len(terms) + 1 offsets into docs
    docs: Ints  # document numbers, term by term (ascending within a term)
    offset: int = 0  # where docs[0] sits in the postings' buffer (Postings.docs)


def run_of(term_ids: Ints, docs: Ints) -> Run:
    """The run of (term, document) entries; documents given ascending stay ascending per term
    (stable sort)."""
    order = np.argsort(term_ids, kind="stable")
    terms, docs = term_ids[order], docs[order]
    change = np.ones(len(terms), dtype=bool)  # each term's first entry (np.r_ copied it)
    np.not_equal(terms[1:], terms[:-1], out=change[1:])
    first = np.flatnonzero(change)
    starts = np.append(first, len(terms)).astype(np.int64)
    return Run(terms[first], starts, docs)


def entries_of(run: Run) -> tuple[Ints, Ints]:
    """A run's (term id, document) entries, term by term."""
    return np.repeat(run.terms, np.diff(run.starts)), run.docs


class Postings:
    """Not thread-safe: the lexical index calls it under its lock."""

    def __init__(self) -> None:
        self.runs: list[Run] = []  # oldest (largest) first
        # Every run's documents, run after run: a merge rewrites the last runs' part, an add
        # appends (a run's docs is a view, taken again when the buffer grows).
        self.docs = Grown(np.int64)
        # Every entry kept by an add() call, its term ids document by document (a call's
        # documents are numbered above every earlier one), and document number -> where its
        # entries start (one more: the end). A term dropped from the runs later stays here
        # (nobody asks for it).
        self.by_doc = Grown(np.int64)
        self.doc_start = Grown(np.int64)
        self.doc_start.extend([0])

    def __len__(self) -> int:
        return sum(len(run.docs) for run in self.runs)

    def add(self, term_ids: Ints, docs: Ints, df: Ints, limit: int) -> None:
        """One add() call's entries (its new documents, numbered above every earlier one), less
        the terms now in more than ``limit`` documents (``df`` by term id)."""
        kept = df[term_ids] <= limit
        self._add_by_doc(term_ids[kept], docs[kept], int(docs.max(initial=-1)) + 1)
        if not kept.any():
            return
        self._push(run_of(term_ids[kept], docs[kept]))
        while len(self.runs) > 1 and len(self.runs[-2].docs) <= 2 * len(self.runs[-1].docs):
            newer = self.runs.pop()
            older = self.runs.pop()
            self._push(merged(older, newer, df, limit))

    def _push(self, run: Run) -> None:
        """Append a run (its docs its own array) after the last one, its docs copied into the
        buffer: over the part of the runs just popped for a merge (the merged run was built
        from copies of theirs and is no longer than both)."""
        offset = self.runs[-1].offset + len(self.runs[-1].docs) if self.runs else 0
        before = self.docs.data
        self.docs.truncate(offset)
        self.docs.extend(run.docs)
        if self.docs.data is not before:
            # A grown buffer is a new array: the views are taken again, so the old one goes.
            self.runs = [self._viewed(r, r.offset) for r in self.runs]
        self.runs.append(self._viewed(run, offset))

    def _viewed(self, run: Run, offset: int) -> Run:
        docs = self.docs.data[offset : offset + len(run.docs)]
        return Run(run.terms, run.starts, docs, offset)

    def _add_by_doc(self, term_ids: Ints, docs: Ints, end: int) -> None:
        """The kept entries of documents numbered up to end - 1 (those not yet added hold
        none but the given ones), by document."""
        first = self.doc_start.used - 1
        if end <= first:
            return
        order = np.argsort(docs, kind="stable")
        self.by_doc.extend(term_ids[order])
        held = np.bincount(docs - first, minlength=end - first)
        self.doc_start.extend(self.doc_start.data[first] + np.cumsum(held))

    def gather(self, wanted: Ints) -> tuple[Ints, Ints]:
        """The postings of the wanted term ids: (index into wanted, document number) per
        posting, run by run and within a run in the order of ``wanted``; so each document's
        postings come in the order of ``wanted``."""
        which: list[Ints] = []
        found_docs: list[Ints] = []
        ascending = np.argsort(wanted)
        for run in self.runs:
            hits, starts, lengths = _hits(run, wanted, ascending)
            which.append(np.repeat(hits, lengths))
            found_docs.append(run.docs[ranges(starts, lengths)])
        if not which:
            empty = np.empty(0, dtype=np.int64)
            return empty, empty
        return np.concatenate(which), np.concatenate(found_docs)


def _hits(run: Run, wanted: Ints, ascending: Ints) -> tuple[Ints, Ints, Ints]:
    """The indexes into ``wanted`` of the term ids ``run`` holds, and where each one's documents
    start in ``run.docs`` and how many there are. ``ascending``: ``np.argsort(wanted)``, so
    the binary searches go in term order (numpy keeps each search's place as the next one's
    lower bound, and the run's terms stay in cache: a batch's terms in their own order took
    twice as long)."""
    at = np.empty(len(wanted), dtype=np.int64)
    at[ascending] = np.searchsorted(run.terms, wanted[ascending])
    inside = at < len(run.terms)
    held = np.zeros(len(wanted), dtype=bool)
    held[inside] = run.terms[at[inside]] == wanted[inside]
    hits = np.flatnonzero(held)
    starts = run.starts[at[hits]]
    return hits, starts, run.starts[at[hits] + 1] - starts


def slices(postings: Postings, wanted: Ints) -> tuple[Ints, Ints, Ints]:
    """The postings of the wanted term ids as places in ``postings.docs``: per (wanted term,
    run holding it), the index into wanted, where its documents start in the buffer and how
    many there are, ordered by index into wanted (so each document's postings, all in one
    run, come in the order of ``wanted``)."""
    which: list[Ints] = []
    starts: list[Ints] = []
    lengths: list[Ints] = []
    ascending = np.argsort(wanted)
    for run in postings.runs:
        hits, start, length = _hits(run, wanted, ascending)
        which.append(hits)
        starts.append(start + run.offset)
        lengths.append(length)
    if not which:
        return _NONE, _NONE, _NONE
    every = np.concatenate(which)
    # Each run's hits come ascending: the stable sort merges them (a term held by two runs
    # keeps the older run's first, which no sum depends on: a document is in one run).
    order = np.argsort(every, kind="stable")
    return every[order], np.concatenate(starts)[order], np.concatenate(lengths)[order]


_NONE = np.empty(0, dtype=np.int64)


def gather_runs(
    postings: Postings, wanted: Ints, base: Ints, weight: npt.NDArray[np.float64]
) -> tuple[list[Ints], list[npt.NDArray[np.float64]], Ints]:
    """``postings.gather(wanted)`` as (base[i] + document, weight[i]) per posting of
    wanted[i], run by run (their concatenation is ``gather``'s order; with ``base``
    ascending, each run's keys come in the order of ``base``), built from each run's hits by
    ``repeat`` without the index into wanted and its two gathers; and ``found``: how many
    postings each wanted term id has, from the same look-ups."""
    keys: list[Ints] = []
    weights: list[npt.NDArray[np.float64]] = []
    found = np.zeros(len(wanted), dtype=np.int64)
    ascending = np.argsort(wanted)
    for run in postings.runs:
        hits, starts, lengths = _hits(run, wanted, ascending)
        keys.append(np.repeat(base[hits], lengths) + run.docs[ranges(starts, lengths)])
        weights.append(np.repeat(weight[hits], lengths))
        found[hits] += lengths
    return keys, weights, found


def terms_of(postings: Postings, docs: Ints) -> tuple[Ints, Ints]:
    """Every term each document docs[i] was posted under (``by_doc``: a term within the limit
    when the document was added, so every term within it now), as (i, term id) per entry,
    document by document."""
    bounds = postings.doc_start.data
    starts = bounds[docs]
    lengths = bounds[docs + 1] - starts
    owner = np.repeat(np.arange(len(docs), dtype=np.int64), lengths)
    return owner, postings.by_doc.data[ranges(starts, lengths)]


def merged(older: Run, newer: Run, df: Ints, limit: int) -> Run:
    """One run of both (older's documents are numbered below newer's, so each term's documents
    stay ascending), less the terms now in more than ``limit`` documents. The stable sort of
    two sorted runs side by side is a merge (timsort finds the runs)."""
    old_terms, old_docs = entries_of(older)
    new_terms, new_docs = entries_of(newer)
    terms = np.concatenate([old_terms, new_terms])
    docs = np.concatenate([old_docs, new_docs])
    kept = df[terms] <= limit
    return run_of(terms[kept], docs[kept])
