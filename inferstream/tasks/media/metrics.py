"""media task metrics under DeepDetect's names (its ``deepdetect_*`` Prometheus metrics), for
what a stream worker does: predictions by label, analyses, their duration, decode failures."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

# The seed's names: deepdetect_predictions_total{label}, deepdetect_requests_total,
# deepdetect_request_duration_seconds, deepdetect_active_connections. A "request" here is one
# submission analysed by infer; "active" is the submissions of the batch in flight.
PREDICTIONS = Counter("deepdetect_predictions_total", "Total predictions", ["label"])
REQUESTS = Counter(
    "deepdetect_requests_total",
    "Submissions analysed, by media kind and outcome",
    ["kind", "outcome"],
)
DURATION = Histogram(
    "deepdetect_request_duration_seconds",
    "Decode + model time per batch of submissions",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
ACTIVE = Gauge("deepdetect_active_connections", "Submissions in the batch being analysed")
FRAMES = Counter("deepdetect_frames_scored_total", "Images and video frames run through the model")
REUSED = Counter(
    "deepdetect_results_reused_total", "Results reused for the same bytes and model version"
)
