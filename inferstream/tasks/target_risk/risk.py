"""From the three heads' probabilities to ``risk_score`` (0-10) and ``risk_level`` (pure).

- severity: expected value of the severity head on a 0-10 scale (low 1.5, medium 4.5,
  high 7.0, critical 10);
- exposure: 10 x P(at least one vulnerability), each class weighted by its impact (RCE and
  SQLi count fully, CSRF and information disclosure about a third);
- chains: 10 x the most likely attack chain's probability.

``risk_score = 0.6 severity + 0.25 exposure + 0.15 chains``; levels: < 4 low, < 6 medium,
< 8 high, else critical.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from inferstream.schemas.tasks.target_risk import RiskLevel

BUNDLE_NAME = "target-risk-heads"
HEADS = ("vulnerability_predictor", "severity_predictor", "chain_detector")
SEVERITY_POINTS = {"low": 1.5, "medium": 4.5, "high": 7.0, "critical": 10.0}
IMPACT = {
    "rce": 4.0, "sqli": 3.5, "auth_bypass": 3.5, "ssrf": 3.0, "xxe": 3.0, "file_upload": 3.0,
    "idor": 2.5, "xss": 2.0, "csrf": 1.5, "info_disclosure": 1.5,
}  # fmt: skip
WEIGHTS = (0.6, 0.25, 0.15)
LEVELS: tuple[tuple[float, RiskLevel], ...] = ((4.0, "low"), (6.0, "medium"), (8.0, "high"))
Named = dict[str, list[tuple[str, float]]]  # head -> (label, probability), in label order


def risk_level(score: float) -> RiskLevel:
    for bound, level in LEVELS:
        if score < bound:
            return level
    return "critical"


def risk_score(
    vulnerabilities: Sequence[tuple[str, float]],
    severity: Sequence[tuple[str, float]],
    chains: Sequence[tuple[str, float]],
) -> float:
    expected = sum(SEVERITY_POINTS[label] * p for label, p in severity)
    spared = 1.0
    for name, p in vulnerabilities:
        spared *= 1.0 - p * IMPACT.get(name, 2.0) / 4.0
    exposure = 10.0 * (1.0 - spared)
    chain = 10.0 * max((p for _, p in chains), default=0.0)
    score = WEIGHTS[0] * expected + WEIGHTS[1] * exposure + WEIGHTS[2] * chain
    return round(min(10.0, max(0.0, score)), 4)


def named_probabilities(
    labels: Mapping[str, Sequence[str]], probabilities: Mapping[str, Any], row: int
) -> Named:
    """One row of the heads' outputs as (label, probability) per head, each probability clipped
    to [0, 1] (a graph's output may stray from it by rounding): what the result reports and
    what its risk is computed from, in serving and in the training's monitor reference."""
    return {
        head: [
            (name, float(min(1.0, max(0.0, p))))
            for name, p in zip(labels[head], probabilities[head][row], strict=True)
        ]
        for head in HEADS
    }


def named_risk_score(named: Named) -> float:
    return risk_score(
        named["vulnerability_predictor"], named["severity_predictor"], named["chain_detector"]
    )
