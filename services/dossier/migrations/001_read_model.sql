-- The dossier service's own read model of identity's roster, built from identity's events.
-- Each row remembers the time of the event it came from (source_time); an older event never
-- overwrites a newer one, so events arriving out of order end in the latest state.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE schools (
    school_id     uuid PRIMARY KEY,
    kind          text        NOT NULL CHECK (kind IN ('vo', 'mbo')),
    name          text        NOT NULL,
    brin          text,
    city          text,
    participates  boolean     NOT NULL DEFAULT true,
    parent_rule   text        NOT NULL DEFAULT 'consent' CHECK (parent_rule IN ('consent', 'inspection', 'none')),
    source_time   timestamptz NOT NULL
);

-- the MBO catalogue: replaced as a whole with every identity.school_changed of the institution
CREATE TABLE locations (
    location_id     uuid PRIMARY KEY,
    institution_id  uuid NOT NULL,
    name            text NOT NULL,
    address         text,
    city            text
);
CREATE INDEX locations_institution ON locations (institution_id);

CREATE TABLE programmes (
    programme_id    uuid PRIMARY KEY,
    institution_id  uuid     NOT NULL,
    name            text     NOT NULL,
    crebo           text     NOT NULL,
    level           smallint NOT NULL,
    pathway         text     NOT NULL,
    location_id     uuid,
    offered         boolean  NOT NULL DEFAULT true  -- false once gone from the catalogue (old dossiers keep it)
);
CREATE INDEX programmes_institution ON programmes (institution_id);

CREATE TABLE students (
    student_id     uuid PRIMARY KEY,
    school_id      uuid        NOT NULL,
    student_number text        NOT NULL DEFAULT '',
    roepnaam       text        NOT NULL,
    voornamen      text        NOT NULL DEFAULT '',
    tussenvoegsel  text        NOT NULL DEFAULT '',
    achternaam     text        NOT NULL,
    date_of_birth  date        NOT NULL,
    class_id       uuid        NOT NULL,
    class_name     text        NOT NULL,
    leerjaar       smallint    NOT NULL,
    email          text,
    account_id     uuid,
    active         boolean     NOT NULL DEFAULT true,
    sort_name      text        NOT NULL,   -- domain.names.sort_name
    search_name    text        NOT NULL,   -- domain.names.search_name (folded: no accents, lower case)
    source_time    timestamptz NOT NULL
);
CREATE INDEX students_school_sort ON students (school_id, sort_name, student_id) WHERE active;
CREATE INDEX students_class_sort ON students (class_id, sort_name, student_id) WHERE active;
CREATE INDEX students_search ON students USING gin (search_name gin_trgm_ops);

-- kept apart from students: identity.activation_code_redeemed may arrive before the roster record
CREATE TABLE student_accounts (
    student_id  uuid PRIMARY KEY,
    account_id  uuid NOT NULL
);

CREATE TABLE classes (
    class_id     uuid PRIMARY KEY,
    school_id    uuid        NOT NULL,
    name         text        NOT NULL,
    leerjaar     smallint    NOT NULL,
    source_time  timestamptz NOT NULL
);
CREATE INDEX classes_school ON classes (school_id);

CREATE TABLE class_mentors (
    class_id    uuid NOT NULL,
    staff_id    uuid NOT NULL,
    account_id  uuid,
    name        text NOT NULL,
    email       text NOT NULL,
    PRIMARY KEY (class_id, staff_id)
);
CREATE INDEX class_mentors_staff ON class_mentors (staff_id);

CREATE TABLE staff (
    staff_id     uuid PRIMARY KEY,
    account_id   uuid,
    school_id    uuid,
    role         text        NOT NULL,
    name         text        NOT NULL,
    email        text        NOT NULL,
    active       boolean     NOT NULL DEFAULT true,
    source_time  timestamptz NOT NULL
);
