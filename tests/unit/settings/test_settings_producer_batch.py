"""The producer's batch size: librdkafka's default unless raised, and a request that can always
hold one full batch (librdkafka refuses to send a batch larger than message.max.bytes)."""

from __future__ import annotations

from pathlib import Path

import pytest
from confluent_kafka import Producer
from hypothesis import given
from hypothesis import strategies as st

from inferstream.settings import KafkaSettings
from inferstream.settings.kafka import LIBRDKAFKA_MESSAGE_MAX_BYTES


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("INFERSTREAM_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("INFERSTREAM_KAFKA_PRODUCER_BATCH_BYTES", raising=False)
    return tmp_path


def test_default_is_librdkafkas(data_dir: Path) -> None:
    config = KafkaSettings.load().producer_config()
    assert config["batch.size"] == LIBRDKAFKA_MESSAGE_MAX_BYTES == 1_000_000
    assert config["message.max.bytes"] == 1_000_000


def test_from_the_environment(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INFERSTREAM_KAFKA_PRODUCER_BATCH_BYTES", "4000000")
    config = KafkaSettings.load().producer_config()
    assert config["batch.size"] == 4_000_000
    assert int(config["message.max.bytes"]) > 4_000_000


@given(st.integers(1_000, 2**30))
def test_a_request_holds_a_whole_batch(batch: int) -> None:
    kafka = KafkaSettings(producer_batch_bytes=batch)
    assert kafka.request_max_bytes() >= max(batch, LIBRDKAFKA_MESSAGE_MAX_BYTES)
    assert kafka.request_max_bytes() == LIBRDKAFKA_MESSAGE_MAX_BYTES or batch > 1_000_000


def test_librdkafka_takes_the_config(data_dir: Path) -> None:
    for batch in (1_000_000, 16_000_000):
        config = KafkaSettings.load(producer_batch_bytes=batch).producer_config()
        Producer({**config, "bootstrap.servers": "127.0.0.1:1"}).flush(0)  # raises if refused
