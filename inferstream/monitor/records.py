"""Turning the monitor's inputs into counts and labels (pure): a result adds its score and
latency to its version, an enriched record its features, a feedback record a label, a dead
letter of a failed inference an error to the version that failed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson

from inferstream.monitor.psi import bin_of, latency_bucket
from inferstream.monitor.reference import Reference
from inferstream.monitor.spec import TaskSpec
from inferstream.monitor.state import CountKey, Delta


class Unusable(ValueError):
    """A record the monitor cannot count (it is skipped and counted, never dead-lettered:
    the monitor only observes, and the sink owns results' dead letters)."""


def bucket(at: datetime, bucket_s: int) -> datetime:
    seconds = int(at.timestamp()) // bucket_s * bucket_s
    return datetime.fromtimestamp(seconds, UTC)


def _time(value: object) -> datetime:
    if not isinstance(value, str):
        raise Unusable(f"not a time: {value!r}")
    try:
        at = datetime.fromisoformat(value)
    except ValueError as err:
        raise Unusable(str(err)) from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _json(value: bytes) -> dict[str, Any]:
    try:
        data = orjson.loads(value)
    except orjson.JSONDecodeError as err:
        raise Unusable(f"not JSON: {err}") from None
    if not isinstance(data, dict):
        raise Unusable("not a JSON object")
    return data


def result_model(value: bytes, spec: TaskSpec) -> tuple[str, str, float, datetime]:
    """(model name, version, score, produced_at) of one result."""
    data = _json(value)
    name, version = data.get("model_name"), data.get("model_version")
    score = data.get(spec.score_field)
    if not isinstance(name, str) or not isinstance(version, str):
        raise Unusable("no model_name/model_version")
    if not isinstance(score, int | float) or isinstance(score, bool):
        raise Unusable(f"no numeric {spec.score_field}")
    return name, version, float(score), _time(data.get("produced_at"))


def add_result(
    delta: Delta,
    parsed: tuple[str, str, float, datetime],
    reference: Reference | None,
    submitted_at: str | None,
    bucket_s: int,
) -> None:
    """Count a result's score on its version's reference bins (none without a reference) and
    its submission-to-result latency."""
    name, version, score, produced = parsed
    at = bucket(produced, bucket_s)
    if reference is not None:
        cell = bin_of(reference.score.edges, score)
        delta.counts[CountKey(name, version, "score", "", at, cell)] += 1
    if submitted_at is not None:
        ms = (produced - _time(submitted_at)).total_seconds() * 1000
        delta.counts[CountKey(name, version, "latency", "", at, latency_bucket(max(ms, 0)))] += 1


def add_inputs(
    delta: Delta,
    value: bytes,
    at: datetime,
    model: tuple[str, str],
    reference: Reference,
    bucket_s: int,
    field: str = "features",
) -> None:
    """Bin an enriched record's input vector (its enrichment's ``field``) on ``reference``
    (the production version's, whose inputs these are counted under)."""
    features = _json(value).get("enrichment", {}).get(field)
    if not isinstance(features, list) or len(features) != len(reference.inputs):
        raise Unusable("no feature vector of the reference's length")
    start = bucket(at, bucket_s)
    for (name, dist), x in zip(reference.inputs.items(), features, strict=True):
        if not isinstance(x, int | float):
            raise Unusable(f"feature {name} is not a number")
        delta.counts[CountKey(*model, "input", name, start, bin_of(dist.edges, float(x)))] += 1


def add_error(delta: Delta, model: tuple[str, str], at: datetime, bucket_s: int) -> None:
    """One record the version's inference failed on (a dead letter naming the version)."""
    delta.counts[CountKey(*model, "error", "", bucket(at, bucket_s), 0)] += 1


def add_feedback(delta: Delta, value: bytes, at: datetime) -> None:
    data = _json(value)
    submission, label = data.get("submission_id"), data.get("label")
    if not isinstance(submission, str) or label is None or isinstance(label, dict | list):
        raise Unusable("feedback needs submission_id and a scalar label")
    # As Postgres prints the results column it is compared with (boolean: true/false).
    actual = ("true" if label else "false") if isinstance(label, bool) else str(label)
    delta.feedback[submission] = (actual, at)


def record_time(timestamp_ms: int | None, now: Callable[[], datetime]) -> datetime:
    if timestamp_ms is None:
        return now()
    return datetime.fromtimestamp(timestamp_ms / 1000, UTC)
