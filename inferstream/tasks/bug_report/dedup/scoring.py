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
top-k over the batch's cosine matrix, not a pair loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain, repeat

import numpy as np
import numpy.typing as npt

from inferstream.models import SimilarityIndex
from inferstream.models.threads import limited_for
from inferstream.tasks.bug_report.dedup.lexical import LexicalIndex, Terms
from inferstream.tasks.bug_report.dedup.profiles import DedupProfile
from inferstream.tasks.bug_report.dedup.ranked import Candidate, Columns, Decision
from inferstream.tasks.bug_report.dedup.store import ReportStore
from inferstream.tasks.bug_report.dedup.verdicts import classify

__all__ = [
    "Candidate",
    "Decision",
    "DedupScorer",
    "ReportFeatures",
    "batch_neighbours",
    "decide",
    "nearest",
    "rescore",
]

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True)
class ReportFeatures:
    """What the scorer knows of a report: its embedding, terms, product and component."""

    submission_id: str
    vector: FloatArray  # L2-normalised, 1-d
    terms: Terms
    product: str = ""
    component: str = ""
    # Error signature (signatures.py): measured by the eval's cross-validation only so far;
    # the scorer's decision does not use it (it did not help there: docs/dedup.md).
    signature: frozenset[str] = frozenset()


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
    before i, and never as a candidate of itself. One masked ``argpartition`` over the batch:
    no Python loop per pair, so a batch of 1024 costs k candidates a report, not 1023."""
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
    keep = np.take_along_axis(valid, top, axis=1)
    return [{ids[j]: j for j in row[mask].tolist()} for row, mask in zip(top, keep, strict=True)]


def nearest(
    ids: Sequence[str], labels: npt.NDArray[np.int64], scores: FloatArray
) -> list[dict[str, float]]:
    """Each query's faiss hits (``SimilarityIndex.search_arrays``) as id -> cosine, the floats
    ``search`` gives, without its tuple per hit; label -1 (an empty HNSW slot) skipped."""
    get = ids.__getitem__
    rows, values = labels.tolist(), scores.tolist()
    if (labels < 0).any():
        return [
            {get(j): v for j, v in zip(row, vals, strict=True) if j >= 0}
            for row, vals in zip(rows, values, strict=True)
        ]
    return [
        dict(zip(map(get, row), vals, strict=True)) for row, vals in zip(rows, values, strict=True)
    ]


class DedupScorer:
    def __init__(self, profile: DedupProfile, dim: int = 384) -> None:
        self.profile = profile
        self.dim = dim
        self.vectors = SimilarityIndex(dim)
        self.lexical = LexicalIndex()
        self.store = ReportStore(dim)

    def __len__(self) -> int:
        return len(self.store)

    def __contains__(self, item: object) -> bool:
        return item in self.store

    def add(self, reports: Sequence[ReportFeatures]) -> int:
        """Index reports (ids already present are skipped); returns how many were new."""
        unique = self.store.add(reports)
        if not unique:
            return 0
        self.vectors.add([r.submission_id for r in unique], np.stack([r.vector for r in unique]))
        self.lexical.add((r.submission_id, r.terms) for r in unique)
        return len(unique)

    def score(self, reports: Sequence[ReportFeatures]) -> list[Decision]:
        """One decision per report, each against the index plus the earlier reports of this
        call (in order; the candidates_k nearest of them), so duplicates submitted in one
        batch are found too."""
        if not reports:
            return []
        k = self.profile.candidates_k + 1  # +1: a replayed submission may find itself
        matrix = np.stack([r.vector for r in reports]).astype(np.float32)
        found = nearest(*self.vectors.search_arrays(matrix, k))
        # Between model calls: no spinning BLAS threads (models/threads.py).
        with limited_for(len(reports), 1):
            gram = matrix @ matrix.T
        earlier = batch_neighbours([r.submission_id for r in reports], gram, k - 1)
        cosines = self._cosines(reports, matrix, found, earlier, gram)
        named = [sorted(cosine) for cosine in cosines]
        lexical = self._lexical(reports, named, earlier) if self.profile.uses_lexical else None
        return self._decisions(reports, named, cosines, lexical, earlier)

    def _cosines(
        self,
        reports: Sequence[ReportFeatures],
        matrix: FloatArray,
        cosines: list[dict[str, float]],
        earlier: Sequence[dict[str, int]],
        gram: FloatArray,
    ) -> list[dict[str, float]]:
        """Each report's candidates and their cosines: the faiss top-k (``cosines``, completed
        in place), the lexical top-k (the cosines faiss did not return: one gather of their
        stored vectors) and its nearest earlier reports of the call (read from the batch's
        product with itself)."""
        if self.profile.uses_lexical:
            k = self.profile.candidates_k
            lexical = self.lexical.candidates_many([r.terms for r in reports], k)
            pairs = [
                (i, other)
                for i, hits in enumerate(lexical)
                for other, _ in hits
                if other not in cosines[i]
            ]
            for (i, other), value in zip(pairs, self._stored_cosines(pairs, matrix), strict=True):
                cosines[i][other] = value
        counts = [len(before) for before in earlier]
        rows = np.repeat(np.arange(len(earlier)), counts)
        columns = np.fromiter(chain.from_iterable(b.values() for b in earlier), np.int64, len(rows))
        values = gram[rows, columns].tolist()
        at = 0
        for report, cosine, before, count in zip(reports, cosines, earlier, counts, strict=True):
            cosine.update(zip(before, values[at : at + count], strict=True))
            cosine.pop(report.submission_id, None)
            at += count
        return cosines

    def _stored_cosines(self, pairs: Sequence[tuple[int, str]], matrix: FloatArray) -> list[float]:
        """Cosine of matrix[i] to the stored vector of id, for each (i, id); -1.0 for an id
        that is not stored. One gather of the stored rows, one row-wise product."""
        rows, vectors, _ = self.store.lookup([other for _, other in pairs])
        out = np.full(len(pairs), -1.0)
        present = rows >= 0
        if present.any():
            mine = matrix[np.array([i for i, _ in pairs], dtype=np.int64)[present]]
            out[present] = np.einsum("ij,ij->i", mine, vectors[rows[present]])
        values: list[float] = out.tolist()
        return values

    def _lexical(
        self,
        reports: Sequence[ReportFeatures],
        named: Sequence[list[str]],
        earlier: Sequence[dict[str, int]],
    ) -> list[float]:
        """TF-IDF cosine of each report to its candidates, flat in report then id order, in one
        index call: an earlier report of this call by its position (its own terms), the others
        by id."""
        others = [[earlier[i].get(other, other) for other in ids] for i, ids in enumerate(named)]
        scores = self.lexical.similarities([r.terms for r in reports], others)
        return [score for per_report in scores for score in per_report]

    def _decisions(
        self,
        reports: Sequence[ReportFeatures],
        named: Sequence[list[str]],
        cosines: Sequence[dict[str, float]],
        lexical: Sequence[float] | None,
        earlier: Sequence[dict[str, int]],
    ) -> list[Decision]:
        """Every candidate's features and score as flat arrays over the whole call, ranked per
        report (best score first, ties by id) into columns the decisions share."""
        counts = [len(ids) for ids in named]
        flat = list(chain.from_iterable(named))
        owner = np.repeat(np.arange(len(reports)), counts)
        # Per candidate by C-level map over each report's ids, not a Python step per candidate.
        each = zip(cosines, named, strict=True)
        found = chain.from_iterable(map(c.__getitem__, ids) for c, ids in each)
        cosine = np.clip(np.fromiter(found, np.float64, len(flat)), -1.0, 1.0)
        lex = np.array(lexical, dtype=np.float64) if lexical is not None else np.zeros(len(flat))
        gets = (
            map(before.get, ids, repeat(-1)) for before, ids in zip(earlier, named, strict=True)
        )
        position = list(chain.from_iterable(gets))
        same_product, same_component = self._same_labels(reports, flat, position, owner)
        scores = self.profile.combine_many(cosine, lex, same_product, same_component)
        # Stable: within a report, equal scores keep the (sorted) id order.
        order = np.lexsort((-scores, owner))
        columns = Columns(
            ids=np.array(flat, dtype=object)[order].tolist() if flat else [],
            cosine=cosine[order].tolist(),
            lexical=lex[order].tolist(),
            same_product=same_product[order].tolist(),
            same_component=same_component[order].tolist(),
            score=scores[order].tolist(),
        )
        top_k = self.profile.top_k
        decisions: list[Decision] = []
        at = 0
        for count in counts:
            best = slice(at, at + min(count, top_k))
            top = list(zip(columns.ids[best], columns.score[best], strict=True))
            span = (at, at + count)
            decisions.append(Decision(classify(top, self.profile), columns=columns, span=span))
            at += count
        return decisions

    def _same_labels(
        self,
        reports: Sequence[ReportFeatures],
        flat: Sequence[str],
        position: Sequence[int],
        owner: npt.NDArray[np.int64],
    ) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
        """Per candidate (flat): same product, same component as its report (case-insensitive,
        an empty label matches nothing). An earlier report of the call (position >= 0) by its
        own labels, the others by their stored codes (unknown ids match nothing)."""
        mine = self.store.labels(reports)
        rows, _, stored = self.store.lookup(flat)
        at = np.array(position, dtype=np.int64)
        theirs = np.full((len(flat), 2), -1, dtype=np.int64)
        from_store = (at < 0) & (rows >= 0)
        theirs[from_store] = stored[rows[from_store]]
        in_batch = at >= 0
        theirs[in_batch] = mine[at[in_batch]]
        same = (mine[owner] >= 0) & (mine[owner] == theirs)
        return same[:, 0], same[:, 1]
