-- Results of the target_risk task (seed 000, BugPredict AI): three heads and the overall risk.
CREATE TABLE results_target_risk (
    result_id       char(64) PRIMARY KEY,
    submission_id   text NOT NULL UNIQUE,
    model_name      text,
    model_version   text,
    risk_score      double precision NOT NULL CHECK (risk_score BETWEEN 0 AND 10),
    risk_level      text NOT NULL CHECK (risk_level IN ('low', 'medium', 'high', 'critical')),
    vulnerabilities jsonb NOT NULL DEFAULT '[]'::jsonb,  -- [{vulnerability_class, probability}]
    severity        jsonb NOT NULL,                      -- {label, probability}
    chains          jsonb NOT NULL DEFAULT '[]'::jsonb,  -- [{name, probability}]
    produced_at     timestamptz NOT NULL,
    submitted_at    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    -- Gap-free keyset pagination (see 0003): commit order, then insertion order.
    txid            xid8 NOT NULL DEFAULT pg_current_xact_id(),
    seq             bigint GENERATED ALWAYS AS IDENTITY
);
CREATE INDEX results_target_risk_txid_seq_idx ON results_target_risk (txid, seq);
CREATE INDEX results_target_risk_level_idx ON results_target_risk (risk_level);
