"""Kafka client settings, including SASL and TLS."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from inferstream.settings.base import ComponentSettings

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]
Compression = Literal["none", "gzip", "snappy", "lz4", "zstd"]
ClientConfig = dict[str, str | int | bool]
# librdkafka's default batch.size and message.max.bytes.
LIBRDKAFKA_MESSAGE_MAX_BYTES = 1_000_000
# Bytes a produce request adds around its record batches (headers, topic and partition framing).
REQUEST_FRAMING = 65_536
# A consumer's prefetch. librdkafka fetches while its queue holds fewer than PREFETCH_MESSAGES
# records and PREFETCH_BYTES (defaults 100,000 and 64 MiB), and one fetch returns up to
# PREFETCH_BYTES. A pause (the stage runner's backpressure) drops the prefetch and the resume
# fetches it again (on the embedded broker a LIST and GETs of the same objects), so the bound
# is what a pause can throw away: about two of the poll loop's passes (500 records each).
PREFETCH_MESSAGES = 1_000
PREFETCH_BYTES = 4 * 2**20
# How soon librdkafka looks again at a queue it found full (default 1,000 ms: a worker that
# drains 1,000 records in less than that waited for its next fetch).
PREFETCH_RECHECK_MS = 50
# zstd's level for the producers that use it (librdkafka's default: 3). Infer's results (measured
# with version 1's embedding as JSON text, 6.4 kB; version 2's base64 value is 3.8 kB) in batches of
# 136: level 1 compressed in 21 us per record against 37-42, to 2,400 bytes against 2,414; enrich's
# records (1.1 kB) to 224 bytes against 213 at the same CPU. The producers' CPU (infer's librdkafka
# threads) follows the level, the broker's the bytes.
ZSTD_LEVEL = 1


class KafkaSettings(ComponentSettings):
    section = "kafka"
    model_config = SettingsConfigDict(env_prefix="INFERSTREAM_KAFKA_", extra="forbid")

    bootstrap_servers: str = Field(
        "127.0.0.1:9092", min_length=1, description="brokers, comma-separated host:port"
    )
    client_id: str = Field(
        "inferstream", min_length=1, max_length=255, description="client.id sent to the brokers"
    )
    security_protocol: SecurityProtocol = Field(
        "PLAINTEXT", description="how clients talk to the brokers"
    )
    sasl_mechanism: SaslMechanism | None = Field(
        None, description="SASL mechanism; required with SASL_*"
    )
    sasl_username: str | None = Field(None, description="SASL user; required with SASL_*")
    sasl_password: SecretStr | None = Field(None, description="SASL password; required with SASL_*")
    ssl_ca_location: Path | None = Field(
        None, description="CA bundle that signed the brokers' certificates"
    )
    ssl_certificate_location: Path | None = Field(
        None, description="client certificate (mTLS, optional)"
    )
    ssl_key_location: Path | None = Field(None, description="client key (mTLS, optional)")
    ssl_key_password: SecretStr | None = Field(None, description="password of the client key")
    ssl_endpoint_identification: Literal["https", "none"] = Field(
        "https", description="`none` disables the brokers' hostname check"
    )
    # Group timings: the defaults suit a real cluster; the embedded stack writes faster ones.
    session_timeout_ms: int = Field(
        45_000,
        ge=1_000,
        le=3_600_000,
        description="a group member silent this long is evicted (the embedded stack writes 6000)",
    )
    heartbeat_interval_ms: int = Field(
        3_000,
        ge=100,
        le=600_000,
        description="consumer heartbeat interval (the embedded stack writes 2000)",
    )
    max_poll_interval_ms: int = Field(
        300_000,
        ge=1_000,
        le=86_400_000,
        description="longest gap between polls before a member leaves (the embedded stack: 60000)",
    )
    compression: Compression = Field(
        "lz4", description="producer compression (the embedded stack writes zstd)"
    )
    linger_ms: int = Field(
        5, ge=0, le=60_000, description="how long a producer waits to fill a batch"
    )
    # One partition's records in one produce batch (librdkafka batch.size; message.max.bytes
    # follows, as a request must hold the batch). On the embedded broker each batch becomes an
    # object that every reader of the topic GETs and LISTs, so under backlog fewer, larger ones
    # cost it less per record: at 1 MB a batch of infer's ~6 kB results holds ~150 of them,
    # and a larger infer batch is split into several objects (`bench overhead`,
    # docs/benchmarks.md). A Kafka broker rejects a batch over the topic's max.message.bytes
    # (1 MB unless configured), so deployments keep librdkafka's 1,000,000; the embedded stack
    # writes 4,000,000 (stack/manager.py: one object per infer batch of 256 results).
    producer_batch_bytes: int = Field(
        LIBRDKAFKA_MESSAGE_MAX_BYTES,
        ge=1_000,
        le=2**30,
        description="largest produce batch per partition in bytes (librdkafka batch.size); "
        "above 1 MB only where the broker accepts it (Kafka: max.message.bytes)",
    )
    request_timeout_ms: int = Field(
        30_000, ge=1_000, le=600_000, description="producer and admin request timeout"
    )
    delivery_timeout_ms: int = Field(
        120_000,
        ge=1_000,
        le=3_600_000,
        description="how long a produce may take, retries included, before it fails",
    )
    # How long the broker may hold a fetch that finds no new data. Kafka answers as soon as data
    # arrives, so librdkafka's 500 ms costs no latency there; the embedded broker (Tansu) looks
    # again only at 0, W/2, 3W/4, ... of the wait, so a record produced meanwhile waits up to W/2
    # per hop, and `inferstream up` writes 100 (see resolved_settings).
    fetch_wait_max_ms: int = Field(500, ge=1, le=300_000)
    # The same wait for consumers off the records' latency path (the archive, webhooks, infer's
    # result followers): each empty fetch on the embedded broker costs Tansu and SeaweedFS a few
    # S3 requests, so a consumer that may lag a second polls ten times less often there. While
    # records keep coming it also spaces their fetches: the next one waits this long once the
    # last one's records are queued (librdkafka's fetch.queue.backoff.ms).
    background_fetch_wait_max_ms: int = Field(500, ge=1, le=300_000)
    # What one fetch may return per partition for those consumers: a fetch held for a longer
    # wait must carry more, or it would cap their throughput (librdkafka's default: 1 MiB).
    # librdkafka refuses more than 1,000,000,000 (max.partition.fetch.bytes).
    background_partition_fetch_bytes: int = Field(8 * 2**20, ge=2**16, le=1_000_000_000)
    # Send LeaveGroup when a worker stops (fast hand-off). The embedded broker (Tansu) keeps a
    # ghost member forever when a LeaveGroup arrives during a rebalance, which blocks the group;
    # `inferstream up` turns this off there, so stopped members are evicted by session timeout.
    leave_group_on_close: bool = True

    @model_validator(mode="after")
    def _check_security(self) -> Self:
        if self.security_protocol.startswith("SASL"):
            missing = [
                self.env_name(name)
                for name in ("sasl_mechanism", "sasl_username", "sasl_password")
                if getattr(self, name) is None
            ]
            if missing:
                raise ValueError(f"{self.security_protocol} needs {', '.join(missing)}")
        if self.heartbeat_interval_ms >= self.session_timeout_ms:
            raise ValueError("heartbeat_interval_ms must be below session_timeout_ms")
        return self

    def client_config(self) -> ClientConfig:
        """librdkafka options shared by producers, consumers and the admin client."""
        config: ClientConfig = {
            "bootstrap.servers": self.bootstrap_servers,
            "client.id": self.client_id,
            "security.protocol": self.security_protocol,
        }
        if self.sasl_mechanism is not None:
            config["sasl.mechanism"] = self.sasl_mechanism
        if self.sasl_username is not None:
            config["sasl.username"] = self.sasl_username
        if self.sasl_password is not None:
            config["sasl.password"] = self.sasl_password.get_secret_value()
        if self.security_protocol in ("SSL", "SASL_SSL"):
            config["ssl.endpoint.identification.algorithm"] = self.ssl_endpoint_identification
            for key, path in (
                ("ssl.ca.location", self.ssl_ca_location),
                ("ssl.certificate.location", self.ssl_certificate_location),
                ("ssl.key.location", self.ssl_key_location),
            ):
                if path is not None:
                    config[key] = str(path)
            if self.ssl_key_password is not None:
                config["ssl.key.password"] = self.ssl_key_password.get_secret_value()
        return config

    def producer_config(self) -> ClientConfig:
        """An idempotent producer: acks=all, no reordering or duplicates on retry."""
        return {
            **self.client_config(),
            "enable.idempotence": True,
            "acks": "all",
            "compression.type": self.compression,
            **({"compression.level": ZSTD_LEVEL} if self.compression == "zstd" else {}),
            "linger.ms": self.linger_ms,
            "batch.size": self.producer_batch_bytes,
            "message.max.bytes": self.request_max_bytes(),
            "request.timeout.ms": self.request_timeout_ms,
            "delivery.timeout.ms": self.delivery_timeout_ms,
        }

    def consumer_config(
        self, group_id: str, *, from_beginning: bool = True, background: bool = False
    ) -> ClientConfig:
        """A consumer that never auto-commits: offsets are committed only for durable outputs.
        ``background``: off the records' latency path (longer fetch wait, larger fetches)."""
        wait = self.background_fetch_wait_max_ms if background else self.fetch_wait_max_ms
        return {
            **self.client_config(),
            "group.id": group_id,
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "auto.offset.reset": "earliest" if from_beginning else "latest",
            "partition.assignment.strategy": "cooperative-sticky",
            "session.timeout.ms": self.session_timeout_ms,
            "heartbeat.interval.ms": self.heartbeat_interval_ms,
            "max.poll.interval.ms": self.max_poll_interval_ms,
            "fetch.wait.max.ms": wait,
            "isolation.level": "read_committed",
            **self._prefetch(background),
        }

    def _prefetch(self, background: bool) -> ClientConfig:
        """What librdkafka fetches ahead of the application. A background consumer fetches up
        to background_partition_fetch_bytes at a time, and fetches again only once the
        application has taken what the last fetch brought and its fetch wait has passed
        (fetch.queue.backoff.ms: librdkafka checks the queue after each response, so one
        record still queued then defers the next fetch). On the embedded broker each fetch
        that finds records LISTs every partition's history; without this, each of the results
        topic's readers fetched again at every batch infer stored."""
        if not background:
            return {
                "queued.min.messages": PREFETCH_MESSAGES,
                "queued.max.messages.kbytes": PREFETCH_BYTES // 1024,
                "fetch.max.bytes": PREFETCH_BYTES,
                "fetch.queue.backoff.ms": PREFETCH_RECHECK_MS,
            }
        size = self.background_partition_fetch_bytes
        return {
            "max.partition.fetch.bytes": size,
            "queued.min.messages": 1,
            "queued.max.messages.kbytes": max(size, PREFETCH_BYTES) // 1024,
            # librdkafka refuses a fetch.max.bytes below message.max.bytes (1,000,000).
            "fetch.max.bytes": max(size, LIBRDKAFKA_MESSAGE_MAX_BYTES),
            "fetch.queue.backoff.ms": self.background_fetch_wait_max_ms,
        }

    def request_max_bytes(self) -> int:
        """librdkafka's default (1,000,000), or room for a larger batch and the request's
        framing: a produce request must hold a whole batch."""
        if self.producer_batch_bytes <= LIBRDKAFKA_MESSAGE_MAX_BYTES:
            return LIBRDKAFKA_MESSAGE_MAX_BYTES
        return self.producer_batch_bytes + REQUEST_FRAMING

    def admin_config(self) -> ClientConfig:
        return {**self.client_config(), "request.timeout.ms": self.request_timeout_ms}
