-- A mentor's access follows the class link as it is now (class_mentors), no longer the mentor the
-- student chose at submit (dossiers.mentor_id): the worklist and the other overviews of a mentor
-- find their dossiers through the students of their classes, whether active or not.
DROP INDEX IF EXISTS dossiers_mentor_part_b;
CREATE INDEX students_class ON students (class_id);
