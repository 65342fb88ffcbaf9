-- Gap-free keyset pagination for results tables.
--
-- created_at (now() = transaction START) and an identity column are both assigned before
-- commit, so a transaction that started earlier can commit later with a smaller value, and a
-- reader paging by those columns would step past it for good. Each row also records the id
-- of the transaction that wrote it; the API lists only rows of transactions older than the
-- oldest one still running (pg_snapshot_xmin), in (txid, seq) order. Any transaction that
-- commits later has a txid >= that horizon, so it sorts after every row already returned.
ALTER TABLE results_bug_report
    ADD COLUMN txid xid8 NOT NULL DEFAULT pg_current_xact_id(),
    ADD COLUMN seq bigint GENERATED ALWAYS AS IDENTITY;
CREATE INDEX results_bug_report_txid_seq_idx ON results_bug_report (txid, seq);
