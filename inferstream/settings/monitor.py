"""Monitor settings: the drift, accuracy and latency thresholds of the model monitor, and its
windows. The defaults are seed 004's (the MLOps platform): drift under 5 %, accuracy above
85 %, p95 under 200 ms."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from inferstream.settings.base import ComponentSettings


class MonitorSettings(ComponentSettings):
    section = "monitor"
    model_config = SettingsConfigDict(env_prefix="INFERSTREAM_MONITOR_", extra="forbid")

    psi_threshold: float = Field(
        0.05,
        gt=0,
        description="PSI above which a version's score (or an input feature) has drifted from "
        "its training reference (seed 004, the MLOps platform: drift < 5 %)",
    )
    accuracy_min: float = Field(
        0.85, ge=0, le=1, description="Live accuracy under this (on feedback labels) is a breach"
    )
    latency_p95_ms: float = Field(
        200.0, gt=0, description="The SLO: submission-to-result p95 per version, in ms"
    )
    error_rate_max: float = Field(
        0.02,
        ge=0,
        le=1,
        description="Share of a version's records its inference failed on (dead letters "
        "naming the version) above which it breaches; a canary over it while production is "
        "not is rolled back",
    )
    bucket_s: int = Field(60, ge=1, description="Granularity of the stored distributions (s)")
    window_s: int = Field(
        600, ge=1, description="Sliding window the PSI, accuracy and p95 are computed over (s)"
    )
    min_samples: int = Field(
        500, ge=1, description="Results a version needs in the window before its PSI counts"
    )
    min_feedback: int = Field(
        100, ge=1, description="Labels a version needs in the window before its accuracy counts"
    )
    evaluate_every_s: float = Field(
        10.0,
        gt=0,
        description="How often the monitor evaluates the window, sets its gauges and emits "
        "its events (s)",
    )
    canary_rollback: bool = Field(
        True, description="Roll the canary alias back automatically when it breaches"
    )
