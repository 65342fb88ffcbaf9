"""bug_report task settings (``INFERSTREAM_BUG_REPORT_*`` or ``[bug_report]`` in the config)."""

from __future__ import annotations

from pydantic import field_validator
from pydantic_settings import SettingsConfigDict

from inferstream.settings import ComponentSettings
from inferstream.tasks.bug_report.dedup import DEFAULT_PROFILE, PROFILES


class BugReportSettings(ComponentSettings):
    section = "bug_report"
    model_config = SettingsConfigDict(env_prefix="INFERSTREAM_BUG_REPORT_", extra="forbid")

    # Dedup profile of the infer stage: "hybrid" (calibrated, default) or "seed" (the raw MiniLM
    # cosine bands, 0.85 / 0.70, of the Bug Dedup system the task reproduces; docs/dedup.md).
    dedup_profile: str = DEFAULT_PROFILE

    @field_validator("dedup_profile")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in PROFILES:
            raise ValueError(
                f"unknown dedup profile {value!r}; known: {', '.join(sorted(PROFILES))}"
            )
        return value
