-- Receiving schools of every kind (issue 11, item 5): the read model keeps havo and vmbo schools and
-- their years or profiles (no CREBO, level or BOL/BBL); a dossier may go to a school that is not in
-- the list at all, typed in by the student (name and place; it never takes part in Doorstroom).
ALTER TABLE schools DROP CONSTRAINT IF EXISTS schools_kind_check;
ALTER TABLE schools ADD CONSTRAINT schools_kind_check CHECK (kind IN ('vo', 'mbo', 'havo', 'vmbo'));

ALTER TABLE programmes ALTER COLUMN crebo DROP NOT NULL;
ALTER TABLE programmes ALTER COLUMN level DROP NOT NULL;
ALTER TABLE programmes ALTER COLUMN pathway DROP NOT NULL;
ALTER TABLE programmes ADD COLUMN profile text;

ALTER TABLE dossiers ADD COLUMN other_school_name text;
ALTER TABLE dossiers ADD COLUMN other_school_city text;
