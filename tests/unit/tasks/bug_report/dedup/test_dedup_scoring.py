"""The scorer the infer stage and the eval share: candidates, features, re-ranking, verdicts."""

from __future__ import annotations

import math
from dataclasses import FrozenInstanceError, replace
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt
import orjson
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pgvector import Vector

from inferstream.models import SimilarityIndex
from inferstream.schemas import BugReportResult, encode, make_result_id
from inferstream.tasks.bug_report.dedup.lexical import LexicalIndex
from inferstream.tasks.bug_report.dedup.profiles import HYBRID, SEED, DedupProfile, get_profile
from inferstream.tasks.bug_report.dedup.scoring import (
    Candidate,
    Decision,
    DedupScorer,
    ReportFeatures,
    _may_lead,
    batch_neighbours,
    decide,
)
from inferstream.tasks.bug_report.dedup.terms import term_frequencies
from inferstream.tasks.bug_report.dedup.verdicts import classify, in_batch_scores, merge_candidates
from inferstream.tasks.bug_report.inferer import result_features

DIM = 4


def unit(cosine_to_x: float, tilt: int = 1) -> np.ndarray:
    """A unit vector whose cosine with [1, 0, 0, 0] is cosine_to_x."""
    v = np.zeros(DIM, np.float32)
    v[0] = cosine_to_x
    v[tilt] = math.sqrt(1 - cosine_to_x**2)
    return v


ORIGINAL = ReportFeatures(
    "orig",
    unit(1.0),
    term_frequencies("Export to PNG crashes the editor", "Every PNG export crashes Lumen.", ""),
    "Lumen Photo",
    "export",
)
# Same bug, other words: MiniLM cosine ~0.63 (the dev set's median for true duplicates).
PARAPHRASE = ReportFeatures(
    "para",
    unit(0.63, 1),
    term_frequencies("Editor crashes when I export a PNG", "Saving as PNG closes the app.", ""),
    "Lumen Photo",
    "Export",
)
# Same component, different bug: cosine ~0.50 (the dev set's median for near misses).
NEAR_MISS = ReportFeatures(
    "near",
    unit(0.50, 2),
    term_frequencies("Export to PDF loses layer names", "PDF export renames layers.", ""),
    "Lumen Photo",
    "export",
)
OTHER_PRODUCT = ReportFeatures(
    "other",
    unit(0.63, 3),
    term_frequencies("Export crashes", "The CSV export crashes the web app.", ""),
    "Brightcart Storefront",
    "export",
)


def scorer_with(profile: DedupProfile, *reports: ReportFeatures) -> DedupScorer:
    scorer = DedupScorer(profile, DIM)
    scorer.add(list(reports))
    return scorer


def test_hybrid_flags_the_paraphrase_and_not_the_near_miss() -> None:
    scorer = scorer_with(HYBRID, ORIGINAL)
    para, near = scorer.score([PARAPHRASE, NEAR_MISS])
    assert (para.verdict.status, para.verdict.duplicate_of) == ("duplicate", "orig")
    assert near.verdict.status == "unique"
    best = para.candidates[0]
    assert best.same_product and best.same_component  # component compared case-insensitively
    assert best.cosine == pytest.approx(0.63, abs=1e-6)
    assert best.lexical > 0.3


def test_seed_misses_the_paraphrase_as_seed_001_did() -> None:
    (para,) = scorer_with(SEED, ORIGINAL).score([PARAPHRASE])
    assert para.verdict.status == "unique"
    best_id, best_score = para.verdict.similar[0]
    assert best_id == "orig"
    assert best_score == pytest.approx(0.63, abs=1e-6)


def test_the_same_words_in_another_product_rank_below_the_same_product() -> None:
    scorer = scorer_with(HYBRID, ORIGINAL, OTHER_PRODUCT)
    query = ReportFeatures("q", unit(0.63, 1), PARAPHRASE.terms, "Lumen Photo", "export")
    (decision,) = scorer.score([query])
    ranked = [c.submission_id for c in decision.candidates]
    assert ranked.index("orig") < ranked.index("other")


def test_a_duplicate_in_the_same_batch_is_found_and_nothing_finds_itself() -> None:
    scorer = DedupScorer(HYBRID, DIM)
    first, second = scorer.score([ORIGINAL, PARAPHRASE])
    assert first.verdict.status == "unique" and first.candidates == ()
    assert second.verdict.duplicate_of == "orig"
    scorer.add([ORIGINAL])
    (again,) = scorer.score([ORIGINAL])  # a replayed submission
    assert all(c.submission_id != "orig" for c in again.candidates)


def test_lexical_candidates_reach_beyond_the_faiss_top_k() -> None:
    """With candidates_k=1 faiss brings only the nearest vector; the paraphrase's original
    still comes in through shared rare terms."""
    profile = DedupProfile(
        "t", "1", duplicate=0.9, possible=0.5, w_lexical=1.0, top_k=1, candidates_k=1
    )
    decoy = ReportFeatures("decoy", unit(0.9, 1), {"unrelated": 1}, "Lumen Photo", "ui")
    scorer = scorer_with(profile, ORIGINAL, decoy)
    query = ReportFeatures("q", unit(0.63, 1), PARAPHRASE.terms, "Lumen Photo", "export")
    (decision,) = scorer.score([query], every_candidate=True)
    assert {c.submission_id for c in decision.candidates} == {"orig", "decoy"}
    assert decision.verdict.similar[0][0] == "orig"


def test_add_is_idempotent_and_results_round_trip_to_features() -> None:
    scorer = DedupScorer(HYBRID, DIM)
    assert scorer.add([ORIGINAL, ORIGINAL]) == 1
    assert scorer.add([ORIGINAL]) == 0
    sid = "0f8b3a52-5d1c-4a57-9a55-7c0e51c1a111"
    result = BugReportResult(
        result_id=make_result_id(sid, "m", "1"),
        submission_id=sid,
        schema_version=1,
        model_name="m",
        model_version="1",
        produced_at=datetime.now(UTC),
        quality_score=1.0,
        low_quality=False,
        duplicate_status="unique",
        content_sha256="0" * 64,
        embedding=[float(x) for x in ORIGINAL.vector],
        product=ORIGINAL.product,
        component=ORIGINAL.component,
        dedup_terms=dict(ORIGINAL.terms),
        dedup_profile=HYBRID.name,
        dedup_profile_version=HYBRID.version,
    )
    # Plain fields, as the result follower decodes them and the history read returns them.
    features = result_features(orjson.loads(encode(result)))
    assert features is not None
    assert features.terms == ORIGINAL.terms and features.product == "Lumen Photo"
    assert np.array_equal(features.vector, ORIGINAL.vector)
    old_row = {**result.model_dump(), "dedup_terms": None, "product": None, "component": None}
    legacy = result_features(old_row)
    assert legacy is not None and legacy.terms == {} and legacy.product == ""
    # As the history read returns it: pgvector's Vector.
    stored = result_features({**old_row, "embedding": Vector(ORIGINAL.vector)})
    assert stored is not None and np.array_equal(stored.vector, ORIGINAL.vector)


def test_profiles_by_name_and_the_seed_values() -> None:
    assert get_profile("seed") == SEED
    assert (SEED.duplicate, SEED.possible, SEED.uses_lexical) == (0.85, 0.70, False)
    assert SEED.combine(0.8, 1.0, True, True) == 0.8
    with pytest.raises(LookupError, match="unknown dedup profile 'nope'"):
        get_profile("nope")
    with pytest.raises(ValueError, match="possible threshold above duplicate"):
        DedupProfile("bad", "1", duplicate=0.5, possible=0.6)


vectors = st.lists(
    st.lists(st.floats(-1, 1, allow_nan=False, width=32), min_size=DIM, max_size=DIM).filter(
        lambda v: sum(x * x for x in v) > 0.01
    ),
    min_size=1,
    max_size=10,
)


@settings(max_examples=60, deadline=None)
@given(vectors, st.integers(1, 4))
def test_the_seed_profile_decides_exactly_like_the_seed_001_code(
    raw: list[list[float]], batch: int
) -> None:
    """Seed 001: faiss top-k plus earlier in-batch items, merged, classified at 0.85 / 0.70."""
    matrix = np.asarray(raw, np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    ids = [f"r{n}" for n in range(len(matrix))]
    scorer = DedupScorer(SEED, DIM)
    legacy = SimilarityIndex(DIM)
    for start in range(0, len(ids), batch):
        part, vecs = ids[start : start + batch], matrix[start : start + batch]
        reports = [ReportFeatures(sid, v, {}) for sid, v in zip(part, vecs, strict=True)]
        got = [d.verdict for d in scorer.score(reports)]
        found = legacy.search(vecs, SEED.top_k + 1) if len(legacy) else [[] for _ in part]
        for i, sid in enumerate(part):
            similar = merge_candidates(sid, found[i], in_batch_scores(vecs, part, i), SEED.top_k)
            want = classify(similar, SEED)
            # Same verdict and the same top-k scores; ids may differ only between candidates
            # whose cosines tie (faiss breaks ties at its k-th slot by its own rule).
            assert got[i].status == want.status
            got_scores = [v for _, v in got[i].similar]
            assert got_scores == pytest.approx([v for _, v in want.similar], abs=1e-5)
            tie = len(got_scores) > 1 and abs(got_scores[0] - got_scores[1]) < 1e-5
            if not tie:
                assert got[i].duplicate_of == want.duplicate_of
        scorer.add(reports)
        legacy.add(part, vecs)


labels = st.sampled_from(["", "Lumen Photo", "lumen photo", "Brightcart"])
words = st.lists(st.sampled_from(["export", "png", "crash", "pdf", "layer", "sync"]), max_size=5)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(labels, labels, words, words), min_size=1, max_size=12), st.data())
def test_a_batch_decides_as_decide_does_on_each_reports_candidates(
    raw: list[tuple[str, str, list[str], list[str]]], data: st.DataObject
) -> None:
    """The scorer ranks and scores a whole batch in flat arrays; the eval re-decides one
    report's candidates with ``decide``: both must give the same floats and the same order."""
    profile = HYBRID.with_weights(0.3, 0.5, 0.25, duplicate=0.7, possible=0.5)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    reports = []
    for n, (product, component, title, body) in enumerate(raw):
        vector = rng.standard_normal(DIM).astype(np.float32)
        vector /= np.linalg.norm(vector)
        terms = term_frequencies(" ".join(title), " ".join(body), "")
        reports.append(ReportFeatures(f"r{n:02d}", vector, terms, product, component))
    split = data.draw(st.integers(0, len(reports)))
    scorer = scorer_with(profile, *reports[:split])
    for decision in scorer.score(reports[split:]):
        again = decide(decision.candidates, profile)
        assert again == decision
        assert len({c.submission_id for c in decision.candidates}) == len(decision.candidates)


def test_combine_many_is_combine_on_each_candidate() -> None:
    rng = np.random.default_rng(7)
    cosine, lexical = rng.uniform(-1, 1, 500), rng.uniform(0, 1, 500)
    product, component = rng.random(500) < 0.5, rng.random(500) < 0.5
    for profile in (SEED, HYBRID, HYBRID.with_weights(0.7, 0.2, 0.9, 0.8, 0.6)):
        many = profile.combine_many(cosine, lexical, product, component).tolist()
        columns = (cosine.tolist(), lexical.tolist(), product.tolist(), component.tolist())
        one = [profile.combine(*args) for args in zip(*columns, strict=True)]
        assert many == one


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.sampled_from(["a", "b", "c", "d", "e", "f", "g"]), min_size=1, max_size=40),
    st.integers(1, 6),
    st.integers(0, 2**16),
)
def test_in_batch_candidates_are_the_k_nearest_earlier_reports(
    ids: list[str], k: int, seed: int
) -> None:
    """Each report's in-batch candidates are what a loop over the pairs would pick: the k
    earlier reports with the highest cosine, a repeated id at its last earlier position, never
    its own id (a replay inside the batch)."""
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((len(ids), DIM)).astype(np.float32)
    gram = vectors @ vectors.T
    got = batch_neighbours(ids, gram, k)
    for i, mine in enumerate(got):
        last = {ids[j]: j for j in range(i) if ids[j] != ids[i]}
        expected = sorted(last.items(), key=lambda kv: -gram[i, kv[1]])[:k]
        assert len(mine) == len(expected)
        if expected:  # the same k-th best cosine (ties may pick either id)
            assert min(gram[i, j] for j in mine.values()) == gram[i, expected[-1][1]]
        assert all(last.get(id_) == j for id_, j in mine.items())


def test_a_big_batch_scores_k_earlier_reports_not_all_of_them() -> None:
    """A batch of 300 random reports plus a twin of the first at the end: the twin is still
    found, and no report carries more than candidates_k in-batch candidates."""
    profile = HYBRID.with_weights(0.3, 0.5, 0.25, duplicate=0.7, possible=0.5)
    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((300, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    reports = [ReportFeatures(f"r{n:03d}", v, {}) for n, v in enumerate(vectors)]
    twin = ReportFeatures("twin", vectors[0].copy(), {})
    decisions = DedupScorer(profile, DIM).score([*reports, twin], every_candidate=True)
    assert max(len(d.candidates) for d in decisions) == profile.candidates_k
    assert decisions[-1].candidates[0].submission_id == "r000"
    assert decisions[-1].candidates[0].cosine == pytest.approx(1.0)


def reference_scores(
    profile: DedupProfile, stored: list[ReportFeatures], batch: list[ReportFeatures]
) -> list[Decision]:
    """The scorer as a plain loop per report over id -> features dicts: faiss's top k + 1,
    the lexical top k (cosine: one dot product), the k nearest earlier reports of the batch
    (cosine, terms and labels their own), itself left out; then ``decide``."""
    k = profile.candidates_k
    index, lexical = SimilarityIndex(DIM), LexicalIndex()
    index.add([r.submission_id for r in stored], np.stack([r.vector for r in stored]))
    lexical.add((r.submission_id, r.terms) for r in stored)
    by_id = {r.submission_id: r for r in stored}
    matrix = np.stack([r.vector for r in batch]).astype(np.float32)
    found = index.search(matrix, k + 1)
    ids = [r.submission_id for r in batch]
    earlier = batch_neighbours(ids, matrix @ matrix.T, k)
    gram = matrix @ matrix.T
    decisions = []
    for i, report in enumerate(batch):
        cosines = dict(found[i])
        features: dict[str, ReportFeatures] = dict(by_id)
        if profile.uses_lexical:
            for other, _ in lexical.candidates(report.terms, k):
                if other not in cosines:
                    pair = np.einsum("ij,ij->i", matrix[[i]], by_id[other].vector[None, :])
                    cosines[other] = float(pair[0])
        for other, j in earlier[i].items():
            cosines[other] = float(gram[i, j])
            features[other] = batch[j]
        cosines.pop(report.submission_id, None)
        named = sorted(cosines)
        others = [features[other].terms for other in named]
        lexical_scores = (
            lexical.similarity(report.terms, others) if profile.uses_lexical else [0.0] * len(named)
        )
        mine = (report.product.casefold(), report.component.casefold())
        candidates = []
        for other, lex in zip(named, lexical_scores, strict=True):
            theirs = (features[other].product.casefold(), features[other].component.casefold())
            candidates.append(
                Candidate(
                    other,
                    min(1.0, max(-1.0, cosines[other])),
                    lex,
                    mine[0] != "" and mine[0] == theirs[0],
                    mine[1] != "" and mine[1] == theirs[1],
                    0.0,
                )
            )
        decisions.append(decide(candidates, profile))
    return decisions


pool = st.sampled_from([f"r{n}" for n in range(12)])
few_words = st.lists(st.sampled_from(["export", "png", "crash", "pdf", "sync", "ui"]), max_size=4)
reports = st.lists(st.tuples(pool, labels, labels, few_words, few_words), min_size=1, max_size=14)


@settings(max_examples=80, deadline=None)
@given(reports, reports, st.integers(1, 4), st.integers(1, 4), st.booleans(), st.integers(0, 2**16))
def test_the_scorer_decides_as_the_plain_loop(
    old: list[tuple[str, str, str, list[str], list[str]]],
    new: list[tuple[str, str, str, list[str], list[str]]],
    k: int,
    top_k: int,
    lexical: bool,
    seed: int,
) -> None:
    """The scorer's flat arrays (pairs merged by id, features gathered by row and position,
    ranked with ties by id) give the plain loop's decisions, floats included: replays of
    stored ids and repeated ids in the batch, few distinct vectors (ties), empty terms and
    labels, lexical weight or none: every candidate with ``every_candidate``; by default (the
    infer stage's call: the TF-IDF cosines of candidates that cannot reach the top_k left
    out) the same verdicts and the plain loop's first top_k candidates."""
    rng = np.random.default_rng(seed)
    shapes = rng.standard_normal((3, DIM)).astype(np.float32)
    shapes /= np.linalg.norm(shapes, axis=1, keepdims=True)

    def features(raw: list[tuple[str, str, str, list[str], list[str]]]) -> list[ReportFeatures]:
        return [
            ReportFeatures(
                sid, shapes[rng.integers(3)], term_frequencies(" ".join(t), " ".join(b), ""), p, c
            )
            for sid, p, c, t, b in raw
        ]

    weights = (0.3, 0.5, 0.25) if lexical else (0.0, 0.5, 0.25)
    profile = replace(
        HYBRID.with_weights(*weights, duplicate=0.7, possible=0.5),
        candidates_k=k,
        top_k=min(top_k, k),
    )
    stored = list({r.submission_id: r for r in features(old)}.values())
    batch = features(new)
    scorer = scorer_with(profile, *stored)
    expected = reference_scores(profile, stored, batch)
    assert scorer.score(batch, every_candidate=True) == expected
    heads = [Decision(d.verdict, d.candidates[: profile.top_k]) for d in expected]
    assert scorer.score(batch) == heads


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 3),
            # Few distinct values: scores often tie or sit right at a report's floor.
            st.sampled_from([-0.3, 0.2, 0.5, 0.6, 0.7, 0.9, 1.0]) | st.floats(-1, 1),
            st.sampled_from([0.0, 0.5, 0.9, 1.0]) | st.floats(0, 1),
            st.booleans(),
            st.booleans(),
        ),
        min_size=1,
        max_size=40,
    ),
    st.integers(1, 5),
    st.sampled_from([0.05, 0.1, 1.0, 3.0]),
)
# The first pair ties the second only with a lexical cosine of exactly 1: kept.
@example([(0, 0.2, 1.0, False, False), (0, 0.7, 0.0, True, False)], 1, 1.0)
def test_a_pair_left_out_cannot_reach_its_reports_top_k(
    rows: list[tuple[int, float, float, bool, bool]], top_k: int, w_lexical: float
) -> None:
    """``_may_lead`` keeps every pair whose score, whatever its TF-IDF cosine turns out to be,
    could reach its report's top_k (ties at the top_k-th score included), and leaves some out
    when the lexical weight is small next to the score's spread."""
    owner = np.array([r[0] for r in rows], dtype=np.int64)
    cosine = np.array([r[1] for r in rows])
    lexical = np.array([r[2] for r in rows])
    product = np.array([r[3] for r in rows])
    component = np.array([r[4] for r in rows])
    profile = replace(HYBRID, w_lexical=w_lexical, top_k=top_k)
    lead = _may_lead(profile, owner, cosine, product, component)
    scores = profile.combine_many(cosine, lexical, product, component)
    for q in set(owner.tolist()):
        mine = np.flatnonzero(owner == q)
        kth = np.sort(scores[mine])[::-1][min(top_k, len(mine)) - 1]
        assert lead[mine[scores[mine] >= kth]].all()


def _lead_reference(
    profile: DedupProfile,
    owner: npt.NDArray[np.int64],
    cosine: npt.NDArray[np.float64],
    product: npt.NDArray[np.bool_],
    component: npt.NDArray[np.bool_],
) -> npt.NDArray[np.bool_]:
    """``_may_lead`` as first written: each report's top_k-th best low score read from a
    lexsort of every pair by report and score."""
    zero = np.zeros(len(owner))
    low = profile.combine_many(cosine, zero, product, component)
    high = profile.combine_many(cosine, zero + 1.0, product, component)
    if np.isnan(low).any() or np.isnan(high).any():
        return np.ones(len(owner), dtype=bool)
    order = np.lexsort((-low, owner))
    counts = np.bincount(owner)
    starts = np.cumsum(counts) - counts
    floor = np.full(len(counts), -np.inf)
    over = np.flatnonzero(counts > profile.top_k)
    floor[over] = low[order[starts[over] + profile.top_k - 1]]
    lead: npt.NDArray[np.bool_] = high >= floor[owner]
    return lead


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 6),  # reports with no pair between others
            st.sampled_from([-1.0, -0.3, 0.0, -0.0, 0.5, 0.7, 1.0]) | st.floats(-1, 1),
            st.booleans(),
            st.booleans(),
        ),
        min_size=1,
        max_size=60,
    ),
    st.integers(1, 6),
    st.sampled_from([0.05, 0.1, 1.0]),
)
def test_the_pairs_kept_are_the_lexsorted_floors(
    rows: list[tuple[int, float, bool, bool]], top_k: int, w_lexical: float
) -> None:
    """The floors from a padded (report x pairs) table's partition keep exactly the pairs the
    lexsort of every pair kept: reports with fewer than, exactly or more than top_k pairs,
    ties at the floor, signed zeros."""
    owner = np.array([r[0] for r in rows], dtype=np.int64)
    cosine = np.array([r[1] for r in rows])
    product = np.array([r[2] for r in rows])
    component = np.array([r[3] for r in rows])
    profile = replace(HYBRID, w_lexical=w_lexical, top_k=top_k)
    lead = _may_lead(profile, owner, cosine, product, component)
    assert lead.tolist() == _lead_reference(profile, owner, cosine, product, component).tolist()


def test_the_lexical_work_of_hopeless_candidates_is_left_out() -> None:
    """One report, many candidates: the ones far below the best in cosine and without the
    product prior are left out, and the decision holds the top_k only."""
    owner = np.zeros(6, dtype=np.int64)
    cosine = np.array([0.9, 0.85, 0.2, 0.1, 0.88, 0.3])
    product = np.array([True, True, False, False, True, True])
    lead = _may_lead(replace(HYBRID, top_k=2), owner, cosine, product, np.zeros(6, dtype=bool))
    assert lead.tolist() == [True, True, False, False, True, False]
    scorer = scorer_with(HYBRID, ORIGINAL, NEAR_MISS, OTHER_PRODUCT)
    (full,) = scorer.score([PARAPHRASE], every_candidate=True)
    (top,) = scorer.score([PARAPHRASE])
    assert top.verdict == full.verdict
    assert top.candidates == full.candidates[: HYBRID.top_k]


def test_a_vector_of_the_wrong_shape_is_refused_before_anything_is_stored() -> None:
    """faiss labels are store rows: an add that faiss would refuse must leave both untouched,
    so the reports added after it are still found under their own ids."""
    scorer = DedupScorer(HYBRID, DIM)
    bad = ReportFeatures("bad", np.zeros(DIM + 1, np.float32), {"export": 1})
    with pytest.raises(ValueError, match="shape"):
        scorer.add([ORIGINAL, bad])
    assert len(scorer) == 0 and "orig" not in scorer
    scorer.add([ORIGINAL])
    (decision,) = scorer.score([PARAPHRASE])
    assert decision.verdict.duplicate_of == "orig"


def test_report_features_are_frozen_with_their_defaults() -> None:
    """The hand-written __init__ (one dict write per field) keeps the dataclass's contract:
    the defaults, equality, replace, and no assignment after construction."""
    vector = np.ones(3, np.float32)
    report = ReportFeatures("a", vector, {"crash": 2})
    assert (report.product, report.component, report.signature) == ("", "", frozenset())
    assert report.terms == {"crash": 2} and report.vector is vector
    full = ReportFeatures("a", vector, {}, "P", "c", frozenset({"sig"}))
    assert replace(full, product="Q") == ReportFeatures(
        "a", vector, {}, "Q", "c", frozenset({"sig"})
    )
    with pytest.raises(FrozenInstanceError):
        report.product = "P"  # type: ignore[misc]
