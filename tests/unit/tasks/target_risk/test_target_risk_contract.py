"""target_risk: schema, domain validation and enrichment (the values of seed 000, BugPredict
AI), risk score."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from inferstream.plugins import Rejection
from inferstream.schemas import TargetRiskPayload, build_envelope, sample_payload
from inferstream.tasks.target_risk.enrich import TargetRiskEnrichment, check_domain, enrich
from inferstream.tasks.target_risk.features import (
    FEATURE_NAMES,
    TECHNOLOGIES,
    normalise_technology,
    technologies,
)
from inferstream.tasks.target_risk.risk import (
    HEADS,
    IMPACT,
    SEVERITY_POINTS,
    named_probabilities,
    named_risk_score,
    risk_level,
    risk_score,
)

SAMPLE = sample_payload("target_risk")


def _enrich(**overrides: Any) -> TargetRiskEnrichment | Rejection:
    return enrich(build_envelope("target_risk", {**SAMPLE, **overrides}))


def test_the_seed_target_is_enriched() -> None:
    # Seed 000's TargetSchema: domain, technology_stack[], has_api.
    result = _enrich(
        domain="BugPredict.Example.com",
        technology_stack=["Nginx/1.25", "Django", "postgres", "Okta"],
        description="Public REST API; users log in and upload files",
    )
    assert isinstance(result, TargetRiskEnrichment)
    assert result.domain == "bugpredict.example.com"
    assert result.technologies == ["nginx", "django", "postgresql"]
    assert result.unknown_technologies == ["okta"]
    assert result.keywords == ["login", "upload"]
    row = dict(zip(FEATURE_NAMES, result.features, strict=True))
    assert row["tech=nginx"] == row["tech=django"] == row["tech=postgresql"] == 1.0
    assert row["tech=php"] == 0.0
    assert row["has_api"] == 1.0
    assert row["unknown_technologies"] == 0.2
    assert row["technology_count"] == 0.4
    assert row["mentions=upload"] == 1.0


@pytest.mark.parametrize(
    "domain",
    ["bugpredict.local", "localhost.localhost", "api.internal", "box.test", "x.onion"],
)
def test_special_use_names_are_rejected_by_enrich(domain: str) -> None:
    result = _enrich(domain=domain)
    assert isinstance(result, Rejection)
    assert domain in result.reason
    assert "not a public host" in result.reason


@pytest.mark.parametrize(
    "domain",
    ["localhost", "10.0.0.1", "https://example.com", "example.com:443", "a_b.example.com",
     "example.com.", "-bad.example.com"],
)  # fmt: skip
def test_malformed_hostnames_never_reach_enrich(domain: str) -> None:
    with pytest.raises(ValidationError):
        TargetRiskPayload.model_validate({**SAMPLE, "domain": domain})
    assert check_domain(domain) is not None


def test_a_numeric_looking_tld_is_not_real() -> None:
    assert check_domain("example.c0m") is not None
    assert check_domain("example.xn--p1ai") is None
    assert check_domain("api.example.com") is None


def test_technology_names_are_normalised() -> None:
    assert normalise_technology("  Node.js ") == "node"
    assert normalise_technology("nginx/1.25.3") == "nginx"
    assert normalise_technology("Spring Boot") == "spring"
    assert normalise_technology("php 8.2") == "php"
    assert technologies(["PHP", "php/8", "WordPress"]) == (["php", "wordpress"], [])


def test_risk_levels_follow_the_score() -> None:
    assert [risk_level(s) for s in (0.0, 3.99, 4.0, 6.5, 8.0, 10.0)] == [
        "low", "low", "medium", "high", "critical", "critical",
    ]  # fmt: skip
    certain_critical = risk_score(
        [(v, 1.0) for v in IMPACT], [("critical", 1.0)], [("sqli->data_exfiltration", 1.0)]
    )
    assert certain_critical == 10.0
    assert risk_score([], [("low", 1.0)], []) == pytest.approx(0.6 * SEVERITY_POINTS["low"])


probability = st.floats(0.0, 1.0)


@given(
    vulns=st.lists(st.tuples(st.sampled_from(sorted(IMPACT)), probability), max_size=10),
    severity=st.lists(st.tuples(st.sampled_from(sorted(SEVERITY_POINTS)), probability), max_size=4),
    chains=st.lists(st.tuples(st.just("c"), probability), max_size=8),
    bump=probability,
)
def test_risk_score_is_bounded_and_grows_with_any_probability(
    vulns: list[tuple[str, float]],
    severity: list[tuple[str, float]],
    chains: list[tuple[str, float]],
    bump: float,
) -> None:
    total = sum(p for _, p in severity)
    severity = [(label, p / total) for label, p in severity] if total > 1 else severity
    score = risk_score(vulns, severity, chains)
    assert 0.0 <= score <= 10.0
    assert risk_score([*vulns, ("rce", bump)], severity, chains) >= score
    assert risk_score(vulns, severity, [*chains, ("d", bump)]) >= score


def test_feature_names_cover_every_technology() -> None:
    assert len(FEATURE_NAMES) == len(set(FEATURE_NAMES)) == len(TECHNOLOGIES) + 3 + 8


def test_head_outputs_are_named_in_label_order_and_clipped() -> None:
    labels = dict(zip(HEADS, (["rce", "xss"], ["low", "critical"], ["a", "b"]), strict=True))
    outputs = {h: np.asarray([[0.2, 0.7], [1.0000001, -1e-7]]) for h in HEADS}
    named = named_probabilities(labels, outputs, 1)
    for head in HEADS:
        assert named[head] == [(labels[head][0], 1.0), (labels[head][1], 0.0)]
    first = named_probabilities(labels, outputs, 0)
    assert named_risk_score(first) == risk_score(
        first["vulnerability_predictor"], first["severity_predictor"], first["chain_detector"]
    )
