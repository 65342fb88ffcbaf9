"""The bookkeeping of asynchronous offset commits (commits.py), against a model of the broker:
whatever the order of done records, commits, failed answers, late answers and revokes, the
ledger never calls an offset held that the broker does not hold, never commits a partition
twice at once, and once the answers succeed again it brings the broker to every watermark."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

from inferstream.workers.runtime.commits import CommitLedger
from inferstream.workers.runtime.watermark import Position

P0, P1 = ("results.bug_report", 0), ("results.bug_report", 1)
POSITIONS = (P0, P1)
NEVER = 1e9  # an answer timeout the test's clock never reaches


@dataclass
class _World:
    """The runner's side (owned partitions and their watermarks) and the broker's (committed
    offsets, requests not yet processed, answers not yet delivered to the callback)."""

    ledger: CommitLedger
    committable: dict[Position, int] = field(default_factory=dict)
    owned: set[Position] = field(default_factory=lambda: set(POSITIONS))
    start: dict[Position, int] = field(default_factory=lambda: dict.fromkeys(POSITIONS, 0))
    broker: dict[Position, int] = field(default_factory=dict)
    requests: deque[tuple[Position, int]] = field(default_factory=deque)
    answers: deque[tuple[Position, int, bool]] = field(default_factory=deque)
    now: float = 0.0

    def advance(self, pos: Position, by: int) -> None:
        if pos in self.owned:
            self.committable[pos] = self.committable.get(pos, self.start[pos]) + by

    def commit_async(self) -> None:
        due = self.ledger.due(self.committable, self.now)
        for pos, offset in due.items():
            assert offset == self.committable[pos]  # never past what is done
            assert all(p != pos for p, _ in self.requests)  # one at a time per partition
            self.requests.append((pos, offset))
        self.ledger.sent(due, self.now)

    def process(self, ok: bool) -> None:
        """The broker handles the oldest request (in order, as on one connection)."""
        if self.requests:
            pos, offset = self.requests.popleft()
            if ok:
                self.broker[pos] = offset
            self.answers.append((pos, offset, ok))

    def deliver(self) -> None:
        """The oldest answer reaches the callback (during a later poll)."""
        if self.answers:
            self.ledger.answered(*self.answers.popleft())

    def revoke_and_reassign(self, pos: Position) -> None:
        """The revoke's synchronous commit (after the requests before it), then the partition
        comes back, starting at what the broker holds."""
        if pos not in self.owned:
            return
        while self.requests:
            self.process(ok=True)
        due = self.ledger.due(
            {pos: self.committable[pos]} if pos in self.committable else {},
            self.now,
            include_in_flight=True,
        )
        self.broker.update(due)
        self.ledger.acknowledged(due)
        self.ledger.forget([pos])
        self.committable.pop(pos, None)
        self.start[pos] = self.broker.get(pos, 0)

    def check(self) -> None:
        for pos in self.owned:
            acked = self.ledger.acked(pos)
            if acked is not None and pos in self.committable:
                assert acked <= self.committable[pos]
        if self.ledger.settled(self.committable):
            for pos, offset in self.committable.items():
                assert self.broker.get(pos) == offset, (pos, offset, self.broker)


_OPS = st.one_of(
    st.tuples(st.just("advance"), st.sampled_from(POSITIONS), st.integers(1, 5)),
    st.tuples(st.just("commit")),
    st.tuples(st.just("process"), st.booleans()),
    st.tuples(st.just("deliver")),
    st.tuples(st.just("revoke"), st.sampled_from(POSITIONS)),
    st.tuples(st.just("tick"), st.floats(0.0, 10.0)),
)


def _apply(world: _World, op: tuple[object, ...]) -> None:
    match op:
        case ("advance", pos, by):
            world.advance(pos, by)  # type: ignore[arg-type]
        case ("commit",):
            world.commit_async()
        case ("process", ok):
            world.process(bool(ok))
        case ("deliver",):
            world.deliver()
        case ("revoke", pos):
            world.revoke_and_reassign(pos)  # type: ignore[arg-type]
        case ("tick", seconds):
            world.now += float(seconds)  # type: ignore[arg-type]


@settings(max_examples=400, deadline=None)
@given(st.lists(_OPS, max_size=60))
def test_settled_means_held_and_success_settles_everything(ops: list[tuple[object, ...]]) -> None:
    world = _World(CommitLedger(answer_timeout_s=NEVER))
    for op in ops:
        _apply(world, op)
        world.check()
    # The broker answers everything, successfully from now on: the ledger catches up.
    for _ in range(len(ops) + 3):
        world.commit_async()
        while world.requests:
            world.process(ok=True)
        while world.answers:
            world.deliver()
        world.check()
    assert world.ledger.settled(world.committable)
    assert all(world.broker.get(pos) == at for pos, at in world.committable.items())


def test_a_failed_commit_is_sent_again_when_next_due() -> None:
    ledger = CommitLedger(answer_timeout_s=NEVER)
    assert ledger.due({P0: 5}, 0.0) == {P0: 5}
    ledger.sent({P0: 5}, 0.0)
    assert ledger.due({P0: 5}, 1.0) == {}  # on its way
    ledger.answered(P0, 5, ok=False)
    assert ledger.due({P0: 5}, 2.0) == {P0: 5}  # retried
    ledger.sent({P0: 5}, 2.0)
    ledger.answered(P0, 5, ok=True)
    assert ledger.due({P0: 5}, 3.0) == {}
    assert ledger.settled({P0: 5})


def test_an_answer_that_never_comes_is_sent_again_after_the_timeout() -> None:
    ledger = CommitLedger(answer_timeout_s=30.0)
    ledger.sent({P0: 5}, 0.0)
    assert ledger.due({P0: 7}, 29.0) == {}  # one commit per partition at a time
    assert ledger.due({P0: 7}, 30.0) == {P0: 7}


def test_the_final_commit_does_not_wait_for_one_on_its_way() -> None:
    ledger = CommitLedger(answer_timeout_s=NEVER)
    ledger.sent({P0: 5}, 0.0)
    assert ledger.due({P0: 7}, 0.0, include_in_flight=True) == {P0: 7}
    ledger.acknowledged({P0: 7})
    ledger.answered(P0, 5, ok=True)  # the earlier send's answer arrives afterwards
    assert ledger.acked(P0) == 7 and ledger.in_flight(P0) is None


def test_a_late_answer_for_a_revoked_partition_changes_nothing() -> None:
    ledger = CommitLedger(answer_timeout_s=NEVER)
    ledger.sent({P0: 5, P1: 3}, 0.0)
    ledger.forget([P0])
    ledger.answered(P0, 5, ok=True)
    ledger.answered(P1, 3, ok=True)
    assert ledger.acked(P0) is None and ledger.acked(P1) == 3
    assert ledger.due({P0: 5}, 1.0) == {P0: 5}  # the next owner's offsets are its own
