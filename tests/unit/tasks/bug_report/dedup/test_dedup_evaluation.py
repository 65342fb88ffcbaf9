"""Evaluation on a small hand-made labelled set: exact figures, sweep, candidate recall."""

from __future__ import annotations

import numpy as np
import pytest

from inferstream.tasks.bug_report.dedup import evaluation as ev
from inferstream.tasks.bug_report.dedup.profiles import SEED
from inferstream.tasks.bug_report.dedup.scoring import ReportFeatures


def vec(*xs: float) -> np.ndarray:
    v = np.asarray(xs, np.float32)
    return v / np.linalg.norm(v)


# Arrival order r1..r7. Groups: A = r1, r3, r7; B = r4, r6. r5 is a near miss of r1.
VECTORS = {
    "r1": vec(1, 0, 0, 0),
    "r2": vec(0, 1, 0, 0),
    "r3": vec(0.9, 0.43589, 0, 0),  # cos(r1) 0.90 -> duplicate of r1
    "r4": vec(0, 0, 1, 0),
    "r5": vec(0.86, 0, 0, 0.51029),  # cos(r1) 0.86 -> a false duplicate of r1
    "r6": vec(0, 0, 0.75, 0.66144),  # cos(r4) 0.75 -> only possible_duplicate
    "r7": vec(0.3, 0.88, 0.36742, 0),  # cos(r2) 0.88 -> duplicate, linked outside its group
}
LABELS = ev.Labels((("r1", "r3", "r7"), ("r4", "r6")), (("r1", "r5"),))
REPORTS = [ReportFeatures(sid, v, {}, "P", "c") for sid, v in VECTORS.items()]


def test_replay_decisions_and_exact_figures_for_the_seed_profile() -> None:
    replay = ev.replay(REPORTS, SEED)
    assert dict(replay.decisions) == {
        "r1": ("unique", None),
        "r2": ("unique", None),
        "r3": ("duplicate", "r1"),
        "r4": ("unique", None),
        "r5": ("duplicate", "r1"),
        "r6": ("possible_duplicate", "r4"),
        "r7": ("duplicate", "r2"),
    }
    truth = ev.earlier_members(replay.order, LABELS)
    assert truth["r7"] == {"r1", "r3"} and truth["r1"] == frozenset()
    f = ev.figures(replay.decisions, truth, replay.order)
    assert (f.tp, f.fp, f.fn, f.tn, f.links_correct) == (2, 1, 1, 3, 1)
    assert (f.precision, f.recall, f.f1, f.link_accuracy) == pytest.approx(
        (2 / 3, 2 / 3, 2 / 3, 0.5)
    )
    flagged = ev.figures(
        replay.decisions, truth, replay.order, frozenset({"duplicate", "possible_duplicate"})
    )
    assert (flagged.tp, flagged.fp, flagged.fn, flagged.tn) == (3, 1, 0, 3)


def test_sweep_and_pr_curve() -> None:
    replay = ev.replay(REPORTS, SEED)
    truth = ev.earlier_members(replay.order, LABELS)
    best = ev.best_of(replay.candidates, SEED)
    by_t = {t: (f.tp, f.fp, f.fn) for t, f in ev.sweep(best, truth, (0.7, 0.87, 0.95))}
    assert by_t == {0.7: (3, 1, 0), 0.87: (2, 0, 1), 0.95: (0, 0, 3)}
    curve = ev.pr_curve(best, truth)
    assert curve[0][0] == pytest.approx(0.9, abs=1e-5)  # highest threshold first
    assert curve[-1][1:] == pytest.approx((3 / 7, 1.0))  # lowest: all 7 flagged


def test_history_counts_as_already_seen() -> None:
    early = ReportFeatures("h", vec(0, 0, 1, 0.01), {}, "P", "c")
    replay = ev.replay(REPORTS[3:4], SEED, history=[early])
    assert replay.decisions["r4"] == ("duplicate", "h")


def test_candidate_recall_counts_an_earlier_member_in_the_top_k() -> None:
    replay = ev.replay(REPORTS, SEED)
    truth = ev.earlier_members(replay.order, LABELS)
    # r3 finds r1 first; r6 finds r4 first; r7's best is r2 (outside its group), r1 second.
    assert ev.candidate_recall(replay.candidates, truth, SEED, (1, 2)) == pytest.approx(
        {1: 2 / 3, 2: 1.0}
    )


def test_labels_are_checked() -> None:
    ids = list(VECTORS)
    assert ev.parse_labels({"duplicate_groups": [["R1", "r3"]]}, ids).duplicate_groups == (
        ("r1", "r3"),
    )
    for bad, message in [
        ([], "expected an object"),
        ({"duplicate_groups": [["r1"]]}, r"duplicate_groups\[0\] is not a list of >= 2"),
        ({"duplicate_groups": [["r1", "zz"]]}, "names zz, not in the file"),
        ({"duplicate_groups": [["r1", "r2"], ["r1", "r3"]]}, "more than one duplicate group"),
        ({"duplicate_groups": [], "near_miss_pairs": [["r1"]]}, "not a pair"),
    ]:
        with pytest.raises(ev.LabelsError, match=message):
            ev.parse_labels(bad, ids)
