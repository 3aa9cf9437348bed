-- Dossiers, their sections, the student-specific part B, history, audit, parent links, reminders.
CREATE TABLE dossiers (
    id                   uuid PRIMARY KEY,
    student_id           uuid        NOT NULL,
    school_id            uuid        NOT NULL,
    school_year          text        NOT NULL,
    form_version         text        NOT NULL,   -- school year of the part A form used
    part_b_form_version  text        NOT NULL,
    state                text        NOT NULL DEFAULT 'part_a'
                         CHECK (state IN ('part_a', 'part_b', 'agreement', 'completed')),
    archived             boolean     NOT NULL DEFAULT false,
    part_b_started       boolean     NOT NULL DEFAULT false,
    part_b_approved      boolean     NOT NULL DEFAULT false,
    parent_decision      text        CHECK (parent_decision IN ('consent', 'objection')),
    parent_remark        text,
    parent_decided_at    timestamptz,
    parent_email         text,
    parent_informed_at   timestamptz,           -- a link was sent in this round
    mentor_id            uuid,                  -- staff id of the mentor chosen on submit
    mentor_name          text,
    choice_kind          text,                  -- from part A "vervolgopleiding", for overviews
    institution_id       uuid,
    programme_id         uuid,
    first_choice         boolean     NOT NULL DEFAULT false,
    progress             smallint    NOT NULL DEFAULT 0,  -- of the step the dossier is in
    warm_handover        boolean     NOT NULL DEFAULT false,
    contact_wanted       boolean     NOT NULL DEFAULT false,
    agreement_remark     text,
    version              integer     NOT NULL DEFAULT 1,
    created_at           timestamptz NOT NULL DEFAULT now(),
    created_by           uuid,
    updated_at           timestamptz NOT NULL DEFAULT now(),
    updated_by           uuid,
    state_changed_at     timestamptz NOT NULL DEFAULT now(),
    submitted_at         timestamptz,
    part_b_sent_at       timestamptz,
    completed_at         timestamptz,
    archived_at          timestamptz,
    handled_at           timestamptz,
    handled_by_name      text,
    final                jsonb       -- student, school and choice as they were sent, on completion
);
CREATE INDEX dossiers_student ON dossiers (student_id);
CREATE INDEX dossiers_school_state ON dossiers (school_id, state) WHERE NOT archived;
CREATE INDEX dossiers_mentor_part_b ON dossiers (mentor_id) WHERE state = 'part_b' AND NOT archived;
CREATE INDEX dossiers_agreement ON dossiers (state_changed_at) WHERE state = 'agreement' AND NOT archived;
CREATE INDEX dossiers_institution ON dossiers (institution_id, completed_at DESC) WHERE state = 'completed';

-- part A and the dossier-specific part B, per section; on sending part B a copy of the
-- student-specific part is kept here too (part 'part_b_student'), so a sent dossier is final
CREATE TABLE dossier_sections (
    dossier_id  uuid        NOT NULL REFERENCES dossiers (id) ON DELETE CASCADE,
    section_id  text        NOT NULL,
    part        text        NOT NULL CHECK (part IN ('part_a', 'part_b_student', 'part_b_dossier')),
    answers     jsonb       NOT NULL,
    progress    smallint    NOT NULL,
    version     integer     NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    updated_by  uuid,
    PRIMARY KEY (dossier_id, section_id)
);

-- the student-specific part of part B: one per student, reused in each of their dossiers
CREATE TABLE student_part_b (
    student_id    uuid        NOT NULL,
    section_id    text        NOT NULL,
    form_version  text        NOT NULL,
    answers       jsonb       NOT NULL,
    progress      smallint    NOT NULL,
    version       integer     NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    updated_by    uuid,
    PRIMARY KEY (student_id, section_id)
);

-- what the people see as "historie": made, changed, by whom, every state change
CREATE TABLE history (
    id                bigserial PRIMARY KEY,
    dossier_id        uuid        NOT NULL REFERENCES dossiers (id) ON DELETE CASCADE,
    at                timestamptz NOT NULL DEFAULT now(),
    action            text        NOT NULL,
    actor_role        text        NOT NULL,
    actor_account_id  uuid,
    actor_name        text,
    from_state        text,
    to_state          text,
    detail            jsonb
);
CREATE INDEX history_dossier ON history (dossier_id, id);

-- privacy: every view of and every change to personal data, who, role, when, what, why
CREATE TABLE audit_log (
    id                bigserial PRIMARY KEY,
    at                timestamptz NOT NULL DEFAULT now(),
    kind              text        NOT NULL CHECK (kind IN ('view', 'change')),
    actor_role        text        NOT NULL,
    actor_account_id  uuid,
    actor_ref         text,       -- staff id, student id or parent link id
    dossier_id        uuid,
    student_id        uuid,
    what              text        NOT NULL,
    purpose           text
);
CREATE INDEX audit_dossier ON audit_log (dossier_id, at) WHERE dossier_id IS NOT NULL;
CREATE INDEX audit_student ON audit_log (student_id, at) WHERE student_id IS NOT NULL;

CREATE TABLE parent_links (
    id          uuid PRIMARY KEY,
    dossier_id  uuid        NOT NULL REFERENCES dossiers (id) ON DELETE CASCADE,
    email       text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz
);
CREATE INDEX parent_links_dossier ON parent_links (dossier_id);

-- at most one reminder per dossier per (Amsterdam) day, manual or automatic
CREATE TABLE reminders (
    dossier_id    uuid        NOT NULL REFERENCES dossiers (id) ON DELETE CASCADE,
    day           date        NOT NULL,
    automatic     boolean     NOT NULL,
    requested_by  uuid,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (dossier_id, day)
);

-- periodic work that must run once a day whatever the number of processes: the process that
-- moves last_run_on to today (row lock, then the WHERE is re-checked) does the run
CREATE TABLE periodic_jobs (
    name         text PRIMARY KEY,
    last_run_on  date,
    ran_at       timestamptz
);

-- secrets the replicas must share (the parent-link key), made once by the first process
CREATE TABLE service_secrets (
    name   text PRIMARY KEY,
    value  bytea NOT NULL
);
