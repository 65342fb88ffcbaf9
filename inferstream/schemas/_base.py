"""Shared building blocks of the wire contract: the base model and bounded field types."""

from __future__ import annotations

import re
import types
from functools import cache
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

__all__ = [
    "MAX_BLOB_BYTES",
    "MAX_MEDIA_BYTES",
    "FeatureContribution",
    "FiniteFloat",
    "Label",
    "Probability",
    "SchemaVersion",
    "Sha256Hex",
    "SubmissionId",
    "TaskStr",
    "TenantStr",
    "WireModel",
    "validate_submission_id",
]

MAX_MEDIA_BYTES = 50 * 1024 * 1024
"""Largest media object a producer may reference (50 MiB)."""

MAX_BLOB_BYTES = 5 * 1024 * 1024 * 1024
"""Largest object any blob reference may point at (5 GiB)."""

_UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
# Crockford base32 without I, L, O, U; the first character carries only 3 bits (<= 7).
_ULID_RE = re.compile(r"^[0-7][0-9A-HJKMNP-TV-Z]{25}$")


def validate_submission_id(value: str) -> str:
    """Return the canonical form of a submission id or raise ``ValueError``.

    Accepted: a UUID in 8-4-4-4-12 hex form (normalised to lowercase) or a 26-character Crockford
    base32 ULID (normalised to uppercase).
    """
    if len(value) == 36:
        lowered = value.lower()
        if _UUID_RE.match(lowered):
            return lowered
    elif len(value) == 26:
        upper = value.upper()
        if _ULID_RE.match(upper):
            return upper
    raise ValueError("must be a canonical UUID (8-4-4-4-12 hex) or a 26-character Crockford ULID")


def _reject_unstorable(value: Any) -> None:
    """Reject NUL characters and lone surrogates: neither can be encoded or stored in Postgres."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("must not contain NUL characters")
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError("must be valid Unicode (no lone surrogates)") from None
    elif isinstance(value, list | tuple):
        for item in value:
            _reject_unstorable(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _reject_unstorable(key)
            _reject_unstorable(item)


_NUMERIC = (bool, int, float, type(None))
_CONTAINERS = (list, tuple, set, frozenset, dict, Union, types.UnionType)


def _holds_no_text(annotation: Any) -> bool:
    """True when a field of this type can only hold numbers (e.g. ``list[float]``), so the text
    check can skip it: walking a 384-float embedding cost ~2.5 % of an infer worker's CPU.
    Anything not recognised counts as possibly holding text."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _holds_no_text(get_args(annotation)[0])
    if origin is Literal:
        return not any(isinstance(v, str) for v in get_args(annotation))
    if origin in _CONTAINERS:
        args = get_args(annotation)
        return bool(args) and all(a is Ellipsis or _holds_no_text(a) for a in args)
    return origin is None and annotation in _NUMERIC


@cache
def _needs_text_check(model: type[BaseModel], field: str) -> bool:
    info = model.model_fields.get(field)
    return info is None or not _holds_no_text(info.annotation)


class WireModel(BaseModel):
    """Base of every wire model: unknown fields rejected, floats finite, text storable."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    @field_validator("*", mode="after")
    @classmethod
    def _text_is_storable(cls, value: Any, info: ValidationInfo) -> Any:
        # Text first, checked here (most fields; NUL or non-ASCII goes the whole way); then
        # what holds nothing to check (numbers, times, models: not walked before either);
        # only a container of a field that may hold text is walked.
        if isinstance(value, str):
            if "\x00" in value or not value.isascii():
                _reject_unstorable(value)
        elif isinstance(value, list | tuple | dict) and (
            info.field_name is None or _needs_text_check(cls, info.field_name)
        ):
            _reject_unstorable(value)
        return value


SubmissionId = Annotated[
    str, Field(min_length=26, max_length=36), AfterValidator(validate_submission_id)
]
"""Producer-chosen idempotency key: canonical UUID (lowercase) or ULID (uppercase)."""

Sha256Hex = Annotated[str, Field(min_length=64, max_length=64, pattern=r"^[0-9a-f]{64}$")]
"""A SHA-256 digest as 64 lowercase hex characters."""

FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]
Probability = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
Label = Annotated[str, Field(min_length=1, max_length=128)]
TaskStr = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")]
TenantStr = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*$")]
SchemaVersion = Annotated[int, Field(ge=1, le=1_000_000)]


class FeatureContribution(WireModel):
    """How much one input feature pushed a score (sign = direction)."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=64)]
    contribution: FiniteFloat
