-- Foundation tables shared by every task (docs/architecture.md describes the storage).
CREATE EXTENSION IF NOT EXISTS vector;

-- Durable status of every submission the pipeline has seen (read by the results API).
CREATE TABLE submissions (
    submission_id text PRIMARY KEY,
    task          text NOT NULL,
    tenant        text NOT NULL DEFAULT 'default',
    status        text NOT NULL CHECK (status IN ('processing', 'done', 'rejected')),
    result_id     text,
    reason        text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX submissions_task_status_idx ON submissions (task, status, updated_at);

-- Offsets consumed by the sink, written in the same transaction as its rows (exactly-once).
CREATE TABLE consumer_offsets (
    group_id    text    NOT NULL,
    topic       text    NOT NULL,
    partition   integer NOT NULL CHECK (partition >= 0),
    next_offset bigint  NOT NULL CHECK (next_offset >= 0),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (group_id, topic, partition)
);

-- Every record a stage rejected, with the original bytes and the reason.
CREATE TABLE dead_letters (
    id                 bigserial PRIMARY KEY,
    submission_id      text,
    task               text,
    stage              text   NOT NULL,
    kind               text   NOT NULL CHECK (kind IN ('rejected', 'poison')),
    reason             text   NOT NULL,
    original_topic     text   NOT NULL,
    original_partition integer NOT NULL,
    original_offset    bigint NOT NULL,
    payload            bytea  NOT NULL,
    headers            jsonb  NOT NULL DEFAULT '{}'::jsonb,
    created_at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (original_topic, original_partition, original_offset, stage)
);
CREATE INDEX dead_letters_submission_idx ON dead_letters (submission_id);

-- Model bundles (graph + preprocessing + metadata) stored under models/<name>/<version>/.
CREATE TABLE model_versions (
    name       text NOT NULL,
    version    text NOT NULL,
    sha256     char(64) NOT NULL,
    uri        text NOT NULL,
    metadata   jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (name, version)
);

-- Aliases (production, shadow, ...) that workers load; rollback = move the alias.
CREATE TABLE model_aliases (
    name       text NOT NULL,
    alias      text NOT NULL,
    version    text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (name, alias),
    FOREIGN KEY (name, version) REFERENCES model_versions (name, version)
);

-- API keys: only a hash is stored; key_prefix is the public lookup part shown in listings.
CREATE TABLE api_keys (
    id           bigserial PRIMARY KEY,
    key_prefix   text NOT NULL UNIQUE,
    key_hash     text NOT NULL,
    name         text NOT NULL,
    role         text NOT NULL CHECK (role IN ('reader', 'producer', 'admin')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz,
    last_used_at timestamptz
);
