-- Rendered files: a content store keyed by the hash of what was rendered, with an expiry.
-- Files are never addressed directly: a print job or a dossier check decides who gets one.
CREATE TABLE files (
    id            uuid PRIMARY KEY,
    content_hash  text NOT NULL UNIQUE,
    kind          text NOT NULL CHECK (kind IN ('activation_letters', 'dossier')),
    media_type    text NOT NULL DEFAULT 'application/pdf',
    pages         integer,          -- known for letter batches
    size_bytes    integer NOT NULL,
    data          bytea NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL
);
CREATE INDEX files_expires_at ON files (expires_at);

-- Print jobs (batches of activation letters). A worker claims a job with FOR UPDATE SKIP LOCKED
-- and holds it by a lease (claim token + lease_until); pieces it rendered are kept in
-- print_job_chunks, so a job taken over after a crash goes on where it was.
CREATE TABLE print_jobs (
    id                  uuid PRIMARY KEY,
    kind                text NOT NULL DEFAULT 'activation_letters',
    batch_id            uuid NOT NULL UNIQUE,
    school_id           uuid NOT NULL,
    requested_by        uuid NOT NULL,
    requested_by_email  text,
    school_name         text,
    register_url        text,
    code_expires_on     date,
    content_hash        text NOT NULL,
    state               text NOT NULL DEFAULT 'queued'
                        CHECK (state IN ('queued', 'rendering', 'done', 'failed')),
    pages_total         integer NOT NULL,
    pages_done          integer NOT NULL DEFAULT 0,
    chunk_size          integer NOT NULL,
    chunks_rendered     integer NOT NULL DEFAULT 0,
    attempts            integer NOT NULL DEFAULT 0,
    claim_token         uuid,
    lease_until         timestamptz,
    next_attempt_at     timestamptz NOT NULL DEFAULT now(),
    file_id             uuid REFERENCES files (id) ON DELETE SET NULL,
    reused_file         boolean NOT NULL DEFAULT false,
    error               text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    started_at          timestamptz,
    completed_at        timestamptz,
    expires_at          timestamptz
);
CREATE INDEX print_jobs_due ON print_jobs (next_attempt_at) WHERE state IN ('queued', 'rendering');
CREATE INDEX print_jobs_school ON print_jobs (school_id, created_at DESC);
CREATE INDEX print_jobs_requester ON print_jobs (requested_by, created_at DESC);

-- The letters of a job in print order (class, then name); removed once the job is done.
CREATE TABLE print_job_letters (
    job_id      uuid NOT NULL REFERENCES print_jobs (id) ON DELETE CASCADE,
    seq         integer NOT NULL,
    student_id  uuid NOT NULL,
    student_name text NOT NULL,
    class_name  text NOT NULL,
    code        text NOT NULL,
    PRIMARY KEY (job_id, seq)
);

-- Rendered pieces of a job, merged into one file at the end; removed once the job is done.
CREATE TABLE print_job_chunks (
    job_id    uuid NOT NULL REFERENCES print_jobs (id) ON DELETE CASCADE,
    chunk_no  integer NOT NULL,
    pages     integer NOT NULL,
    pdf       bytea NOT NULL,
    PRIMARY KEY (job_id, chunk_no)
);
