"""Iterate typed results from ``results.<task>`` (at-least-once; dedupe on result_id)."""

from __future__ import annotations

import time
from collections.abc import Generator

import structlog
from confluent_kafka import Consumer, KafkaError, Message
from pydantic import ValidationError

from inferstream.schemas import DecodeError, ResultBase, decode_result, get_task
from inferstream.settings import KafkaSettings
from inferstream.topology import group_id as stage_group
from inferstream.topology import topic_name

log = structlog.get_logger("inferstream.subscribe")


def subscribe(
    task: str,
    settings: KafkaSettings | None = None,
    *,
    group: str | None = None,
    from_beginning: bool = False,
    idle_timeout_s: float | None = None,
    max_messages: int | None = None,
) -> Generator[ResultBase, None, None]:
    """Yield results as they arrive.

    With ``group`` the position is committed after each result has been handed over and the
    caller asked for the next one, so a restart resumes where it left off. Without it, an
    ephemeral group is used and nothing is committed. Stops after ``idle_timeout_s`` without
    messages or after ``max_messages``, otherwise runs until the caller stops iterating.
    """
    get_task(task)
    settings = settings or KafkaSettings.load()
    group_id = group or f"{stage_group('subscribe', task)}.{time.monotonic_ns()}"
    consumer = Consumer(settings.consumer_config(group_id, from_beginning=from_beginning))
    consumer.subscribe([topic_name("results", task)])
    pending: Message | None = None
    seen = 0
    last_message = time.monotonic()
    try:
        while max_messages is None or seen < max_messages:
            if pending is not None and group is not None:
                consumer.store_offsets(message=pending)
                consumer.commit(asynchronous=True)
            pending = None
            msg = consumer.poll(0.5)
            if msg is None:
                if idle_timeout_s is not None and time.monotonic() - last_message > idle_timeout_s:
                    return
                continue
            last_message = time.monotonic()
            error = msg.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    continue
                raise RuntimeError(f"consumer error: {error.str()}")
            pending = msg
            result = _decode(task, msg)
            if result is not None:
                seen += 1
                yield result
    finally:
        if pending is not None and group is not None:
            consumer.store_offsets(message=pending)
        if group is not None:
            try:
                consumer.commit(asynchronous=False)
            except Exception as err:  # nothing stored yet is not a failure worth raising
                log.debug("final commit skipped", reason=str(err))
        consumer.close()


def _decode(task: str, msg: Message) -> ResultBase | None:
    value = msg.value()
    try:
        return decode_result(task, value if isinstance(value, bytes) else b"")
    except (DecodeError, ValidationError) as err:
        # Results are produced by our infer stage; an undecodable one is a bug upstream.
        log.error(
            "undecodable result skipped",
            topic=msg.topic(),
            partition=msg.partition(),
            offset=msg.offset(),
            reason=str(err)[:500],
        )
        return None
