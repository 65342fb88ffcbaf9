"""The duplicate scorer the infer stage and ``inferstream eval dedup`` share (pure, in memory).

Per report: candidates are the faiss top-k by cosine, the lexical top-k by shared rare terms
(when the profile weighs lexical similarity) and the top-k by cosine of the earlier reports of
the same call (a batch, in arrival order); each candidate gets its features (cosine, TF-IDF
cosine, same product, same component), the profile combines them into one score, the
candidates are re-ranked by it and the best one decides the verdict. Reports join the indexes
through ``add`` only (the infer stage calls it once results are durable), so a report never
finds itself or anything not yet seen.

Cost per report: one faiss search, one walk over the postings of at most
``lexical.MAX_QUERY_TERMS`` terms (both batched over the call), and features for at most
3 x candidates_k reports, whatever the batch size: the in-batch candidates come from one masked
top-k over the batch's cosine matrix, not a pair loop. A call's (report, candidate) pairs are
flat arrays keyed by store row (a faiss label, a lexical key) or position in the call, merged by
one sort, never a dict or a string look-up per candidate (those were ~20 % of the scorer); ids
are read once, for the columns, and compared only where scores tie.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import overload

import numpy as np
import numpy.typing as npt

from inferstream.models import SimilarityIndex
from inferstream.models.int8_flat import pair_cosines
from inferstream.models.threads import limited_for
from inferstream.tasks.bug_report.dedup.lexical import LexicalIndex, Terms
from inferstream.tasks.bug_report.dedup.profiles import DedupProfile
from inferstream.tasks.bug_report.dedup.ranked import Candidate, Columns, Decision
from inferstream.tasks.bug_report.dedup.store import ReportStore
from inferstream.tasks.bug_report.dedup.verdicts import Verdict, band, classify

__all__ = [
    "Candidate",
    "Decision",
    "DedupScorer",
    "ReportFeatures",
    "batch_neighbours",
    "decide",
    "neighbour_arrays",
    "rescore",
]

FloatArray = npt.NDArray[np.float32]
Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


@dataclass(frozen=True, init=False)
class ReportFeatures:
    """What the scorer knows of a report: its embedding, terms, product and component."""

    submission_id: str
    vector: FloatArray  # L2-normalised, 1-d
    terms: Terms
    product: str
    component: str
    # Error signature (signatures.py): measured by the eval's cross-validation only so far;
    # the scorer's decision does not use it (it did not help there: docs/dedup.md).
    signature: frozenset[str]

    def __init__(
        self,
        submission_id: str,
        vector: FloatArray,
        terms: Terms,
        product: str = "",
        component: str = "",
        signature: frozenset[str] = frozenset(),
    ) -> None:
        # Frozen all the same (assignment raises FrozenInstanceError): the fields are written
        # once, here, into the instance's dict. The generated __init__ of a frozen dataclass
        # sets each through object.__setattr__: 1.33 against 0.45 us, once per inferred report.
        fields = self.__dict__
        fields["submission_id"] = submission_id
        fields["vector"] = vector
        fields["terms"] = terms
        fields["product"] = product
        fields["component"] = component
        fields["signature"] = signature


def rescore(candidates: Sequence[Candidate], profile: DedupProfile) -> list[Candidate]:
    """Candidates re-scored with profile and ranked best first (ties by id); the scores come
    from ``combine_many``, as in the scorer, so both give the same floats."""
    if not candidates:
        return []
    scores = profile.combine_many(
        np.array([c.cosine for c in candidates], np.float64),
        np.array([c.lexical for c in candidates], np.float64),
        np.array([c.same_product for c in candidates], bool),
        np.array([c.same_component for c in candidates], bool),
    ).tolist()
    scored = [c._replace(score=score) for c, score in zip(candidates, scores, strict=True)]
    scored.sort(key=lambda c: (-c.score, c.submission_id))
    return scored


def decide(candidates: Sequence[Candidate], profile: DedupProfile) -> Decision:
    """The verdict of a report from its candidates' features under profile."""
    ranked = rescore(candidates, profile)
    verdict = classify([(c.submission_id, c.score) for c in ranked[: profile.top_k]], profile)
    return Decision(verdict, tuple(ranked))


def batch_neighbours(ids: Sequence[str], gram: FloatArray, k: int) -> list[dict[str, int]]:
    """For each report i of a call, its in-batch candidates: the k earlier reports (j < i) with
    the highest cosine (``gram`` = the batch's vectors times themselves), by id -> position, as
    faiss gives the k nearest indexed ones. A repeated id counts once, at its last position
    before i, and never as a candidate of itself (``neighbour_arrays``, as dicts)."""
    top, keep = neighbour_arrays(ids, gram, k)
    return [{ids[j]: j for j in row[mask].tolist()} for row, mask in zip(top, keep, strict=True)]


def neighbour_arrays(
    ids: Sequence[str], gram: FloatArray, k: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """``batch_neighbours`` as arrays: positions [reports, k'] and which of them count. One
    masked ``argpartition`` over the batch: no Python loop per pair, so a batch of 1024 costs
    k candidates a report, not 1023."""
    size = len(ids)
    valid = np.tri(size, k=-1, dtype=bool)  # j < i
    codes: dict[str, int] = {}
    code = np.array([codes.setdefault(id_, len(codes)) for id_ in ids], dtype=np.int64)
    if len(codes) < size:  # a replayed submission inside the batch (rare)
        after = np.full(size, size, dtype=np.int64)  # the next position of the same id
        seen: dict[str, int] = {}
        for j in range(size - 1, -1, -1):
            after[j] = seen.get(ids[j], size)
            seen[ids[j]] = j
        valid &= np.arange(size)[:, None] <= after[None, :]
        valid &= code[:, None] != code[None, :]
    if size - 1 > k:
        masked = np.where(valid, gram, -np.inf)
        top = np.argpartition(-masked, k - 1, axis=1)[:, :k]
    else:
        top = np.broadcast_to(np.arange(size), (size, size))
    return top, np.take_along_axis(valid, top, axis=1)


@dataclass(frozen=True)
class Pairs:
    """A call's (report, candidate) pairs as flat arrays, one entry per pair."""

    owner: Ints  # the report of the call
    row: Ints  # the candidate's store row; -1: a report of the call, not stored
    position: Ints  # the candidate's position in the call (an earlier report); else -1
    cosine: Floats


class DedupScorer:
    def __init__(self, profile: DedupProfile, dim: int = 384) -> None:
        self.profile = profile
        self.dim = dim
        self.vectors = SimilarityIndex(dim)
        self.lexical = LexicalIndex()
        self.store = ReportStore(dim)
        # One add at a time: a faiss label is then the report's store row (both number the
        # new reports in the same order), and the lexical index keys its reports by row.
        self._adding = threading.Lock()

    def __len__(self) -> int:
        return len(self.store)

    def __contains__(self, item: object) -> bool:
        return item in self.store

    def add(self, reports: Sequence[ReportFeatures]) -> int:
        """Index reports (ids already present are skipped); returns how many were new. The
        store first, the lexical index last: a row that faiss or the lexical index returns is
        always stored. Vectors of the wrong shape are refused before anything is stored: a
        faiss label must stay the report's store row."""
        if reports:
            shapes = {np.shape(r.vector) for r in reports}
            if shapes != {(self.dim,)}:
                raise ValueError(f"expected vectors of shape ({self.dim},), got {sorted(shapes)}")
        with self._adding:
            unique = self.store.add(reports)
            if not unique:
                return 0
            ids = [r.submission_id for r in unique]
            self.vectors.add(ids, np.stack([r.vector for r in unique]))
            if len(self.vectors) != len(self.store):
                raise RuntimeError("faiss labels and store rows no longer match")
            rows = self.store.lookup(ids)[0].tolist()
            self.lexical.add(((r.submission_id, r.terms) for r in unique), rows)
            return len(unique)

    def score(
        self, reports: Sequence[ReportFeatures], *, every_candidate: bool = False
    ) -> list[Decision]:
        """One decision per report, each against the index plus the earlier reports of this
        call (in order; the candidates_k nearest of them), so duplicates submitted in one
        batch are found too. A decision holds the profile's top_k best candidates (all that
        its verdict and a result's ``similar`` read): the TF-IDF cosines of the candidates
        that cannot reach a report's top_k are never computed (``_may_lead``).
        ``every_candidate``: every candidate considered, ranked (the eval's calibration and
        candidate recall read them all); the same verdicts and the same first top_k."""
        if not reports:
            return []
        k = self.profile.candidates_k + 1  # +1: a replayed submission may find itself
        ids = [r.submission_id for r in reports]
        matrix = np.stack([r.vector for r in reports]).astype(np.float32)
        _, labels, found = self.vectors.search_arrays(matrix, k)
        # Between model calls: no spinning BLAS threads (models/threads.py).
        with limited_for(len(reports), 1):
            gram = matrix @ matrix.T
        top, keep = neighbour_arrays(ids, gram, k - 1)
        sources = [_faiss_pairs(labels, found), _earlier_pairs(top, keep, gram)]
        if self.profile.uses_lexical:
            owner, row = self.lexical.candidate_keys([r.terms for r in reports], k - 1)
            sources.append((owner, row, np.full(len(row), -1), np.full(len(row), np.nan)))
        # After the searches: every row they returned is in this snapshot of the store.
        own, vectors, stored_labels = self.store.lookup(ids)
        names = self.store.arrays()[0]
        pairs = _merged(sources, own, len(names))
        cosine = _with_stored_cosines(pairs, matrix, vectors)
        same_product, same_component = _same_labels(
            self.store.labels(reports), pairs, stored_labels
        )
        if not every_candidate and self.profile.uses_lexical and self.profile.link == "mean":
            lead = _may_lead(self.profile, pairs.owner, cosine, same_product, same_component)
            pairs = Pairs(pairs.owner[lead], pairs.row[lead], pairs.position[lead], cosine[lead])
            cosine, same_product, same_component = (
                pairs.cosine,
                same_product[lead],
                same_component[lead],
            )
        lexical = (
            self.lexical.similarities_by_key(
                [r.terms for r in reports], pairs.owner, pairs.position, pairs.row
            )
            if self.profile.uses_lexical
            else np.zeros(len(pairs.owner))
        )
        scores = self.profile.combine_many(cosine, lexical, same_product, same_component)
        # Each pair's id as an index: a store row, or -1 - its position in the call.
        named = Names(np.where(pairs.position >= 0, -1 - pairs.position, pairs.row), names, ids)
        order = _ranked(pairs.owner, scores, named)
        if not every_candidate:
            order = _heads(pairs.owner, order, self.profile.top_k)
        columns = Columns(
            # Every id is read where the columns hold only the heads (each verdict's top_k).
            ids=named.reordered(order) if every_candidate else named.listed(order),
            cosine=cosine[order].tolist(),
            lexical=lexical[order].tolist(),
            same_product=same_product[order].tolist(),
            same_component=same_component[order].tolist(),
            score=scores[order].tolist(),
        )
        counts = np.bincount(pairs.owner[order], minlength=len(reports)).tolist()
        return self._decisions(columns, counts, not np.isnan(scores).any(), every_candidate)

    def _decisions(
        self, columns: Columns, counts: Sequence[int], clipped: bool, every_candidate: bool
    ) -> list[Decision]:
        """Each report's verdict from its span of the ranked columns the decisions share: what
        ``classify`` gives, without its clip per score where no score is NaN (``combine_many``
        already clips the others to [-1, 1])."""
        profile, top_k = self.profile, self.profile.top_k
        ids, score = columns.ids, columns.score
        # Columns of the heads only: every (id, score) is read, zipped once for all reports.
        scored = None if every_candidate else list(zip(ids, score, strict=True))
        decisions: list[Decision] = []
        at = 0
        for count in counts:
            best = at + min(count, top_k)
            if scored is not None:
                top = tuple(scored[at:best])
            else:
                top = tuple(zip(ids[at:best], score[at:best], strict=True))
            if not clipped:
                verdict = classify(top, profile)
            elif count:
                verdict = Verdict(*band(top[0][1], top[0][0], profile), top)
            else:
                verdict = Verdict("unique", None, ())
            decisions.append(Decision(verdict, columns=columns, span=(at, at + count)))
            at += count
        return decisions


Source = tuple[Ints, Ints, Ints, Floats]  # (owner, row, position, cosine) of one kind of pair


def _faiss_pairs(labels: npt.NDArray[np.int64], found: FloatArray) -> Source:
    """faiss's hits as pairs (a label is a store row); label -1 (an empty HNSW slot) skipped."""
    owner = np.repeat(np.arange(labels.shape[0], dtype=np.int64), labels.shape[1])
    row = labels.reshape(-1)
    hit = row >= 0
    cosine = found.reshape(-1).astype(np.float64)
    return owner[hit], row[hit], np.full(int(hit.sum()), -1, dtype=np.int64), cosine[hit]


def _earlier_pairs(
    top: npt.NDArray[np.int64], keep: npt.NDArray[np.bool_], gram: FloatArray
) -> Source:
    """The in-batch candidates as pairs (row filled in by ``_merged``), their cosines read
    from the batch's product with itself."""
    owner = np.repeat(np.arange(top.shape[0], dtype=np.int64), keep.sum(axis=1))
    position = top[keep].astype(np.int64)
    cosine = gram[owner, position].astype(np.float64)
    return owner, np.full(len(owner), -1, dtype=np.int64), position, cosine


def _merged(sources: Sequence[Source], own: Ints, stored: int) -> Pairs:
    """The union of each report's candidates by id (faiss's, the in-batch and the lexical
    ones), itself left out. An id found both ways keeps the in-batch pair (its cosine from
    the batch, its terms and labels its own), then faiss's (with its cosine); a lexical pair
    alone has its cosine still to compute (NaN). A report of the call is its store row when
    stored (a replay), so both name one candidate; ``stored``: rows below it."""
    owner = np.concatenate([s[0] for s in sources])
    position = np.concatenate([s[2] for s in sources])
    row = np.concatenate([s[1] for s in sources])
    batch = position >= 0
    row[batch] = own[position[batch]]
    cosine = np.concatenate([s[3] for s in sources])
    # In-batch first (0), faiss (1), lexical (2): sources[0] is faiss, sources[1] in-batch.
    rank = np.concatenate(
        [np.full(len(s[0]), r, dtype=np.int64) for r, s in zip((1, 0, 2), sources, strict=False)]
    )
    span = stored + len(own)
    key = np.where(row >= 0, row, stored + position)
    pair = owner * span + key
    order = np.lexsort((rank, pair))
    first = np.ones(len(order), dtype=bool)
    first[1:] = pair[order][1:] != pair[order][:-1]
    chosen = order[first]
    itself = (row[chosen] >= 0) & (row[chosen] == own[owner[chosen]])  # a replay finds itself
    # The sources' order (no reason but a stable layout), by a mask: a sort of the ~6,000
    # chosen positions was half of this function.
    kept = np.zeros(len(order), dtype=bool)
    kept[chosen[~itself]] = True
    chosen = np.flatnonzero(kept)
    return Pairs(owner[chosen], row[chosen], position[chosen], cosine[chosen])


def _with_stored_cosines(pairs: Pairs, matrix: FloatArray, vectors: FloatArray) -> Floats:
    """The pairs' cosines clipped to [-1, 1], a lexical pair's computed: one gather of the
    stored rows and one row-wise product, the floats of a dot product per pair."""
    cosine = pairs.cosine.copy()
    todo = np.flatnonzero(np.isnan(cosine))
    if len(todo):
        # The index's own arithmetic for a pair (a row-wise product of the two rows), so a
        # pair's cosine is the same whichever source found it.
        cosine[todo] = pair_cosines(matrix, vectors, pairs.owner[todo], pairs.row[todo])
    out: Floats = np.clip(cosine, -1.0, 1.0)
    return out


def _may_lead(
    profile: DedupProfile,
    owner: Ints,
    cosine: Floats,
    same_product: npt.NDArray[np.bool_],
    same_component: npt.NDArray[np.bool_],
) -> npt.NDArray[np.bool_]:
    """The pairs that may be among their report's top_k whatever their TF-IDF cosine (in
    [0, 1]): a pair whose score with a lexical cosine of 1 stays below the top_k-th best score
    of its report's pairs with a lexical cosine of 0 is below top_k others, whatever the
    cosines turn out to be. Exact in floats: the weighted mean (non-negative weights) is
    computed by ``combine_many`` with rounded operations that never decrease when an input
    grows. All pairs where a score is NaN."""
    zero = np.zeros(len(owner))
    low = profile.combine_many(cosine, zero, same_product, same_component)
    high = profile.combine_many(cosine, zero + 1.0, same_product, same_component)
    if np.isnan(low).any() or np.isnan(high).any():
        return np.ones(len(owner), dtype=bool)
    # Each report's top_k-th best low score (-inf with top_k pairs or fewer): the low scores
    # in a (report x its pairs) table padded with -inf, and one partition of its rows (a
    # lexsort of every pair by report and score was 80 % of this function).
    counts = np.bincount(owner)
    top_k = profile.top_k
    if len(counts) == 0 or counts.max() <= top_k:
        return np.ones(len(owner), dtype=bool)
    by_report = np.argsort(owner, kind="stable")
    mine = owner[by_report]
    column = np.arange(len(owner)) - (np.cumsum(counts) - counts)[mine]
    table = np.full((len(counts), int(counts.max())), -np.inf)
    table[mine, column] = low[by_report]
    kth = table.shape[1] - top_k  # the top_k-th best is the kth smallest
    floor = np.where(counts > top_k, np.partition(table, kth, axis=1)[:, kth], -np.inf)
    lead: npt.NDArray[np.bool_] = high >= floor[owner]
    return lead


def _heads(owner: Ints, order: Ints, top_k: int) -> Ints:
    """The ranked order (``_ranked``: report by report, best first) cut to each report's
    top_k."""
    ranked = owner[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = ranked[1:] != ranked[:-1]
    starts = np.flatnonzero(first)
    run = np.cumsum(first) - 1
    out: Ints = order[np.arange(len(order)) - starts[run] < top_k]
    return out


def _same_labels(
    mine: Ints, pairs: Pairs, stored: Ints
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Per pair: same product, same component as its report (case-insensitive, an empty label
    matches nothing). An earlier report of the call by its own labels, the others by their
    stored codes."""
    batch = pairs.position >= 0
    outside = ~batch
    positions, rows = pairs.position[batch], pairs.row[outside]
    # A column at a time: gathers and masks of (pairs x 2) arrays were 6x slower.
    same: list[npt.NDArray[np.bool_]] = []
    for column in (0, 1):
        labels = mine[:, column]
        theirs = np.empty(len(pairs.owner), dtype=np.int64)
        theirs[batch] = labels[positions]
        theirs[outside] = stored[:, column][rows]
        ours = labels[pairs.owner]
        same.append((ours >= 0) & (ours == theirs))
    return same[0], same[1]


class Names(Sequence[str]):
    """The pairs' ids, read only when asked: the infer stage reads the top few of each report
    (its verdict and ``similar``), not the ~60 it ranked; reading all of them was ~3 % of the
    scorer. ``index``: a store row (an id in ``stored``) or -1 - a position in ``batch``."""

    def __init__(self, index: Ints, stored: Sequence[str], batch: Sequence[str]) -> None:
        self._index = index
        self._at: list[int] | None = None
        self._stored = stored
        self._batch = batch

    def reordered(self, order: Ints) -> Names:
        return Names(self._index[order], self._stored, self._batch)

    def listed(self, order: Ints) -> list[str]:
        """The ids in ``order``, all of them read at once: a C-level look-up of each stored
        one and a step per report of the call (a few), instead of a Python step per id."""
        index = self._index[order]
        in_call = np.flatnonzero(index < 0).tolist()
        if len(in_call) == len(index):  # nothing stored (yet): no row to look up
            ids = [""] * len(index)
        else:  # row 0 exists: the reports of the call look it up, then get their own ids
            ids = list(map(self._stored.__getitem__, np.maximum(index, 0).tolist()))
        for at in in_call:
            ids[at] = self._batch[-1 - int(index[at])]
        return ids

    def __len__(self) -> int:
        return len(self._index)

    @overload
    def __getitem__(self, item: int) -> str: ...
    @overload
    def __getitem__(self, item: slice) -> list[str]: ...
    def __getitem__(self, item: int | slice) -> str | list[str]:
        if self._at is None:
            self._at = self._index.tolist()
        if isinstance(item, slice):
            return [self._name(i) for i in self._at[item]]
        return self._name(self._at[item])

    def _name(self, i: int) -> str:
        return self._stored[i] if i >= 0 else self._batch[-1 - i]


def _ranked(owner: Ints, scores: Floats, named: Names) -> Ints:
    """The pairs' order: report by report, best score first, equal scores by id. Two stable
    sorts, by score then by report (a radix sort of 16-bit codes: half the time of one
    ``lexsort`` of both keys); then the runs of equal scores (rare) sorted by id, all at once
    (one Python sort of their ids)."""
    by_score = np.argsort(-scores, kind="stable")
    codes = owner[by_score].astype(np.int16 if len(owner) and owner.max() < 2**15 else np.int64)
    order = by_score[np.argsort(codes, kind="stable")]
    ranked_owner, ranked = owner[order], scores[order]
    tied = (ranked_owner[1:] == ranked_owner[:-1]) & (ranked[1:] == ranked[:-1])
    if not tied.any():
        return order
    # Positions in runs of ties, each run's number, and each one's id rank among them.
    in_run = np.zeros(len(order), dtype=bool)
    in_run[1:] |= tied
    in_run[:-1] |= tied
    starts = in_run & ~np.concatenate([[False], tied])
    at = np.flatnonzero(in_run)
    run = np.cumsum(starts)[at]
    names = [named[i] for i in order[at].tolist()]
    rank = np.empty(len(at), dtype=np.int64)
    rank[sorted(range(len(at)), key=names.__getitem__)] = np.arange(len(at))
    order[at] = order[at][np.lexsort((rank, run))]
    return order
