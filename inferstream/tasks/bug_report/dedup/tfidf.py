"""TF-IDF cosines of many (query, other) pairs at once, over flat term arrays (pure numpy).

A report is an *entity*: a run of entries (term id, log-scaled term frequency) in its term map's
order. The weight of an entry is ``(1 + log tf) x idf(term)``, a report's norm the square root of
the sum of its squared weights, and a pair's dot product the sum over the query's entries of the
query's weight times the other's weight of that term (0 where the other lacks it).

The floats are those of the obvious Python loop over the term maps, in the same order: every sum
is a ``bincount`` (it adds its weights one by one, in input order, from 0.0), an absent term adds
an exact 0.0, and the logarithms are ``math.log``'s (numpy's may differ in the last bit). So the
scores do not depend on the batch they were computed in, and tests can compare against the loop
with ``==``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
# Cells of ``_dots_direct``'s (query entity x query term) table: ~140 reports x ~4,000
# distinct terms at the infer stage's batch; a GPU-sized batch with more takes the search.
MAX_TABLE = 1 << 22


def log_tf(count: int) -> float:
    """A term's frequency factor: 1 + log(count), count >= 1."""
    return 1.0 + math.log(count)


def idf_of(n: int, df: int) -> float:
    """Smoothed inverse document frequency of a term found in df of n reports."""
    return math.log((n + 1) / (df + 1)) + 1.0


def idf(n: int, df: Ints) -> Floats:
    """``idf_of`` of many document frequencies: once per distinct one, then gathered. The
    distinct ones are marked in a table as long as the largest (a df is at most the number of
    reports): a ``np.unique`` sorted every entry of a call's candidates (~2.5 % of the scorer).
    ``idf_of``'s floats: the ratios are numpy's divisions of the counts as floats (exact below
    2**53, so each the correctly rounded quotient, as Python's int division gives it), the
    logarithms ``math.log``'s by a C-level ``map`` (a Python call of ``idf_of`` per distinct
    df was ~2 us per record: late in a run a batch holds ~1,500 distinct dfs), + 1.0 in numpy
    (the same IEEE addition)."""
    if len(df) == 0:
        return np.empty(0, dtype=np.float64)
    if n + 1 >= 2**53:
        raise ValueError(f"{n} reports: the idf ratios would not be exact")
    seen = np.zeros(int(df.max()) + 1, dtype=bool)
    seen[df] = True
    distinct = np.flatnonzero(seen)
    ratios = (n + 1) / (distinct + 1.0)
    table = np.zeros(len(seen), dtype=np.float64)
    table[distinct] = np.fromiter(map(math.log, ratios.tolist()), np.float64, len(distinct))
    table[distinct] += 1.0
    out: Floats = table[df]
    return out


def ranges(starts: Ints, lengths: Ints) -> Ints:
    """The concatenation of range(start, start + length) for each pair, as one array."""
    total = int(lengths.sum())
    if total == 0:
        return np.empty(0, dtype=np.int64)
    # Entry i of run r is starts[r] + (i - offsets[r]): one repeat of the per-run shift and
    # one add, where repeating starts and offsets apart took two more passes over the output.
    offsets = np.cumsum(lengths) - lengths
    out: Ints = np.repeat(starts - offsets, lengths)
    out += np.arange(total, dtype=np.int64)
    return out


@dataclass(frozen=True)
class Entities:
    """Reports as runs of entries: entity e owns entries start[e] : start[e] + length[e]."""

    start: Ints
    length: Ints
    term: Ints  # per entry: term id
    weight: Floats  # per entry: log tf x idf
    # A function giving the entries in (entity, term) order, when the caller knows it
    # (lexical.py keeps each indexed report's run sorted by term at add time); else
    # ``cosines`` sorts them. Only calls too large for ``_dots_direct``'s table need it.
    order: Callable[[], Ints] | None = None

    @cached_property
    def owner(self) -> Ints:
        """Per entry: the entity it belongs to."""
        out: Ints = np.repeat(np.arange(len(self.start), dtype=np.int64), self.length)
        return out

    def norms(self) -> Floats:
        squares = self.weight * self.weight
        out: Floats = np.sqrt(np.bincount(self.owner, squares, minlength=len(self.start)))
        return out


def cosines(entities: Entities, query: Ints, other: Ints) -> Floats:
    """TF-IDF cosine of entity query[p] to entity other[p] for every pair p, capped at 1.0;
    0.0 where either has no weight."""
    if len(query) == 0:
        return np.empty(0, dtype=np.float64)
    # One query (the eval's replay, a lone record): the search is as cheap as the table.
    one = bool((query == query[0]).all())
    dots = None if one else _dots_direct(entities, query, other)
    if dots is None:
        lengths = entities.length[query]
        entry = ranges(entities.start[query], lengths)  # the query's entries, pair by pair
        pair = np.repeat(np.arange(len(query), dtype=np.int64), lengths)
        theirs = _theirs_sorted(entities, other, entry, pair)
        # Summed pair by pair in the query's entry order (bincount adds in input order).
        summed = np.bincount(pair, entities.weight[entry] * theirs, minlength=len(query))
        dots = summed.astype(np.float64, copy=False)
    norms = entities.norms()
    weighed = (norms[query] > 0) & (norms[other] > 0)
    scale = np.where(weighed, norms[query] * norms[other], 1.0)
    out: Floats = np.where(weighed, np.minimum(1.0, dots / scale), 0.0)
    return out


def _dots_direct(entities: Entities, query: Ints, other: Ints) -> Floats | None:
    """The dot product of each pair p, entity query[p] with other[p]: the sum over the terms
    both hold of their weights' products, added in the query's entry order from 0.0 (the
    floats of adding every query entry's product, an exact 0.0 where the other lacks the
    term). Found by walking the others' entries through a (query entity x query term) ->
    place table: gathers only, where a search of every query entry in all entities' sorted
    entries was ~7 % of the infer stage. None when the table would pass MAX_TABLE cells (then
    ``_theirs_sorted``)."""
    if len(entities.term) == 0:
        return np.zeros(len(query), dtype=np.float64)
    # The query entities and each one's row of the table, marked (no sort of the pairs).
    seen = np.zeros(len(entities.start), dtype=bool)
    seen[query] = True
    queries = np.flatnonzero(seen)
    row_of = np.cumsum(seen) - 1
    runs = entities.length[queries]
    entries = ranges(entities.start[queries], runs)
    terms, term_local, column = _query_terms(entities.term[entries], entities.term)
    if len(queries) * len(terms) > MAX_TABLE:
        return None
    # table[q, t]: where term t sits in query entity q's run, -1 if it does not hold it; the
    # last column is for the terms no query entity holds (-1 throughout). int32: a place in a
    # run is below the vocabulary's size, and the ~1M cells of a batch's table are filled
    # and read in half the bytes (int64 was ~15 % more of the cosines' time; int16 would not
    # hold a run of more than 32,767 terms).
    width = len(terms) + 1
    table = np.full((len(queries), width), -1, dtype=np.int32)
    run_start = np.repeat(np.cumsum(runs) - runs, runs)
    table[np.repeat(np.arange(len(queries)), runs), term_local] = (
        np.arange(len(entries), dtype=np.int64) - run_start
    )
    # Each pair's other's entries looked up in its query's row with one flat gather (every
    # entry's column was found once: an entity is the other of several pairs).
    their_lengths = entities.length[other]
    their_entry = ranges(entities.start[other], their_lengths)
    # Each of the others' entries' pair, kept: a search of the held entries among the pairs'
    # ends was a third of this function.
    pair_of = np.repeat(np.arange(len(other), dtype=np.int64), their_lengths)
    cell = (row_of[query] * width)[pair_of] + column[their_entry]
    position = table.reshape(-1)[cell]
    held = np.flatnonzero(position >= 0)
    pair = pair_of[held]
    # Each shared term's place among all the pairs' query entries: the held entries come in
    # the other's run order, which is the query's where both runs are in one order (term
    # maps sorted by term: what the index holds); else they are sorted into it.
    lengths = entities.length[query]
    offsets = np.cumsum(lengths) - lengths
    place = offsets[pair] + position[held]
    theirs = entities.weight[their_entry[held]]
    if len(place) > 1 and not (place[1:] > place[:-1]).all():
        order = np.argsort(place)
        place, pair, theirs = place[order], pair[order], theirs[order]
    # Only the shared terms are added: the other terms' products are exact zeros, which
    # change no sum of positive weights (in the infer stage ~40 % of a pair's query entries
    # are not shared; they were zero-filled, gathered, multiplied and added before).
    mine = entities.weight[(entities.start[query] - offsets)[pair] + place]
    dots = np.bincount(pair, mine * theirs, minlength=len(query))
    return dots.astype(np.float64, copy=False)


def _query_terms(query_terms: Ints, every: Ints) -> tuple[Ints, Ints, Ints]:
    """The distinct ``query_terms`` (ascending), each query term's index among them, and each
    of ``every``'s (all the entities' terms): its index, or len(distinct) where no query holds
    it. By a table over every term id when the call's entries are many next to the largest id
    (a batch: the ``np.unique`` sort of the query terms was a fifth of the direct table's walk),
    else by that sort and a binary search (one report)."""
    span = int(every.max()) + 1
    if len(every) >= span // 4:
        terms, local_of = distinct_places(query_terms, span)
        return terms, local_of[query_terms], local_of[every]
    terms, term_local = np.unique(query_terms, return_inverse=True)
    column = _local_terms(terms, every, span)
    column[column < 0] = len(terms)
    return terms, term_local.reshape(-1), column


def distinct_places(ids: Ints, span: int) -> tuple[Ints, Ints]:
    """The distinct ``ids`` in ascending order (as ``np.unique`` gives them) and a table over 0
    .. span - 1 of each id's index among them, len(distinct) for an id not among them (``span``
    above every id): by a mark per id, not a sort, where the ids are many next to ``span``."""
    seen = np.zeros(span, dtype=bool)
    seen[ids] = True
    distinct = np.flatnonzero(seen)
    place = np.full(span, len(distinct), dtype=np.int64)
    place[distinct] = np.arange(len(distinct), dtype=np.int64)
    return distinct, place


def _local_terms(terms: Ints, wanted: Ints, span: int) -> Ints:
    """Each wanted term id's index in the sorted distinct ``terms``, -1 if absent: a gather
    from a table over every term id when there are many to find (a batch), a binary search of
    the few distinct ones when the table would cost more than the look-ups (one report)."""
    if len(wanted) >= span // 4:
        local_of = np.full(span, -1, dtype=np.int64)
        local_of[terms] = np.arange(len(terms), dtype=np.int64)
        out: Ints = local_of[wanted]
        return out
    at = np.minimum(np.searchsorted(terms, wanted), max(0, len(terms) - 1))
    found = terms[at] == wanted if len(terms) else np.zeros(len(wanted), dtype=bool)
    return np.where(found, at, -1)


def _theirs_sorted(entities: Entities, other: Ints, entry: Ints, pair: Ints) -> Floats:
    """Per pair and entry of its query (the layout of ``ranges(start[query], lengths)``): the
    other's weight of that entry's term, 0.0 where it lacks it, by a search of each query
    entry's (other, term) key in every entity's entries sorted by (entity, term): for calls
    too large for ``_dots_direct``'s table."""
    span = int(entities.term.max()) + 1 if len(entities.term) else 1
    keys = entities.owner * span + entities.term
    # A (entity, term) key is unique (a run holds a term once), so any sort gives this order.
    order = np.argsort(keys, kind="stable") if entities.order is None else entities.order()
    sorted_keys = keys[order]
    wanted = other[pair] * span + entities.term[entry]
    at = np.minimum(np.searchsorted(sorted_keys, wanted), max(0, len(sorted_keys) - 1))
    found = sorted_keys[at] == wanted if len(sorted_keys) else np.zeros(len(wanted), dtype=bool)
    out: Floats = np.where(found, entities.weight[order[at]], 0.0)
    return out


def pack(runs: Sequence[tuple[Ints, Floats]]) -> tuple[Ints, Ints, Ints, Floats]:
    """Flat (start, length, term, log tf) of runs of (term ids, log tf factors)."""
    lengths = np.array([len(t) for t, _ in runs], dtype=np.int64)
    starts = np.cumsum(lengths) - lengths
    if not runs:
        return starts, lengths, np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64)
    terms = np.concatenate([t for t, _ in runs])
    factors = np.concatenate([f for _, f in runs])
    return starts, lengths, terms, factors
