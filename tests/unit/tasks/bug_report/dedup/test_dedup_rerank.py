"""The text re-ranker: field features that can tell a paraphrase from a near miss, a fit that
never sees its held-out labels, and cross-validation over every duplicate once."""

from __future__ import annotations

import numpy as np
from test_dedup_calibration import synthetic

from inferstream.tasks.bug_report.dedup import calibration as cal
from inferstream.tasks.bug_report.dedup import evaluation as ev
from inferstream.tasks.bug_report.dedup import rerank as rr
from inferstream.tasks.bug_report.dedup.profiles import HYBRID
from inferstream.tasks.bug_report.dedup.scoring import Candidate


def _text(title: str, logs: str = "", signature: frozenset[str] = frozenset()) -> rr.ReportText:
    return rr.ReportText.of({"title": title, "description": title, "logs": logs}, signature)


def test_pair_features_read_each_field_and_the_signatures() -> None:
    a = _text("Editor crashes when saving", "IOException", frozenset({"exc:ioexception"}))
    same = _text("Saving crashes the editor", "IOException", frozenset({"exc:ioexception"}))
    other = _text("Editor crashes when printing", "NullPointer", frozenset({"exc:npe"}))
    c = Candidate("x", 0.8, 0.5, True, False, 0.7)
    near = rr.pair_row(c, 0, 0.9, a, same)
    miss = rr.pair_row(c, 1, 0.9, a, other)
    assert len(near) == len(miss) == rr.FEATURES
    assert near[4] == 1.0 and miss[4] < 1.0  # title stems: {editor, crash, save} vs printing
    assert (near[9], near[10]) == (1.0, 0.0)  # shared exception
    assert (miss[9], miss[10]) == (0.0, 1.0)  # both name one, they differ: a near miss's mark
    assert miss[12] == 1.0 and abs(miss[13] - 0.1) < 1e-9  # rank, cosine gap to the best


def _texts(reports: list, labels: ev.Labels) -> dict[str, rr.ReportText]:
    """Group members share a made-up word in the title; singles have their own."""
    group_of = {sid: n for n, g in enumerate(labels.duplicate_groups) for sid in g}
    return {
        r.submission_id: _text(f"word{group_of.get(r.submission_id, r.submission_id)} fails")
        for r in reports
    }


def test_changing_held_out_labels_leaves_the_fit_unchanged() -> None:
    reports, labels = synthetic()
    replay = ev.replay(reports, HYBRID)
    texts = _texts(reports, labels)
    truth = ev.earlier_members(replay.order, labels)
    fold_of = cal.assign_folds(replay.order, labels, 3)
    train = [s for s in replay.order if fold_of[s] != 1]
    before = rr.fit_rerank(replay.candidates, truth, train, texts)
    flipped = {s: (frozenset({"zzz"}) if fold_of[s] == 1 else t) for s, t in truth.items()}
    after = rr.fit_rerank(replay.candidates, flipped, train, texts)
    assert (after.bias, after.duplicate, after.possible) == (
        before.bias,
        before.duplicate,
        before.possible,
    )
    assert np.array_equal(after.weights, before.weights)
    # ... while the same change to training labels moves it.
    moved = {s: (frozenset() if fold_of[s] == 0 else t) for s, t in truth.items()}
    assert rr.fit_rerank(replay.candidates, moved, train, texts).bias != before.bias


def test_cross_validation_scores_every_duplicate_once_and_uses_the_text() -> None:
    reports, labels = synthetic()
    replay = ev.replay(reports, HYBRID)
    folds = rr.cross_validate_rerank(replay, labels, _texts(reports, labels), 3)
    total = sum(folds, ev.Figures(0, 0, 0, 0, 0))
    assert total.tp + total.fn == sum(len(g) - 1 for g in labels.duplicate_groups)
    plain = cal.cross_validate(replay, replay, labels, {"hybrid": cal.fit_hybrid(HYBRID)}, 3)
    assert total.f1 >= plain.pooled["hybrid"].f1  # a title word every member shares helps here
