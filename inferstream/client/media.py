"""Claim-check publishing of images and videos: upload the bytes to ``blobs/<sha256>`` in the
project's bucket first, then publish the reference (nothing over a few hundred bytes goes
through Kafka).

    with Publisher("media") as publisher:
        store = ObjectStore(ObjectStoreSettings.load())
        submission_id = publish_media(publisher, store, Path("cat.jpg"))

The upload is content-addressed (an identical blob already stored is not sent again), so a
retried publish rewrites nothing. Remote producers without bucket credentials use the API's
presigned upload (``POST /v1/uploads``) instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from inferstream import media_rules
from inferstream.client.publisher import Publisher
from inferstream.schemas import MediaPayload
from inferstream.schemas.tasks.media import MEDIA_CONTENT_TYPES
from inferstream.storage import ObjectStore

__all__ = ["MEDIA_CONTENT_TYPES", "content_type_of", "media_files", "publish_media", "upload_media"]


def content_type_of(path: Path) -> str | None:
    """The content type of an allowed media file name (DeepDetect's extensions), else None."""
    return MEDIA_CONTENT_TYPES.get(path.suffix.lower().lstrip("."))


def media_files(paths: Iterable[Path]) -> tuple[list[Path], list[str]]:
    """The files to publish: each file as given, each directory's media files (recursive,
    sorted); and one line per path that cannot be published (missing, wrong type, too large,
    empty, a file name enrich would refuse), with DeepDetect's message where it has one
    (inferstream/media_rules.py, the rules enrich applies)."""
    found: list[Path] = []
    problems: list[str] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.is_file() and content_type_of(p))
        elif not path.is_file():
            problems.append(f"{path}: no such file or directory")
        elif content_type_of(path) is None:
            problems.append(f"{path}: {media_rules.FILE_TYPE_NOT_ALLOWED}")
        else:
            found.append(path)
    kept: list[Path] = []
    for path in found:
        problem = media_rules.check_size(path.stat().st_size) or media_rules.check_filename(
            path.name
        )
        if problem is not None:
            problems.append(f"{path}: {problem}")
        else:
            kept.append(path)
    return kept, problems


def upload_media(store: ObjectStore, path: Path) -> MediaPayload:
    """Upload one file to ``blobs/<sha256>`` and return the payload that references it."""
    content_type = content_type_of(path)
    if content_type is None:
        raise ValueError(f"{path}: {media_rules.FILE_TYPE_NOT_ALLOWED}")
    info = store.put_blob(path.read_bytes(), content_type)
    blob = {
        "uri": store.uri(info.key),
        "sha256": info.sha256,
        "size": info.size,
        "content_type": content_type,
    }
    return MediaPayload.model_validate(
        {"blob": blob, "filename": path.name, "content_type": content_type}
    )


def publish_media(
    publisher: Publisher, store: ObjectStore, path: Path, *, wait: bool = False
) -> str:
    """Upload, then publish the reference; the submission id. ``wait``: flush the ack now
    (otherwise call ``publisher.flush()`` after a run of files)."""
    if publisher.task != "media":
        raise ValueError(f"publisher is for task {publisher.task!r}, not media")
    return publisher.publish(upload_media(store, path), wait=wait)
