"""The embedded S3's Go runtime settings: `weed mini` runs on one P (GOMAXPROCS=1, its hand-offs
between goroutines then stay on one thread: seaweed.py says what that saves), next to the
stack's keys and bucket in its environment."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from inferstream.stack import seaweed


class _Spawned(Exception):
    """Stops the start once the server's command line and environment are known."""


def test_weed_starts_on_one_p_with_the_stacks_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[list[str], dict[str, str]]] = []

    def spawn(
        argv: Sequence[str], *, log_file: Path, env: Mapping[str, str] | None = None, cwd: Path
    ) -> int:
        seen.append((list(argv), dict(env or {})))
        raise _Spawned

    monkeypatch.setattr(seaweed, "spawn", spawn)
    monkeypatch.setenv("SENTRY_DSN", "https://key@sentry.example/1")
    with pytest.raises(_Spawned):
        seaweed.start_seaweed(tmp_path, access_key="ak", secret_key="sk-secret", bucket="b")
    [(argv, env)] = seen
    assert argv[1] == "mini"
    assert env["GOMAXPROCS"] == "1"
    # A Sentry DSN of the user's own (the test sets one) never reaches weed's Sentry client.
    assert env["SENTRY_DSN"] == ""
    assert (env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], env["S3_BUCKET"]) == (
        "ak",
        "sk-secret",
        "b",
    )
