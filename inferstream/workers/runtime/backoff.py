"""Transient dependency failures: which errors are (one classifier for the whole runtime) and
how long to wait before the retry (``Backoff``, defined in ``inferstream.retry`` beside no
stage so the model registry shares it)."""

from __future__ import annotations

import socket
import sys

import psycopg
import urllib3
from confluent_kafka import KafkaError, KafkaException

from inferstream.errors import FatalStageError, PoisonBatchError, TransientError
from inferstream.retry import Backoff

__all__ = ["TRANSIENT_S3_CODES", "Backoff", "is_transient"]

# S3 error codes that say "try again later" (throttling, server-side failures).
TRANSIENT_S3_CODES = frozenset(
    {
        "InternalError",
        "RequestTimeout",
        "ServiceUnavailable",
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "RequestLimitExceeded",
        "TooManyRequests",
    }
)
_KAFKA_TRANSIENT_CODES = frozenset(
    {KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN, KafkaError._TIMED_OUT}
)
# Connection refused/reset/aborted, timeouts, DNS lookups that fail while a service restarts,
# Postgres connection failures (and its server-side aborts: OperationalError), the broker or
# the object store unreachable.
_TRANSIENT_TYPES: tuple[type[BaseException], ...] = (
    TransientError,
    ConnectionError,
    TimeoutError,
    socket.gaierror,
    psycopg.OperationalError,
    urllib3.exceptions.HTTPError,
)


def is_transient(err: BaseException) -> bool:
    """Whether err means a dependency is down or slow (retry the same records later, commit
    nothing past them, dead-letter nothing), judged on err and the errors that caused it
    (``raise ... from``), so a wrapped connection failure counts. An error a stage classified
    itself as poison or fatal is never transient; anything else is not (a record's own fault
    or a bug)."""
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        if isinstance(current, PoisonBatchError | FatalStageError):
            return False
        if _transient_itself(current):
            return True
        seen.add(id(current))
        current = current.__cause__
    return False


def _transient_itself(err: BaseException) -> bool:
    if isinstance(err, _TRANSIENT_TYPES):
        return True
    if _transient_s3(err):
        return True
    if isinstance(err, KafkaException) and err.args and isinstance(err.args[0], KafkaError):
        kafka_error: KafkaError = err.args[0]
        return bool(kafka_error.retriable()) or kafka_error.code() in _KAFKA_TRANSIENT_CODES
    return False


def _transient_s3(err: BaseException) -> bool:
    """The object store's errors, judged without importing MinIO's client: a worker that never
    touches S3 (the sink, most infer stages) has not loaded it, and then no error of it exists."""
    store = sys.modules.get("inferstream.storage.objectstore")
    if store is not None and isinstance(err, store.ObjectStoreUnavailable):
        return True
    errors = sys.modules.get("minio.error")
    if errors is None:
        return False
    if isinstance(err, errors.S3Error):
        return err.code in TRANSIENT_S3_CODES or _retry_status(err.response.status)
    if isinstance(err, errors.ServerError):
        return _retry_status(err.status_code)
    if isinstance(err, errors.InvalidResponseError):  # a proxy's HTML 502/503, not S3's XML
        return _retry_status(getattr(err, "_code", 0))
    return False


def _retry_status(status: object) -> bool:
    return isinstance(status, int) and (status >= 500 or status == 429)
