"""The model monitor: drift (PSI against each version's training reference), live accuracy on
feedback labels and the latency SLO per model version, read from the stream; Prometheus gauges,
monitor.<task> events and the automatic canary rollback (docs/monitoring.md)."""
