"""The envelope that wraps every task payload on every topic, and the claim-check blob reference."""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any, Generic, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator
from pydantic.config import JsonDict

from ._base import (
    MAX_BLOB_BYTES,
    SchemaVersion,
    Sha256Hex,
    SubmissionId,
    TaskStr,
    TenantStr,
    WireModel,
)

__all__ = ["CONTENT_TYPE_PATTERN", "MIME_NAME", "BlobRef", "Envelope", "P"]

_S3_URI = (
    r"s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/[^\x00-\x20\x7f]([^\x00-\x1f\x7f]*[^\x00-\x20\x7f])?"
)
_FILE_URI = r"file://(localhost)?/[^\x00-\x20\x7f]([^\x00-\x1f\x7f]*[^\x00-\x20\x7f])?"
MIME_NAME = r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}"
CONTENT_TYPE_PATTERN = rf"^{MIME_NAME}/{MIME_NAME}$"


class BlobRef(WireModel):
    """Claim-check reference to an object in object storage (never the bytes themselves)."""

    model_config = ConfigDict(extra="forbid")

    uri: Annotated[str, Field(min_length=1, max_length=1024, pattern=rf"^({_S3_URI}|{_FILE_URI})$")]
    sha256: Sha256Hex
    size: Annotated[int, Field(ge=0, le=MAX_BLOB_BYTES)]
    content_type: Annotated[str, Field(min_length=3, max_length=255, pattern=CONTENT_TYPE_PATTERN)]

    @field_validator("content_type", mode="after")
    @classmethod
    def _content_type_lower(cls, value: str) -> str:
        return value.lower()


P = TypeVar("P", bound=BaseModel)


def _envelope_schema_extra(schema: JsonDict, cls: type[Any]) -> None:
    """Pin ``task`` to the payload's task in the JSON Schema of a concrete envelope."""
    expected = _expected_task(cls)
    props = schema.get("properties")
    if expected is not None and isinstance(props, dict):
        task_schema = props.get("task")
        if isinstance(task_schema, dict):
            task_schema["const"] = expected


def _expected_task(cls: type[Any]) -> str | None:
    fields = getattr(cls, "model_fields", {})
    payload_field = fields.get("payload")
    annotation = getattr(payload_field, "annotation", None)
    expected = getattr(annotation, "TASK", None)
    return expected if isinstance(expected, str) else None


@cache
def _validated_task(cls: type[Any]) -> str | None:
    """``_expected_task`` of a class being validated (complete, so its answer is final), once
    per class instead of once per record."""
    return _expected_task(cls)


class Envelope(WireModel, Generic[P]):
    """What a producer publishes: identity, provenance and the task payload.

    Use the concrete type for a task, ``Envelope[BugReportPayload]`` (or
    ``get_task("bug_report").envelope_model``); its ``task`` must equal the payload's task.
    """

    model_config = ConfigDict(extra="forbid", json_schema_extra=_envelope_schema_extra)

    submission_id: SubmissionId
    task: TaskStr
    schema_version: SchemaVersion
    produced_at: AwareDatetime
    source: Annotated[str, Field(min_length=1, max_length=128)] = "sdk"
    tenant: TenantStr = "default"
    payload: P
    blob: BlobRef | None = None

    @field_validator("task", mode="after")
    @classmethod
    def _task_matches_payload(cls, value: str) -> str:
        expected = _validated_task(cls)
        if expected is not None and value != expected:
            raise ValueError(f"must be {expected!r} for this envelope, got {value!r}")
        return value
