"""DeepDetect's rules at the API's door: the same functions and words as the enrich stage
(inferstream/media_rules.py), applied before a media submission is published or an upload is
ticketed or completed, so a client hears "File too large" at once instead of polling for a
rejection. Enrich still applies every rule to what reaches the topic (producers that bypass the
API, bytes that changed): these checks spare the round trip, they are not the gate.
"""

from __future__ import annotations

from inferstream import media_rules
from inferstream.api.problems import ProblemError
from inferstream.schemas import MediaPayload


def refuse(problem: str | None) -> None:
    """A 422 problem whose detail is the rule's message, exactly (when there is one)."""
    if problem is not None:
        raise ProblemError(422, problem, slug="invalid")


def check_submission(payload: MediaPayload) -> None:
    """The rules a reference can be checked by without its bytes: size, file name, extension,
    declared content type (blob and payload both)."""
    refuse(media_rules.check_reference(payload.filename, payload.blob.size, payload.content_type))
    refuse(
        media_rules.check_reference(payload.filename, payload.blob.size, payload.blob.content_type)
    )


def check_declared(size: int, content_type: str, filename: str | None) -> None:
    """An upload's declaration: its size always; with a file name, every reference rule."""
    if filename is None:
        refuse(media_rules.check_size(size))
    else:
        refuse(media_rules.check_reference(filename, size, content_type))


def check_uploaded(filename: str | None, data: bytes) -> None:
    """The uploaded bytes, when the file name is known: the MIME type sniffed from them must be
    one its extension stands for ("Invalid file type")."""
    if filename is not None:
        refuse(media_rules.check_bytes(filename, data))
