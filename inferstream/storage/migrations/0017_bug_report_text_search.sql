-- Full-text search over the bug reports' own text (the web view's and the review API's search).
--
-- The embedded Postgres has no pg_trgm, so an ILIKE '%word%' scanned every row; the built-in
-- text search has a GIN index instead. The column is generated from the text columns of
-- migration 0013 (title weighted above the description, then steps and logs), so every writer
-- keeps it current without knowing it exists. 'english' stems words: "crashes" finds "crash".
-- Rows from before the text columns have NULL text and an empty vector: they match no search.
ALTER TABLE results_bug_report
    ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A')
        || setweight(to_tsvector('english'::regconfig, coalesce(description, '')), 'B')
        || setweight(to_tsvector('english'::regconfig, coalesce(steps_to_reproduce, '')), 'C')
        || setweight(to_tsvector('english'::regconfig, coalesce(logs, '')), 'D')
    ) STORED;
CREATE INDEX results_bug_report_search_idx ON results_bug_report USING gin (search_vector);
