"""The small media bundle that the media model's unit tests and the media pipeline's integration
tests share: trained once per test run (about 15 s of CPU: the backbone's ONNX export twice and
~650 images through it), not once per module. Imported as ``_small_media`` (pytest puts this
directory on the path for tests/conftest.py).

Shared through pytest's base temporary directory, which pytest-xdist's processes have in common
(each one's own is a folder below it), under a file lock: the first caller trains, the others wait
for it and read the same bundle. The metrics file is written last, so it also says "complete"; a
run that died mid-training leaves none, and the next caller trains again into a fresh folder.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from inferstream.training import media

# A smaller training set than the shipped bundle (same code path), to keep the tests short.
PER_PHOTO = 6
RENDERED = 80


def small_media_models(factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """(models dir holding the media bundle, the training report's metrics)."""
    root = factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the base all xdist processes share
    name = f"media-models-{PER_PHOTO}-{RENDERED}"
    directory, metrics_file = root / name, root / f"{name}.metrics.json"
    with (root / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not metrics_file.is_file():
            shutil.rmtree(directory, ignore_errors=True)
            report = media.train(directory, per_photo=PER_PHOTO, rendered=RENDERED)
            metrics_file.write_text(json.dumps(report.metrics))
    return directory, json.loads(metrics_file.read_text())
