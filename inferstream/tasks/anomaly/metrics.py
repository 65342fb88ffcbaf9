"""anomaly task metrics (seed 003, Pynomaly, names none for detections; these follow its
vocabulary)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

SCORED = Counter("anomaly_observations_scored_total", "Observations scored.")
DETECTIONS = Counter(
    "anomaly_detections_total", "Observations flagged anomalous, by detector.", ["detector"]
)
SERIES = Gauge("anomaly_series_tracked", "Series whose window this infer worker holds.")
