-- Results of the churn task (seed 004, MLOps platform): probability, label and its reasons.
CREATE TABLE results_churn (
    result_id     char(64) PRIMARY KEY,
    submission_id text NOT NULL UNIQUE,
    model_name    text,
    model_version text,
    probability   double precision NOT NULL CHECK (probability BETWEEN 0 AND 1),
    label         boolean NOT NULL,
    threshold     double precision NOT NULL CHECK (threshold BETWEEN 0 AND 1),
    top_features  jsonb NOT NULL DEFAULT '[]'::jsonb,  -- [{name, contribution}]
    produced_at   timestamptz NOT NULL,
    submitted_at  timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    -- Gap-free keyset pagination (see 0003): commit order, then insertion order.
    txid          xid8 NOT NULL DEFAULT pg_current_xact_id(),
    seq           bigint GENERATED ALWAYS AS IDENTITY
);
CREATE INDEX results_churn_txid_seq_idx ON results_churn (txid, seq);
