-- similar_items and dedup_terms as json, not jsonb.
--
-- The sink writes both on every row and they are read back whole (the API's rows, infer's
-- index rebuild, the web views) or by a path (the review queue's similar_items->0->>...), which
-- json answers the same; no index, constraint, equality, DISTINCT or GROUP BY uses them. jsonb
-- input parses each value into its binary form: ~14 us of the sink's backend per pipeline row
-- for the two, against ~4.5 us for json's validation of the text (same rows, COPYed alone), and
-- the binary form is larger (~1,050 -> ~770 bytes a row). json keeps the text as written: the
-- keys in the order infer wrote them (jsonb sorted them), so a restart rebuilds the dedup
-- index's terms in the order the live index saw them.
-- The column is rewritten (a table lock for as long as that takes on a large table).
ALTER TABLE results_bug_report ALTER COLUMN similar_items DROP DEFAULT;
ALTER TABLE results_bug_report
    ALTER COLUMN similar_items TYPE json USING similar_items::json,
    ALTER COLUMN dedup_terms TYPE json USING dedup_terms::json;
ALTER TABLE results_bug_report ALTER COLUMN similar_items SET DEFAULT '[]'::json;
