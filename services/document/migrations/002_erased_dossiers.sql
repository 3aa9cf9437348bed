-- The retention rule (issue 11): a dossier's PDFs go when the dossier service erases the dossier
-- (dossier.erased). A file remembers the dossier it was rendered from; a tombstone remembers an
-- erased dossier for a while, so a PDF a request was still rendering is deleted by the next cleanup
-- (and none is stored for it any more).
ALTER TABLE files ADD COLUMN dossier_id uuid;
CREATE INDEX files_dossier ON files (dossier_id) WHERE dossier_id IS NOT NULL;

CREATE TABLE erased_dossiers (
    dossier_id  uuid PRIMARY KEY,
    erased_at   timestamptz NOT NULL DEFAULT now()
);
