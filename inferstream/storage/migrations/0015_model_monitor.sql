-- The model monitor's state (inferstream.monitor): windowed distributions and feedback labels.
-- Written with the monitor's consumed offsets (consumer_offsets) in one transaction, so a
-- kill -9 neither loses nor double-counts a record: the restart resumes from the offsets
-- stored with the counts (the role faust's changelog-backed tables would have had; faust's
-- recovery lost its table state on the embedded broker, see docs/monitoring.md).

-- Counts per bucket of time and per bin: a version's scores (kind 'score'), its submission-to-
-- result latency ('latency', bins = inferstream.monitor.psi.LATENCY_EDGES_MS) and the input
-- features ('input', binned on the reference of the production version they were counted under).
CREATE TABLE monitor_counts (
    task          text NOT NULL,
    model_name    text NOT NULL,
    model_version text NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('score', 'input', 'latency')),
    feature       text NOT NULL DEFAULT '',
    bucket_start  timestamptz NOT NULL,
    bin           integer NOT NULL CHECK (bin >= 0),
    count         bigint NOT NULL CHECK (count >= 0),
    PRIMARY KEY (task, model_name, model_version, kind, feature, bucket_start, bin)
);
CREATE INDEX monitor_counts_recent ON monitor_counts (task, bucket_start);

-- Ground truth from feedback.<task>: the last label given for a submission. Live accuracy is
-- this joined with the prediction the sink stored (results_<task>: one row per submission,
-- with the version that served it).
CREATE TABLE monitor_feedback (
    task          text NOT NULL,
    submission_id text NOT NULL,
    actual        text NOT NULL,
    received_at   timestamptz NOT NULL,
    PRIMARY KEY (task, submission_id)
);
CREATE INDEX monitor_feedback_recent ON monitor_feedback (task, received_at);
