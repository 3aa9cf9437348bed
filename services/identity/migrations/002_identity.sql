-- Identity: schools and their MBO catalogue, the roster (classes, students, mentors), staff,
-- accounts, e-mail links, sessions, signing keys, throttling and activation codes.
-- The demo slice's table is replaced by email_tokens.
DROP TABLE IF EXISTS email_verifications;

CREATE TABLE schools (
    id           uuid PRIMARY KEY,
    kind         text        NOT NULL CHECK (kind IN ('vo', 'mbo')),
    name         text        NOT NULL,
    brin         text        UNIQUE,
    city         text,
    participates boolean     NOT NULL DEFAULT true,
    parent_rule  text        NOT NULL DEFAULT 'consent' CHECK (parent_rule IN ('consent', 'inspection', 'none')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE locations (
    id        uuid PRIMARY KEY,
    school_id uuid NOT NULL REFERENCES schools ON DELETE CASCADE,
    name      text NOT NULL,
    address   text,
    city      text,
    UNIQUE (school_id, name)
);

CREATE TABLE programmes (
    id          uuid PRIMARY KEY,
    school_id   uuid    NOT NULL REFERENCES schools ON DELETE CASCADE,
    name        text    NOT NULL,
    crebo       text    NOT NULL CHECK (crebo ~ '^[0-9]{5}$'),
    level       integer NOT NULL CHECK (level BETWEEN 1 AND 4),
    pathway     text    NOT NULL CHECK (pathway IN ('BOL', 'BBL')),
    location_id uuid REFERENCES locations,
    active      boolean NOT NULL DEFAULT true,
    UNIQUE NULLS NOT DISTINCT (school_id, crebo, pathway, location_id)
);

CREATE TABLE classes (
    id          uuid PRIMARY KEY,
    school_id   uuid    NOT NULL REFERENCES schools,
    name        text    NOT NULL,
    school_year integer NOT NULL,
    UNIQUE (school_id, name)
);

CREATE TABLE accounts (
    id                  uuid PRIMARY KEY,
    email               text        NOT NULL UNIQUE,   -- lower case
    kind                text        NOT NULL CHECK (kind IN ('student', 'staff')),
    password_hash       text,
    email_verified_at   timestamptz,
    bsn_ciphertext      bytea,                          -- AES-GCM, students only
    bsn_hmac            bytea UNIQUE,                   -- keyed hash for look-up
    active              boolean     NOT NULL DEFAULT true,
    created_at          timestamptz NOT NULL DEFAULT now(),
    password_changed_at timestamptz
);

CREATE TABLE staff (
    id         uuid PRIMARY KEY,
    school_id  uuid REFERENCES schools,                 -- NULL for platform admins
    account_id uuid UNIQUE REFERENCES accounts,
    role       text        NOT NULL CHECK (role IN ('mentor', 'counsellor', 'school_admin', 'mbo_staff', 'admin')),
    name       text        NOT NULL,
    email      text        NOT NULL,
    active     boolean     NOT NULL DEFAULT true,
    invited_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE NULLS NOT DISTINCT (school_id, email)
);

CREATE TABLE class_mentors (
    class_id uuid NOT NULL REFERENCES classes ON DELETE CASCADE,
    staff_id uuid NOT NULL REFERENCES staff ON DELETE CASCADE,
    PRIMARY KEY (class_id, staff_id)
);
CREATE INDEX class_mentors_staff ON class_mentors (staff_id);

CREATE TABLE students (
    id             uuid PRIMARY KEY,
    school_id      uuid        NOT NULL REFERENCES schools,
    student_number text        NOT NULL,
    roepnaam       text        NOT NULL,
    voornamen      text        NOT NULL DEFAULT '',
    tussenvoegsel  text        NOT NULL DEFAULT '',
    achternaam     text        NOT NULL,
    date_of_birth  date        NOT NULL,
    class_id       uuid        NOT NULL REFERENCES classes,
    school_year    integer     NOT NULL,
    email          text,
    bsn_ciphertext bytea,
    bsn_hmac       bytea,
    account_id     uuid UNIQUE REFERENCES accounts,
    active         boolean     NOT NULL DEFAULT true,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (school_id, student_number)
);
CREATE INDEX students_class ON students (class_id);
CREATE INDEX students_year ON students (school_id, school_year);

-- Single-use links sent by mail: verify an address (registration), reset a password, accept an
-- invitation. Only the SHA-256 of the token is kept.
CREATE TABLE email_tokens (
    id             uuid PRIMARY KEY,
    purpose        text        NOT NULL CHECK (purpose IN ('verification', 'password_reset', 'invitation')),
    token_hash     text        NOT NULL UNIQUE,
    account_id     uuid REFERENCES accounts,
    email          text        NOT NULL,
    bsn_ciphertext bytea,                              -- registration: the account to be made
    bsn_hmac       bytea,
    created_at     timestamptz NOT NULL DEFAULT now(),
    expires_at     timestamptz NOT NULL,
    used_at        timestamptz
);
CREATE INDEX email_tokens_open ON email_tokens (account_id, purpose) WHERE used_at IS NULL;

-- A notice mail per address at most every so often ("er is al een account", reset requests).
CREATE TABLE mail_guard (
    key     bytea PRIMARY KEY,
    sent_at timestamptz NOT NULL
);

CREATE TABLE sessions (
    id           uuid PRIMARY KEY,
    account_id   uuid        NOT NULL REFERENCES accounts,
    created_at   timestamptz NOT NULL DEFAULT now(),
    refreshed_at timestamptz,
    expires_at   timestamptz NOT NULL,
    ended_at     timestamptz
);
CREATE INDEX sessions_open ON sessions (account_id) WHERE ended_at IS NULL;

-- Refresh tokens rotate on every use; a used one presented again ends its session (theft).
CREATE TABLE refresh_tokens (
    token_hash text PRIMARY KEY,
    session_id uuid        NOT NULL REFERENCES sessions ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    used_at    timestamptz
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

CREATE TABLE signing_keys (
    kid         text PRIMARY KEY,
    private_key bytea       NOT NULL,                   -- PEM, AES-GCM encrypted
    created_at  timestamptz NOT NULL DEFAULT now(),
    retired_at  timestamptz
);

CREATE TABLE throttle (
    scope             text        NOT NULL,
    key               bytea       NOT NULL,
    failures          integer     NOT NULL,
    window_started_at timestamptz NOT NULL,
    last_failure_at   timestamptz NOT NULL,
    blocked_until     timestamptz,
    PRIMARY KEY (scope, key)
);

CREATE TABLE activation_batches (
    id              uuid PRIMARY KEY,
    school_id       uuid        NOT NULL REFERENCES schools,
    channel         text        NOT NULL CHECK (channel IN ('email', 'letter')),
    scope           text        NOT NULL,
    requested_by    uuid        NOT NULL REFERENCES accounts,
    idempotency_key text,
    fingerprint     text        NOT NULL,
    response        jsonb,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (requested_by, idempotency_key)
);

CREATE TABLE activation_codes (
    id             uuid PRIMARY KEY,
    student_id     uuid        NOT NULL REFERENCES students,
    batch_id       uuid        NOT NULL REFERENCES activation_batches,
    code_hash      text        NOT NULL UNIQUE,
    channel        text        NOT NULL CHECK (channel IN ('email', 'letter')),
    issued_at      timestamptz NOT NULL DEFAULT now(),
    expires_on     date        NOT NULL,
    redeemed_at    timestamptz,
    redeemed_by    uuid REFERENCES accounts,
    invalidated_at timestamptz                          -- set when a newer code replaces it
);
-- at most one current (not replaced) code per student
CREATE UNIQUE INDEX activation_codes_current ON activation_codes (student_id) WHERE invalidated_at IS NULL;
