-- No planner statistics for the bug_report columns no query filters, joins, groups or sorts on.
--
-- Autovacuum's ANALYZE of results_bug_report computes each column's statistics from a sample
-- of up to 30,000 rows; for the embedding (a 384-float vector), similar_items and dedup_terms
-- (jsonb) and quality_flags (text[]) that meant sorting the sample by each: ~45 % of the whole
-- ANALYZE (10,000 pipeline rows: 370-680 -> 205-295 ms), paid again each time the table grows by
-- a tenth, in the same Postgres as the sink. These columns are only read back whole (the API's
-- rows, infer's history, the review queue's first candidate) or ordered by a distance computed
-- from them, which no statistic estimates; a plan sees only the type's default width for them.
-- Every column a query selects on keeps its statistics.
ALTER TABLE results_bug_report
    ALTER COLUMN embedding SET STATISTICS 0,
    ALTER COLUMN similar_items SET STATISTICS 0,
    ALTER COLUMN dedup_terms SET STATISTICS 0,
    ALTER COLUMN quality_flags SET STATISTICS 0;
