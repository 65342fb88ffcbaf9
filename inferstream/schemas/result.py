"""Fields shared by every task result, and the deterministic result id."""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

from pydantic import AwareDatetime, ConfigDict, Field, model_validator

from ._base import (
    SchemaVersion,
    Sha256Hex,
    SubmissionId,
    TaskStr,
    WireModel,
    validate_submission_id,
)

__all__ = ["ResultBase", "make_result_id"]

_SEP = "\x1f"
_PLACEHOLDER_ID = "0" * 64


def make_result_id(submission_id: str, model_name: str, model_version: str) -> str:
    """SHA-256 hex of ``submission_id``, ``model_name`` and ``model_version`` joined by US (0x1f).

    Same input + same model gives the same id everywhere (Postgres row, object key, message key).
    """
    joined = _SEP.join((submission_id, model_name, model_version))
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()


class ResultBase(WireModel):
    """Identity and provenance of one inference result (subclassed per task).

    ``result_id`` may be omitted when constructing: it is then derived with
    :func:`make_result_id`. When given it must equal the derived value.
    """

    model_config = ConfigDict(extra="forbid")

    result_id: Sha256Hex
    submission_id: SubmissionId
    task: TaskStr
    schema_version: SchemaVersion
    model_name: Annotated[str, Field(min_length=1, max_length=128)]
    model_version: Annotated[str, Field(min_length=1, max_length=64)]
    produced_at: AwareDatetime

    @model_validator(mode="before")
    @classmethod
    def _derive_result_id(cls, data: Any) -> Any:
        if not isinstance(data, dict) or data.get("result_id") is not None:
            return data
        sub, name, version = (data.get(k) for k in ("submission_id", "model_name", "model_version"))
        if isinstance(sub, str) and isinstance(name, str) and isinstance(version, str):
            try:
                return {
                    **data,
                    "result_id": make_result_id(validate_submission_id(sub), name, version),
                }
            except ValueError:
                pass
        # Not derivable: another field is invalid (and reported); skip a spurious "missing".
        return {**data, "result_id": _PLACEHOLDER_ID}

    @model_validator(mode="after")
    def _result_id_matches(self) -> ResultBase:
        expected = make_result_id(self.submission_id, self.model_name, self.model_version)
        if self.result_id != expected:
            raise ValueError(
                "result_id must equal make_result_id(submission_id, model_name, model_version)"
            )
        return self
