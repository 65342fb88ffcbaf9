"""`inferstream.chaos` loads its names on first use: the subprocess that restarts the servers
during a chaos run's outage imports ``inferstream.chaos.faults`` only, not the run, verify and
the supervisor behind it (they made that import twice as long), and every public name still
resolves to its submodule's object."""

from __future__ import annotations

import subprocess
import sys

import pytest

import inferstream.chaos as chaos
from inferstream.chaos import result, run, schedule


def test_the_server_restart_subprocess_does_not_load_the_run() -> None:
    # One interpreter (a start costs seconds on the loaded machine): the run is not loaded by
    # the restart's import, and is once the package is asked for it (so the probe can fail).
    probe = (
        "import sys\n"
        "import inferstream.chaos.faults\n"
        "print('inferstream.chaos.run' in sys.modules)\n"
        "from inferstream.chaos import ChaosRun\n"
        "print('inferstream.chaos.run' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.split()[-2:] == ["False", "True"]


@pytest.mark.parametrize("name", chaos.__all__)
def test_every_public_name_is_its_submodule_object(name: str) -> None:
    homes = {"ChaosRun": run, "ChaosResult": result}
    assert getattr(chaos, name) is getattr(homes.get(name, schedule), name)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = chaos.no_such_name
