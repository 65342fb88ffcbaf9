"""The media inferer's prepare step: a transient failure there is handed to run(), which the
runtime retries with backoff (the prepare thread has none: raising there ended the worker)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from inferstream.errors import TransientError
from inferstream.plugins import EnrichedItem
from inferstream.tasks.media.inferer import MediaInferer, _PrepareAgain


def test_a_transient_failure_while_preparing_is_retried_by_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    inferer = object.__new__(MediaInferer)  # no model, pool or store: only the hand-over
    calls: list[int] = []

    def unavailable(items: Sequence[EnrichedItem]) -> object:
        calls.append(len(items))
        raise TransientError("postgres: the database system is shutting down")

    monkeypatch.setattr(inferer, "_prepare", unavailable)
    prepared = inferer.prepare([])
    assert isinstance(prepared, _PrepareAgain)
    assert "shutting down" in prepared.reason
    with pytest.raises(TransientError):
        inferer.run([], prepared)  # prepares again; still down: the runtime backs off
    assert calls == [0, 0]
