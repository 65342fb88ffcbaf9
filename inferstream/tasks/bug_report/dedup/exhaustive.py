"""The lexical candidates of a batch of queries by every posting of their terms (pure numpy):
each query's documents reaching its k-th best partial score, the sum of the idfs of the query
terms a document holds, added in the query's term order. maxscore.py walks a query this way
where pruning cannot help (its k-th best is reached by documents sharing only its commoner
terms, so nearly every posting may count).

The postings walk is numpy over the postings alone (up to MAX_QUERY_TERMS x MAX_POSTINGS
entries per query, whatever the index holds: a Python loop over them cost ~1 ms a query once
the index held ~10k reports, and a ``bincount`` over every indexed report grew with the index).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import numpy.typing as npt

from inferstream.tasks.bug_report.dedup.arrays import kth_best
from inferstream.tasks.bug_report.dedup.postings import Postings, slices
from inferstream.tasks.bug_report.dedup.tfidf import ranges

Ints = npt.NDArray[np.int64]

# A query's postings are summed per document with a bincount over all n documents while n is
# at most this many times the postings walked, else over their distinct documents (a sort).
DENSE_FACTOR = 8
# The batch's (query x document) table is summed a block of queries at a time, at most this
# many cells (1 MiB of floats): a block stays in cache while its postings are added, compared
# and read out. The whole table at once (139 x 19,000 cells, 21 MB) cost twice as much.
BLOCK_CELLS = 1 << 17


def reached(
    postings: Postings,
    term_ids: Ints,
    weight: npt.NDArray[np.float64],
    bounds: list[int],
    n: int,
    k: int,
) -> tuple[Ints, Ints, npt.NDArray[np.float64]]:
    """Per query (ascending), the documents reaching its k-th best partial score (ties at the
    k-th included) and those scores: arrays (query, document number, score). Query i's terms
    are term_ids[bounds[i]:bounds[i + 1]] with their idfs ``weight``; n documents are
    indexed."""
    size = len(bounds) - 1
    query_of = np.repeat(np.arange(size, dtype=np.int64), np.diff(bounds))
    # Each (term, run) of the batch as its place in the postings' buffer, in the order of the
    # terms asked for, so query by query: a document's postings all come from one run, so
    # each (query, document) cell meets its postings in term order.
    which, starts, lengths = slices(postings, term_ids)
    found = np.bincount(which, weights=lengths, minlength=len(term_ids)).astype(np.int64)
    if size * n <= DENSE_FACTOR * int(found.sum()):
        low = _floor_bounds(found, weight, query_of, k, size)
        hits = _Hits(postings.docs.data, query_of[which], starts, lengths, weight[which])
        return _reached_dense(hits, n, k, low)
    query = np.repeat(query_of[which], lengths)
    numbers = postings.docs.data[ranges(starts, lengths)]
    idf = np.repeat(weight[which], lengths)
    cuts = np.searchsorted(query, np.arange(size + 1)).tolist()
    found_docs = [_best(numbers[a:b], idf[a:b], n, k) for a, b in pairwise(cuts)]
    if not found_docs:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, np.empty(0, dtype=np.float64)
    sizes = [len(d) for d, _ in found_docs]
    owner = np.repeat(np.arange(size, dtype=np.int64), sizes)
    docs: Ints = np.concatenate([d for d, _ in found_docs]).astype(np.int64, copy=False)
    return owner, docs, np.concatenate([v for _, v in found_docs])


@dataclass(frozen=True)
class _Hits:
    """The postings of a batch's terms as slices of the postings' buffer ``docs``: per
    (term, run), its query (ascending), where its documents start, how many, its idf."""

    docs: Ints
    query: Ints
    starts: Ints
    lengths: Ints
    weight: npt.NDArray[np.float64]


def _floor_bounds(
    found: Ints, idf: npt.NDArray[np.float64], query: Ints, k: int, size: int
) -> npt.NDArray[np.float64]:
    """A lower bound of each query's k-th best partial score, from its terms alone (``found``:
    each term's postings, ``idf`` its weight, ``query`` the query asking for it): a term with at
    least k postings gives k documents each scoring at least its idf (a sum of positive floats,
    rounded, is never below one of its terms), so the k-th best is at least the largest idf of
    such a term. 0.5, below every idf (>= 1) and above an empty cell, where no term has k."""
    low = np.full(size, 0.5)
    many = found >= k
    np.maximum.at(low, query[many], idf[many])
    return low


def _reached_dense(
    hits: _Hits, n: int, k: int, low: npt.NDArray[np.float64]
) -> tuple[Ints, Ints, npt.NDArray[np.float64]]:
    """``_best`` of every query at once, while the batch's (query x document) table is small
    next to its postings: ``bincount`` over the table (the same sums in the same order: each
    cell adds its postings in input order). Only the cells reaching their query's lower bound
    ``low`` (``_floor_bounds``) are read out of the table: a fifth of the hit cells late in a
    run, where most share one common term with their query, so each query's k-th best is a
    partition of few cells."""
    size = len(low)
    cells, values = _table_cells(hits, n, low)
    owners = cells // n
    reach = np.flatnonzero(values >= kth_best(owners, values, k, size)[owners])
    docs: Ints = cells[reach] - owners[reach] * n
    return owners[reach], docs, values[reach]


def _table_cells(
    hits: _Hits, n: int, low: npt.NDArray[np.float64]
) -> tuple[Ints, npt.NDArray[np.float64]]:
    """The cells (query x n + document, ascending) of the batch's table that reach their
    query's ``low``, and their sums, a block of queries at a time (``BLOCK_CELLS``). A block's
    postings are gathered from the buffer just before its sums, keyed within the block (row x
    n + document), so they are summed while in cache: keys and idfs for all the batch's
    postings run by run, then copied block by block, cost ~12 % more of the candidates' time.
    Each cell adds its postings in the order of the hits, so in term order."""
    size = len(low)
    step = max(1, BLOCK_CELLS // max(n, 1))
    row_base = (hits.query % step) * n
    cuts = np.searchsorted(hits.query, np.arange(0, size + step, step)).tolist()
    found: list[Ints] = []
    sums: list[npt.NDArray[np.float64]] = []
    for block, first in enumerate(range(0, size, step)):
        rows = min(step, size - first)
        part = slice(cuts[block], cuts[block + 1])
        lengths = hits.lengths[part]
        keys = np.repeat(row_base[part], lengths)
        keys += hits.docs[ranges(hits.starts[part], lengths)]
        table = np.bincount(keys, weights=np.repeat(hits.weight[part], lengths), minlength=rows * n)
        hit = np.flatnonzero(table.reshape(rows, n) >= low[first : first + rows, None])
        sums.append(np.asarray(table[hit], dtype=np.float64))
        found.append(hit.astype(np.int64, copy=False) + first * n)
    if not found:
        return _NONE, _NO_WEIGHT
    return np.concatenate(found), np.concatenate(sums)


_NONE = np.empty(0, dtype=np.int64)
_NO_WEIGHT = np.empty(0, dtype=np.float64)


def _best(
    numbers: Ints, idf: npt.NDArray[np.float64], n: int, k: int
) -> tuple[Ints, npt.NDArray[np.float64]]:
    """The documents reaching the k-th best partial score over a query's postings (document
    numbers and the idf of the posting's term, each document's in the query's term order;
    ties at the k-th included: the caller breaks them by id), and their scores."""
    if len(numbers) == 0:
        return numbers, idf
    # Each document's idf summed in term order (bincount adds in input order), as a Python
    # loop adding them would. Over every document number while the index is small next to
    # the postings; past that over the distinct documents of the postings only (a sort of
    # them), so the cost stops growing with the index. Same sums either way.
    if n <= DENSE_FACTOR * len(numbers):
        dense = np.bincount(numbers, weights=idf)
        docs = np.flatnonzero(dense)  # every idf is >= 1: a document with postings
        values = dense[docs]
    else:
        docs, where = np.unique(numbers, return_inverse=True)
        values = np.bincount(where.reshape(-1), weights=idf)
    # The k best of often thousands: the k-th best score first, then only the documents
    # that reach it.
    floor = values.min() if len(values) <= k else np.partition(values, -k)[-k]
    reach = values >= floor
    return docs[reach], values[reach]
