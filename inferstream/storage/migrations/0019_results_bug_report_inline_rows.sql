-- A bug_report row is ~3-5 kB, most of it the 384-float embedding (1.5 kB, stored EXTERNAL:
-- never compressed). Above the default toast_tuple_target (~2 kB) Postgres first tries pglz on
-- every compressible column (similar_items, dedup_terms, search_vector, the texts) before it
-- moves the embedding out of line: ~10 % of the backend's CPU on the sink's inserts, and the
-- embedding then still went to the TOAST table (another heap and index insert per row). With the
-- target at the most a page holds, a row is stored whole in the heap as long as it fits, which
-- leaves the rows' values and every query's answer as they were; a larger row (long logs) is
-- compressed and moved out of line as before.
ALTER TABLE results_bug_report SET (toast_tuple_target = 8160);
