-- Results of the media task (DeepDetect): the real/fake verdict of an image or video, the
-- ImageNet top-k of the backbone, per-frame scores for video, the thumbnail artifact's key.
CREATE TABLE results_media (
    result_id        char(64) PRIMARY KEY,
    submission_id    text NOT NULL UNIQUE,
    model_name       text,
    model_version    text,
    media_kind       text NOT NULL CHECK (media_kind IN ('image', 'video')),
    label            text NOT NULL,
    confidence       double precision NOT NULL CHECK (confidence BETWEEN 0 AND 1),
    fake_probability double precision NOT NULL CHECK (fake_probability BETWEEN 0 AND 1),
    top_k            jsonb NOT NULL DEFAULT '[]'::jsonb,  -- [{label, confidence}]
    frames           jsonb NOT NULL DEFAULT '[]'::jsonb,  -- [{index, timestamp_s, label, confidence}]
    content_sha256   text NOT NULL,
    reused_from      text,  -- the submission whose result was reused (same bytes, same model)
    thumbnail_key    text,
    frames_key       text,
    produced_at      timestamptz NOT NULL,
    submitted_at     timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    -- Gap-free keyset pagination (see 0003): commit order, then insertion order.
    txid             xid8 NOT NULL DEFAULT pg_current_xact_id(),
    seq              bigint GENERATED ALWAYS AS IDENTITY
);
CREATE INDEX results_media_txid_seq_idx ON results_media (txid, seq);
-- Result reuse: the same bytes scored by the same model version are not scored again.
CREATE INDEX results_media_content_idx ON results_media (content_sha256, model_version);
