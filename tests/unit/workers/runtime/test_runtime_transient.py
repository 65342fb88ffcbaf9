"""The runtime's one classifier of transient failures (workers/runtime/backoff.py): a
dependency down or slow is transient, however a stage wrapped it; a record's own fault, a bug
or an error the stage called poison or fatal is not."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import psycopg
import pytest
import urllib3
from confluent_kafka import KafkaError, KafkaException
from minio.error import InvalidResponseError, S3Error, ServerError

from inferstream.errors import FatalStageError, PoisonBatchError, TransientError
from inferstream.storage.objectstore import (
    ChecksumMismatch,
    ObjectNotFound,
    ObjectStoreError,
    ObjectStoreUnavailable,
)
from inferstream.workers.runtime.backoff import is_transient


def _s3(code: str, status: int) -> S3Error:
    response: Any = SimpleNamespace(status=status)
    return S3Error(response, code, "message", "/bucket/key", "req", "host")


def _wrapped(cause: BaseException, outer: type[Exception] = RuntimeError) -> Exception:
    try:
        raise outer("wrapped") from cause
    except Exception as err:
        return err


TRANSIENT = [
    TransientError("broker unavailable"),
    ConnectionRefusedError(111, "Connection refused"),
    ConnectionResetError(104, "Connection reset by peer"),
    BrokenPipeError(32, "Broken pipe"),
    TimeoutError("timed out"),
    psycopg.OperationalError("connection failed: Connection refused"),
    psycopg.errors.AdminShutdown("terminating connection due to administrator command"),
    urllib3.exceptions.NewConnectionError(None, "Failed to establish a new connection"),
    urllib3.exceptions.ProtocolError("Connection aborted."),
    ObjectStoreUnavailable("object store unreachable"),
    _s3("SlowDown", 503),
    _s3("InternalError", 500),
    _s3("Throttling", 400),
    _s3("SomethingNew", 502),
    ServerError("server failed with HTTP status code 503", 503),
    ServerError("server failed with HTTP status code 429", 429),
    InvalidResponseError(502, "text/html", "<html>Bad Gateway</html>"),
    KafkaException(KafkaError(KafkaError._TRANSPORT)),
    KafkaException(KafkaError(KafkaError._ALL_BROKERS_DOWN)),
]

PERMANENT = [
    ValueError("cannot decode"),
    KeyError("submission_id"),
    FileNotFoundError(2, "No such file"),
    psycopg.errors.UniqueViolation("duplicate key"),
    psycopg.errors.UndefinedTable("relation does not exist"),
    ObjectNotFound("no object 'blobs/x'"),
    ChecksumMismatch("sha256 differs"),
    _s3("AccessDenied", 403),
    _s3("NoSuchKey", 404),
    ServerError("server failed with HTTP status code 304", 304),
    InvalidResponseError(400, "text/html", None),
    KafkaException(KafkaError(KafkaError.MSG_SIZE_TOO_LARGE)),
]


@pytest.mark.parametrize("err", TRANSIENT, ids=lambda e: type(e).__name__)
def test_a_dependency_down_or_slow_is_transient(err: BaseException) -> None:
    assert is_transient(err)


@pytest.mark.parametrize("err", PERMANENT, ids=lambda e: type(e).__name__)
def test_a_records_fault_or_a_bug_is_not(err: BaseException) -> None:
    assert not is_transient(err)


@pytest.mark.parametrize("cause", [TRANSIENT[1], TRANSIENT[5], TRANSIENT[10]])
def test_a_wrapped_transient_cause_counts(cause: BaseException) -> None:
    # The object store wraps S3's SlowDown in its own ObjectStoreError; a plug-in may wrap a
    # refused connection in its own error: the cause decides.
    assert is_transient(_wrapped(cause))
    assert is_transient(_wrapped(cause, ObjectStoreError))
    assert not is_transient(_wrapped(ValueError("bad input"), ObjectStoreError))


@pytest.mark.parametrize("outer", [PoisonBatchError, FatalStageError])
def test_what_a_stage_called_poison_or_fatal_stays_so(outer: type[Exception]) -> None:
    # A stage that bisects on a model failure caused by a lost connection chose poison.
    assert not is_transient(_wrapped(ConnectionResetError(104, "reset"), outer))


def test_a_cause_cycle_ends() -> None:
    first, second = ValueError("a"), ValueError("b")
    first.__cause__, second.__cause__ = second, first
    assert not is_transient(first)
