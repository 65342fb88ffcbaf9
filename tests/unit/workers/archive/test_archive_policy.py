"""The archive's rotation and naming: a replay after a crash rebuilds the same objects."""

from __future__ import annotations

from collections.abc import Sequence

import orjson
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from inferstream.workers.archive import parquet
from inferstream.workers.archive.policy import (
    ArchiveRecord,
    ClosedFile,
    KeyParts,
    RotationPolicy,
    Rotator,
    object_key,
    parse_key,
)

TOPIC, PARTITION, TASK = "results.bug_report", 3, "bug_report"


@st.composite
def streams(draw: st.DrawFn) -> list[ArchiveRecord]:
    """One partition's records: rising offsets with gaps, timestamps late, missing or jumping."""
    n = draw(st.integers(0, 40))
    gaps = draw(st.lists(st.integers(1, 3), min_size=n, max_size=n))
    times = draw(st.lists(st.one_of(st.none(), st.integers(0, 1_000)), min_size=n, max_size=n))
    offset, records = draw(st.integers(0, 50)), []
    for i, (gap, ts) in enumerate(zip(gaps, times, strict=True)):
        offset += gap
        value = orjson.dumps({"result_id": f"r{offset}", "submission_id": f"s{i}", "n": i})
        records.append(ArchiveRecord(offset, ts, f"s{i}".encode(), value))
    return records


policies = st.builds(RotationPolicy, st.integers(1, 6), st.sampled_from([0, 50, 300]))


def feed(records: Sequence[ArchiveRecord], policy: RotationPolicy) -> list[ClosedFile]:
    rotator = Rotator(TOPIC, PARTITION, policy)
    return [closed for record in records for closed in rotator.add(record)]


def objects(files: Sequence[ClosedFile]) -> dict[str, bytes]:
    return {
        object_key(TASK, f.topic, f.partition, f.start_offset): parquet.encode(
            f.topic, f.partition, f.records
        )
        for f in files
    }


@settings(max_examples=100, deadline=None)
@given(streams(), policies, st.data())
def test_a_replay_from_any_committed_file_end_rewrites_identical_objects(
    records: list[ArchiveRecord], policy: RotationPolicy, data: st.DataObject
) -> None:
    uninterrupted = objects(feed(records, policy))
    crash = data.draw(st.integers(0, len(records)), label="crash after this many records")
    before = feed(records[:crash], policy)
    # Commits may lag the writes: the restart begins at the end of any file written (or at 0).
    committed = data.draw(st.integers(0, len(before)), label="files whose commit landed")
    start = before[committed - 1].next_offset if committed else -1
    replayed = feed([r for r in records if r.offset >= start], policy)
    written_first, written_again = objects(before), objects(replayed)
    for key in written_first.keys() & written_again.keys():
        assert written_first[key] == written_again[key], key
    assert {**written_first, **written_again} == uninterrupted


@given(streams(), policies)
def test_every_record_is_in_one_file_or_still_open(
    records: list[ArchiveRecord], policy: RotationPolicy
) -> None:
    rotator = Rotator(TOPIC, PARTITION, policy)
    files = [closed for record in records for closed in rotator.add(record)]
    archived = [r for f in files for r in f.records]
    assert archived == records[: len(archived)]
    assert len(archived) + rotator.buffered == len(records)
    assert rotator.buffered < policy.max_records
    for f in files:
        assert 1 <= len(f.records) <= policy.max_records
        assert f.next_offset == f.records[-1].offset + 1


@given(streams(), st.integers(1, 6), st.sampled_from([50, 300]))
def test_a_file_never_holds_a_record_past_its_window(
    records: list[ArchiveRecord], max_records: int, window_ms: int
) -> None:
    policy = RotationPolicy(max_records, window_ms)
    for f in feed(records, policy):
        timed = [r.timestamp_ms for r in f.records if r.timestamp_ms is not None]
        if timed:
            end = policy.window_end(timed[0])
            assert end is not None
            assert all(ts < end for ts in timed)


def test_time_rotation_closes_the_file_before_the_record_that_passes_the_window() -> None:
    policy = RotationPolicy(max_records=100, window_ms=1_000)
    rotator = Rotator(TOPIC, PARTITION, policy)
    assert rotator.add(ArchiveRecord(0, 1_500, None, b"{}")) == []
    assert rotator.add(ArchiveRecord(1, 900, None, b"{}")) == []  # late: stays
    (closed,) = rotator.add(ArchiveRecord(2, 2_000, None, b"{}"))
    assert [r.offset for r in closed.records] == [0, 1]
    assert rotator.buffered == 1


@settings(max_examples=300, deadline=None)
@given(streams(), policies, st.data())
def test_a_consumer_sent_back_to_any_offset_read_builds_the_same_objects(
    records: list[ArchiveRecord], policy: RotationPolicy, data: st.DataObject
) -> None:
    """An offset reset or a partition handed back at its committed offset sends the consumer
    to the end of a file (the start of the log, a committed offset), into the open file or,
    reset to any other offset, into a closed file: the same rotator goes on, and what it
    closes is what one pass closes. No file starts inside a closed one (a key one pass never
    writes): sent back into a closed file, the rotator skips to its end."""
    assume(records)
    uninterrupted = objects(feed(records, policy))
    read = data.draw(st.integers(1, len(records)), label="records read before")
    rotator = Rotator(TOPIC, PARTITION, policy)
    before = [closed for record in records[:read] for closed in rotator.add(record)]
    back = data.draw(st.integers(0, read), label="sent back to the record at")
    after = [closed for record in records[back:] for closed in rotator.add(record)]
    written_first, written_again = objects(before), objects(after)
    for key in written_first.keys() & written_again.keys():
        assert written_first[key] == written_again[key], key
    assert {**written_first, **written_again} == uninterrupted
    archived = sum(len(f.records) for f in feed(records, policy))
    assert rotator.buffered == len(records) - archived


def test_sent_back_into_a_closed_file_it_skips_to_the_file_end() -> None:
    """Three-record files: 0-2 closed, 3-4 open; reset to 1, the records 1 and 2 are skipped
    (in the closed file already) and the next file is 3-5, as one pass writes it, not 1-3."""
    rotator = Rotator(TOPIC, PARTITION, RotationPolicy(max_records=3))
    stream = [ArchiveRecord(offset, None, None, b"{}") for offset in range(6)]
    (first,) = [closed for record in stream[:5] for closed in rotator.add(record)]
    assert first.start_offset == 0 and rotator.archived_to == 3
    assert rotator.archived(1) and rotator.archived(2) and not rotator.archived(3)
    assert rotator.add(stream[1]) == [] and rotator.add(stream[2]) == []
    assert rotator.skipped == 2 and rotator.buffered == 2
    assert rotator.add(stream[3]) == [] and rotator.skipped == 0
    assert rotator.add(stream[4]) == []
    (second,) = rotator.add(stream[5])
    assert [r.offset for r in second.records] == [3, 4, 5]


def test_the_first_record_marks_where_closed_files_end() -> None:
    """A partition assigned at its committed offset starts there: the files before it are
    closed (by an earlier owner), so a reset below it skips to it."""
    rotator = Rotator(TOPIC, PARTITION, RotationPolicy(max_records=10))
    assert not rotator.archived(0)
    assert rotator.add(ArchiveRecord(40, None, None, b"{}")) == []
    assert rotator.archived(39) and not rotator.archived(40)
    assert rotator.add(ArchiveRecord(38, None, None, b"{}")) == [] and rotator.buffered == 1
    assert rotator.add(ArchiveRecord(40, None, None, b"{}")) == [] and rotator.buffered == 1


def test_sent_back_into_the_open_file_it_keeps_the_records_before_and_its_window() -> None:
    rotator = Rotator(TOPIC, PARTITION, RotationPolicy(max_records=10, window_ms=1_000))
    stream = [
        ArchiveRecord(0, None, None, b"{}"),  # no timestamp: the next timed record sets the window
        ArchiveRecord(1, 1_500, None, b"{}"),
        ArchiveRecord(2, 1_600, None, b"{}"),
    ]
    for record in stream:
        assert rotator.add(record) == []
    assert rotator.sent_back(1) and not rotator.sent_back(3)
    # The log holds another record 1 now (truncated, written again): its time sets the window
    # (2_000..3_000), not the time of the record 1 dropped.
    assert rotator.add(ArchiveRecord(1, 2_500, None, b"{}")) == []
    (closed,) = rotator.add(ArchiveRecord(2, 3_000, None, b"{}"))
    assert [(r.offset, r.timestamp_ms) for r in closed.records] == [(0, None), (1, 2_500)]
    assert rotator.buffered == 1


@given(
    st.from_regex(r"[a-z][a-z_]{0,20}", fullmatch=True),
    st.integers(0, 1_000),
    st.integers(0, 2**62),
)
def test_keys_name_topic_partition_and_start_offset(task: str, partition: int, start: int) -> None:
    topic = f"results.{task}"
    key = object_key(task, topic, partition, start)
    assert key.startswith(f"archive/{task}/partition={partition}/{topic}+{partition}+")
    assert parse_key(key) == KeyParts(task, topic, partition, start)


def test_keys_sort_by_start_offset_and_foreign_keys_are_ignored() -> None:
    keys = [object_key(TASK, TOPIC, 0, start) for start in (0, 9, 10, 123_456)]
    assert sorted(keys) == keys
    mismatched = "archive/bug_report/partition=1/results.bug_report+2+0000000000.parquet"
    assert parse_key(mismatched) is None
    assert parse_key("artifacts/bug_report/abc/result.json") is None
