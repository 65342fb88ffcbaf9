"""A chaos run passes only if every worker, media ones included, left with exit 0 at the final
graceful stop, besides the rest (drained, verify, faults, no unexpected exit during the run)."""

from __future__ import annotations

import signal

import pytest

from inferstream.chaos.result import ChaosResult, MediaOutcome
from inferstream.verify import Report


def _result(final: dict[str, int | None], media_exits: list[tuple[str, int]]) -> ChaosResult:
    return ChaosResult(
        faults=[],
        executed=[],
        exits=[("infer-0", -signal.SIGKILL)],
        final_exits=final,
        report=Report(),
        restarts=1,
        submissions=10,
        published=10,
        rows=10,
        poison_dead=0,
        elapsed_s=1.0,
        drained=True,
        media=MediaOutcome(2, 2, 2, Report(), media_exits),
    )


def test_a_run_whose_workers_all_left_cleanly_passes() -> None:
    result = _result({"enrich-0": 0, "infer-0": 0, "media:sink-0": 0}, [])
    assert result.unclean_stops == {} and result.ok


@pytest.mark.parametrize(
    "final",
    [
        {"enrich-0": 0, "infer-0": -signal.SIGKILL},  # still there after the grace: killed
        {"enrich-0": 0, "media:sink-0": 1},  # a media worker that failed while leaving
        {"enrich-0": -signal.SIGTERM},  # the default handler: it never stopped gracefully
    ],
)
def test_a_worker_that_did_not_exit_0_at_the_final_stop_fails_the_run(
    final: dict[str, int | None],
) -> None:
    result = _result(final, [])
    assert result.unclean_stops == {n: c for n, c in final.items() if c != 0}
    assert not result.ok


def test_a_media_worker_exit_other_than_sigkill_during_the_run_fails_it() -> None:
    result = _result({"enrich-0": 0}, [("sink-0", 1)])
    assert result.unexpected_exits == [("media:sink-0", 1)] and not result.ok
