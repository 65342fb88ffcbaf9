"""Building, encoding and decoding wire messages (JSON via orjson)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import BaseModel
from ulid import ULID

from .envelope import BlobRef, Envelope
from .registry import get_task
from .result import ResultBase

__all__ = [
    "DecodeError",
    "build_envelope",
    "decode_envelope",
    "decode_result",
    "encode",
    "new_submission_id",
]


class DecodeError(ValueError):
    """The bytes are not a JSON document (schema violations raise ``pydantic.ValidationError``)."""


def new_submission_id() -> str:
    """A fresh ULID (26 uppercase Crockford base32 characters, time-ordered)."""
    return str(ULID())


def build_envelope(
    task: str,
    payload: BaseModel | Mapping[str, Any],
    *,
    submission_id: str | None = None,
    source: str = "sdk",
    tenant: str = "default",
    blob: BlobRef | None = None,
    produced_at: datetime | None = None,
) -> Envelope[Any]:
    """Validate and return the envelope of ``task`` (current schema version).

    Raises :class:`~inferstream.schemas.registry.UnknownTaskError` for an unknown task and
    ``pydantic.ValidationError`` for anything that breaks the contract.
    """
    contract = get_task(task)
    return contract.envelope_model.model_validate(
        {
            "submission_id": submission_id if submission_id is not None else new_submission_id(),
            "task": contract.name,
            "schema_version": contract.schema_version,
            "produced_at": produced_at if produced_at is not None else datetime.now(UTC),
            "source": source,
            "tenant": tenant,
            "payload": payload if isinstance(payload, BaseModel) else dict(payload),
            "blob": blob,
        }
    )


def encode(model: BaseModel) -> bytes:
    """The JSON bytes of ``model`` (``model_dump(mode="json")`` through orjson)."""
    return orjson.dumps(model.model_dump(mode="json"))


def _loads(data: bytes | bytearray | memoryview | str) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise DecodeError(f"malformed JSON: {exc}") from None


def decode_envelope(task: str, data: bytes | bytearray | memoryview | str) -> Envelope[Any]:
    """Parse and validate an envelope of ``task``."""
    model = get_task(task).envelope_model
    return model.model_validate(_loads(data))


def decode_result(task: str, data: bytes | bytearray | memoryview | str) -> ResultBase:
    """Parse and validate a result of ``task`` (an instance of the task's result model)."""
    model = get_task(task).result_model
    return model.model_validate(_loads(data))
