"""Per-task payload and result models (one module per task)."""

from .anomaly import (
    AnomalyPayload,
    AnomalyResult,
    WindowRecord,
)
from .bug_report import BugReportPayload, BugReportResult, SimilarReport
from .churn import ChurnPayload, ChurnResult
from .media import FramePrediction, MediaBlobRef, MediaPayload, MediaResult, TopKLabel
from .target_risk import (
    AttackChain,
    SeverityPrediction,
    TargetRiskPayload,
    TargetRiskResult,
    VulnerabilityPrediction,
    validate_hostname,
)

__all__ = [
    "AnomalyPayload",
    "AnomalyResult",
    "AttackChain",
    "BugReportPayload",
    "BugReportResult",
    "ChurnPayload",
    "ChurnResult",
    "FramePrediction",
    "MediaBlobRef",
    "MediaPayload",
    "MediaResult",
    "SeverityPrediction",
    "SimilarReport",
    "TargetRiskPayload",
    "TargetRiskResult",
    "TopKLabel",
    "VulnerabilityPrediction",
    "WindowRecord",
    "validate_hostname",
]
