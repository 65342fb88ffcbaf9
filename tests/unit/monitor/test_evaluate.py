"""The evaluation of a window: breaches per version and the canary verdict (pure)."""

from __future__ import annotations

import math

from inferstream.monitor.evaluate import canary_verdict, evaluate
from inferstream.monitor.psi import Distribution, latency_bucket
from inferstream.monitor.reference import Reference
from inferstream.monitor.state import Accuracy
from inferstream.settings.monitor import MonitorSettings

SETTINGS = MonitorSettings(min_samples=100, min_feedback=10)
HALVES = Distribution((0.5,), (0.5, 0.5))
REF = Reference(HALVES, {"tenure": HALVES}, 1000)


def _window(prod_scores: dict[int, int], canary_scores: dict[int, int], canary_ms: float = 50):
    fast = {latency_bucket(50): 100}
    return {
        ("m", "v1", "score", ""): prod_scores,
        ("m", "v1", "latency", ""): fast,
        ("m", "v1", "input", "tenure"): {0: 60, 1: 40},
        ("m", "v2", "score", ""): canary_scores,
        ("m", "v2", "latency", ""): {latency_bucket(canary_ms): 100},
    }


def test_a_drifted_canary_is_rolled_back_with_the_psi_in_the_reason() -> None:
    reports = evaluate(_window({0: 50, 1: 50}, {0: 5, 1: 95}), [], lambda n, v: REF, SETTINGS)
    by_version = {r.model_version: r for r in reports}
    assert by_version["v1"].score_psi == 0.0 and by_version["v1"].breaches == []
    # inputs 60/40 against a 50/50 reference: 0.1 ln 1.2 - 0.1 ln 0.8
    expected = round(0.1 * math.log(1.2) - 0.1 * math.log(0.8), 6)
    assert by_version["v1"].input_psi == {"tenure": expected}
    canary = by_version["v2"]
    assert canary.score_psi is not None and canary.score_psi > 1.0
    assert canary.breaches == [f"score PSI {canary.score_psi:.3f} > 0.05"]
    reason = canary_verdict(reports, {"production": "v1", "canary": "v2"}, SETTINGS)
    assert reason is not None and reason.startswith("drift: canary m/v2 score PSI")
    assert "n=100" in reason
    # no canary alias, or the drifted version is production: nothing to roll back
    assert canary_verdict(reports, {"production": "v2"}, SETTINGS) is None


def test_too_few_samples_or_no_reference_gives_no_psi() -> None:
    few = evaluate(_window({0: 5, 1: 5}, {0: 1, 1: 9}), [], lambda n, v: REF, SETTINGS)
    assert all(r.score_psi is None for r in few)
    none = evaluate(_window({0: 50, 1: 50}, {0: 5, 1: 95}), [], lambda n, v: None, SETTINGS)
    assert all(r.score_psi is None and r.input_psi == {} for r in none)
    assert canary_verdict(none, {"production": "v1", "canary": "v2"}, SETTINGS) is None


def test_slow_canary_rolled_back_only_while_production_meets_the_slo() -> None:
    reports = evaluate(_window({0: 50, 1: 50}, {0: 50, 1: 50}, 250), [], lambda n, v: REF, SETTINGS)
    reason = canary_verdict(reports, {"production": "v1", "canary": "v2"}, SETTINGS)
    assert reason is not None and reason.startswith("latency: canary m/v2 p95 > 200 ms")
    both_slow = _window({0: 50, 1: 50}, {0: 50, 1: 50}, 250)
    both_slow[("m", "v1", "latency", "")] = {latency_bucket(400): 100}
    reports = evaluate(both_slow, [], lambda n, v: REF, SETTINGS)
    assert canary_verdict(reports, {"production": "v1", "canary": "v2"}, SETTINGS) is None
    assert any("latency p95" in b for r in reports for b in r.breaches)


def test_accuracy_needs_min_feedback_and_breaches_under_the_minimum() -> None:
    labels = [Accuracy("m", "v1", 20, 15), Accuracy("m", "v2", 5, 0)]
    reports = evaluate(_window({0: 50, 1: 50}, {0: 50, 1: 50}), labels, lambda n, v: REF, SETTINGS)
    by_version = {r.model_version: r for r in reports}
    assert (
        by_version["v1"].accuracy == 0.75 and "accuracy 0.750 < 0.85" in by_version["v1"].breaches
    )
    assert by_version["v2"].accuracy is None and by_version["v2"].labelled == 5
    # accuracy alerts, it does not roll the canary back
    assert canary_verdict(reports, {"production": "v2", "canary": "v1"}, SETTINGS) is None


def test_a_failing_canary_is_rolled_back_only_while_production_meets_the_error_rate() -> None:
    window = _window({0: 50, 1: 50}, {0: 45, 1: 45})
    window[("m", "v2", "error", "")] = {0: 10}  # 10 of its 100 records failed
    reports = evaluate(window, [], lambda n, v: REF, SETTINGS)
    canary = {r.model_version: r for r in reports}["v2"]
    assert (canary.errors, canary.error_rate) == (10, 0.1)
    assert canary.breaches == ["error rate 0.100 > 0.02"]
    reason = canary_verdict(reports, {"production": "v1", "canary": "v2"}, SETTINGS)
    assert reason is not None and reason.startswith("errors: canary m/v2 error rate 0.100")
    window[("m", "v1", "error", "")] = {0: 10}  # production fails as often: the input's doing
    reports = evaluate(window, [], lambda n, v: REF, SETTINGS)
    assert canary_verdict(reports, {"production": "v1", "canary": "v2"}, SETTINGS) is None
    window[("m", "v2", "error", "")] = {0: 1}  # 1 of 91: within the 2 %
    reports = evaluate(window, [], lambda n, v: REF, SETTINGS)
    assert {r.model_version: r for r in reports}["v2"].breaches == []
