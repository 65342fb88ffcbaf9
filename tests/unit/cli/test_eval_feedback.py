"""`eval dedup --from-feedback`'s pure parts: the latest decision wins, the summary's shares,
and the labels file built from decisions (groups joined through their originals)."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from inferstream.cli.eval_feedback import labels_from, latest, summarise, summary_lines


def _decision(
    sid: str, decision: str, original: str | None, review_id: int, model: str = "possible_duplicate"
) -> dict[str, Any]:
    return {
        "review_id": review_id,
        "submission_id": sid,
        "decision": decision,
        "original_id": original,
        "model_status": model,
        "model_duplicate_of": "m0",
    }


def test_the_latest_decision_of_a_report_counts() -> None:
    records = [
        _decision("a", "confirm", "m0", 1),
        _decision("b", "not_duplicate", None, 2),
        _decision("a", "other_original", "x", 3),
    ]
    decided = latest(records)
    assert decided["a"]["decision"] == "other_original"
    assert latest(reversed(records))["a"]["decision"] == "other_original"  # by review id


def test_summary_shares_and_precision_of_the_flags() -> None:
    decided = latest(
        [
            _decision("a", "confirm", "m0", 1),
            _decision("b", "not_duplicate", None, 2),
            _decision("c", "other_original", "x", 3),
            _decision("d", "confirm", "m0", 4, model="duplicate"),
        ]
    )
    summary = summarise(decided)
    assert summary.flagged("possible_duplicate") == 3
    assert math.isclose(summary.share("possible_duplicate", "confirm"), 1 / 3)
    assert math.isnan(summary.share("unique", "confirm"))
    text = "\n".join(summary_lines(summary))
    # 3 of 4 flags were duplicates at all; 2 of 4 with the model's original
    assert (
        "precision of the flags (a duplicate at all) 0.750, with the right original 0.500" in text
    )


def test_labels_join_chains_and_pair_cleared_reports_with_the_proposed_original() -> None:
    decided = latest(
        [
            _decision("b", "confirm", "a", 1),
            _decision("c", "other_original", "b", 2),
            _decision("e", "confirm", "d", 3),
            _decision("f", "not_duplicate", None, 4),
        ]
    )
    labels = labels_from(decided)
    groups = sorted(sorted(g) for g in labels["duplicate_groups"])
    assert groups == [["a", "b", "c"], ["d", "e"]]
    assert labels["near_miss_pairs"] == [["f", "m0"]]


IDS = st.sampled_from([f"r{n}" for n in range(12)])


@given(st.lists(st.tuples(IDS, IDS), max_size=30))
def test_every_confirmed_pair_lands_in_one_group_and_groups_do_not_overlap(
    pairs: list[tuple[str, str]],
) -> None:
    records = [
        _decision(sid, "confirm", original, n)
        for n, (sid, original) in enumerate(pairs)
        if sid != original
    ]
    decided = latest(records)
    groups = labels_from(decided)["duplicate_groups"]
    where = {sid: n for n, group in enumerate(groups) for sid in group}
    assert len(where) == sum(len(g) for g in groups)  # no report in two groups
    for sid, record in decided.items():
        assert where[sid] == where[record["original_id"]]
