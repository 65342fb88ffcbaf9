"""A consumer of the embedded broker is not moved past a batch that is numbered but not stored
yet (inferstream/workers/runtime/gaps.py).

Tansu's s3 engine advances a partition's watermark.json before it writes the batch object, and
a fetch returns the stored batches at or after the fetch offset. With two producers on one
partition the later batch can be stored first, and a fetch in that window moves a plain
consumer past the earlier one for good (a chaos run lost an invalid submission's dead letter
that way: enrich never saw it). The window is made here deterministically on the session's
real broker: three single-record batches, then the middle batch's object is taken away (what
the broker holds between the two writes) and put back once the consumer has hit the gap.
"""

from __future__ import annotations

import time
import uuid
from io import BytesIO

from _stack import Stack
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from minio import Minio

from inferstream.stack import StackState
from inferstream.stack.tansu import TANSU_BUCKET
from inferstream.stack.tansu_repair import CLUSTER
from inferstream.workers.runtime.gaps import GapGuard, admit_messages

DEADLINE_S = 60.0


def _consumer(stack: Stack, topic: str) -> Consumer:
    config = stack.kafka.consumer_config(f"test-offset-gap-{uuid.uuid4().hex[:8]}")
    consumer = Consumer(config)
    consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    return consumer


def test_a_batch_stored_after_a_later_one_is_still_read(stack: Stack) -> None:
    kafka = stack.kafka
    topic = f"offset-gap-{uuid.uuid4().hex[:8]}"
    admin = AdminClient(kafka.admin_config())
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(30)
    producer = Producer(kafka.producer_config())
    for value in (b"r0", b"r1", b"r2"):  # one batch each: offsets 0, 1 and 2
        producer.produce(topic, value, partition=0)
        assert producer.flush(30) == 0

    seaweed = StackState.load(stack.data_dir).seaweed
    assert seaweed is not None
    s3 = Minio(
        seaweed.endpoint, access_key=seaweed.access_key, secret_key=seaweed.secret_key, secure=False
    )
    middle = f"clusters/{CLUSTER}/topics/{topic}/partitions/{0:0>10}/records/{1:0>20}.batch"
    response = s3.get_object(TANSU_BUCKET, middle)
    try:
        stored = response.read()
    finally:
        response.close()
        response.release_conn()
    s3.remove_object(TANSU_BUCKET, middle)  # numbered (the watermark is 3), not stored yet
    try:
        # A plain consumer is handed offset 2 after 0, and offset 1 never comes to it.
        plain = _consumer(stack, topic)
        try:
            seen: list[int] = []
            deadline = time.monotonic() + DEADLINE_S
            while 2 not in seen and time.monotonic() < deadline:
                seen += [m.offset() or 0 for m in plain.consume(10, 0.5) if m.error() is None]
        finally:
            plain.close()
        assert seen == [0, 2]

        # Behind the guard, the consumer waits at the gap, and reads offset 1 once it is stored.
        guarded = _consumer(stack, topic)
        guard = GapGuard(wait_s=DEADLINE_S)
        guard.expect((topic, 0), 0)
        try:
            got: list[int] = []
            put_back = False
            deadline = time.monotonic() + DEADLINE_S
            while len(got) < 3 and time.monotonic() < deadline:
                polled = guarded.consume(10, 0.5)
                kept, _ = admit_messages(guard, guarded, polled, time.monotonic())
                got += [m.offset() or 0 for m in kept if m.error() is None]
                if guard.waiting() and got == [0] and not put_back:
                    s3.put_object(TANSU_BUCKET, middle, BytesIO(stored), len(stored))
                    put_back = True
        finally:
            guarded.close()
        assert put_back and got == [0, 1, 2]
    finally:
        if not any(o.object_name == middle for o in s3.list_objects(TANSU_BUCKET, middle)):
            s3.put_object(TANSU_BUCKET, middle, BytesIO(stored), len(stored))
