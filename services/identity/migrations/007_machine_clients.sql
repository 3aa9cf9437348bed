-- Machine clients (issue 12): an MBO's student administration fetches completed dossiers with
-- OAuth 2.0 client credentials (POST /oauth/token). Registered by the platform administrator for
-- one institution, with scopes; authenticated by a secret (kept only as a keyed hash) or a public
-- key (private_key_jwt, RFC 7523). A rotation adds a credential and gives the old one an end
-- (expires_at); a revocation ends the client and every credential (identity.client_revoked).
CREATE TABLE machine_clients (
    id              uuid        PRIMARY KEY,
    institution_id  uuid        NOT NULL REFERENCES schools (id),
    name            text        NOT NULL,
    scopes          text[]      NOT NULL,
    auth_method     text        NOT NULL CHECK (auth_method IN ('client_secret', 'private_key_jwt')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    created_by      uuid,
    revoked_at      timestamptz,
    revoked_by      uuid,
    last_token_at   timestamptz
);
CREATE INDEX machine_clients_institution ON machine_clients (institution_id);

CREATE TABLE machine_client_credentials (
    id            uuid        PRIMARY KEY,
    client_id     uuid        NOT NULL REFERENCES machine_clients (id) ON DELETE CASCADE,
    secret_hash   bytea,                 -- HMAC-SHA256 (Vault.lookup_hash, purpose client-secret)
    public_jwk    jsonb,                 -- private_key_jwt: the client's public key as a JWK
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz,           -- set by a rotation (the overlap) or a revocation
    CHECK ((secret_hash IS NULL) <> (public_jwk IS NULL))
);
CREATE INDEX machine_client_credentials_client ON machine_client_credentials (client_id);

-- client assertions seen (RFC 7523 §3: a jti is not accepted twice), until they expire
CREATE TABLE machine_client_assertions (
    client_id   uuid        NOT NULL,
    jti         text        NOT NULL,
    expires_at  timestamptz NOT NULL,
    PRIMARY KEY (client_id, jti)
);

-- the client's own log: registered, every token issued or refused, rotated, revoked
CREATE TABLE machine_client_log (
    id          bigserial   PRIMARY KEY,
    client_id   uuid        NOT NULL REFERENCES machine_clients (id) ON DELETE CASCADE,
    at          timestamptz NOT NULL DEFAULT now(),
    event       text        NOT NULL,
    detail      text,
    by_account  uuid
);
CREATE INDEX machine_client_log_client ON machine_client_log (client_id, id DESC);
