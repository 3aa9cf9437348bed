-- The daily digest for MBO staff (digest.py): one mail a day per staff member of an institution
-- that received completed dossiers since its previous digest, with their number only.

-- completed dossiers per receiving institution, from dossier.completed: ids only, no student data;
-- digest_on is the day of the digest that counted it (NULL: not counted yet)
CREATE TABLE digest_dossiers (
    dossier_id     uuid PRIMARY KEY,
    institution_id uuid        NOT NULL,
    completed_at   timestamptz NOT NULL,
    received_at    timestamptz NOT NULL DEFAULT now(),
    digest_on      date
);
CREATE INDEX digest_dossiers_new ON digest_dossiers (institution_id) WHERE digest_on IS NULL;

-- MBO staff and their choice, from identity.staff_changed; changed_at (the event's time) keeps an
-- older event that arrives late from undoing a newer one
CREATE TABLE digest_staff (
    staff_id       uuid PRIMARY KEY,
    institution_id uuid,
    name           text        NOT NULL,
    email          text        NOT NULL,
    active         boolean     NOT NULL,
    daily_digest   boolean     NOT NULL,
    changed_at     timestamptz NOT NULL
);
CREATE INDEX digest_staff_institution ON digest_staff (institution_id);

-- institution names for the mail, from identity.school_changed (MBO only)
CREATE TABLE digest_institutions (
    institution_id uuid PRIMARY KEY,
    name           text        NOT NULL,
    changed_at     timestamptz NOT NULL
);

-- one digest per institution per day: the primary key is what makes it exactly once, whatever
-- the number of notification processes; its id is the deliveries' event_id
CREATE TABLE digests (
    id             uuid PRIMARY KEY,
    institution_id uuid    NOT NULL,
    day            date    NOT NULL,
    dossiers       integer NOT NULL,
    recipients     integer NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (institution_id, day)
);

-- once-a-day runs (shared.periodic.claim_day)
CREATE TABLE periodic_jobs (
    name         text PRIMARY KEY,
    last_run_on  date,
    ran_at       timestamptz
);
