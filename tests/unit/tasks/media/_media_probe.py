"""What the media tests ask of the decoders, in one place (imported as ``_media_probe``)."""

from __future__ import annotations

from inferstream.tasks.media.decode import CorruptMediaError, probe


def refused_by_probe(data: bytes) -> bool:
    """Whether enrich's cheap check refuses these image bytes."""
    try:
        probe("image", data)
    except CorruptMediaError:
        return True
    return False
