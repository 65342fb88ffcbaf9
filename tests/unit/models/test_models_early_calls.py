"""TextEmbedder with a pool of parallel calls: prepare starts a batch's model calls, run waits
for them; the vectors are those of calls made in run, and a batch dropped unrun gives back the
calls of it that had not begun, as close() does with every queued call."""

from __future__ import annotations

import gc
import threading
import time
from concurrent.futures import CancelledError, wait
from typing import Any

import numpy as np
import pytest
from models_texts import varied_texts

from inferstream.models import ModelBundle, TextEmbedder

WAIT_S = 60.0  # a deadline for calls of a few ms each, for any load


@pytest.fixture(scope="module")
def two_calls(minilm_bundle: ModelBundle) -> TextEmbedder:
    return TextEmbedder(minilm_bundle, parallel_calls=2, intra_op_threads=1)


def test_prepare_starts_the_calls_and_run_gives_their_vectors(two_calls: TextEmbedder) -> None:
    texts = varied_texts(40)
    prepared = two_calls.prepare(texts)
    assert len(prepared.batches) >= 2
    assert {id(b) for b, _ in prepared.started} == {id(b) for b in prepared.batches}
    costs = [b.padded_tokens for b, _ in prepared.started]
    assert costs == sorted(costs, reverse=True)  # costliest first
    # Every call ends without run being called: they ran from prepare on.
    done, pending = wait([call for _, call in prepared.started], timeout=WAIT_S)
    assert not pending and all(call.exception() is None for call in done)
    vectors = two_calls.run(prepared)
    # The same sub-batches called one by one on this thread give the same vectors.
    alone = np.empty_like(vectors)
    for batch in prepared.batches:
        alone[batch.indices] = two_calls._call(batch.input_ids, batch.attention_mask)
    np.testing.assert_array_equal(vectors, alone)


def test_a_batch_dropped_unrun_cancels_its_calls_not_begun(
    two_calls: TextEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = threading.Event()
    begun: list[int] = []

    def held_call(input_ids: Any, attention_mask: Any) -> Any:
        begun.append(len(input_ids))
        if not gate.wait(WAIT_S):
            raise TimeoutError("the test never opened the gate")
        return np.zeros((len(input_ids), two_calls.dim), dtype=np.float32)

    monkeypatch.setattr(two_calls, "_call", held_call)
    prepared = two_calls.prepare(varied_texts(60))
    calls = [call for _, call in prepared.started]
    assert len(calls) >= 4  # more calls than the pool's two threads can hold
    try:
        del prepared
        gc.collect()
        # At most the two the pool's threads took can have begun; the rest were cancelled.
        assert sum(call.cancelled() for call in calls) >= len(calls) - 2
    finally:
        gate.set()
    wait(calls, timeout=WAIT_S)
    assert len(begun) <= 2


def test_a_failed_call_fails_run(two_calls: TextEmbedder, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(input_ids: Any, attention_mask: Any) -> Any:
        raise RuntimeError("the session failed")

    monkeypatch.setattr(two_calls, "_call", broken)
    prepared = two_calls.prepare(varied_texts(20))
    assert prepared.started
    with pytest.raises(RuntimeError, match="the session failed"):
        two_calls.run(prepared)


def test_one_call_at_a_time_runs_in_run(minilm_bundle: ModelBundle) -> None:
    one = TextEmbedder(minilm_bundle, parallel_calls=1, intra_op_threads=1)
    texts = varied_texts(20)
    prepared = one.prepare(texts)
    assert prepared.started == ()
    np.testing.assert_array_equal(one.run(prepared), one.embed(texts))


def test_close_cancels_the_queued_calls_and_waits_for_the_running_ones(
    minilm_bundle: ModelBundle, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A worker stopping under backlog: batches prepared ahead have their calls queued on the
    # pool. close() must cancel those (else the process runs them all before it exits) and
    # return only once the calls already running have ended.
    embedder = TextEmbedder(minilm_bundle, parallel_calls=2, intra_op_threads=1)
    gate = threading.Event()
    begun: list[int] = []
    ended: list[int] = []

    def held_call(input_ids: Any, attention_mask: Any) -> Any:
        begun.append(len(input_ids))
        if not gate.wait(WAIT_S):
            raise TimeoutError("the test never opened the gate")
        ended.append(len(input_ids))
        return np.zeros((len(input_ids), embedder.dim), dtype=np.float32)

    monkeypatch.setattr(embedder, "_call", held_call)
    ahead = [embedder.prepare(varied_texts(60)) for _ in range(2)]  # two batches prepared
    calls = [call for prepared in ahead for _, call in prepared.started]
    assert len(calls) >= 6
    deadline = time.monotonic() + WAIT_S
    while len(begun) < 2:  # the pool's two threads hold a call each
        assert time.monotonic() < deadline, "the pool never started two calls"
        time.sleep(0.01)
    closing = threading.Thread(target=embedder.close)
    closing.start()
    try:
        while sum(call.cancelled() for call in calls) < len(calls) - 2:
            assert time.monotonic() < deadline, "close() did not cancel the queued calls"
            time.sleep(0.01)
        assert closing.is_alive()  # still waiting for the two running calls
    finally:
        gate.set()
    closing.join(WAIT_S)
    assert not closing.is_alive()
    assert len(begun) == len(ended) == 2  # the running calls ended; no queued one began
    with pytest.raises(CancelledError):
        embedder.run(ahead[1])
    # Closed, the embedder still embeds: the calls run in run(), not on the pool.
    monkeypatch.undo()
    texts = varied_texts(20)
    late = embedder.prepare(texts)
    assert late.started == ()
    np.testing.assert_array_equal(embedder.run(late), embedder.embed(texts))
    embedder.close()  # idempotent
