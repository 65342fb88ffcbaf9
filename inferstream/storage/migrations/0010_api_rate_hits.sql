-- Rate limits of the results API shared by every replica (before: counted per process, so N
-- replicas admitted N times the limit). One row per admitted request within the window, per
-- key and operation class; `at` is the API's wall clock in seconds. Rows older than the window
-- are deleted by the next request of the same key and class.
CREATE TABLE api_rate_hits (
    key_prefix text NOT NULL,
    op         text NOT NULL,
    at         double precision NOT NULL
);
CREATE INDEX api_rate_hits_key_idx ON api_rate_hits (key_prefix, op, at);
