"""Settings precedence (kwargs > env > INFERSTREAM_CONFIG file > data-dir stack.toml > defaults)
and one-line errors that name the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from inferstream.settings import (
    ApiSettings,
    KafkaSettings,
    ObjectStoreSettings,
    PostgresSettings,
    SettingsError,
    WorkerSettings,
)


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("INFERSTREAM_DATA_DIR", str(tmp_path / "data"))
    (tmp_path / "data").mkdir()
    return tmp_path / "data"


def test_defaults(data_dir: Path) -> None:
    kafka = KafkaSettings.load()
    assert kafka.bootstrap_servers == "127.0.0.1:9092"
    assert kafka.security_protocol == "PLAINTEXT"
    assert PostgresSettings.load().sslmode == "prefer"
    assert ObjectStoreSettings.load().secure is True


def test_env_beats_config_file_beats_stack_file(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (data_dir / "stack.toml").write_text(
        '[kafka]\nbootstrap_servers = "stack:1"\nclient_id = "from-stack"\n'
        "linger_ms = 7\n[postgres]\nport = 6000\n"
    )
    assert KafkaSettings.load().bootstrap_servers == "stack:1"
    config = tmp_path / "inferstream.toml"
    config.write_text('[kafka]\nbootstrap_servers = "file:2"\nclient_id = "from-file"\n')
    monkeypatch.setenv("INFERSTREAM_CONFIG", str(config))
    kafka = KafkaSettings.load()
    assert (kafka.bootstrap_servers, kafka.client_id, kafka.linger_ms) == ("file:2", "from-file", 7)
    monkeypatch.setenv("INFERSTREAM_KAFKA_BOOTSTRAP_SERVERS", "env:3")
    kafka = KafkaSettings.load()
    assert (kafka.bootstrap_servers, kafka.client_id) == ("env:3", "from-file")
    assert KafkaSettings.load(bootstrap_servers="kw:4").bootstrap_servers == "kw:4"
    assert PostgresSettings.load().port == 6000


def test_invalid_env_value_names_the_variable(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INFERSTREAM_POSTGRES_SSLMODE", "sometimes")
    with pytest.raises(SettingsError) as err:
        PostgresSettings.load()
    message = str(err.value)
    assert message.startswith("INFERSTREAM_POSTGRES_SSLMODE")
    assert "verify-full" in message
    assert "\n" not in message


def test_invalid_file_value_names_the_variable(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[worker]\nbatch_max_items = 0\nunknown_key = 1\n")
    monkeypatch.setenv("INFERSTREAM_CONFIG", str(config))
    with pytest.raises(SettingsError) as err:
        WorkerSettings.load()
    assert "INFERSTREAM_WORKER_BATCH_MAX_ITEMS" in str(err.value)
    assert "unknown_key" in str(err.value)


def test_missing_config_file_is_a_clear_error(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INFERSTREAM_CONFIG", "/nonexistent/inferstream.toml")
    with pytest.raises(SettingsError, match="does not exist"):
        KafkaSettings.load()


def test_sasl_needs_credentials_and_reaches_librdkafka(data_dir: Path) -> None:
    with pytest.raises(SettingsError, match="INFERSTREAM_KAFKA_SASL_PASSWORD"):
        KafkaSettings.load(security_protocol="SASL_SSL", sasl_mechanism="SCRAM-SHA-512")
    kafka = KafkaSettings.load(
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username="svc",
        sasl_password="s3cret",
        ssl_ca_location="/etc/ca.pem",
    )
    config = kafka.producer_config()
    assert config["security.protocol"] == "SASL_SSL"
    assert config["sasl.password"] == "s3cret"
    assert config["ssl.ca.location"] == "/etc/ca.pem"
    assert "s3cret" not in repr(kafka)


def test_producer_and_consumer_configs_carry_the_delivery_contract(data_dir: Path) -> None:
    kafka = KafkaSettings.load()
    producer = kafka.producer_config()
    assert producer["acks"] == "all" and producer["enable.idempotence"] is True
    consumer = kafka.consumer_config("g")
    assert consumer["enable.auto.commit"] is False
    assert consumer["enable.auto.offset.store"] is False
    assert consumer["partition.assignment.strategy"] == "cooperative-sticky"
    # Kafka answers a long poll as soon as data arrives: librdkafka's default suits it. The
    # embedded stack writes a short wait (Tansu holds every empty fetch for the full wait).
    assert consumer["fetch.wait.max.ms"] == 500
    assert KafkaSettings.load(fetch_wait_max_ms=20).consumer_config("g")["fetch.wait.max.ms"] == 20


def test_background_consumers_take_their_own_fetch_wait_and_size(data_dir: Path) -> None:
    kafka = KafkaSettings.load(fetch_wait_max_ms=100, background_fetch_wait_max_ms=1000)
    background = kafka.consumer_config("g", background=True)
    assert background["fetch.wait.max.ms"] == 1000
    size = kafka.background_partition_fetch_bytes
    assert background["max.partition.fetch.bytes"] == size
    assert background["fetch.max.bytes"] == size
    # They fetch again once what the last fetch brought is taken, not sooner than their wait.
    assert background["queued.min.messages"] == 1
    assert background["fetch.queue.backoff.ms"] == 1000
    # Everything else is the same contract as a latency-critical consumer's.
    critical = kafka.consumer_config("g")
    assert critical["fetch.wait.max.ms"] == 100 and "max.partition.fetch.bytes" not in critical
    assert {k for k in background if k not in critical} == {"max.partition.fetch.bytes"}
    prefetch = {
        "fetch.wait.max.ms",
        "fetch.max.bytes",
        "queued.min.messages",
        "queued.max.messages.kbytes",
        "fetch.queue.backoff.ms",
    }
    assert all(background[k] == v for k, v in critical.items() if k not in prefetch)


def test_postgres_conninfo_carries_sslmode(data_dir: Path) -> None:
    conninfo = PostgresSettings.load(
        sslmode="verify-full", sslrootcert="/ca.pem", password="pw"
    ).conninfo()
    assert "sslmode=verify-full" in conninfo
    assert "sslrootcert=/ca.pem" in conninfo
    assert "password=pw" in conninfo


def test_api_cors_origins_from_comma_separated_env(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INFERSTREAM_API_CORS_ORIGINS", "https://a.example, http://b.example:8080")
    assert ApiSettings.load().cors_origins == ["https://a.example", "http://b.example:8080"]
    monkeypatch.setenv("INFERSTREAM_API_CORS_ORIGINS", "a.example")
    with pytest.raises(SettingsError, match="INFERSTREAM_API_CORS_ORIGINS"):
        ApiSettings.load()


def test_an_empty_variable_means_not_set(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Deploy templates carry blank optional values: they must not become '.' or a bad value."""
    monkeypatch.setenv("INFERSTREAM_KAFKA_SSL_CA_LOCATION", "")
    monkeypatch.setenv("INFERSTREAM_POSTGRES_SSLROOTCERT", "")
    assert KafkaSettings.load().ssl_ca_location is None
    assert PostgresSettings.load().sslrootcert is None
