"""media: image / video classification; the bytes travel by claim-check (``blob``)."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from .._base import MAX_MEDIA_BYTES, Label, Probability, WireModel
from ..envelope import MIME_NAME, BlobRef
from ..result import ResultBase

__all__ = [
    "MEDIA_CONTENT_TYPE_PATTERN",
    "FramePrediction",
    "MediaBlobRef",
    "MediaKind",
    "MediaPayload",
    "MediaResult",
    "TopKLabel",
]

MediaKind = Literal["image", "video"]

MEDIA_CONTENT_TYPE_PATTERN = rf"^([Ii][Mm][Aa][Gg][Ee]|[Vv][Ii][Dd][Ee][Oo])/{MIME_NAME}$"
MediaContentType = Annotated[
    str, Field(min_length=7, max_length=255, pattern=MEDIA_CONTENT_TYPE_PATTERN)
]


def _check_media_type(value: str) -> str:
    if not value.startswith(("image/", "video/")):
        raise ValueError("content type must be image/* or video/*")
    return value


class MediaBlobRef(BlobRef):
    """A blob reference for media: at most 50 MiB and an image/* or video/* content type."""

    model_config = ConfigDict(extra="forbid")

    size: Annotated[int, Field(ge=0, le=MAX_MEDIA_BYTES)]
    content_type: MediaContentType

    @field_validator("content_type", mode="after")
    @classmethod
    def _media_content_type(cls, value: str) -> str:
        return _check_media_type(value.lower())


class MediaPayload(WireModel):
    """One image or video, uploaded to object storage first and referenced here."""

    model_config = ConfigDict(extra="forbid")
    TASK: ClassVar[str] = "media"

    blob: MediaBlobRef
    filename: Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[^/\\\x00]+$")]
    content_type: MediaContentType

    @field_validator("content_type", mode="after")
    @classmethod
    def _media_content_type(cls, value: str) -> str:
        return _check_media_type(value.lower())

    @field_validator("filename", mode="after")
    @classmethod
    def _plain_filename(cls, value: str) -> str:
        if value in (".", ".."):
            raise ValueError("filename must not be '.' or '..'")
        return value

    @model_validator(mode="after")
    def _content_types_agree(self) -> MediaPayload:
        if self.blob.content_type != self.content_type:
            raise ValueError("content_type must equal blob.content_type")
        return self

    @property
    def media_kind(self) -> MediaKind:
        return "image" if self.content_type.startswith("image/") else "video"


class TopKLabel(WireModel):
    """One of the top-k labels."""

    model_config = ConfigDict(extra="forbid")

    label: Label
    confidence: Probability


class FramePrediction(WireModel):
    """The prediction for one sampled video frame."""

    model_config = ConfigDict(extra="forbid")

    index: Annotated[int, Field(ge=0, le=10_000_000)]
    timestamp_s: Annotated[float, Field(ge=0.0, allow_inf_nan=False)]
    label: Label
    confidence: Probability


class MediaResult(ResultBase):
    """The label of the whole item, its top-k alternatives and, for video, per-frame labels."""

    model_config = ConfigDict(extra="forbid")

    task: Literal["media"] = "media"
    media_kind: MediaKind
    label: Label
    confidence: Probability
    top_k: Annotated[list[TopKLabel], Field(max_length=100)] = Field(default_factory=list)
    frames: Annotated[list[FramePrediction], Field(max_length=1000)] = Field(default_factory=list)
