-- "mijn leerlingen" of a counsellor searches names within one school: one GIN index on both
-- (btree_gin for the uuid) finds the school's matches without scanning every school's.
CREATE EXTENSION IF NOT EXISTS btree_gin;
CREATE INDEX students_school_search ON students USING gin (school_id, search_name gin_trgm_ops);
