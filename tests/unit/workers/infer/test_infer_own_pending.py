"""OwnResults.durable drops the keys never acknowledged from those added since the last
durable() (time per batch), with the same outcome as intersecting every key with the durable
ones (time per key held), whatever the order of adds, acknowledgements, reads and settles."""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from inferstream.workers.infer.own import OwnResults


class _Reference:
    """OwnResults' bookkeeping as first written: durable() intersects every key held."""

    def __init__(self) -> None:
        self.keys: set[bytes] = set()
        self.durable: set[bytes] = set()

    def add(self, keys: Sequence[bytes]) -> None:
        self.keys.update(keys)

    def ack(self, keys: Sequence[bytes]) -> None:
        self.durable.update(key for key in keys if key in self.keys)
        self.keys.intersection_update(self.durable)

    def take(self, key: bytes) -> bool:
        if key in self.keys:
            self.keys.discard(key)
            self.durable.discard(key)
            return True
        return False

    def settle(self, keys: Sequence[bytes]) -> None:
        self.keys.difference_update(keys)
        self.durable.difference_update(keys)


keys = st.lists(st.sampled_from([bytes([c]) for c in b"abcdefgh"]), max_size=5)
steps = st.lists(
    st.tuples(st.sampled_from(["add", "durable", "take", "settle"]), keys), max_size=40
)


@settings(max_examples=300, deadline=None)
@given(steps)
def test_durable_keeps_what_intersecting_every_key_kept(
    script: list[tuple[str, list[bytes]]],
) -> None:
    own, reference = OwnResults(), _Reference()
    for op, batch in script:
        if op == "add":
            own.add(batch)
            reference.add(batch)
        elif op == "durable":
            own.durable(batch)
            reference.ack(batch)
        elif op == "take":
            for key in batch:
                assert own.take(key) == reference.take(key)
        else:
            own.settle(set(batch))
            reference.settle(batch)
        assert own.snapshot() == reference.durable
        assert len(own) == len(reference.keys)
    # What each would still skip: every key's take, compared.
    for key in [bytes([c]) for c in b"abcdefgh"]:
        assert own.take(key) == reference.take(key)


def test_a_key_added_twice_and_acknowledged_once_stays_until_read() -> None:
    own = OwnResults()
    own.add([b"a", b"b"])
    own.durable([b"a"])  # b's record never landed: not ours any more
    own.add([b"b"])  # b again in the next batch
    own.durable([b"b"])
    assert own.snapshot() == {b"a", b"b"}
    assert own.take(b"b") and own.take(b"a") and len(own) == 0
