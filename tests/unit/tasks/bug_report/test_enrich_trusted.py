"""bug_report enrich builds its enrichment without validating it: what it builds is what
validation would build, on any report the contract accepts."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from inferstream.plugins import Rejection
from inferstream.schemas import build_envelope
from inferstream.schemas.fast import encode_fast
from inferstream.tasks.bug_report.enrich import MAX_CANONICAL_CHARS, BugReportEnrichment, enrich
from inferstream.tasks.bug_report.quality import QualityPolicy

# Whitespace, control and combining characters: what normalisation removes or keeps.
_TEXT = st.text(alphabet=st.sampled_from("ab Z9é\u0301\t\n\r\x0b\x07\u2028\u00a0-."), max_size=60)


@settings(max_examples=300)
@given(
    title=_TEXT.filter(bool),
    description=_TEXT.filter(bool),
    steps=_TEXT,
    product=st.text(alphabet="abz-", min_size=1, max_size=8),
    component=st.text(alphabet="abz-", max_size=8),
    long_steps=st.integers(0, 3),
    policy=st.builds(
        QualityPolicy,
        min_description_length=st.integers(0, 40),
        require_steps=st.booleans(),
        require_logs=st.booleans(),
        min_score=st.floats(0, 1),
        min_title_length=st.integers(0, 20),
    ),
)
def test_the_built_enrichment_is_the_validated_one(
    title: str,
    description: str,
    steps: str,
    product: str,
    component: str,
    long_steps: int,
    policy: QualityPolicy,
) -> None:
    payload = {
        "title": title,
        "description": description,
        # Up to three 20,000-character fields: the canonical text past its maximum is cut.
        "steps_to_reproduce": (steps + "x" * 20_000 * long_steps)[:20_000],
        "product": product,
        "component": component,
    }
    if long_steps:
        payload["description"] = ("y" * 20_000)[: 20_000 - len(title)]
    built = enrich(build_envelope("bug_report", payload), policy)
    if isinstance(built, Rejection):
        assert built.reason == "title and description are empty after normalisation"
        return
    validated = BugReportEnrichment.model_validate(built.model_dump())
    assert built == validated
    assert built.model_fields_set == validated.model_fields_set
    assert list(vars(built)) == list(BugReportEnrichment.model_fields)
    assert encode_fast(built) == encode_fast(validated)
    assert 1 <= len(built.canonical_text) <= MAX_CANONICAL_CHARS
