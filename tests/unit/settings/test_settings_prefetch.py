"""A consumer's prefetch stays bounded, so a pause (which drops the prefetch, and the resume
fetches it again) throws away a bounded amount; a zstd producer compresses at a low level;
librdkafka accepts every configuration the settings allow at their edges."""

from __future__ import annotations

from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer

from inferstream.settings import KafkaSettings
from inferstream.settings.kafka import PREFETCH_BYTES, PREFETCH_MESSAGES, ZSTD_LEVEL


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("INFERSTREAM_DATA_DIR", str(tmp_path))
    for name in ("BACKGROUND_PARTITION_FETCH_BYTES", "BACKGROUND_FETCH_WAIT_MAX_MS"):
        monkeypatch.delenv(f"INFERSTREAM_KAFKA_{name}", raising=False)
    return tmp_path


def test_a_latency_consumer_prefetches_a_bounded_queue_and_rechecks_it_soon(
    data_dir: Path,
) -> None:
    config = KafkaSettings.load().consumer_config("g")
    # librdkafka's defaults: 100,000 records and 64 MiB queued, 50 MiB per fetch, 1 s backoff.
    assert config["queued.min.messages"] == PREFETCH_MESSAGES <= 10_000
    assert config["queued.max.messages.kbytes"] == PREFETCH_BYTES // 1024
    assert config["fetch.max.bytes"] == PREFETCH_BYTES <= 16 * 2**20
    assert isinstance(config["fetch.queue.backoff.ms"], int)
    assert config["fetch.queue.backoff.ms"] < 1000


@pytest.mark.parametrize("background", [False, True])
@pytest.mark.parametrize(
    "settings",
    [
        {},
        {"background_partition_fetch_bytes": 2**16, "background_fetch_wait_max_ms": 1},
        {
            "background_partition_fetch_bytes": 1_000_000_000,
            "background_fetch_wait_max_ms": 300_000,
        },
    ],
)
def test_librdkafka_accepts_the_consumer_configuration(
    data_dir: Path, settings: dict[str, int], background: bool
) -> None:
    kafka = KafkaSettings.load(bootstrap_servers="127.0.0.1:1", **settings)
    consumer = Consumer({**kafka.consumer_config("g", background=background), "log_level": 0})
    consumer.close()


@pytest.mark.parametrize("compression", ["zstd", "lz4", "none"])
def test_zstd_producers_compress_at_a_low_level_others_at_their_codecs_default(
    data_dir: Path, compression: str
) -> None:
    kafka = KafkaSettings.load(bootstrap_servers="127.0.0.1:1", compression=compression)
    config = kafka.producer_config()
    if compression == "zstd":
        assert config["compression.level"] == ZSTD_LEVEL < 3  # librdkafka's zstd default: 3
    else:
        assert "compression.level" not in config
    Producer({**config, "log_level": 0}).flush(0)
