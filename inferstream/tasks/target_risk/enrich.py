"""target_risk enrichment (pure): a real public hostname, the normalised stack, the features."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from inferstream.plugins import Rejection
from inferstream.schemas import Envelope, TargetRiskPayload, validate_hostname
from inferstream.tasks.target_risk.features import (
    FEATURE_NAMES,
    encode_parts,
    keywords,
    technologies,
)

# RFC 6761 / 6762 / 7686 special-use names and private-use TLDs: never a public target.
SPECIAL_USE_TLDS = frozenset(
    {"localhost", "local", "invalid", "test", "onion", "internal", "lan", "home", "corp", "arpa"}
)


class TargetRiskEnrichment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    domain: str
    technologies: list[str]
    unknown_technologies: list[str]
    keywords: list[str]
    features: Annotated[
        list[float], Field(min_length=len(FEATURE_NAMES), max_length=len(FEATURE_NAMES))
    ]


def check_domain(domain: str) -> str | None:
    """Why ``domain`` is not a real public hostname, or None when it is."""
    try:
        host = validate_hostname(domain)
    except ValueError as err:
        return f"domain {domain!r}: {err}"
    tld = host.rsplit(".", 1)[-1]
    if tld in SPECIAL_USE_TLDS:
        return f"domain {domain!r}: .{tld} is a special-use or private name, not a public host"
    if not (tld.isalpha() or tld.startswith("xn--")) or len(tld) < 2:
        return f"domain {domain!r}: top-level label {tld!r} is not a real TLD"
    return None


def enrich(envelope: Envelope[Any]) -> TargetRiskEnrichment | Rejection:
    payload = envelope.payload
    if not isinstance(payload, TargetRiskPayload):
        return Rejection(f"payload is {type(payload).__name__}, expected TargetRiskPayload")
    problem = check_domain(payload.domain)
    if problem is not None:
        return Rejection(problem)
    known, unknown = technologies(payload.technology_stack)
    mentioned = keywords(payload.description)
    return TargetRiskEnrichment(
        domain=payload.domain,
        technologies=known,
        unknown_technologies=unknown,
        keywords=mentioned,
        features=encode_parts(known, len(unknown), payload.has_api, mentioned),
    )
