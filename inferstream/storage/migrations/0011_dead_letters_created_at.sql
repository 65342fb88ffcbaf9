-- Dead-letter retention: `inferstream dlq purge` deletes rows by age, in batches, oldest first.
CREATE INDEX IF NOT EXISTS dead_letters_created_idx ON dead_letters (created_at, id);
