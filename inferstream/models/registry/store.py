"""Bundles in object storage under ``models/<name>/<version>/``.

Upload writes ``metadata.json`` last, and the catalog row is written only after the upload, so
a reader never finds a registered version whose objects are incomplete. Download verifies each
file against the ``SHA256SUMS`` whose own sha256 the catalog recorded at registration, so a file
changed in the bucket after registration is refused at load.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from inferstream.models.registry.bundles import BadBundleError, LocalBundle
from inferstream.models.tabular import METADATA_FILE
from inferstream.storage.objectstore import ObjectStore

PREFIX = "models"


def bundle_prefix(name: str, version: str) -> str:
    return f"{PREFIX}/{name}/{version}/"


def upload(store: ObjectStore, bundle: LocalBundle) -> str:
    """Put every file of a checked bundle; returns the bundle's s3:// URI (its prefix)."""
    prefix = bundle_prefix(bundle.name, bundle.version)
    last = [METADATA_FILE]
    for file in [f for f in sorted(bundle.files) if f not in last] + last:
        store.put_bytes(prefix + file, (bundle.directory / file).read_bytes())
    return store.uri(prefix)


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def download(
    store: ObjectStore, name: str, version: str, files: dict[str, str], cache: Path
) -> Path:
    """The bundle's files into ``cache/<name>/<version>/``, each verified against the sha256 the
    catalog recorded at registration; its directory. Files already there and sound are kept."""
    prefix = bundle_prefix(name, version)
    target = Path(cache) / name / version
    target.mkdir(parents=True, exist_ok=True)
    for file, digest in sorted(files.items()):
        if "/" in file or file.startswith("."):
            raise BadBundleError(f"{name}/{version}: bad file name {file!r} in the catalog")
        path = target / file
        if path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() == digest:
            continue
        data = store.get_bytes(prefix + file)
        if hashlib.sha256(data).hexdigest() != digest:
            raise BadBundleError(f"{name}/{version}: {file} in the bucket was changed")
        _write_atomic(path, data)
    return target
