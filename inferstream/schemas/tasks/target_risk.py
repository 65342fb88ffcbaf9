"""target_risk: vulnerability / severity / attack-chain risk prediction for a target host."""

from __future__ import annotations

import re
from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, ConfigDict, Field

from .._base import Probability, WireModel
from ..result import ResultBase

__all__ = [
    "AttackChain",
    "RiskLevel",
    "SeverityPrediction",
    "TargetRiskPayload",
    "TargetRiskResult",
    "VulnerabilityPrediction",
    "validate_hostname",
]

RiskLevel = Literal["low", "medium", "high", "critical"]

_LABEL_RE = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def validate_hostname(value: str) -> str:
    """Return ``value`` lowercased if it is a DNS hostname with at least one dot, else raise.

    RFC 1123 labels (letters, digits, inner hyphens, 1..63 chars), total <= 253; IP addresses,
    schemes, paths, ports, underscores, whitespace and a trailing dot are rejected.
    Internationalised names must be given in punycode (``xn--``).
    """
    host = value.lower()
    if len(host) > 253:
        raise ValueError("hostname must be at most 253 characters")
    labels = host.split(".")
    if len(labels) < 2:
        raise ValueError("must be a fully qualified hostname with at least one dot")
    for label in labels:
        if not _LABEL_RE.match(label):
            raise ValueError(
                f"invalid hostname label {label!r}: use 1-63 of a-z, 0-9 and inner '-' "
                "(no scheme, port, path, underscore or IP address)"
            )
    if labels[-1].isdigit():
        raise ValueError("must be a hostname, not an IP address (top-level label is numeric)")
    return host


Hostname = Annotated[str, Field(min_length=3, max_length=253), AfterValidator(validate_hostname)]


class TargetRiskPayload(WireModel):
    """A target to assess: its domain, technology stack and whether it exposes an API."""

    model_config = ConfigDict(extra="forbid")
    TASK: ClassVar[str] = "target_risk"

    domain: Hostname
    technology_stack: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=64)]], Field(max_length=50)
    ] = Field(default_factory=list)
    has_api: bool
    description: Annotated[str, Field(max_length=5000)] = ""


class VulnerabilityPrediction(WireModel):
    """Probability that the target has a vulnerability of this class."""

    model_config = ConfigDict(extra="forbid")

    vulnerability_class: Annotated[str, Field(min_length=1, max_length=64)]
    probability: Probability


class SeverityPrediction(WireModel):
    """The most likely severity and its probability."""

    model_config = ConfigDict(extra="forbid")

    label: RiskLevel
    probability: Probability


class AttackChain(WireModel):
    """A likely attack chain and its probability."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=128)]
    probability: Probability


class TargetRiskResult(ResultBase):
    """Overall risk (0-10 score and level) plus the per-head predictions."""

    model_config = ConfigDict(extra="forbid")

    task: Literal["target_risk"] = "target_risk"
    risk_score: Annotated[float, Field(ge=0.0, le=10.0, allow_inf_nan=False)]
    risk_level: RiskLevel
    vulnerabilities: Annotated[list[VulnerabilityPrediction], Field(max_length=64)] = Field(
        default_factory=list
    )
    severity: SeverityPrediction
    chains: Annotated[list[AttackChain], Field(max_length=64)] = Field(default_factory=list)
