-- The pull API of completed dossiers (issue 12): a feed per institution that never skips or
-- repeats across pages, also while new dossiers complete.
--
-- A completion inserts its entry in the completing transaction, without a position. Positions are
-- handed out after commit, by one writer at a time (services/dossier/feed.py: under an advisory
-- lock, every entry that has none yet gets the next numbers): a transaction that commits later
-- gets a higher position than everything a reader could already see, so a reader that pages on
-- "position > cursor" never misses one (a sequence value taken inside the completing transaction
-- could commit after a higher one was read).
CREATE TABLE feed_entries (
    dossier_id      uuid        PRIMARY KEY REFERENCES dossiers (id) ON DELETE CASCADE,
    institution_id  uuid        NOT NULL,
    completed_at    timestamptz NOT NULL,
    entered_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    position        bigint      UNIQUE
);
CREATE INDEX feed_entries_institution ON feed_entries (institution_id, position) WHERE position IS NOT NULL;
CREATE INDEX feed_entries_unassigned ON feed_entries (entered_at) WHERE position IS NULL;

-- the dossiers completed before the feed existed, in the order they were completed
INSERT INTO feed_entries (dossier_id, institution_id, completed_at)
SELECT id, institution_id, completed_at FROM dossiers
WHERE state = 'completed' AND institution_id IS NOT NULL AND completed_at IS NOT NULL
ON CONFLICT DO NOTHING;

-- a machine client has no staff or student record: its name is kept with its lines of the view log
ALTER TABLE audit_log ADD COLUMN IF NOT EXISTS actor_name text;
