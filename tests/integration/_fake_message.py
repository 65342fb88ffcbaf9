"""A broker-less stand-in for confluent_kafka.Message: what the poll loops read of one (the
gap guard's wiring tests of the stage runtime, the archive and infer's follower)."""

from __future__ import annotations

from dataclasses import dataclass

from confluent_kafka import KafkaError


@dataclass(frozen=True)
class FakeMessage:
    topic_name: str
    partition_no: int
    offset_no: int
    key_bytes: bytes | None = None
    value_bytes: bytes | None = None
    eof: bool = False  # an end-of-partition event, as enable.partition.eof delivers it

    def error(self) -> KafkaError | None:
        return KafkaError(KafkaError._PARTITION_EOF) if self.eof else None

    def topic(self) -> str:
        return self.topic_name

    def partition(self) -> int:
        return self.partition_no

    def offset(self) -> int:
        return self.offset_no

    def key(self) -> bytes | None:
        return self.key_bytes

    def value(self) -> bytes | None:
        return self.value_bytes

    def timestamp(self) -> tuple[int, int]:
        return 1, 1_000 + self.offset_no
