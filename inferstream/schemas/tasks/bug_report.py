"""bug_report: quality gate + duplicate detection for incoming bug reports."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, ConfigDict, Field, JsonValue, model_validator

from .._base import FiniteFloat, Probability, Sha256Hex, SubmissionId, WireModel
from ..embedding import (
    EMBEDDING,
    EMBEDDING_B64,
    MAX_B64_CHARS,
    MAX_FLOATS,
    decode_embedding_b64,
    embedding_form_error,
)
from ..result import ResultBase

__all__ = ["BugReportPayload", "BugReportResult", "DuplicateStatus", "SimilarReport"]

DuplicateStatus = Literal["unique", "possible_duplicate", "duplicate"]


class BugReportPayload(WireModel):
    """A bug report as filed; missing optional sections are scored by the quality gate."""

    model_config = ConfigDict(extra="forbid")
    TASK: ClassVar[str] = "bug_report"

    title: Annotated[str, Field(min_length=1, max_length=300)]
    description: Annotated[str, Field(min_length=1, max_length=20_000)]
    steps_to_reproduce: Annotated[str, Field(max_length=20_000)] = ""
    logs: Annotated[str, Field(max_length=100_000)] = ""
    product: Annotated[str, Field(min_length=1, max_length=100)]
    component: Annotated[str, Field(max_length=100)] = ""
    reporter: Annotated[str, Field(max_length=200)] = ""


# How much of each long text field a bug_report result keeps (description, steps, logs).
EXCERPT_CHARS = 4000


class SimilarReport(WireModel):
    """A previously seen report and its dedup score against this one (the profile's score)."""

    model_config = ConfigDict(extra="forbid")

    submission_id: SubmissionId
    score: Annotated[float, Field(ge=-1.0, le=1.0, allow_inf_nan=False)]
    # The MiniLM cosine behind the score (absent on older results, where score is the cosine).
    cosine: Annotated[float, Field(ge=-1.0, le=1.0, allow_inf_nan=False)] | None = None


def _decodes(text: str) -> str:
    decode_embedding_b64(text)  # its ValueError names what is wrong; the field is kept as text
    return text


EmbeddingB64 = Annotated[
    str,
    Field(
        description=(
            "Schema version 2's embedding: the standard base64 (RFC 4648, padded) of the "
            f"vector's little-endian float32 bytes, at most {MAX_FLOATS} floats, all finite. "
            "Python: numpy.frombuffer(base64.b64decode(s), '<f4')."
        ),
        # The length is checked by the decoder, whose reason counts floats.
        json_schema_extra={"contentEncoding": "base64", "maxLength": MAX_B64_CHARS},
    ),
    AfterValidator(_decodes),
]

# Which embedding field each version carries, for non-Python validators.
_FORMS: list[JsonValue] = [
    {
        "if": {"properties": {"schema_version": {"const": 1}}},
        "then": {"properties": {EMBEDDING_B64: {"type": "null"}}},
    },
    {
        "if": {"properties": {"schema_version": {"const": 2}}},
        "then": {"properties": {EMBEDDING: {"type": "null"}}},
    },
]


class BugReportResult(ResultBase):
    """Quality score and dedup verdict: the profile's score of the best candidate against its
    duplicate / possible bands (profile ``seed``: cosine >= 0.85 / >= 0.70), see docs/dedup.md.
    ``similar[].score`` is that profile score (the cosine for ``seed``).

    ``duplicate_of`` is required when ``duplicate_status == "duplicate"``, optional for
    ``"possible_duplicate"`` and must be ``None`` for ``"unique"``.

    The embedding by ``schema_version`` (schemas/embedding.py): 1 carries ``embedding`` (a
    list of floats), 2 carries ``embedding_b64`` (base64 of little-endian float32), never both
    (the other absent or null).
    Infer writes version 2; version 1 results stay valid (retained topics, the lake's files).
    """

    model_config = ConfigDict(extra="forbid", json_schema_extra={"allOf": _FORMS})
    SCHEMA_VERSION: ClassVar[int] = 2  # what infer writes

    task: Literal["bug_report"] = "bug_report"
    schema_version: Literal[1, 2]
    quality_score: Probability
    quality_flags: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=64)]], Field(max_length=32)
    ] = Field(default_factory=list)
    low_quality: bool
    duplicate_status: DuplicateStatus
    duplicate_of: SubmissionId | None = None
    similar: Annotated[list[SimilarReport], Field(max_length=50)] = Field(default_factory=list)
    content_sha256: Sha256Hex
    embedding: Annotated[list[FiniteFloat], Field(max_length=MAX_FLOATS)] | None = None
    embedding_b64: EmbeddingB64 | None = None
    tokenizer_version: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    # Dedup: the profile (name, version) that decided duplicate_status, and what the next
    # reports are compared with: product, component and the term frequencies of title,
    # description and steps (the lexical index is rebuilt from these). Absent before migration 0007.
    dedup_profile: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    dedup_profile_version: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    product: Annotated[str, Field(max_length=100)] | None = None
    component: Annotated[str, Field(max_length=100)] | None = None
    dedup_terms: (
        Annotated[
            dict[Annotated[str, Field(min_length=1, max_length=100)], Annotated[int, Field(ge=1)]],
            Field(max_length=400),
        ]
        | None
    ) = None
    # The report's own text, each field cut to an excerpt (EXCERPT_CHARS; the title whole), so
    # a reviewer reads two reports side by side without the submissions topic. Absent on rows
    # written before the triage view.
    title: Annotated[str, Field(max_length=300)] | None = None
    description: Annotated[str, Field(max_length=EXCERPT_CHARS)] | None = None
    steps_to_reproduce: Annotated[str, Field(max_length=EXCERPT_CHARS)] | None = None
    logs: Annotated[str, Field(max_length=EXCERPT_CHARS)] | None = None

    @model_validator(mode="after")
    def _duplicate_of_consistent(self) -> BugReportResult:
        if self.duplicate_status == "duplicate" and self.duplicate_of is None:
            raise ValueError("duplicate_of is required when duplicate_status is 'duplicate'")
        if self.duplicate_status == "unique" and self.duplicate_of is not None:
            raise ValueError("duplicate_of must be null when duplicate_status is 'unique'")
        has_list, has_b64 = self.embedding is not None, self.embedding_b64 is not None
        error = embedding_form_error(self.schema_version, has_list, has_b64)
        if error is not None:
            raise ValueError(error)
        return self
