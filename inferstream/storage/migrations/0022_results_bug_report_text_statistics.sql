-- No planner statistics for the bug_report text columns no query selects on: the report's four
-- text fields and the content digest (0020 did the same for the embedding and the json columns).
--
-- Autovacuum's ANALYZE of results_bug_report sorted its sample by each of these (a most common
-- values list and a histogram of long, nearly unique texts) in the Postgres the sink writes to:
-- 5,064 pipeline rows, 4 alternated rounds of 10 ANALYZEs: 48-56 -> 33-36 ms an ANALYZE. In
-- `bench overhead` (N = 20,000) one autovacuum ANALYZE of the table falls in the window or not,
-- ~0.14 s of the ~1.6 s Postgres spends there. Text search goes through search_vector, whose
-- statistics are kept (the planner estimates @@ from its most common lexemes); nothing filters,
-- joins, groups or sorts on these columns (the one filter, eval_feedback's `title IS NOT NULL`,
-- reads the whole table whatever its estimate); a plan sees only the type's default width for
-- them. Every column a query selects on keeps its statistics.
ALTER TABLE results_bug_report
    ALTER COLUMN title SET STATISTICS 0,
    ALTER COLUMN description SET STATISTICS 0,
    ALTER COLUMN steps_to_reproduce SET STATISTICS 0,
    ALTER COLUMN logs SET STATISTICS 0,
    ALTER COLUMN content_sha256 SET STATISTICS 0;
