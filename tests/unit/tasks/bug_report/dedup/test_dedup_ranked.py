"""A decision built from a call's shared columns is the decision built from its candidates."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from inferstream.tasks.bug_report.dedup.ranked import Candidate, Columns, Decision
from inferstream.tasks.bug_report.dedup.verdicts import Verdict

VERDICT = Verdict("unique", None, ())

candidate = st.builds(
    Candidate,
    st.text(min_size=1, max_size=4),
    st.floats(-1, 1),
    st.floats(0, 1),
    st.booleans(),
    st.booleans(),
    st.floats(-1, 1),
)


def columns_of(rows: list[Candidate]) -> Columns:
    return (
        Columns(*(list(column) for column in zip(*rows, strict=True)))
        if rows
        else Columns([], [], [], [], [], [])
    )


@given(st.lists(candidate, max_size=12), st.lists(candidate, max_size=12), st.integers(0, 15))
def test_a_span_of_columns_reads_as_its_candidates(
    before: list[Candidate], mine: list[Candidate], n: int
) -> None:
    # Another report's candidates precede this one's in the shared columns.
    shared = columns_of(before + mine)
    lazy = Decision(VERDICT, columns=shared, span=(len(before), len(before) + len(mine)))
    eager = Decision(VERDICT, tuple(mine))
    assert lazy.head(n) == tuple(mine[:n]) == eager.head(n)
    assert lazy.candidates == tuple(mine)
    assert lazy == eager
    assert lazy.head(n) == lazy.candidates[:n]  # after the candidates were built, too


@given(st.lists(candidate, max_size=12), st.lists(candidate, max_size=12), st.integers(0, 15))
def test_cosines_are_the_heads_cosines(
    before: list[Candidate], mine: list[Candidate], n: int
) -> None:
    shared = columns_of(before + mine)
    lazy = Decision(VERDICT, columns=shared, span=(len(before), len(before) + len(mine)))
    eager = Decision(VERDICT, tuple(mine))
    expected = [c.cosine for c in mine[:n]]
    assert lazy.cosines(n) == expected == eager.cosines(n)
    assert lazy.candidates == tuple(mine)
    assert lazy.cosines(n) == expected  # after the candidates were built, too


def test_decisions_differ_by_verdict_or_candidates() -> None:
    one = Candidate("a", 0.9, 0.1, True, False, 0.8)
    other = one._replace(score=0.7)
    assert Decision(VERDICT, (one,)) != Decision(VERDICT, (other,))
    assert Decision(VERDICT, (one,)) != Decision(Verdict("duplicate", "a", (("a", 0.8),)), (one,))
    assert "candidates=(Candidate(submission_id='a'" in repr(Decision(VERDICT, (one,)))
