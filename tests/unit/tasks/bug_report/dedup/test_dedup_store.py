"""The scorer's store of indexed reports: rows, vectors and label codes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inferstream.tasks.bug_report.dedup.scoring import ReportFeatures
from inferstream.tasks.bug_report.dedup.store import ReportStore


def report(id_: str, value: float, product: str = "", component: str = "") -> ReportFeatures:
    return ReportFeatures(id_, np.full(3, value, np.float32), {}, product, component)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.integers(0, 150), max_size=80), max_size=4))
def test_rows_and_vectors_survive_growth_and_repeats(calls: list[list[int]]) -> None:
    store = ReportStore(3)
    first_seen: list[int] = []
    for call in calls:
        unique = store.add([report(f"r{n}", float(n)) for n in call])
        new = list(dict.fromkeys(n for n in call if n not in first_seen))
        assert [r.submission_id for r in unique] == [f"r{n}" for n in new]
        first_seen.extend(new)
    ids = [f"r{n}" for n in first_seen] + ["never"]
    rows, vectors, _ = store.lookup(ids)
    assert rows.tolist() == [*range(len(first_seen)), -1]
    assert vectors[rows[:-1], 0].tolist() == [float(n) for n in first_seen]
    assert len(store) == len(first_seen) and ("never" in store) is False


def test_labels_are_case_insensitive_codes_and_empty_matches_nothing() -> None:
    store = ReportStore(3)
    store.add([report("a", 1.0, "Lumen Photo", "Export"), report("b", 2.0, "", "export")])
    rows, _, labels = store.lookup(["a", "b"])
    mine = store.labels([report("q", 0.0, "lumen photo", "EXPORT")])
    assert (labels[rows] == mine).tolist() == [[True, True], [False, True]]
    assert labels[rows[1], 0] == -1  # an empty product


def test_a_non_finite_vector_is_refused_before_anything_is_stored() -> None:
    # The index refuses it too, but after the store: refused here first, a faiss label stays
    # the report's store row for every later add.
    store = ReportStore(3)
    store.add([report("a", 1.0)])
    bad = ReportFeatures("nan", np.array([0.0, np.nan, 1.0], np.float32), {}, "", "")
    with pytest.raises(ValueError, match="not finite"):
        store.add([report("b", 2.0), bad])
    assert len(store) == 1 and "b" not in store and "nan" not in store
    assert [r.submission_id for r in store.add([report("b", 2.0)])] == ["b"]
    assert store.lookup(["a", "b"])[0].tolist() == [0, 1]
