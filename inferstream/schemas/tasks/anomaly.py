"""anomaly: anomaly detection on one feature vector or a window of timestamped vectors."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import AwareDatetime, ConfigDict, Field, model_validator

from .._base import FeatureContribution, FiniteFloat, WireModel
from ..result import ResultBase

__all__ = ["AnomalyPayload", "AnomalyResult", "FeatureMap", "WindowRecord"]

FeatureName = Annotated[str, Field(min_length=1, max_length=64)]
FeatureMap = Annotated[dict[FeatureName, FiniteFloat], Field(min_length=1, max_length=512)]


class WindowRecord(WireModel):
    """One timestamped observation of a window."""

    model_config = ConfigDict(extra="forbid")

    timestamp: AwareDatetime
    features: FeatureMap


class AnomalyPayload(WireModel):
    """Exactly one of ``features`` (a single observation) or ``window`` (1..1000 observations
    that all carry the same feature names)."""

    model_config = ConfigDict(extra="forbid")
    TASK: ClassVar[str] = "anomaly"

    series_id: Annotated[str, Field(min_length=1, max_length=128)]
    timestamp: AwareDatetime | None = None
    features: FeatureMap | None = None
    window: Annotated[list[WindowRecord], Field(min_length=1, max_length=1000)] | None = None

    @model_validator(mode="after")
    def _exactly_one_input(self) -> AnomalyPayload:
        if (self.features is None) == (self.window is None):
            raise ValueError("exactly one of 'features' or 'window' must be given")
        if self.window is not None:
            keys = self.window[0].features.keys()
            for i, record in enumerate(self.window[1:], start=1):
                if record.features.keys() != keys:
                    raise ValueError(
                        f"window[{i}].features has different feature names than window[0]"
                    )
        return self


class AnomalyResult(ResultBase):
    """The detector's score, the threshold it was compared with, and the verdict.

    ``series_id``, ``observed_at``, ``features`` (the scored observation) and the input
    position (partition and offset on ``enriched.anomaly``) let an infer worker rebuild its
    per-series windows from durable results alone.
    """

    model_config = ConfigDict(extra="forbid")

    task: Literal["anomaly"] = "anomaly"
    series_id: Annotated[str, Field(min_length=1, max_length=128)]
    observed_at: AwareDatetime
    features: FeatureMap
    input_partition: Annotated[int, Field(ge=0, le=1_000_000)]
    input_offset: Annotated[int, Field(ge=0)]
    score: FiniteFloat
    threshold: FiniteFloat
    is_anomaly: bool
    detector: Annotated[str, Field(min_length=1, max_length=64)]
    contributing_features: Annotated[list[FeatureContribution], Field(max_length=64)] = Field(
        default_factory=list
    )
