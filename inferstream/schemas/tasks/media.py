"""media: image / video classification; the bytes travel by claim-check (``blob``)."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from .._base import Label, Probability, Sha256Hex, SubmissionId, WireModel
from ..envelope import MIME_NAME, BlobRef
from ..result import ResultBase

__all__ = [
    "MEDIA_CONTENT_TYPES",
    "MEDIA_CONTENT_TYPE_PATTERN",
    "FramePrediction",
    "MediaBlobRef",
    "MediaKind",
    "MediaPayload",
    "MediaResult",
    "TopKLabel",
]

MediaKind = Literal["image", "video"]

# The file types DeepDetect accepts (its extension allow-list), each with the content type a
# producer declares for it; enrich also checks the type sniffed from the bytes against it.
MEDIA_CONTENT_TYPES: dict[str, str] = {
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "mp4": "video/mp4",
    "avi": "video/x-msvideo",
    "mov": "video/quicktime",
}

MEDIA_CONTENT_TYPE_PATTERN = rf"^([Ii][Mm][Aa][Gg][Ee]|[Vv][Ii][Dd][Ee][Oo])/{MIME_NAME}$"
MediaContentType = Annotated[
    str, Field(min_length=7, max_length=255, pattern=MEDIA_CONTENT_TYPE_PATTERN)
]


def _check_media_type(value: str) -> str:
    if not value.startswith(("image/", "video/")):
        raise ValueError("content type must be image/* or video/*")
    return value


class MediaBlobRef(BlobRef):
    """A blob reference for media: an image/* or video/* content type. The 50 MiB limit
    (``MAX_MEDIA_BYTES``) is a rule of the enrich stage, which refuses a larger file with the
    DeepDetect message "File too large" (a schema violation would not say it)."""

    model_config = ConfigDict(extra="forbid")

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
    # Any text here; whether it is a safe file name with an allowed extension is an enrich rule
    # ("Invalid filename", "File type not allowed"), so a rejection says the seed's reason.
    filename: Annotated[str, Field(min_length=1, max_length=255)]
    content_type: MediaContentType

    @field_validator("content_type", mode="after")
    @classmethod
    def _media_content_type(cls, value: str) -> str:
        return _check_media_type(value.lower())

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
    # The verdict: "fake" (procedurally rendered graphics) or "real" (camera photograph), with
    # the probability of that label; for video, the mean of the frames' fake probabilities.
    label: Label
    confidence: Probability
    fake_probability: Probability
    # The ImageNet labels of the backbone (for video: of the frames' mean probabilities).
    top_k: Annotated[list[TopKLabel], Field(max_length=100)] = Field(default_factory=list)
    frames: Annotated[list[FramePrediction], Field(max_length=1000)] = Field(default_factory=list)
    content_sha256: Sha256Hex
    # Set when the result was reused from an earlier submission of the same bytes scored by
    # the same model version (no model work was done for this one).
    reused_from: SubmissionId | None = None
    thumbnail_key: Annotated[str | None, Field(max_length=1024)] = None
    frames_key: Annotated[str | None, Field(max_length=1024)] = None
