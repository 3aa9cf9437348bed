-- Server-side sessions of the portal. The cookie holds a random id; only its hash is stored.
CREATE TABLE portal_sessions (
    id_hash           text PRIMARY KEY,
    csrf_token        text NOT NULL,
    data              jsonb NOT NULL DEFAULT '{}'::jsonb,
    principal         jsonb,
    access_token      text,
    refresh_token     text,
    access_expires_at timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    last_seen_at      timestamptz NOT NULL DEFAULT now(),
    expires_at        timestamptz NOT NULL
);
CREATE INDEX portal_sessions_expires_at ON portal_sessions (expires_at);
