"""Seed 004 (MLOps platform) ML metrics for the churn task: predictions and their labels."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

PREDICTIONS = Counter(
    "churn_predictions_total", "Churn predictions made, by predicted label.", ["label"]
)
PROBABILITY = Histogram(
    "churn_prediction_probability",
    "Predicted churn probabilities (a shift of this distribution is a drift signal).",
    buckets=(0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95),
)
