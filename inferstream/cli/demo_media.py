"""`inferstream demo`, media part: examples/media/ by claim-check, with one file per rejection
rule.

Accepted files (photos/, rendered/) are uploaded to blobs/<sha256> and their references
published, as `inferstream publish media` does; rejects/ are published raw (the client would
refuse them) so that enrich dead-letters each with DeepDetect's message, plus a reference that
declares 60 MB ("File too large"). The summary compares the verdicts with labels.json.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import psycopg

from inferstream.cli.demo_tasks import TaskDemo
from inferstream.client import upload_media
from inferstream.schemas import build_envelope
from inferstream.schemas._base import MAX_MEDIA_BYTES
from inferstream.settings import ObjectStoreSettings
from inferstream.storage import ObjectStore, sha256_hex

REJECT_TYPES = {"gif": "image/gif", "png": "image/png", "jpg": "image/jpeg"}


def _raw_envelope(store: ObjectStore, path: Path) -> Any:
    """A reference to the file's bytes as they are (uploaded without the client's checks).

    put_blob hashes the bytes once for the key and the metadata (nothing reads a blob's stored
    content type: the envelope declares it)."""
    data = path.read_bytes()
    content_type = REJECT_TYPES[path.suffix.lstrip(".")]
    info = store.put_blob(data, content_type)
    blob = {"uri": store.uri(info.key), "sha256": info.sha256, "size": len(data)}
    payload = {
        "blob": {**blob, "content_type": content_type},
        "filename": path.name,
        "content_type": content_type,
    }
    return build_envelope("media", payload, source="demo")


def _too_large(store: ObjectStore) -> Any:
    sha = sha256_hex(b"a 60 MB video that is never uploaded")
    size = 60 * 1024 * 1024
    assert size > MAX_MEDIA_BYTES
    blob = {"uri": store.uri(f"blobs/{sha}"), "sha256": sha, "size": size}
    payload = {"blob": {**blob, "content_type": "video/mp4"}, "filename": "huge.mp4"}
    return build_envelope("media", {**payload, "content_type": "video/mp4"}, source="demo")


def load_media(examples: Path) -> TaskDemo:
    """Upload the examples and build their envelopes (labels: submission id -> real/fake)."""
    folder = examples / "media"
    labels_file = folder / "labels.json"
    if not labels_file.is_file():
        raise FileNotFoundError(
            f"{labels_file}: no such file (run the demo from the repository root)"
        )
    truth: dict[str, str] = orjson.loads(labels_file.read_bytes())
    store = ObjectStore(ObjectStoreSettings.load())
    envelopes: list[Any] = []
    labels: dict[str, str] = {}
    for name, label in sorted(truth.items()):
        envelope = build_envelope("media", upload_media(store, folder / name), source="demo")
        envelopes.append(envelope)
        labels[envelope.submission_id] = label
    envelopes += [_raw_envelope(store, p) for p in sorted((folder / "rejects").iterdir())]
    envelopes.append(_too_large(store))
    return TaskDemo("media", envelopes, {}, labels)


def measures_media(conn: psycopg.Connection[Any], demo: TaskDemo) -> list[tuple[str, str]]:
    rows = conn.execute(
        "SELECT submission_id, media_kind, label, fake_probability FROM results_media "
        "WHERE submission_id = ANY(%s)",
        (demo.ids,),
    ).fetchall()
    labelled = [(str(s), str(k), str(v)) for s, k, v, _ in rows if str(s) in demo.labels]
    right = sum(1 for sid, _, verdict in labelled if demo.labels[sid] == verdict)
    images = sum(1 for _, kind, _ in labelled if kind == "image")
    return [
        ("images / videos scored", f"{images} / {len(labelled) - images}"),
        ("verdicts matching labels.json (real photo / rendered)", f"{right}/{len(labelled)}"),
        (
            "verdict fake / real",
            " / ".join(str(sum(1 for r in rows if r[2] == v)) for v in ("fake", "real")),
        ),
    ]
