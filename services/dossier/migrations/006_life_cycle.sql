-- A school year's life cycle (issue 11): students who left, the parents the roster knows, and the
-- retention rule, which this service applies for every service (services/dossier/retention.py).
ALTER TABLE students ADD COLUMN IF NOT EXISTS left_on date;
ALTER TABLE students ADD COLUMN IF NOT EXISTS parents jsonb;           -- [{name, email, relation}], NULL: not known
ALTER TABLE schools ADD COLUMN IF NOT EXISTS retention_years integer NOT NULL DEFAULT 2;

-- "Two school years after": the first day after the school year (1 August - 31 July) that day falls in,
-- plus ``years`` school years. A dossier completed on 10 March 2026 (2025-2026), two years: 1 August 2028.
CREATE OR REPLACE FUNCTION retention_due(day date, years integer) RETURNS date
    LANGUAGE sql IMMUTABLE AS
$$ SELECT make_date(extract(year FROM day - interval '7 months')::int + 1 + years, 8, 1) $$;

-- What the retention rule will erase: planned once it is due within the notice period, noticed to the
-- school (dossier.retention_notice), erased on due_on but never before noticed_on + the notice period.
-- kind 'student': a student who left, with all their dossiers (identity erases the roster record and
-- the account); kind 'dossier': a completed dossier of a student who did not leave (or left later).
-- A row whose reason no longer holds (the student is back, the school lengthened its rule) goes.
CREATE TABLE retention_plan (
    kind        text        NOT NULL CHECK (kind IN ('student', 'dossier')),
    subject_id  uuid        NOT NULL,           -- student id or dossier id
    school_id   uuid        NOT NULL,
    student_id  uuid        NOT NULL,
    basis_on    date        NOT NULL,           -- the day the student left or the dossier was completed
    due_on      date        NOT NULL,
    noticed_on  date,
    PRIMARY KEY (kind, subject_id)
);
CREATE INDEX retention_plan_school ON retention_plan (school_id, due_on);

-- The audit line afterwards: what the rule erased, per school and run, in counts only (no names,
-- no ids: what is erased is gone). Kept for as long as the school exists.
CREATE TABLE retention_log (
    id               bigserial   PRIMARY KEY,
    school_id        uuid        NOT NULL,
    erased_at        timestamptz NOT NULL DEFAULT now(),
    run_on           date        NOT NULL,
    retention_years  integer     NOT NULL,
    dossiers         integer     NOT NULL,      -- completed dossiers whose term ended
    students         integer     NOT NULL,      -- students who left, with their account
    student_dossiers integer     NOT NULL,      -- the dossiers of those students
    noticed_on       date                       -- when the school was told
);
CREATE INDEX retention_log_school ON retention_log (school_id, erased_at DESC);

-- the access log's own line of an erasure (no dossier, no student: they are gone)
ALTER TABLE audit_log DROP CONSTRAINT IF EXISTS audit_log_kind_check;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_kind_check CHECK (kind IN ('view', 'change', 'erase'));
