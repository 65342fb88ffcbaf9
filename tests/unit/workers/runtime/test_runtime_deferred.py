"""Partitions assigned before their start offsets could be read (the sink with Postgres down):
retried with backoff, started once, and forgotten on revoke, when the caller must unassign only
the partitions the client really has (its own unassign fails on the others)."""

from __future__ import annotations

from confluent_kafka import TopicPartition
from hypothesis import given
from hypothesis import strategies as st

from inferstream.workers.runtime.backoff import Backoff
from inferstream.workers.runtime.deferred import DeferredStarts

A, B, C = ("results.bug_report", 0), ("results.bug_report", 1), ("deadletter", 0)


def _deferred() -> DeferredStarts:
    return DeferredStarts(Backoff(initial_s=1.0, max_s=8.0))


def test_a_lookup_is_due_only_after_its_backoff_delay() -> None:
    deferred = _deferred()
    assert deferred.due(0.0) == []  # nothing waits
    delay = deferred.defer([A, B], now=100.0)
    assert 0.5 <= delay <= 1.0
    assert deferred.due(100.0) == []
    assert deferred.due(100.0 + delay) == [A, B]


def test_failed_lookups_back_off_up_to_the_cap_and_a_start_resets_it() -> None:
    deferred = _deferred()
    deferred.defer([A], now=0.0)
    delays = [deferred.failed(0.0) for _ in range(6)]
    assert delays[1] > 1.0  # grows: 1, 2, 4, 8 ceilings with jitter in the upper half
    assert max(delays) <= 8.0 and delays[-1] >= 4.0
    deferred.started([A])
    assert deferred.waiting() == []
    assert deferred.defer([B], now=0.0) <= 1.0  # a new outage starts from the initial delay


def test_revoking_only_started_partitions_leaves_the_clients_unassign_alone() -> None:
    deferred = _deferred()
    deferred.defer([A], now=0.0)
    assert deferred.release([TopicPartition(*B)]) is None
    assert deferred.waiting() == [A]


def test_revoking_waiting_partitions_forgets_them_and_names_the_assigned_ones() -> None:
    deferred = _deferred()
    deferred.defer([A, C], now=0.0)
    local = deferred.release([TopicPartition(*A), TopicPartition(*B)])
    assert local is not None
    assert [(tp.topic, tp.partition) for tp in local] == [B]
    assert deferred.waiting() == [C]
    assert deferred.release([TopicPartition(*C)]) == []  # none left to unassign locally
    assert deferred.due(1e9) == []


@given(
    waiting=st.sets(st.integers(0, 7)),
    revoked=st.sets(st.integers(0, 7)),
)
def test_release_splits_revoked_partitions_into_waiting_and_local(
    waiting: set[int], revoked: set[int]
) -> None:
    deferred = _deferred()
    deferred.defer([("t", p) for p in sorted(waiting)], now=0.0)
    local = deferred.release([TopicPartition("t", p) for p in sorted(revoked)])
    if waiting & revoked:
        assert local is not None
        assert {tp.partition for tp in local} == revoked - waiting
    else:
        assert local is None
    assert {p for _, p in deferred.waiting()} == waiting - revoked
