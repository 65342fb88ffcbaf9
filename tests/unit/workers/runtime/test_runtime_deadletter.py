"""Dead-letter messages keep the original bytes and say where they came from and why."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inferstream.topology import DEADLETTER_TOPIC
from inferstream.workers.runtime.deadletter import (
    MAX_REASON_BYTES,
    MODEL_HEADER,
    MODEL_VERSION_HEADER,
    DeadLetterRateGuard,
    deadletter_message,
)
from inferstream.workers.runtime.records import FatalStageError, InRecord, Reject


def _record(headers: tuple[tuple[str, bytes], ...] = (), key: bytes | None = b"k1") -> InRecord:
    return InRecord(
        topic="submissions",
        partition=4,
        offset=1234,
        key=key,
        value=b'{"not": "json"',
        headers=headers,
    )


def _headers_dict(headers: tuple[tuple[str, bytes], ...]) -> dict[str, bytes]:
    names = [name for name, _ in headers]
    assert len(names) == len(set(names)), f"duplicate headers: {names}"
    return dict(headers)


def test_message_goes_to_deadletter_with_original_key_and_value() -> None:
    record = _record()
    msg = deadletter_message("enrich", record, Reject("bad json"))
    assert msg.topic == DEADLETTER_TOPIC
    assert msg.key == b"k1"
    assert msg.value == b'{"not": "json"'


def test_null_key_stays_null() -> None:
    msg = deadletter_message("enrich", _record(key=None), Reject("bad"))
    assert msg.key is None


def test_error_and_origin_headers() -> None:
    msg = deadletter_message("infer", _record(), Reject("model crashed", kind="poison"))
    headers = _headers_dict(msg.headers)
    assert headers == {
        "x-error-stage": b"infer",
        "x-error-kind": b"poison",
        "x-error-reason": b"model crashed",
        "x-original-topic": b"submissions",
        "x-original-partition": b"4",
        "x-original-offset": b"1234",
    }


def test_a_model_failure_names_the_version_that_failed() -> None:
    reject = Reject("model crashed", kind="poison", model=("churn-logreg", "v2"))
    headers = _headers_dict(deadletter_message("infer", _record(), reject).headers)
    assert headers[MODEL_HEADER] == b"churn-logreg"
    assert headers[MODEL_VERSION_HEADER] == b"v2"
    # dead-lettered again without a model: the old version is not carried over (x-error-*)
    again = deadletter_message("infer", _record(tuple(headers.items())), Reject("other"))
    assert MODEL_VERSION_HEADER not in [name for name, _ in again.headers]


def test_default_kind_is_rejected() -> None:
    msg = deadletter_message("enrich", _record(), Reject("schema"))
    assert _headers_dict(msg.headers)["x-error-kind"] == b"rejected"


def test_original_headers_are_kept_in_order_before_the_error_headers() -> None:
    original = (("traceparent", b"00-abc-def-01"), ("x-task", b"bug_report"), ("dup", b"1"))
    msg = deadletter_message("enrich", _record((*original, ("dup", b"2"))), Reject("r"))
    assert msg.headers[:4] == (*original, ("dup", b"2"))
    assert [name for name, _ in msg.headers[4:]] == [
        "x-error-stage",
        "x-error-kind",
        "x-error-reason",
        "x-original-topic",
        "x-original-partition",
        "x-original-offset",
    ]


def test_previous_error_headers_are_dropped_case_insensitively() -> None:
    previous = (
        ("x-error-stage", b"old-stage"),
        ("X-Error-Reason", b"old reason"),
        ("X-ERROR-KIND", b"poison"),
        ("x-errors", b"kept: not an x-error- header"),
        ("keep-me", b"yes"),
    )
    msg = deadletter_message("sink", _record(previous), Reject("new reason"))
    names = [name for name, _ in msg.headers]
    assert "X-Error-Reason" not in names
    assert "X-ERROR-KIND" not in names
    assert ("keep-me", b"yes") in msg.headers
    assert ("x-errors", b"kept: not an x-error- header") in msg.headers
    error = [(n, v) for n, v in msg.headers if n.lower().startswith("x-error-")]
    assert error == [
        ("x-error-stage", b"sink"),
        ("x-error-kind", b"rejected"),
        ("x-error-reason", b"new reason"),
    ]


def test_long_reason_is_truncated_to_max_bytes() -> None:
    msg = deadletter_message("enrich", _record(), Reject("é" * 5000))  # 2 bytes each
    reason = _headers_dict(msg.headers)["x-error-reason"]
    assert len(reason) == MAX_REASON_BYTES
    # It still decodes the way the sink reads it (errors="replace").
    assert reason.decode(errors="replace").startswith("é" * 999)


def test_unencodable_reason_does_not_raise() -> None:
    msg = deadletter_message("enrich", _record(), Reject("bad \udcff surrogate"))
    assert _headers_dict(msg.headers)["x-error-reason"] == b"bad ? surrogate"


def test_header_reader_sees_the_new_origin() -> None:
    """A record dead-lettered again after a replay: readers see this stage's values."""
    replayed = _record((("x-original-topic", b"older-topic"), ("x-error-stage", b"old")))
    msg = deadletter_message("enrich", replayed, Reject("again"))
    as_record = InRecord(DEADLETTER_TOPIC, 0, 0, msg.key, msg.value, msg.headers)
    assert as_record.header("x-original-topic") == "submissions"
    assert as_record.header("x-error-stage") == "enrich"


# --- rate guard -------------------------------------------------------------------------------


def test_guard_allows_exactly_the_limit_within_the_window() -> None:
    guard = DeadLetterRateGuard(max_per_minute=3)
    guard.record(0.0)
    guard.record(10.0)
    guard.record(59.0)
    with pytest.raises(FatalStageError, match="dead-letter rate exceeded: 4 rejections"):
        guard.record(59.5)


def test_guard_forgets_events_older_than_the_window() -> None:
    guard = DeadLetterRateGuard(max_per_minute=2)
    guard.record(0.0)
    guard.record(1.0)
    guard.record(60.0)  # the event at 0.0 left the window exactly now
    guard.record(61.0)  # and the one at 1.0
    with pytest.raises(FatalStageError):
        guard.record(61.5)


def test_guard_counts_batches() -> None:
    guard = DeadLetterRateGuard(max_per_minute=5)
    guard.record(0.0, count=5)
    with pytest.raises(FatalStageError, match="INFERSTREAM_WORKER_DLQ_MAX_PER_MINUTE=5"):
        guard.record(1.0, count=1)


def test_guard_single_large_batch_over_the_limit() -> None:
    guard = DeadLetterRateGuard(max_per_minute=5)
    with pytest.raises(FatalStageError, match="6 rejections in the last 60s"):
        guard.record(0.0, count=6)


def test_guard_with_custom_window() -> None:
    guard = DeadLetterRateGuard(max_per_minute=1, window_s=5.0)
    guard.record(0.0)
    guard.record(5.0)
    guard.record(10.0)
    with pytest.raises(FatalStageError, match="in the last 5s"):
        guard.record(14.0)


def test_guard_zero_count_records_nothing() -> None:
    guard = DeadLetterRateGuard(max_per_minute=1)
    guard.record(0.0)
    guard.record(1.0, count=0)
    guard.record(60.0)


events = st.lists(st.tuples(st.floats(0.0, 40.0, allow_nan=False), st.integers(0, 4)), max_size=40)


@given(st.integers(0, 8), st.sampled_from([10.0, 60.0]), events)
def test_guard_raises_iff_the_window_holds_more_than_the_limit(
    limit: int, window: float, steps: list[tuple[float, int]]
) -> None:
    guard = DeadLetterRateGuard(max_per_minute=limit, window_s=window)
    times: list[float] = []
    now = 0.0
    for dt, count in steps:
        now += dt
        times.extend([now] * count)
        in_window = [t for t in times if t > now - window]
        if len(in_window) > limit:
            with pytest.raises(FatalStageError):
                guard.record(now, count)
            return
        guard.record(now, count)
