"""The infer stage: micro-batches of enriched records through the task's model, results out."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson
import psycopg
import structlog
from pydantic import BaseModel

from inferstream.plugins import (
    Batch,
    EnrichedItem,
    EnrichedMessage,
    Inferer,
    ResultFields,
    TaskPlugin,
    close_inferer,
    encode_results,
)
from inferstream.schemas import DecodeError, get_task
from inferstream.schemas.fast import construct
from inferstream.settings import KafkaSettings, PostgresSettings
from inferstream.topology import group_id, topic_name
from inferstream.workers.infer.follower import ResultFollower, sink_offsets
from inferstream.workers.infer.own import OwnResults
from inferstream.workers.runtime.backoff import Backoff
from inferstream.workers.runtime.headers import SUBMITTED_AT, forward_headers
from inferstream.workers.runtime.logic import StageLogic
from inferstream.workers.runtime.records import Emit, InRecord, Outcome, OutMessage, Reject

Key = tuple[str, int, int]
T = TypeVar("T")
log = structlog.get_logger("inferstream.infer")
STARTUP_RETRY_S = 600.0


def _with_backoff(load: Callable[[], T]) -> T:
    """Postgres down while a worker starts: wait with backoff rather than crash-loop."""
    backoff = Backoff(0.5, 15.0)
    deadline = time.monotonic() + STARTUP_RETRY_S
    while True:
        try:
            return load()
        except psycopg.OperationalError as err:
            if time.monotonic() > deadline:
                raise
            delay = backoff.next_delay()
            log.warning("Postgres unavailable at start; retrying", error=str(err), retry_in_s=delay)
            time.sleep(delay)


def decode_enriched(
    value: bytes,
    envelope_model: type[BaseModel],
    enrichment_model: type[BaseModel],
    position: tuple[str, int, int] | None = None,
) -> EnrichedItem:
    """An enriched record as the models enrich validated, without validating it again: enrich
    wrote it from validated models, so a structural check is enough (docs/benchmarks.md,
    "hot-path codec": ~1.7x less CPU per record than three ``model_validate``s). Raises
    DecodeError on bytes that are not an enriched record."""
    try:
        message = orjson.loads(value)
    except orjson.JSONDecodeError as err:
        raise DecodeError(f"malformed JSON: {err}") from None
    if not isinstance(message, dict) or message.keys() != _ENRICHED_KEYS:
        raise DecodeError(f"not an enriched message (fields {sorted(_ENRICHED_KEYS)})")
    envelope: Any = construct(envelope_model, message["envelope"])
    return EnrichedItem(envelope, construct(enrichment_model, message["enrichment"]), position)


_ENRICHED_KEYS = frozenset(EnrichedMessage.model_fields)


@dataclass
class _Prepared:
    decoded: list[EnrichedItem | Reject]
    items: Batch[EnrichedItem]  # the decodable records' items, keys and headers
    model_input: object


class InferLogic(StageLogic):
    stage = "infer"

    def __init__(
        self,
        plugin: TaskPlugin,
        inferer: Inferer,
        kafka: KafkaSettings,
        postgres: PostgresSettings,
        group_prefix: str,
        *,
        gap_wait_s: float = 0.0,
    ) -> None:
        """No I/O here: the state is rebuilt by start(), which the launcher calls.
        ``gap_wait_s``: the follower's gap guard wait, the worker setting
        ``offset_gap_wait_ms`` in seconds (its default, 0, is off)."""
        self.plugin = plugin
        self.task = plugin.name
        self.inferer = inferer
        self.contract = get_task(plugin.name)
        self.output_topic = topic_name("results", self.task)
        self._kafka = kafka
        self._postgres = postgres
        self._sink_group = group_id("sink", self.task, group_prefix)
        self._gap_wait_s = gap_wait_s
        self._decoded: dict[Key, EnrichedItem | Reject] = {}
        # Results of the batch being processed (all its sub-batches when it was bisected).
        self._produced: list[tuple[bytes, ResultFields]] = []  # (key, result) of every attempt
        self.own = OwnResults()
        self.follower: ResultFollower | None = None

    def start(self) -> None:
        """Rebuild the inferer's state: what Postgres holds (waiting for Postgres with backoff),
        then the result topic from the sink's stored offsets on, in a follower thread."""
        history, start = _with_backoff(
            lambda: (
                self.plugin.history(self._postgres),
                sink_offsets(self._postgres, self._sink_group, self.output_topic),
            )
        )
        self.inferer.observe(history)
        self.follower = ResultFollower(
            self._kafka,
            self.output_topic,
            self.task,
            start,
            self.inferer.observe,
            self.own,
            gap_wait_s=self._gap_wait_s,
        )
        self.follower.start()

    @property
    def input_topics(self) -> Sequence[str]:
        return [topic_name("enriched", self.task)]

    def _decode(self, record: InRecord) -> EnrichedItem | Reject:
        key = (record.topic, record.partition, record.offset)
        cached = self._decoded.pop(key, None)
        if cached is not None:
            return cached
        try:
            return decode_enriched(
                record.value, self.contract.envelope_model, self.plugin.enrichment_model, key
            )
        except DecodeError as err:
            sid = record.key.decode(errors="replace") if record.key else None
            return Reject(f"undecodable enriched record: {err}"[:2000], submission_id=sid)

    def cost(self, record: InRecord) -> int:
        item = self._decode(record)
        self._decoded[(record.topic, record.partition, record.offset)] = item
        return 1 if isinstance(item, Reject) else self.inferer.cost(item)

    def prepare(self, batch: Sequence[InRecord]) -> object:
        decoded = [self._decode(record) for record in batch]
        kept = [(r, d) for r, d in zip(batch, decoded, strict=True) if isinstance(d, EnrichedItem)]
        items = Batch(
            tuple(d for _, d in kept),
            tuple(r.key for r, _ in kept),
            tuple(r.headers for r, _ in kept),
        )
        return _Prepared(decoded, items, self.inferer.prepare(items))

    def process(self, batch: Sequence[InRecord], prepared: object) -> list[Outcome]:
        if not isinstance(prepared, _Prepared):
            raise TypeError("prepare() output expected")
        items, decoded = prepared.items, prepared.decoded
        produced = self.inferer.run(items, prepared.model_input) if items else []
        keys = [str(result["submission_id"]).encode() for result in produced]
        # Registered before they are produced: the follower skips them (after_durable adds them).
        self.own.add(keys)
        # Plain fields encoded in bulk: no pydantic object per result (plugins/results.py).
        values = iter(zip(produced, keys, encode_results(produced), strict=True))
        self._produced.extend(zip(keys, produced, strict=True))
        outcomes: list[Outcome] = []
        for record, item in zip(batch, decoded, strict=True):
            if isinstance(item, Reject):
                outcomes.append(item)
                continue
            result, key, value = next(values)
            version = int(result["schema_version"])
            headers = forward_headers(record, version, record.header_bytes(SUBMITTED_AT))
            outcomes.append(Emit((OutMessage(self.output_topic, key, value, headers),)))
        return outcomes

    def after_durable(self, batch: Sequence[InRecord], outcomes: Sequence[Outcome]) -> None:
        acknowledged = [
            message.key
            for outcome in outcomes
            if isinstance(outcome, Emit)
            for message in outcome.messages
            if message.topic == self.output_topic and message.key is not None
        ]
        # Own results go into the index as soon as they are on the topic (same-batch and
        # next-batch duplicates), without waiting for the follower to read them back.
        produced, self._produced = self._produced, []
        durable = acknowledged_results(produced, acknowledged)
        if durable:
            self.inferer.observe(durable)
        # Acknowledged: the follower may now pass them without fetching them (own.py).
        self.own.durable(acknowledged)

    def ready(self) -> tuple[bool, str]:
        if self.follower is None:
            return False, "not started"
        if self.follower.failure is not None:
            return False, f"result follower stopped: {self.follower.failure}"
        if not self.follower.caught_up.is_set():
            return False, "reading the result topic tail"
        return self.inferer.ready()

    def close(self) -> None:
        # The model first: calls queued for batches prepared ahead are cancelled, not run.
        close_inferer(self.inferer)
        if self.follower is not None:
            self.follower.stop()


def acknowledged_results(
    produced: Sequence[tuple[bytes, ResultFields]], acknowledged: Sequence[bytes]
) -> list[ResultFields]:
    """The results of a batch that are on the result topic, once each, in production order.

    ``produced`` holds every attempt of the batch, as (key, result): a group the cycle ran
    again after a transient failure produced its results twice, and a record a retry
    dead-lettered has a result that never reached the topic. The index must hold what the
    topic holds: the last attempt's result of each acknowledged key.
    """
    wanted = set(acknowledged)
    latest: dict[bytes, ResultFields] = {}
    for key, result in produced:
        if key in wanted:
            latest[key] = result
    return list(latest.values())
