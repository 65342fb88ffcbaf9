"""OwnResults: the infer worker's own result keys, skipped once by the index follower."""

from __future__ import annotations

import threading

from hypothesis import given
from hypothesis import strategies as st

from inferstream.workers.infer.follower import OwnResults


def test_a_key_is_taken_once_and_unknown_keys_are_not() -> None:
    own = OwnResults()
    own.add([b"a", b"b"])
    assert own.take(b"a")
    assert not own.take(b"a")  # a second copy on the topic (a replay) is decoded
    assert not own.take(b"c")
    assert not own.take(None)
    assert len(own) == 1


@given(st.lists(st.binary(min_size=1, max_size=4)), st.lists(st.binary(min_size=1, max_size=4)))
def test_holds_only_what_was_added_and_not_yet_read(added: list[bytes], read: list[bytes]) -> None:
    own = OwnResults()
    own.add(added)
    taken = [key for key in read if own.take(key)]
    assert len(taken) == len(set(taken))  # each key at most once
    assert set(taken) <= set(added)
    assert len(own) == len(set(added) - set(taken))


def test_concurrent_adds_and_takes_lose_nothing() -> None:
    own = OwnResults()
    keys = [str(i).encode() for i in range(5000)]
    taken: list[bytes] = []

    def reader() -> None:
        pending = list(keys)
        while pending:
            now = {key for key in pending if own.take(key)}
            taken.extend(now)
            pending = [key for key in pending if key not in now]

    thread = threading.Thread(target=reader)
    thread.start()
    for start in range(0, len(keys), 100):
        own.add(keys[start : start + 100])
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert sorted(taken) == sorted(keys)
    assert len(own) == 0
