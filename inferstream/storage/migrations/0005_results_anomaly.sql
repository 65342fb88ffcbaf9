-- Results of the anomaly task (seed 003, Pynomaly): one scored observation per submission.
-- series_id, observed_at, features and the input position (partition, offset of the record on
-- enriched.anomaly) are what an infer worker needs to rebuild its per-series windows.
CREATE TABLE results_anomaly (
    result_id             char(64) PRIMARY KEY,
    submission_id         text NOT NULL UNIQUE,
    model_name            text,
    model_version         text,
    series_id             text NOT NULL,
    observed_at           timestamptz NOT NULL,
    input_partition       integer NOT NULL CHECK (input_partition >= 0),
    input_offset          bigint NOT NULL CHECK (input_offset >= 0),
    features              jsonb NOT NULL,
    score                 double precision NOT NULL,
    threshold             double precision NOT NULL,
    is_anomaly            boolean NOT NULL,
    detector              text NOT NULL,
    contributing_features jsonb NOT NULL DEFAULT '[]'::jsonb,
    produced_at           timestamptz NOT NULL,
    submitted_at          timestamptz,
    created_at            timestamptz NOT NULL DEFAULT now(),
    -- Gap-free keyset pagination (see 0003): commit order, then insertion order.
    txid                  xid8 NOT NULL DEFAULT pg_current_xact_id(),
    seq                   bigint GENERATED ALWAYS AS IDENTITY
);
CREATE INDEX results_anomaly_txid_seq_idx ON results_anomaly (txid, seq);
-- Window rebuild and per-series queries, in stream order.
CREATE INDEX results_anomaly_series_idx
    ON results_anomaly (series_id, input_partition, input_offset);
CREATE INDEX results_anomaly_flagged_idx ON results_anomaly (observed_at) WHERE is_anomaly;
