-- Model lifecycle: the alias history (who moved which alias, when, why), pinned aliases, the
-- canary's traffic fraction, a NOTIFY that wakes the infer workers when an alias moves, and the
-- table where versions other than the served one keep their results (shadow runs, backfills).

-- One row per alias move, never updated. Rollback reads the previous version from here, and the
-- reason of an automatic rollback (canary SLO or drift breach) is kept beside who did it.
CREATE TABLE model_alias_history (
    id               bigserial PRIMARY KEY,
    name             text NOT NULL,
    alias            text NOT NULL,
    version          text,              -- NULL: the alias was cleared
    previous_version text,
    action           text NOT NULL
        CHECK (action IN ('promote', 'rollback', 'pin', 'unpin', 'clear')),
    reason           text NOT NULL DEFAULT '' CHECK (length(reason) <= 2000),
    actor            text NOT NULL,
    fraction         double precision,
    at               timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX model_alias_history_name_alias ON model_alias_history (name, alias, id DESC);

-- A pinned alias is not moved by promote or by an automatic rollback until it is unpinned.
-- fraction: the share of keys the alias serves (canary only; NULL = all its traffic).
ALTER TABLE model_aliases
    ADD COLUMN pinned   boolean NOT NULL DEFAULT false,
    ADD COLUMN fraction double precision CHECK (fraction IS NULL OR (fraction > 0 AND fraction <= 1));

-- Infer workers LISTEN on this channel (with polling as the fallback when a notification is
-- missed, e.g. across a reconnect); the payload is the model name.
CREATE FUNCTION model_aliases_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('inferstream_model_aliases', COALESCE(NEW.name, OLD.name));
    RETURN NULL;
END;
$$;
CREATE TRIGGER model_aliases_notify
    AFTER INSERT OR UPDATE OR DELETE ON model_aliases
    FOR EACH ROW EXECUTE FUNCTION model_aliases_notify();

-- Results of a version that is not the one served for that submission: the shadow alias's
-- results and backfills with a chosen version. The task's results table keeps exactly one row
-- per submission (the version its alias served); here a submission has one row per version, so
-- rewriting the same (task, submission, version) is a no-op and replays stay exactly-once.
CREATE TABLE model_results (
    task          text NOT NULL,
    submission_id text NOT NULL,
    model_name    text NOT NULL,
    model_version text NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('shadow', 'backfill')),
    result_id     text NOT NULL,
    result        jsonb NOT NULL,
    latency_ms    double precision,
    produced_at   timestamptz NOT NULL,
    written_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (task, submission_id, model_name, model_version)
);
CREATE INDEX model_results_version ON model_results (model_name, model_version, produced_at);
