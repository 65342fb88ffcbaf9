-- Server-side sessions for the web view (/ui). The browser's cookie holds only a random token;
-- this table keeps its sha256 (a leaked table row cannot be replayed as a cookie), the key it
-- was signed in with, and when it ends. Signing out deletes the row; revoking or expiring the
-- key ends its sessions at once (the lookup joins api_keys). Before this the cookie held the
-- API key itself.
CREATE TABLE web_sessions (
    token_sha256 text PRIMARY KEY,
    key_id       bigint NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL
);
CREATE INDEX web_sessions_key_idx ON web_sessions (key_id);
CREATE INDEX web_sessions_expires_idx ON web_sessions (expires_at);
