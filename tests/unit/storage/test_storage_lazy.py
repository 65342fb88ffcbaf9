"""`inferstream.storage` loads its names on first use: a worker that never touches S3 must not
import MinIO's client (about a second of CPU at every worker start), and every public name must
still resolve to its submodule's object."""

from __future__ import annotations

import subprocess
import sys

import pytest

import inferstream.storage as storage
from inferstream.storage import migrator, objectstore, pool


def _loads_minio(code: str) -> bool:
    probe = f"import sys\n{code}\nprint('minio' in sys.modules)\n"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    return result.stdout.split()[-1] == "True"


def test_a_bug_report_worker_loads_no_minio() -> None:
    # What `inferstream worker <stage> --task bug_report` imports before its stage runs.
    code = (
        "import inferstream.cli.workers_cmds\n"
        "from inferstream.plugins import load_plugin\n"
        "load_plugin('bug_report')\n"
        "from inferstream.storage import offsets\n"
    )
    assert not _loads_minio(code)


def test_the_object_store_still_loads_it() -> None:
    # The check above can fail: the same probe sees MinIO once the object store is asked for.
    assert _loads_minio("from inferstream.storage import ObjectStore")


@pytest.mark.parametrize("name", storage.__all__)
def test_each_name_is_its_submodules_object(name: str) -> None:
    homes = [m for m in (migrator, objectstore, pool) if hasattr(m, name)]
    assert [getattr(storage, name)] == [getattr(m, name) for m in homes]
    assert name in dir(storage)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        storage.nothing  # noqa: B018
