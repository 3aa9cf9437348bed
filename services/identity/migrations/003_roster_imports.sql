-- Roster imports as jobs: a valid file is checked and its classes and mentors applied in the
-- request; its students are kept in roster_import_rows (the BSN encrypted, as in students) and
-- imported in chunks by a background worker, which deletes each chunk's rows in the transaction
-- that imports them. A job whose process stopped half-way is resumed by the next worker.
CREATE TABLE roster_imports (
    id              uuid PRIMARY KEY,
    school_id       uuid        NOT NULL REFERENCES schools,
    requested_by    uuid        NOT NULL REFERENCES accounts,
    request_id      text,                               -- of the upload: the events carry it too
    state           text        NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'done', 'failed')),
    rows_total      integer     NOT NULL,
    rows_done       integer     NOT NULL DEFAULT 0,
    created         integer     NOT NULL DEFAULT 0,
    updated         integer     NOT NULL DEFAULT 0,
    unchanged       integer     NOT NULL DEFAULT 0,
    not_in_file     integer     NOT NULL DEFAULT 0,
    classes_created text[]      NOT NULL DEFAULT '{}',
    classes_with_changed_mentors text[] NOT NULL DEFAULT '{}',
    new_mentors     jsonb       NOT NULL DEFAULT '[]',  -- [{staff_id, email}]
    attempts        integer     NOT NULL DEFAULT 0,     -- failed chunks in a row
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    error           text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    started_at      timestamptz,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz
);
-- one unfinished import per school at a time
CREATE UNIQUE INDEX roster_imports_one_open ON roster_imports (school_id) WHERE state IN ('queued', 'running');
CREATE INDEX roster_imports_school ON roster_imports (school_id, created_at);

CREATE TABLE roster_import_rows (
    import_id      uuid    NOT NULL REFERENCES roster_imports ON DELETE CASCADE,
    seq            integer NOT NULL,                    -- order in the file
    student_number text    NOT NULL,
    roepnaam       text    NOT NULL,
    voornamen      text    NOT NULL,
    tussenvoegsel  text    NOT NULL,
    achternaam     text    NOT NULL,
    date_of_birth  date    NOT NULL,
    class_id       uuid    NOT NULL REFERENCES classes,
    school_year    integer NOT NULL,
    email          text,
    bsn_ciphertext bytea,                               -- AES-GCM (Vault.encrypt_bsn), never the plain BSN
    bsn_hmac       bytea,
    PRIMARY KEY (import_id, seq)
);
