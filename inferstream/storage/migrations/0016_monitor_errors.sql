-- The model monitor counts a version's failed inferences too (kind 'error': dead letters whose
-- headers name the version that failed), so a canary's error rate can roll it back
-- (INFERSTREAM_MONITOR_ERROR_RATE_MAX). 0015 allowed only score, input and latency.
ALTER TABLE monitor_counts DROP CONSTRAINT monitor_counts_kind_check;
ALTER TABLE monitor_counts
    ADD CONSTRAINT monitor_counts_kind_check
    CHECK (kind IN ('score', 'input', 'latency', 'error'));
