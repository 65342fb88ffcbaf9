"""The dead-letter topic is shared by every task: a sink past this task's own dead letters is at
the end, even when other tasks dead-lettered more after it stopped; behind them it is not."""

from __future__ import annotations

from inferstream.verify import Facts, check


def _facts(stored: int, own_end: int) -> Facts:
    return Facts(
        published=[],
        rows=[],
        result_messages={},
        dead_letters=[],
        artifacts=set(),
        stored_offsets={("deadletter", 0): stored, ("results.churn", 0): 5},
        end_offsets={("deadletter", 0): own_end, ("results.churn", 0): 5},
    )


def test_past_the_own_dead_letters_is_at_the_end() -> None:
    assert check(_facts(stored=3, own_end=3)).ok
    assert check(_facts(stored=8, own_end=3)).ok


def test_behind_the_own_dead_letters_is_reported() -> None:
    report = check(_facts(stored=2, own_end=3))
    assert report.violations["sink offset not at the end"] == ["deadletter:0 2 != 3"]


def test_the_results_topic_must_match_exactly() -> None:
    facts = _facts(stored=3, own_end=3)
    facts.stored_offsets[("results.churn", 0)] = 6  # type: ignore[index]
    assert check(facts).violations["sink offset not at the end"] == ["results.churn:0 6 != 5"]
