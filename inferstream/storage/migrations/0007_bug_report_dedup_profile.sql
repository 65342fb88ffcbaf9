-- Dedup profiles and hybrid scoring (docs/dedup.md): which profile decided each row, and what the
-- infer stage needs to rebuild its lexical index and product/component prior on restart.
-- Rows written before this migration keep NULLs; they stay in the kNN index (embedding) but
-- carry no lexical terms and no product/component.
ALTER TABLE results_bug_report
    ADD COLUMN product               text,
    ADD COLUMN component             text,
    ADD COLUMN dedup_terms           jsonb,
    ADD COLUMN dedup_profile         text,
    ADD COLUMN dedup_profile_version text;
