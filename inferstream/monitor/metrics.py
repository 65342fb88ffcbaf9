"""The monitor's Prometheus metrics (served on the worker's /metrics). The alert rules in
infra/compose/prometheus/model-alerts.yml read these names."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

PSI = Gauge(
    "inferstream_monitor_psi",
    "PSI of a version's scores (kind=score) or of an input feature (kind=input) over the window "
    "against the version's training reference; absent until min_samples results.",
    ["task", "model", "version", "kind", "feature"],
)
ACCURACY = Gauge(
    "inferstream_monitor_accuracy",
    "Live accuracy of a version on the feedback labels received in the window.",
    ["task", "model", "version"],
)
LABELLED = Gauge(
    "inferstream_monitor_labelled",
    "Feedback labels joined with a version's predictions in the window.",
    ["task", "model", "version"],
)
SAMPLES = Gauge(
    "inferstream_monitor_samples",
    "Results of a version in the window.",
    ["task", "model", "version"],
)
LATENCY_P95 = Gauge(
    "inferstream_monitor_latency_p95_seconds",
    "Submission-to-result p95 of a version over the window (upper edge of its bucket).",
    ["task", "model", "version"],
)
ERROR_RATE = Gauge(
    "inferstream_monitor_error_rate",
    "Share of a version's records its inference failed on (dead letters naming it) over the "
    "window; absent until min_samples records.",
    ["task", "model", "version"],
)
BREACHES = Gauge(
    "inferstream_monitor_breaches",
    "Thresholds a version breaches in the window (drift, latency, accuracy).",
    ["task", "model", "version"],
)
ROLLBACKS = Counter(
    "inferstream_monitor_canary_rollbacks",
    "Automatic canary rollbacks, by what was breached.",
    ["task", "model", "breach"],
)
ROLLBACK_FAILURES = Counter(
    "inferstream_monitor_canary_rollback_failures",
    "Automatic rollbacks the registry refused (a pinned canary) or could not do.",
    ["task", "model"],
)
