-- Results of bug_report (seed 001, Bug Dedup): quality gate, MiniLM-L6 embedding, duplicates.
CREATE TABLE results_bug_report (
    result_id        char(64) PRIMARY KEY,
    submission_id    text NOT NULL UNIQUE,
    model_name       text NOT NULL,
    model_version    text NOT NULL,
    tokenizer_version text,
    quality_score    real NOT NULL CHECK (quality_score BETWEEN 0 AND 1),
    quality_flags    text[] NOT NULL DEFAULT '{}',
    low_quality      boolean NOT NULL,
    duplicate_status text NOT NULL
        CHECK (duplicate_status IN ('unique', 'possible_duplicate', 'duplicate')),
    duplicate_of     text,
    similar_items    jsonb NOT NULL DEFAULT '[]'::jsonb,
    content_sha256   char(64) NOT NULL,
    embedding        vector(384) NOT NULL,
    produced_at      timestamptz NOT NULL,
    -- When the submission was produced (from the x-submitted-at header): end-to-end latency.
    submitted_at     timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now()
);
-- Cosine kNN for "similar items" in the API (pgvector HNSW).
CREATE INDEX results_bug_report_embedding_hnsw
    ON results_bug_report USING hnsw (embedding vector_cosine_ops);
-- Keyset pagination: (created_at, result_id) is unique and ordered.
CREATE INDEX results_bug_report_created_idx ON results_bug_report (created_at, result_id);
CREATE INDEX results_bug_report_duplicate_of_idx ON results_bug_report (duplicate_of)
    WHERE duplicate_of IS NOT NULL;
