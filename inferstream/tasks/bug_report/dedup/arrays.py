"""Flat-array helpers of the lexical index (lexical.py) and the report store (store.py): arrays
grown in place, the (query, other) pairs of a similarities call and a batch's rare terms. Each
is one pass of C-level list or numpy work, not a Python loop over postings or pairs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from itertools import chain, islice, repeat
from operator import lt
from typing import Any

import numpy as np
import numpy.typing as npt

Ints = npt.NDArray[np.int64]


class Grown:
    """A numpy array appended to in place, its capacity doubled when full (a new array: a
    ``data`` taken before stays valid). Its items are scalars, or rows of ``row_shape``."""

    def __init__(
        self,
        dtype: type[np.int64] | type[np.uint64] | type[np.float64] | type[np.float32],
        capacity: int = 64,
        row_shape: tuple[int, ...] = (),
    ) -> None:
        self.data: npt.NDArray[Any] = np.empty((capacity, *row_shape), dtype=dtype)
        self.used = 0

    def extend(self, values: Sequence[float] | Sequence[int] | npt.NDArray[Any]) -> None:
        end = self.used + len(values)
        if end > len(self.data):
            shape = (max(end, 2 * len(self.data)), *self.data.shape[1:])
            grown = np.empty(shape, dtype=self.data.dtype)
            grown[: self.used] = self.data[: self.used]
            self.data = grown
        self.data[self.used : end] = values
        self.used = end

    def view(self) -> npt.NDArray[Any]:
        return self.data[: self.used]

    def truncate(self, used: int) -> None:
        """Keep the first ``used`` items (the next extend writes over the rest)."""
        self.used = min(used, self.used)


def name_keys(ids: Sequence[str]) -> npt.NDArray[np.uint64]:
    """Each id's first 16 bytes of UTF-8 (zero-padded) as two big-endian integers, one row per
    id: a row ordered below another means the id is below the other in Python's str order
    (UTF-8 keeps the order of code points, and a shorter id pads with the lowest byte); equal
    rows decide nothing. Lone surrogates are encoded as they stand (surrogatepass), in order."""
    padded = b"".join(i.encode("utf-8", "surrogatepass")[:16].ljust(16, b"\0") for i in ids)
    keys: npt.NDArray[np.uint64] = (
        np.frombuffer(padded, dtype=">u8").astype(np.uint64).reshape(len(ids), 2)
    )
    return keys


def pairs(batch_size: int, others: Sequence[Iterable[int | str]]) -> tuple[list[str], Ints, Ints]:
    """The (query, other) entity pairs of a similarities call, and the ids named in it in the
    order their entities are numbered (after the batch's): an int other is a position in the
    batch (its own entity), a str an indexed report's id."""
    if len(others) > batch_size:
        raise ValueError(f"{len(others)} lists of others for a batch of {batch_size}")
    lists = [o if isinstance(o, list) else list(o) for o in others]
    flat = list(chain.from_iterable(lists))
    ids = [o for o in flat if isinstance(o, str)]
    named = list(dict.fromkeys(ids))
    entity_of: dict[int | str, int] = {id_: batch_size + n for n, id_ in enumerate(named)}
    # An int is never a key (the keys are strs): positions map to themselves.
    pair_other = np.fromiter(map(entity_of.get, flat, flat), np.int64, len(flat))
    positions = len(flat) - len(ids)
    if (pair_other < 0).any() or np.count_nonzero(pair_other < batch_size) != positions:
        bad = next(o for o in flat if not isinstance(o, str) and not 0 <= o < batch_size)
        raise ValueError(f"position {bad} outside a batch of {batch_size}")
    lengths = np.array([len(o) for o in lists], dtype=np.int64)
    pair_query = np.repeat(np.arange(len(lists), dtype=np.int64), lengths)
    return named, pair_query, pair_other


# A batch's terms flat, their ids, each map's size and the terms' counts (flat, as numpy makes
# them an array: int64 for int counts).
Looked = tuple[list[str], Ints, list[int], npt.NDArray[Any]]


def looked_up(batch: Sequence[Mapping[str, int]], vocab: Mapping[str, int]) -> Looked:
    """The batch's terms in one flat list (map after map, each in its order), their ids in
    ``vocab`` (-1 for a term it lacks: C-level look-ups), each map's number of terms and the
    terms' counts in that order (read once a batch: the index's cosines and its add both need
    them, and a list of a batch's counts made an array cost ~1.5 us per record each time)."""
    flat = list(chain.from_iterable(batch))
    ids = np.fromiter(map(vocab.get, flat, repeat(-1)), np.int64, len(flat))
    counts = np.asarray(list(chain.from_iterable(terms.values() for terms in batch)))
    return flat, ids, list(map(len, batch)), counts


def rare_terms(
    queries: Sequence[Mapping[str, int]],
    vocab: Mapping[str, int],
    df: Ints,
    limit: int,
    most: int,
    looked: Looked | None = None,
) -> tuple[Ints, Ints, list[int]]:
    """Each query's candidate sources: its ``most`` rarest terms found in 1 to ``limit``
    indexed reports (``df``: document frequency by term id in ``vocab``), rarest first, ties
    by term, as flat term ids and document frequencies and where each query's start (query i:
    ``bounds[i]:bounds[i + 1]``). One sort of the whole batch's terms by
    (query, df, term) instead of a Python loop and a tuple per term and query (~4 % of the
    infer stage). ``looked``: ``looked_up(queries, vocab)`` when the caller has it."""
    flat, ids, lengths, _ = looked if looked is not None else looked_up(queries, vocab)
    owner = np.repeat(np.arange(len(queries), dtype=np.int64), lengths)
    dfs = np.zeros(len(ids), dtype=np.int64)
    known = ids >= 0
    dfs[known] = df[ids[known]]
    usable = np.flatnonzero((dfs > 0) & (dfs <= limit))
    if len(queries) * (limit + 1) < 2**62 and _in_term_order(flat, lengths):
        # Each query's terms in term order (term_frequencies sorts them, results carry them
        # so): a stable sort by (query, df) leaves equal dfs in it, without the str array and
        # its lexsort (half of this function).
        key = owner[usable] * (limit + 1) + dfs[usable]
        order = usable[np.argsort(key, kind="stable")]
    else:
        # numpy compares str arrays by code point, as Python compares str.
        names = np.array([flat[i] for i in usable.tolist()], dtype=str)
        order = usable[np.lexsort((names, dfs[usable], owner[usable]))]
    owners = owner[order]
    first = np.searchsorted(owners, np.arange(len(queries) + 1))
    rank = np.arange(len(order)) - first[owners]  # a term's place among its query's
    kept = order[rank < most]
    bounds = np.searchsorted(owner[kept], np.arange(len(queries) + 1)).tolist()
    return ids[kept], dfs[kept], bounds


def _in_term_order(flat: list[str], lengths: list[int]) -> bool:
    """Whether each run of ``flat`` (the lengths in turn) rises strictly in Python's str order:
    one C-level comparison of each term with the next, the pairs across runs left out."""
    if len(flat) < 2:
        return True
    rising = np.fromiter(map(lt, flat, islice(flat, 1, None)), dtype=bool, count=len(flat) - 1)
    ends = np.cumsum(lengths) - 1  # each run's last term: its pair with the next run's first
    rising[ends[(ends >= 0) & (ends < len(rising))]] = True
    return bool(rising.all())


def kth_best(
    query: Ints, values: npt.NDArray[np.float64], k: int, size: int
) -> npt.NDArray[np.float64]:
    """Each query's k-th best of its values (query ascending), -inf where it has fewer than
    k: where it has exactly k their least (``fmin``: NaN last, as a partition puts it), all
    such queries at once; else a partition per query, in place in one copy of the values (a
    2-D partition or a lexsort was slower; the Python steps around ``np.partition`` were
    most of the cost of a partition of a few hundred values)."""
    count = np.bincount(query, minlength=size)
    out = np.full(size, -np.inf)
    ends = np.cumsum(count)
    starts = ends - count
    exact = np.flatnonzero(count == k)
    if len(exact):
        cells = starts[exact][:, None] + np.arange(k)
        out[exact] = np.fmin.reduce(values[cells], axis=1)
    many = np.flatnonzero(count > k)
    if len(many):
        copy = values.copy()
        bounds = zip(starts[many].tolist(), ends[many].tolist(), many.tolist(), strict=True)
        for start, end, q in bounds:
            part = copy[start:end]
            part.partition(end - start - k)
            out[q] = part[end - start - k]
    return out
