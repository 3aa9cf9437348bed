-- A school year's life cycle (issue 11).
--
-- Students who left: a roster import marks the students it does not list as left (after a preview
-- and the school admin's confirmation), and so does a new school year for the students of its last
-- leerjaar; ``left_on`` is the day, ``active`` false. A later file that lists them again makes them
-- active again. The retention rule (``schools.retention_years``) is applied by the dossier service,
-- which erases its data and tells identity to erase the roster record and the account.
ALTER TABLE students ADD COLUMN left_on date;
-- the parents or guardians of the roster CSV's optional columns: [{name, email, relation}], NULL when
-- no file with those columns was read yet
ALTER TABLE students ADD COLUMN parents jsonb;
ALTER TABLE roster_import_rows ADD COLUMN parents text;               -- the same list as JSON text (COPY)

ALTER TABLE schools ADD COLUMN retention_years integer NOT NULL DEFAULT 2 CHECK (retention_years BETWEEN 1 AND 10);
-- the school year the roster is in ("2025-2026"); NULL: the calendar's (a school that never started one)
ALTER TABLE schools ADD COLUMN roster_school_year text;

-- a class whose last students left at a new school year: out of lists, its name free for the class
-- that moves up into it ("4a" becomes "4a (2025-2026)")
ALTER TABLE classes ADD COLUMN ended_school_year text;

-- Roster imports with a preview: the upload is checked and kept (sealed, shared.sealing) as state
-- 'preview' with what it would change; the school admin confirms it (with the students to mark as
-- left) and it becomes a queued job, or it is dropped after a day.
ALTER TABLE roster_imports DROP CONSTRAINT roster_imports_state_check;
ALTER TABLE roster_imports ADD CONSTRAINT roster_imports_state_check
    CHECK (state IN ('preview', 'queued', 'running', 'done', 'failed'));
ALTER TABLE roster_imports ADD COLUMN file_sealed bytea;
ALTER TABLE roster_imports ADD COLUMN preview jsonb;
ALTER TABLE roster_imports ADD COLUMN left_students integer NOT NULL DEFAULT 0;

-- every new school year a school started, and what it did (counts only)
CREATE TABLE school_years (
    school_id       uuid        NOT NULL REFERENCES schools,
    school_year     text        NOT NULL,          -- the year started, "2026-2027"
    started_at      timestamptz NOT NULL DEFAULT now(),
    started_by      uuid,                          -- account id of the school admin
    classes_moved   integer     NOT NULL,
    classes_ended   integer     NOT NULL,
    students_moved  integer     NOT NULL,
    students_left   integer     NOT NULL,
    stayed_behind   integer     NOT NULL,
    PRIMARY KEY (school_id, school_year)
);
