"""One evaluation of a task's window (pure): per model version its score PSI, p95 latency and
live accuracy, the inputs' PSI, which thresholds each breaches, and whether the canary must be
rolled back (and why)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from inferstream.monitor.psi import LATENCY_EDGES_MS, dense, psi, quantile_upper_edge, share_within
from inferstream.monitor.reference import Reference
from inferstream.monitor.state import Accuracy
from inferstream.settings.monitor import MonitorSettings

Counts = Mapping[int, int]
VersionKey = tuple[str, str]  # (model name, version)
P95 = 0.95


@dataclass
class VersionReport:
    model_name: str
    model_version: str
    samples: int
    score_psi: float | None = None  # None: no reference, or too few samples
    input_psi: dict[str, float] = field(default_factory=dict)
    latency_p95_ms: float | None = None
    latency_within_slo: bool | None = None
    accuracy: float | None = None
    labelled: int = 0
    errors: int = 0  # records its inference failed on (dead letters naming it)
    error_rate: float | None = None  # errors / (results + errors); None: too few records
    breaches: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        if data["latency_p95_ms"] == float("inf"):
            data["latency_p95_ms"] = None  # JSON has no infinity: beyond the last bucket
        return data


def _score_psi(reference: Reference | None, counts: Counts, enough: bool) -> float | None:
    if reference is None or not enough:
        return None
    return round(psi(reference.score.fractions, dense(counts, len(reference.score.fractions))), 6)


def _input_psi(
    reference: Reference | None, inputs: Mapping[str, Counts], min_samples: int
) -> dict[str, float]:
    if reference is None:
        return {}
    out: dict[str, float] = {}
    for feature, counts in inputs.items():
        expected = reference.inputs.get(feature)
        if expected is not None and sum(counts.values()) >= min_samples:
            size = len(expected.fractions)
            out[feature] = round(psi(expected.fractions, dense(counts, size)), 6)
    return out


def report(
    key: VersionKey,
    scores: Counts,
    latency: Counts,
    inputs: Mapping[str, Counts],
    accuracy: Accuracy | None,
    reference: Reference | None,
    settings: MonitorSettings,
    errors: Counts | None = None,
) -> VersionReport:
    errors = errors or {}
    samples = max(sum(scores.values()), sum(latency.values()))
    enough = sum(scores.values()) >= settings.min_samples
    rep = VersionReport(key[0], key[1], samples, _score_psi(reference, scores, enough))
    rep.input_psi = _input_psi(reference, inputs, settings.min_samples)
    rep.errors = sum(errors.values())
    if rep.errors + sum(scores.values()) >= settings.min_samples:
        rep.error_rate = round(rep.errors / (rep.errors + sum(scores.values())), 6)
    if latency:
        rep.latency_p95_ms = quantile_upper_edge(latency, LATENCY_EDGES_MS, P95)
        within = share_within(latency.items(), LATENCY_EDGES_MS, settings.latency_p95_ms)
        rep.latency_within_slo = within >= P95
    if accuracy is not None:
        rep.labelled = accuracy.labelled
        if accuracy.labelled >= settings.min_feedback:
            rep.accuracy = round(accuracy.correct / accuracy.labelled, 6)
    rep.breaches = breaches(rep, settings)
    return rep


def breaches(rep: VersionReport, settings: MonitorSettings) -> list[str]:
    out: list[str] = []
    if rep.score_psi is not None and rep.score_psi > settings.psi_threshold:
        out.append(f"score PSI {rep.score_psi:.3f} > {settings.psi_threshold}")
    drifted = [f for f, v in sorted(rep.input_psi.items()) if v > settings.psi_threshold]
    if drifted:
        worst = max(drifted, key=lambda f: rep.input_psi[f])
        out.append(f"input PSI {rep.input_psi[worst]:.3f} > {settings.psi_threshold} ({worst})")
    if rep.latency_within_slo is False:
        out.append(f"latency p95 > {settings.latency_p95_ms:g} ms")
    if rep.accuracy is not None and rep.accuracy < settings.accuracy_min:
        out.append(f"accuracy {rep.accuracy:.3f} < {settings.accuracy_min}")
    if _errs(rep, settings):
        out.append(f"error rate {rep.error_rate:.3f} > {settings.error_rate_max}")
    return out


def canary_verdict(
    reports: Sequence[VersionReport], aliases: Mapping[str, str], settings: MonitorSettings
) -> str | None:
    """The reason to roll the canary back, or None. Drift of the canary's scores against its
    own reference, or its p95 over the SLO or its error rate over the maximum while
    production's meets it (a backlog that slows both, or poison input that fails both, is not
    the canary's doing). Accuracy alerts but does not roll back: labels arrive late and few."""
    canary = aliases.get("canary")
    if canary is None:
        return None
    by_version = {r.model_version: r for r in reports}
    rep = by_version.get(canary)
    if rep is None:
        return None
    window = f"over the last {settings.window_s} s, n={rep.samples}"
    if rep.score_psi is not None and rep.score_psi > settings.psi_threshold:
        return (
            f"drift: canary {rep.model_name}/{canary} score PSI {rep.score_psi:.3f} > "
            f"{settings.psi_threshold} ({window})"
        )
    production = by_version.get(aliases.get("production", ""))
    if rep.latency_within_slo is False and (
        production is None or production.latency_within_slo is not False
    ):
        return (
            f"latency: canary {rep.model_name}/{canary} p95 > {settings.latency_p95_ms:g} ms "
            f"while production meets it ({window})"
        )
    if _errs(rep, settings) and (production is None or not _errs(production, settings)):
        return (
            f"errors: canary {rep.model_name}/{canary} error rate {rep.error_rate:.3f} > "
            f"{settings.error_rate_max} ({rep.errors} failed) while production meets it "
            f"({window})"
        )
    return None


def _errs(rep: VersionReport, settings: MonitorSettings) -> bool:
    """The version's error rate, once known, is over the maximum (a breach, and for a canary
    whose production meets it, a rollback)."""
    return rep.error_rate is not None and rep.error_rate > settings.error_rate_max


def evaluate(
    window: Mapping[tuple[str, str, str, str], Counts],
    accuracy: Sequence[Accuracy],
    reference_of: Callable[[str, str], Reference | None],
    settings: MonitorSettings,
) -> list[VersionReport]:
    """Every version with results (or counted inputs) in the window, sorted by name, version."""
    versions: set[VersionKey] = {(n, v) for (n, v, _, _) in window}
    labels = {(a.model_name, a.model_version): a for a in accuracy}
    reports = []
    for key in sorted(versions | set(labels)):
        inputs = {f: c for (n, v, k, f), c in window.items() if (n, v) == key and k == "input"}
        reports.append(
            report(
                key,
                window.get((*key, "score", ""), {}),
                window.get((*key, "latency", ""), {}),
                inputs,
                labels.get(key),
                reference_of(*key),
                settings,
                window.get((*key, "error", ""), {}),
            )
        )
    return reports
