-- HNSW maintenance off the sink's hot path (docs/architecture.md).
--
-- One HNSW index over the whole table was updated by every row the sink inserted: 99 % of the
-- sink's database time. From here on no HNSW index covers newly inserted rows. `inferstream db
-- maintain` closes the oldest rows into seq ranges and builds a partial HNSW index per closed
-- range (WHERE seq >= lo AND seq < hi, CREATE INDEX CONCURRENTLY, see storage/vector_ranges.py);
-- queries probe those indexes and scan the open tail (seq >= the last closed hi) exactly,
-- through the btree below. The table itself stays unpartitioned, so result_id and
-- submission_id remain globally unique and the sink's ON CONFLICT keeps exactly-once.
--
-- On an existing data dir the rows indexed so far fall into the open tail: queries stay exact
-- (a brute-force scan) until the next `inferstream db maintain` indexes them again.
DROP INDEX IF EXISTS results_bug_report_embedding_hnsw;
CREATE INDEX results_bug_report_seq_idx ON results_bug_report (seq);
