"""A worker's output producer survives an outage of the broker's storage: on the embedded
Tansu's s3:// engine, stopping SeaweedFS makes Tansu answer produces with fencing errors
(PRODUCER_FENCED), and Tansu refuses Kafka's own recovery (a new epoch for the same producer).
The output producer must replace itself so that, once S3 is back, a retried batch is
acknowledged again; before, a chaos run's infer worker retried its fenced producer forever.

On a fresh embedded stack of its own (stopping the integration session's S3 would break every
other test)."""

from __future__ import annotations

import time

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from inferstream.settings import KafkaSettings
from inferstream.stack import StackState, up
from inferstream.stack.servers import stop_seaweed
from inferstream.workers.runtime.output import OutputProducer
from inferstream.workers.runtime.records import OutMessage, TransientError

TOPIC = "chaos.fencing"
PARTITIONS = 4
OUTAGE_S = 3.0
RECOVERY_DEADLINE_S = 150.0
# A send during the outage waits for its acks until librdkafka gives up on them: with the
# defaults (30 s per request, 120 s per delivery) the first send held the 3 s outage open for
# the output producer's whole 30 s flush. 10 s still leave a loaded broker time to acknowledge
# the batches after the outage; the outage fails its sends and fences the producer as before.
REQUEST_TIMEOUT_MS, DELIVERY_TIMEOUT_MS = 5000, 10000


def _batch(start: int, n: int = 40) -> list[OutMessage]:
    return [
        OutMessage(topic=TOPIC, key=str(i).encode(), value=str(i).encode(), headers=())
        for i in range(start, start + n)
    ]


@pytest.mark.timeout(480)
def test_output_producer_is_acknowledged_again_after_a_storage_outage(
    s3_stack: StackState, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INFERSTREAM_KAFKA_REQUEST_TIMEOUT_MS", str(REQUEST_TIMEOUT_MS))
    monkeypatch.setenv("INFERSTREAM_KAFKA_DELIVERY_TIMEOUT_MS", str(DELIVERY_TIMEOUT_MS))
    kafka = KafkaSettings.load()
    admin = AdminClient(kafka.admin_config())
    admin.create_topics([NewTopic(TOPIC, PARTITIONS, 1)])[TOPIC].result(timeout=30)
    output = OutputProducer(kafka)
    output.send_all(_batch(0))  # the producer id is established before the outage

    stop_seaweed(s3_stack.seaweed.pid if s3_stack.seaweed else None)
    failures = 0
    outage_end = time.monotonic() + OUTAGE_S
    while time.monotonic() < outage_end:
        try:
            output.send_all(_batch(1000))
        except TransientError:
            failures += 1
    up(s3_stack.data_dir)  # S3 back on its port; the running Tansu is kept
    assert failures >= 1, "no send failed during the storage outage"

    deadline = time.monotonic() + RECOVERY_DEADLINE_S
    batches, last_error = 0, ""
    while batches < 3 and time.monotonic() < deadline:
        try:
            output.send_all(_batch(2000 + 100 * batches))
            batches += 1
        except TransientError as err:  # the runner backs off and retries the same way
            last_error = str(err)
            time.sleep(0.5)  # backoff between retries, as the runner's; not synchronisation
    assert batches == 3, (
        f"no batch acknowledged within {RECOVERY_DEADLINE_S:.0f} s after S3 came back "
        f"({failures} failures during the outage, {output.renewals} producers replaced): "
        f"{last_error[:500]}"
    )
    output.close()
