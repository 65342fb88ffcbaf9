"""Duplicate verdicts (seed 001: >= 0.85 duplicate, >= 0.70 possible duplicate, else unique)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from inferstream.tasks.bug_report.dedup.verdicts import (
    DedupThresholds,
    classify,
    in_batch_scores,
    merge_candidates,
)

SEED = DedupThresholds()


def test_seed_thresholds() -> None:
    assert (SEED.duplicate, SEED.possible, SEED.top_k) == (0.85, 0.70, 5)


@pytest.mark.parametrize(
    ("best", "status", "duplicate_of"),
    [
        (1.0, "duplicate", "A"),
        (0.9, "duplicate", "A"),
        (0.85, "duplicate", "A"),
        (np.nextafter(0.85, 0.0), "possible_duplicate", "A"),
        (0.8, "possible_duplicate", "A"),
        (0.70, "possible_duplicate", "A"),
        (np.nextafter(0.70, 0.0), "unique", None),
        (0.5, "unique", None),
        (0.0, "unique", None),
        (-0.3, "unique", None),
    ],
)
def test_classify_at_seed_thresholds(best: float, status: str, duplicate_of: str | None) -> None:
    verdict = classify([("A", float(best)), ("B", 0.1)], SEED)
    assert verdict.status == status
    assert verdict.duplicate_of == duplicate_of
    assert verdict.similar == (("A", float(best)), ("B", 0.1))


def test_classify_nothing_similar_is_unique() -> None:
    verdict = classify([], SEED)
    assert (verdict.status, verdict.duplicate_of, verdict.similar) == ("unique", None, ())


def test_classify_clips_scores_to_cosine_range() -> None:
    verdict = classify([("A", 1.0000002), ("B", -1.5)], SEED)
    assert verdict.status == "duplicate"
    assert verdict.similar == (("A", 1.0), ("B", -1.0))
    assert all(isinstance(score, float) for _, score in verdict.similar)


def test_classify_with_custom_thresholds() -> None:
    strict = DedupThresholds(duplicate=0.95, possible=0.9)
    assert classify([("A", 0.92)], strict).status == "possible_duplicate"
    assert classify([("A", 0.89)], strict).status == "unique"
    assert classify([("A", 0.95)], strict).duplicate_of == "A"


def test_classify_uses_the_first_entry_as_best() -> None:
    verdict = classify(merge_candidates("self", [("B", 0.72), ("C", 0.88)], [], 5), SEED)
    assert verdict.status == "duplicate"
    assert verdict.duplicate_of == "C"


# --- merge_candidates -------------------------------------------------------------------------


def test_merge_excludes_self_and_keeps_best_score_per_id() -> None:
    merged = merge_candidates(
        "me",
        indexed=[("me", 1.0), ("A", 0.8), ("B", 0.75)],
        in_batch=[("A", 0.9), ("B", 0.5), ("me", 0.99), ("C", 0.6)],
        top_k=10,
    )
    assert merged == [("A", 0.9), ("B", 0.75), ("C", 0.6)]


def test_merge_top_k() -> None:
    indexed = [(f"id{i}", i / 10) for i in range(10)]
    merged = merge_candidates("x", indexed, [], top_k=3)
    assert merged == [("id9", 0.9), ("id8", 0.8), ("id7", 0.7)]
    assert merge_candidates("x", indexed, [], top_k=0) == []


def test_merge_ties_are_ordered_by_id() -> None:
    merged = merge_candidates("x", [("c", 0.8), ("a", 0.8)], [("b", 0.8), ("d", 0.9)], top_k=3)
    assert merged == [("d", 0.9), ("a", 0.8), ("b", 0.8)]


def test_merge_keeps_negative_scores() -> None:
    assert merge_candidates("x", [("a", -1.0)], [], top_k=5) == [("a", -1.0)]


def test_merge_empty() -> None:
    assert merge_candidates("x", [], [], top_k=5) == []


candidate_lists = st.lists(
    st.tuples(st.sampled_from("abcdefgh"), st.floats(-1.0, 1.0, allow_nan=False)), max_size=20
)


@given(st.sampled_from("abcdefgh"), candidate_lists, candidate_lists, st.integers(0, 10))
def test_merge_properties(
    own: str,
    indexed: list[tuple[str, float]],
    in_batch: list[tuple[str, float]],
    top_k: int,
) -> None:
    merged = merge_candidates(own, indexed, in_batch, top_k)
    best: dict[str, float] = {}
    for other, score in indexed + in_batch:
        if other != own:
            best[other] = max(score, best.get(other, -2.0))
    assert len(merged) == min(top_k, len(best))
    ids = [sid for sid, _ in merged]
    assert own not in ids
    assert len(ids) == len(set(ids))
    for sid, score in merged:
        assert score == best[sid]
    keys = [(-score, sid) for sid, score in merged]
    assert keys == sorted(keys)
    # Nothing left out beats anything kept.
    if merged:
        worst = (-merged[-1][1], merged[-1][0])
        for sid, score in best.items():
            if sid not in ids:
                assert (-score, sid) > worst
    # Order of the inputs does not matter.
    assert merge_candidates(own, in_batch[::-1], indexed[::-1], top_k) == merged


# --- in_batch_scores --------------------------------------------------------------------------


def _unit(*values: float) -> np.ndarray:
    vec = np.array(values, dtype=np.float32)
    return vec / np.linalg.norm(vec)


def test_in_batch_scores_first_item_has_none() -> None:
    vectors = np.stack([_unit(1, 0), _unit(0, 1)])
    assert in_batch_scores(vectors, ["a", "b"], 0) == []


def test_in_batch_scores_compares_with_earlier_items_only() -> None:
    vectors = np.stack([_unit(1, 0, 0), _unit(0, 1, 0), _unit(1, 1, 0), _unit(1, 0, 0)])
    ids = ["a", "b", "c", "d"]
    scores = in_batch_scores(vectors, ids, 2)
    assert [sid for sid, _ in scores] == ["a", "b"]
    assert [s for _, s in scores] == pytest.approx([2**-0.5, 2**-0.5], abs=1e-6)
    last = in_batch_scores(vectors, ids, 3)
    assert [sid for sid, _ in last] == ["a", "b", "c"]
    assert [s for _, s in last] == pytest.approx([1.0, 0.0, 2**-0.5], abs=1e-6)
    assert all(type(s) is float for _, s in last)


def test_in_batch_duplicate_is_detected_end_to_end() -> None:
    vectors = np.stack([_unit(3, 4), _unit(-4, 3), _unit(3.1, 3.9)])
    ids = ["first", "other", "repost"]
    similar = merge_candidates("repost", [], in_batch_scores(vectors, ids, 2), top_k=5)
    verdict = classify(similar, SEED)
    assert verdict.status == "duplicate"
    assert verdict.duplicate_of == "first"
