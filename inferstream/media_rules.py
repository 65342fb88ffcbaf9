"""The DeepDetect upload rules, with its own error strings (pure; no I/O).

One owner for the rules: the media task's enrich stage applies them to every reference and to
the stored bytes; the API applies the same functions before it accepts a submission or an
upload (so a client hears the same words at once), and `inferstream publish media` before it
uploads. A module of its own because the API may import no task package.

Seed order: size ("File too large" over 50 MB, "Empty file"), filename ("Invalid filename"),
extension allow-list ("File type not allowed"), then the MIME type sniffed from the bytes
("Invalid file type"). The seed only asked libmagic for image/* or video/*; here the sniffed
type must also be one the extension stands for (a PNG named .mp4 is refused), and so must the
declared content type.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

import puremagic

from inferstream.schemas._base import MAX_MEDIA_BYTES
from inferstream.schemas.tasks.media import MEDIA_CONTENT_TYPES

FILE_TOO_LARGE = "File too large"
EMPTY_FILE = "Empty file"
INVALID_FILENAME = "Invalid filename"
FILE_TYPE_NOT_ALLOWED = "File type not allowed"
INVALID_FILE_TYPE = "Invalid file type"
SEED_ERRORS = (
    FILE_TOO_LARGE,
    EMPTY_FILE,
    INVALID_FILENAME,
    FILE_TYPE_NOT_ALLOWED,
    INVALID_FILE_TYPE,
)

# Other names the sniffer (and producers) use for the same types.
_ALIASES = {"video/x-msvideo": {"video/avi", "video/msvideo"}}
# The seed's ALLOWED_EXTENSIONS, each with the MIME types its bytes may sniff as.
EXTENSION_TYPES: dict[str, frozenset[str]] = {
    ext: frozenset({mime, *_ALIASES.get(mime, ())}) for ext, mime in MEDIA_CONTENT_TYPES.items()
}
SNIFF_BYTES = 8192  # puremagic reads headers (and a few footers) only
# What werkzeug's secure_filename keeps, plus spaces and parentheses (common in photo names).
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.() -]*$")


def check_size(size: int) -> str | None:
    if size > MAX_MEDIA_BYTES:
        return FILE_TOO_LARGE
    if size == 0:
        return EMPTY_FILE
    return None


def extension(filename: str) -> str:
    return filename.rsplit(".", 1)[1].lower() if "." in filename else ""


def check_filename(filename: str) -> str | None:
    """A plain ASCII file name with an extension: no path, no leading dot or dash, no '..',
    no control or shell characters (a name secure_filename would change is refused, not
    rewritten: the stored name is what the client sent)."""
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
    if (
        ascii_name != filename
        or not _SAFE_NAME.match(filename)
        or ".." in filename
        or "." not in filename.strip(".")
        or filename != filename.strip()
    ):
        return INVALID_FILENAME
    if extension(filename) not in EXTENSION_TYPES:
        return FILE_TYPE_NOT_ALLOWED
    return None


def check_reference(filename: str, size: int, content_type: str) -> str | None:
    """The rules a reference can be checked by before its bytes are read."""
    problem = check_size(size) or check_filename(filename)
    if problem is None and content_type.lower() not in EXTENSION_TYPES[extension(filename)]:
        return INVALID_FILE_TYPE
    return problem


def sniffed_types(head: bytes) -> set[str]:
    """Every MIME type puremagic's signatures give the bytes (empty when none matches)."""
    try:
        matches: Iterable[object] = puremagic.magic_string(head[:SNIFF_BYTES])
    except (puremagic.PureError, ValueError):
        return set()
    return {str(getattr(m, "mime_type", "")).lower() for m in matches} - {""}


def check_bytes(filename: str, data: bytes) -> str | None:
    """The seed's rules on the stored bytes themselves: size, then the sniffed MIME type."""
    problem = check_size(len(data))
    if problem is not None:
        return problem
    allowed = EXTENSION_TYPES.get(extension(filename), frozenset())
    if not sniffed_types(data) & allowed:
        return INVALID_FILE_TYPE
    return None
