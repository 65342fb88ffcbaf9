"""DeepDetect's upload rules with its five error strings: one module, used by enrich, the API's
pre-checks and `inferstream publish media`."""

from __future__ import annotations

import pytest

from inferstream import media_rules as rules
from inferstream.schemas._base import MAX_MEDIA_BYTES
from inferstream.training.media_samples import image_bytes, video_bytes


@pytest.mark.parametrize(
    ("filename", "size", "content_type", "error"),
    [
        ("big.jpg", MAX_MEDIA_BYTES + 1, "image/jpeg", "File too large"),
        ("empty.png", 0, "image/png", "Empty file"),
        ("../etc/passwd.jpg", 10, "image/jpeg", "Invalid filename"),
        ("noextension", 10, "image/jpeg", "Invalid filename"),
        (".hidden.png", 10, "image/png", "Invalid filename"),
        ("caf\u00e9.png", 10, "image/png", "Invalid filename"),
        ("report.pdf", 10, "image/png", "File type not allowed"),
        ("clip.gif", 10, "image/gif", "File type not allowed"),
        ("photo.jpg", 10, "video/mp4", "Invalid file type"),
        ("photo.JPG", MAX_MEDIA_BYTES, "image/jpeg", None),
        ("my photo (1).jpeg", 10, "image/jpeg", None),
        ("clip.mov", 10, "video/quicktime", None),
    ],
)
def test_reference_rules_say_the_seed_errors(
    filename: str, size: int, content_type: str, error: str | None
) -> None:
    assert rules.check_reference(filename, size, content_type) == error


def test_the_five_seed_errors() -> None:
    assert rules.SEED_ERRORS == (
        "File too large",
        "Empty file",
        "Invalid filename",
        "File type not allowed",
        "Invalid file type",
    )


@pytest.mark.parametrize(
    ("filename", "data", "error"),
    [
        ("cat.jpg", image_bytes("chelsea", "JPEG"), None),
        ("cat.png", image_bytes("chelsea", "PNG"), None),
        ("cat.webp", image_bytes("chelsea", "WEBP"), None),
        ("clip.mp4", video_bytes(6, "mp4"), None),
        ("clip.avi", video_bytes(6, "avi"), None),
        ("clip.mov", video_bytes(6, "mov"), None),
        ("cat.png", image_bytes("chelsea", "JPEG"), "Invalid file type"),  # JPEG named .png
        ("clip.mp4", image_bytes("chelsea", "PNG"), "Invalid file type"),
        ("notes.jpg", b"plain text, not an image" * 10, "Invalid file type"),
        ("empty.jpg", b"", "Empty file"),
    ],
)
def test_sniffed_type_must_match_the_extension(
    filename: str, data: bytes, error: str | None
) -> None:
    assert rules.check_bytes(filename, data) == error
