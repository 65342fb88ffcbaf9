"""The proof that lets the result follower pass the worker's own results without fetching them
(workers/infer/own.py): it may skip only records this worker produced and saw acknowledged."""

from __future__ import annotations

import zlib

from hypothesis import given, settings
from hypothesis import strategies as st

from inferstream.workers.infer.own import OwnResults, expected_ends, partition_of, proven


def test_partition_of_is_crc32_modulo_the_partition_count() -> None:
    assert partition_of(b"abc", 4) == zlib.crc32(b"abc") % 4
    assert {partition_of(str(i).encode(), 3) for i in range(100)} == {0, 1, 2}


def test_expected_ends_add_each_durable_record_to_its_partition() -> None:
    keys = [str(i).encode() for i in range(10)]
    ends = expected_ends({0: 5, 1: 7}, keys)
    assert ends is not None
    assert ends[0] - 5 == sum(1 for k in keys if partition_of(k, 2) == 0)
    assert ends[1] - 7 == sum(1 for k in keys if partition_of(k, 2) == 1)
    assert expected_ends({0: 3, 1: -2}, keys) is None  # a partition still to be read from 0
    assert expected_ends({}, keys) is None


def test_proven_needs_every_partition_at_its_expected_end() -> None:
    assert proven({0: 3, 1: 4}, {0: 3, 1: 4})
    assert not proven({0: 3, 1: 4}, {0: 3})  # one partition did not answer
    assert not proven({0: 3, 1: 4}, {0: 3, 1: 5})  # one record more than ours
    assert not proven({}, {})


def test_durable_counts_only_keys_not_read_yet() -> None:
    own = OwnResults()
    own.add([b"a", b"b", b"c"])
    assert own.take(b"a")  # read back before it was acknowledged
    own.durable([b"a", b"b", b"z"])  # z was never ours
    assert own.snapshot() == {b"b"}
    own.settle({b"b"})
    assert own.snapshot() == frozenset()
    assert not own.take(b"b")  # passed: a later copy of it is another producer's
    # c was registered but its batch was acknowledged without it: not ours any more.
    assert len(own) == 0 and not own.take(b"c")


def test_a_key_never_acknowledged_stops_being_ours_when_its_batch_is() -> None:
    own = OwnResults()
    own.add([b"a", b"b"])  # first attempt of a batch
    own.add([b"a"])  # its retry: b dead-lettered this time
    own.durable([b"a"])
    assert own.snapshot() == {b"a"}
    assert not own.take(b"b")  # another worker's result for b is decoded and indexed
    assert own.take(b"a")


def test_a_durable_key_not_read_yet_stays_ours_when_registered_again() -> None:
    own = OwnResults()
    own.add([b"a"])
    own.durable([b"a"])
    own.add([b"a", b"b"])  # the same submission again in the next batch, not produced then
    own.durable([b"b"])
    assert own.snapshot() == {b"a", b"b"}
    assert own.take(b"a") and own.take(b"b")


# One step of a worker and its follower against a simulated topic. The worker runs one batch at
# a time (infer does not coalesce outputs): an attempt of the batch in flight registers keys
# whose records land on the topic (where the partitioner puts them, or elsewhere), or that never
# land (an attempt whose records were then dead-lettered); an ack acknowledges the batch's landed
# records and ends it. Also: another producer's record, possibly with a key this worker
# registered and gave up, an end check, or a read.
steps = st.lists(
    st.one_of(
        st.tuples(st.just("own"), st.integers(1, 4), st.booleans()),
        st.tuples(st.just("lost"), st.integers(1, 3), st.just(False)),
        st.tuples(st.just("ack"), st.just(0), st.just(False)),
        st.tuples(st.just("other"), st.integers(0, 2), st.booleans()),
        st.tuples(st.just("check"), st.just(0), st.just(False)),
        st.tuples(st.just("read"), st.just(0), st.just(False)),
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(steps, st.integers(1, 3))
def test_a_passed_check_skips_only_acknowledged_own_records(
    script: list[tuple[str, int, bool]], partitions: int
) -> None:
    own = OwnResults()
    topic: dict[int, list[tuple[bytes, bool]]] = {p: [] for p in range(partitions)}
    positions = dict.fromkeys(topic, 0)
    in_flight: list[bytes] = []  # the batch's landed records, not acknowledged yet
    acked: set[bytes] = set()
    given_up: list[bytes] = []  # registered, never landed, their batch acknowledged
    lost: list[bytes] = []  # registered by the batch in flight, never landed
    serial = 0
    for action, n, flag in script:
        if action == "own":
            keys = [f"own-{serial + i}".encode() for i in range(n)]
            serial += n
            own.add(keys)
            for key in keys:
                p = partition_of(key, partitions) if flag else (serial % partitions)
                topic[p].append((key, True))
            in_flight.extend(keys)
        elif action == "lost":
            keys = [f"own-{serial + i}".encode() for i in range(n)]
            serial += n
            own.add(keys)
            lost.extend(keys)
        elif action == "ack":
            acked.update(in_flight)
            own.durable(in_flight)
            given_up.extend(lost)
            in_flight, lost = [], []
        elif action == "other":
            # Another worker's result: a fresh key, or one this worker registered and gave up.
            key = given_up.pop() if flag and given_up else f"other-{serial}".encode()
            topic[n % partitions].append((key, False))
            serial += 1
        elif action == "check":
            durable = own.snapshot()
            expected = expected_ends(positions, durable)
            assert expected is not None
            if proven(expected, {p: len(records) for p, records in topic.items()}):
                for p, records in topic.items():
                    for key, mine in records[positions[p] : expected[p]]:
                        assert mine and key in acked and key in durable
                own.settle(durable)
                positions = expected
        elif action == "read":
            for p, records in topic.items():
                for key, mine in records[positions[p] :]:
                    assert own.take(key) == mine
                positions[p] = len(records)
