"""bug_report task settings (``INFERSTREAM_BUG_REPORT_*`` or ``[bug_report]`` in the config):
the dedup profile in use, the `seed` profile's score bands and the quality gate's numbers.

The defaults are those of seed 001 (Bug Dedup, the system the task reproduces): duplicate at a
MiniLM cosine >= 0.85, possible >= 0.70; minimum description length 20, steps to reproduce
required, logs not required, minimum quality score 0.6.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Self

from pydantic import Field, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from inferstream.settings import ComponentSettings
from inferstream.tasks.bug_report.dedup import DEFAULT_PROFILE, PROFILES, DedupProfile, get_profile
from inferstream.tasks.bug_report.quality import QualityPolicy


class BugReportSettings(ComponentSettings):
    section = "bug_report"
    model_config = SettingsConfigDict(env_prefix="INFERSTREAM_BUG_REPORT_", extra="forbid")

    dedup_profile: str = Field(
        DEFAULT_PROFILE,
        description="dedup profile of the infer stage: hybrid (calibrated weighted mean, the"
        " default) or seed (the raw MiniLM cosine bands of seed 001, Bug Dedup); docs/dedup.md",
    )
    seed_duplicate_threshold: float = Field(
        0.85,
        ge=-1.0,
        le=1.0,
        description="the seed profile's duplicate band: cosine >= this is a duplicate",
    )
    seed_possible_threshold: float = Field(
        0.70,
        ge=-1.0,
        le=1.0,
        description="the seed profile's possible band: cosine >= this is a possible duplicate"
        " (at most the duplicate threshold)",
    )
    quality_min_description_length: int = Field(
        20, ge=0, le=20_000, description="quality gate: shorter descriptions are flagged"
    )
    quality_require_steps: bool = Field(
        True, description="quality gate: flag reports without steps to reproduce"
    )
    quality_require_logs: bool = Field(False, description="quality gate: flag reports without logs")
    quality_min_title_length: int = Field(
        10, ge=0, le=300, description="quality gate: shorter titles are flagged"
    )
    quality_min_score: float = Field(
        0.6,
        ge=0.0,
        le=1.0,
        description="quality gate: a score below this marks the report low_quality (kept and"
        " deduplicated, never rejected for quality alone)",
    )

    @field_validator("dedup_profile")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in PROFILES:
            raise ValueError(
                f"unknown dedup profile {value!r}; known: {', '.join(sorted(PROFILES))}"
            )
        return value

    @model_validator(mode="after")
    def _bands_ordered(self) -> Self:
        if self.seed_possible_threshold > self.seed_duplicate_threshold:
            raise ValueError(
                f"seed_possible_threshold {self.seed_possible_threshold} is above"
                f" seed_duplicate_threshold {self.seed_duplicate_threshold}"
            )
        return self

    def profile(self) -> DedupProfile:
        """The dedup profile in use; the seed profile with the configured bands (a changed band
        is stamped on every result through the profile version)."""
        profile = get_profile(self.dedup_profile)
        if profile.name != "seed":
            return profile
        bands = (self.seed_duplicate_threshold, self.seed_possible_threshold)
        if bands == (profile.duplicate, profile.possible):
            return profile
        version = f"{profile.version}+dup{bands[0]:g}-possible{bands[1]:g}"
        return replace(profile, version=version, duplicate=bands[0], possible=bands[1])

    def quality_policy(self) -> QualityPolicy:
        return QualityPolicy(
            min_description_length=self.quality_min_description_length,
            require_steps=self.quality_require_steps,
            require_logs=self.quality_require_logs,
            min_score=self.quality_min_score,
            min_title_length=self.quality_min_title_length,
        )
