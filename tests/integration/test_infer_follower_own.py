"""infer's result follower on the embedded broker: a lone worker passes its own results without
fetching them, while every result of another producer (another worker, or a run before a
restart) still reaches its index exactly once (workers/infer/own.py, follower.py).

Each "worker" here does what InferLogic does around its follower: registers the keys, produces
with the output's producer settings, waits for the acknowledgements, marks them durable. Its
follower checks the ends only when the test says so (no timer), so every check sees whole
batches and a failed check means the proof did not hold, not bad timing."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence

from _churn import churn_result
from _kafka import read_topic
from _stack import Stack
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from inferstream.plugins import ResultFields
from inferstream.settings import KafkaSettings, WorkerSettings
from inferstream.workers.infer.follower import ResultFollower
from inferstream.workers.infer.own import OwnResults, partition_of

TASK = "churn"  # the smallest result contract; the follower only checks its structure
PARTITIONS = 2


class _Worker:
    def __init__(self, kafka: KafkaSettings, topic: str, name: str) -> None:
        self.topic, self.name, self.serial = topic, name, 0
        self.own = OwnResults()
        self.seen: list[str] = []
        self.produced: list[str] = []
        self.producer = Producer(kafka.producer_config())
        self.follower = ResultFollower(
            kafka,
            topic,
            TASK,
            {},
            self._observe,
            self.own,
            check_interval_s=3600,
            gap_wait_s=WorkerSettings.load().offset_gap_wait_ms / 1000,  # the stack's
        )

    def _observe(self, results: Sequence[ResultFields]) -> None:
        self.seen.extend(str(r["submission_id"]) for r in results)

    def produce(self, n: int) -> list[str]:
        ids = [f"{self.name}-{self.serial + i}" for i in range(n)]
        self.serial += n
        keys = [i.encode() for i in ids]
        self.own.add(keys)  # before producing, as process() does
        for sid, key in zip(ids, keys, strict=True):
            self.producer.produce(self.topic, key=key, value=churn_result(sid))
        assert self.producer.flush(30) == 0
        self.own.durable(keys)  # acknowledged, as after_durable does
        self.produced.extend(ids)
        return ids

    def check(self) -> None:
        """One end check, and wait until the follower has finished it (and any read it led to)."""
        before = self.follower.stats.checks_passed + self.follower.stats.checks_failed
        self.follower.check_now()
        _until(
            lambda: self.follower.stats.checks_passed + self.follower.stats.checks_failed > before
        )

    def stop(self) -> None:
        self.follower.stop()
        self.producer.flush(10)


def _until(condition: Callable[[], bool], deadline_s: float = 60.0) -> None:
    deadline = time.monotonic() + deadline_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def _topic(kafka: KafkaSettings) -> str:
    topic = f"test-follow-own-{uuid.uuid4().hex[:8]}"
    admin = AdminClient(kafka.admin_config())
    admin.create_topics([NewTopic(topic, PARTITIONS, 1)])[topic].result(timeout=30)
    return topic


def test_a_lone_worker_reads_its_tail_once_and_none_of_its_own_results(stack: Stack) -> None:
    topic = _topic(stack.kafka)
    earlier = _Worker(stack.kafka, topic, "earlier-run")  # results produced before a restart
    tail = earlier.produce(30)
    earlier.stop()
    worker = _Worker(stack.kafka, topic, "worker")
    try:
        worker.follower.start()
        assert worker.follower.caught_up.is_set()
        assert sorted(worker.seen) == sorted(tail)
        stats = worker.follower.stats
        worker.check()  # the tail was another producer's: once its read is over, checks pass
        assert stats.checks_passed == 1, stats
        for _ in range(4):
            worker.produce(25)
            worker.check()
        assert stats.checks_passed == 5, stats
        assert stats.own_read == 0, stats  # not one of its own results fetched back
        assert stats.own_skipped == 100, stats
        assert sorted(worker.seen) == sorted(tail)  # the tail once, nothing of its own
        assert len(worker.own) == 0  # nothing left waiting for the follower
    finally:
        worker.stop()
    # The proof guessed each record's partition as the producer chose it.
    records = read_topic(stack.kafka, topic, until=lambda got: len(got) >= 130)
    assert all(r.partition == partition_of(r.key or b"", PARTITIONS) for r in records)


def test_two_workers_each_see_all_of_the_others_results_exactly_once(stack: Stack) -> None:
    topic = _topic(stack.kafka)
    a, b = _Worker(stack.kafka, topic, "a"), _Worker(stack.kafka, topic, "b")
    try:
        a.follower.start()
        b.follower.start()
        for _ in range(2):
            a.produce(20)
            b.produce(15)
            a.check()
            b.check()
        _until(lambda: len(a.seen) >= len(b.produced) and len(b.seen) >= len(a.produced))
        assert Counter(a.seen) == Counter(b.produced)  # each of b's once, none of its own
        assert Counter(b.seen) == Counter(a.produced)
        assert a.follower.stats.checks_failed >= 1  # b's results made a check fail: a read
        # b stops producing: once a's read is over, its checks pass again and it fetches none
        # of its own results.
        passed = a.follower.stats.checks_passed
        a.check()
        assert a.follower.stats.checks_passed == passed + 1, a.follower.stats
        read_before = a.follower.stats.own_read
        for _ in range(2):
            a.produce(10)
            a.check()
        assert a.follower.stats.checks_passed == passed + 3, a.follower.stats
        assert a.follower.stats.own_read == read_before, a.follower.stats
        b.check()  # a's results make b's check fail, and b reads them
        _until(lambda: len(b.seen) >= len(a.produced))
        assert Counter(b.seen) == Counter(a.produced)
    finally:
        a.stop()
        b.stop()


def test_a_follower_that_fails_says_why(stack: Stack) -> None:
    # An error in the follower's thread (here the index refusing what it is given) stops it;
    # the worker must not go on as if its index still followed the other producers.
    topic = _topic(stack.kafka)
    other = _Worker(stack.kafka, topic, "other")
    other.produce(3)
    other.stop()

    def refuse(results: Sequence[ResultFields]) -> None:
        raise ValueError(f"refused {len(results)} results")

    follower = ResultFollower(stack.kafka, topic, TASK, {}, refuse, OwnResults(), gap_wait_s=0)
    try:
        follower.start(catch_up_timeout_s=1)
        _until(lambda: follower.failure is not None)
        assert follower.failure is not None and follower.failure.startswith("ValueError: refused")
        assert not follower.caught_up.is_set()
    finally:
        follower.stop()
