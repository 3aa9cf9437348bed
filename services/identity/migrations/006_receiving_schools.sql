-- Receiving schools of every kind (issue 11, item 5).
--
-- A school is a VO school that sends ('vo', with a roster) or a receiving school: an MBO
-- institution ('mbo'), or a school for HAVO ('havo') or VMBO ('vmbo'). Every receiving school may
-- take part in Doorstroom (``participates``: its staff get completed dossiers in their inbox) or not
-- (the student and the mentor hand the PDF over). A receiving school offers programmes: an MBO its
-- CREBO programmes (CREBO, level, BOL/BBL), a HAVO or VMBO school its years, profiles or leerwegen
-- (a name such as "HAVO 4" and an optional ``profile`` such as "Natuur en Gezondheid").
ALTER TABLE schools DROP CONSTRAINT IF EXISTS schools_kind_check;
ALTER TABLE schools ADD CONSTRAINT schools_kind_check CHECK (kind IN ('vo', 'mbo', 'havo', 'vmbo'));

ALTER TABLE programmes ALTER COLUMN crebo DROP NOT NULL;
ALTER TABLE programmes ALTER COLUMN level DROP NOT NULL;
ALTER TABLE programmes ALTER COLUMN pathway DROP NOT NULL;
ALTER TABLE programmes ADD COLUMN profile text NOT NULL DEFAULT '';
-- an MBO programme has all three, a HAVO/VMBO programme none of them
ALTER TABLE programmes ADD CONSTRAINT programmes_mbo_fields
    CHECK ((crebo IS NULL) = (level IS NULL) AND (crebo IS NULL) = (pathway IS NULL));

-- one MBO programme per CREBO, pathway and location; one HAVO/VMBO programme per name, profile and location
ALTER TABLE programmes DROP CONSTRAINT IF EXISTS programmes_school_id_crebo_pathway_location_id_key;
CREATE UNIQUE INDEX programmes_mbo_unique ON programmes (school_id, crebo, pathway, location_id) NULLS NOT DISTINCT
    WHERE crebo IS NOT NULL;
CREATE UNIQUE INDEX programmes_vo_unique ON programmes (school_id, name, profile, location_id) NULLS NOT DISTINCT
    WHERE crebo IS NULL;
