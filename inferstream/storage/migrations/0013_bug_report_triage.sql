-- Duplicate triage for bug reports: the report's own text beside its verdict, and the
-- reviewers' decisions on possible duplicates.
--
-- The text columns hold the report as the infer stage saw it, each field cut to an excerpt
-- (the full payload stays on the submissions topic and in the archive): the web view shows two
-- reports side by side and searches titles. Rows written before this migration keep NULLs.
ALTER TABLE results_bug_report
    ADD COLUMN title              text,
    ADD COLUMN description        text,
    ADD COLUMN steps_to_reproduce text,
    ADD COLUMN logs               text;

-- One row per decision, never updated: the audit trail (who, when, what the model had said).
-- The latest decision of a submission is the one that counts; reads override the model's
-- duplicate_status / duplicate_of with it.
CREATE TABLE bug_report_reviews (
    id                  bigserial PRIMARY KEY,
    submission_id       text NOT NULL,
    decision            text NOT NULL
        CHECK (decision IN ('confirm', 'not_duplicate', 'other_original')),
    -- The original the reviewer settled on: the model's for confirm, their pick for
    -- other_original, NULL for not_duplicate.
    original_id         text,
    model_status        text NOT NULL,
    model_duplicate_of  text,
    note                text NOT NULL DEFAULT '' CHECK (length(note) <= 2000),
    decided_by_key      text NOT NULL,
    decided_by_name     text NOT NULL,
    decided_at          timestamptz NOT NULL DEFAULT now(),
    CHECK ((decision = 'not_duplicate') = (original_id IS NULL))
);
CREATE INDEX bug_report_reviews_submission_idx
    ON bug_report_reviews (submission_id, decided_at DESC, id DESC);
-- The review queue: undecided possible duplicates, newest first.
CREATE INDEX results_bug_report_possible_idx
    ON results_bug_report (created_at DESC)
    WHERE duplicate_status = 'possible_duplicate';
