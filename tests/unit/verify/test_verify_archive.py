"""verify's archive coverage check over collected facts."""

from __future__ import annotations

from inferstream.verify.archive import (
    DIFFERENT,
    MISSING,
    TWICE,
    ArchivedRow,
    ArchiveFacts,
    check_archive,
)

TOPIC = "results.bug_report"
RESULTS = {0: {0: "a", 1: "b", 2: "c"}, 1: {0: "d"}}


def rows(*entries: tuple[int, int, str]) -> list[ArchivedRow]:
    return [ArchivedRow(f"file-{p}", p, o, r) for p, o, r in entries]


def test_everything_below_the_committed_offsets_archived_once_holds() -> None:
    facts = ArchiveFacts(TOPIC, RESULTS, {0: 2}, rows((0, 0, "a"), (0, 1, "b")), files=1)
    counts, violations = check_archive(facts)
    assert not any(violations.values())
    assert counts["results archived"] == 2
    assert counts["results buffered by the archive (not yet committed)"] == 2  # 0:2 and 1:0


def test_a_result_below_the_committed_offset_without_a_row_is_missing() -> None:
    facts = ArchiveFacts(TOPIC, RESULTS, {0: 3}, rows((0, 0, "a"), (0, 2, "c")))
    _, violations = check_archive(facts)
    assert violations[MISSING] == [f"{TOPIC}:0:1"]


def test_a_result_in_two_files_or_as_another_result_is_reported() -> None:
    facts = ArchiveFacts(TOPIC, RESULTS, {1: 1}, rows((1, 0, "d"), (1, 0, "d"), (0, 1, "x")))
    _, violations = check_archive(facts)
    assert violations[TWICE] == ["partition 1 offset 0 (2 times)"]
    assert violations[DIFFERENT] == ["file-0 offset 1: x != b"]
    assert violations[MISSING] == []
