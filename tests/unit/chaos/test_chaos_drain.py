"""When a chaos run has drained: the end of each of the sink's input partitions (results, and
this task's own dead letters only), and which partitions the sink's stored offsets are short of."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from inferstream.chaos.drain import behind, ends_of
from inferstream.topology import DEADLETTER_TOPIC, topic_name
from inferstream.workers.runtime.records import InRecord

RESULTS = topic_name("results", "bug_report")


def _record(topic: str, partition: int, offset: int, origin: str | None = None) -> InRecord:
    headers = (("x-original-topic", origin.encode()),) if origin is not None else ()
    return InRecord(topic, partition, offset, None, b"{}", headers)


positions = st.tuples(st.integers(0, 3), st.integers(0, 10_000))


@given(st.lists(positions, max_size=60))
def test_the_end_of_a_partition_is_one_past_its_last_offset(records: list[tuple[int, int]]) -> None:
    ends = ends_of("bug_report", [_record(RESULTS, p, o) for p, o in records], [])
    expected: dict[tuple[str, int], int] = {}
    for partition, offset in records:
        expected[(RESULTS, partition)] = max(expected.get((RESULTS, partition), 0), offset + 1)
    assert ends == expected


def test_only_this_tasks_own_dead_letters_count() -> None:
    dead = [
        _record(DEADLETTER_TOPIC, 0, 4, origin=topic_name("submissions", "bug_report")),
        _record(DEADLETTER_TOPIC, 0, 9, origin=topic_name("submissions", "churn")),  # not ours
        _record(DEADLETTER_TOPIC, 1, 2, origin=topic_name("enriched", "bug_report")),
        _record(DEADLETTER_TOPIC, 1, 7),  # no origin header: not ours either
    ]
    ends = ends_of("bug_report", [_record(RESULTS, 0, 11)], dead)
    assert ends == {(RESULTS, 0): 12, (DEADLETTER_TOPIC, 0): 5, (DEADLETTER_TOPIC, 1): 3}


@given(
    st.dictionaries(st.tuples(st.just(RESULTS), st.integers(0, 5)), st.integers(1, 100)),
    st.dictionaries(st.tuples(st.just(RESULTS), st.integers(0, 5)), st.integers(0, 100)),
)
def test_behind_lists_exactly_the_partitions_short_of_their_end(
    ends: dict[tuple[str, int], int], stored: dict[tuple[str, int], int]
) -> None:
    late = behind(ends, stored)
    for pos, end in ends.items():
        if stored.get(pos, 0) < end:
            assert late[pos] == (stored.get(pos, 0), end)  # unstored counts from 0
        else:
            assert pos not in late
    assert set(late) <= set(ends)  # a stored offset with no input is nobody's backlog
