"""verify's lag: a violation met while stages are behind is said to be maybe in flight (a
submission without its row yet counts as lost), not only "lost"."""

from __future__ import annotations

from inferstream.cli.verify_cmd import lag_note
from inferstream.verify.collect import _ends


def test_no_note_when_every_invariant_holds_or_nothing_is_behind() -> None:
    assert lag_note({"enrich": 500, "infer": 0, "sink": 0}, ok=True) is None
    assert lag_note({"enrich": 0, "infer": 0, "sink": 0}, ok=False) is None


def test_a_violation_with_stages_behind_names_them_and_their_lag() -> None:
    note = lag_note({"enrich": 1500, "infer": 0, "sink": 12}, ok=False)
    assert note is not None
    assert "enrich 1,500, sink 12 records not committed" in note
    assert "infer" not in note
    assert "run verify again once the lag is 0" in note


def test_a_partitions_end_is_its_last_offset_plus_one() -> None:
    offsets = [(0, 4), (1, 0), (0, 9), (0, 2), (None, 7), (1, None)]
    assert _ends(offsets) == {0: 10, 1: 1}
