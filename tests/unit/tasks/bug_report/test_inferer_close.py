"""BugReportInferer at a worker's stop: close() closes its embedder, and a batch whose model calls
close() cancelled fails as transient (the runtime leaves it uncommitted, to be redelivered), not
as poison (which would bisect it and dead-letter records that did nothing wrong)."""

from __future__ import annotations

from concurrent.futures import CancelledError

import numpy as np
import pytest

from inferstream.errors import PoisonBatchError, TransientError
from inferstream.models import PreparedBatch
from inferstream.tasks.bug_report.inferer import BugReportInferer
from inferstream.workers.runtime.backoff import is_transient


class _Embedder:
    def __init__(self, error: Exception | None = None, vectors: np.ndarray | None = None) -> None:
        self.error = error
        self.vectors = vectors
        self.closed = 0

    def run(self, prepared: PreparedBatch) -> np.ndarray:
        if self.error is not None:
            raise self.error
        assert self.vectors is not None
        return self.vectors

    def close(self) -> None:
        self.closed += 1


def _inferer(embedder: _Embedder) -> BugReportInferer:
    # Only what run() reads before the model call; no model loaded.
    inferer = BugReportInferer.__new__(BugReportInferer)
    inferer.embedder = embedder  # type: ignore[assignment]
    inferer.poison_marker = None
    return inferer


def _prepared() -> PreparedBatch:
    return PreparedBatch(0, np.empty(0, np.intp), ())


def test_cancelled_calls_are_transient_and_close_closes_the_embedder() -> None:
    embedder = _Embedder(CancelledError())
    inferer = _inferer(embedder)
    with pytest.raises(TransientError) as raised:
        inferer.run([], _prepared())
    assert is_transient(raised.value)
    inferer.close()
    assert embedder.closed == 1


def test_a_failing_model_is_still_poison() -> None:
    inferer = _inferer(_Embedder(RuntimeError("the session failed")))
    with pytest.raises(PoisonBatchError) as raised:
        inferer.run([], _prepared())
    assert not is_transient(raised.value)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_non_finite_embedding_is_poison(bad: float) -> None:
    """A NaN or infinity in any row fails the batch as poison (bisected to its record and
    dead-lettered), before the scorer indexes it or a result writes it as JSON null."""
    vectors = np.full((3, 4), 0.5, dtype=np.float32)
    vectors[1, 2] = bad
    inferer = _inferer(_Embedder(vectors=vectors))
    with pytest.raises(PoisonBatchError, match="non-finite embedding") as raised:
        inferer.run([], _prepared())
    assert not is_transient(raised.value)
