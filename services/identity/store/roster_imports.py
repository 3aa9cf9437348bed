"""Roster import jobs in SQL: the job (``roster_imports``) with its progress and counts, and its
waiting rows (``roster_import_rows``, the BSN encrypted and hashed exactly as in ``students``).
The upload makes a job (``routes/roster_imports.py``), the worker works it chunk by chunk
(``roster_import_worker.py``)."""
from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Mapping

import asyncpg

from services.identity.store.roster import STUDENT_COLUMNS, Prepared

JOB_LOCK = 7_316_103  # per job, for as long as a worker works it
OPEN = "state IN ('queued', 'running')"
GAVE_UP = ("Het inlezen is halverwege mislukt; de leerlingen tot dan zijn ingelezen. Lees het bestand opnieuw "
           "in (wat al is ingelezen verandert daardoor niet) of neem contact op met de helpdesk.")

CHUNK = """DELETE FROM roster_import_rows WHERE import_id = $1 AND seq IN (
               SELECT seq FROM roster_import_rows WHERE import_id = $1 ORDER BY seq LIMIT $2)
           RETURNING *"""


# --- the upload ----------------------------------------------------------------------------------


async def open_import(conn: asyncpg.Connection, school_id: uuid.UUID) -> uuid.UUID | None:
    """The school's unfinished import, if any (one at a time per school)."""
    return await conn.fetchval(f"SELECT id FROM roster_imports WHERE school_id = $1 AND {OPEN}", school_id)


async def create_job(conn: asyncpg.Connection, job_id: uuid.UUID, school_id: uuid.UUID, requested_by: uuid.UUID,
                     request_id: str | None, prepared: Prepared, students: list[Mapping]) -> asyncpg.Record:
    """The job and its waiting rows (``students`` hold ``STUDENT_COLUMNS``, the BSN already encrypted),
    in the caller's transaction; returns the job."""
    job = await conn.fetchrow(
        """INSERT INTO roster_imports (id, school_id, requested_by, request_id, rows_total, not_in_file,
                                       classes_created, classes_with_changed_mentors, new_mentors)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *""",
        job_id, school_id, requested_by, request_id, len(students), prepared.not_in_file,
        prepared.classes_created, prepared.classes_with_changed_mentors,
        [m.model_dump(mode="json") for m in prepared.new_mentors])
    await add_rows(conn, job_id, students)
    return job


async def add_rows(conn: asyncpg.Connection, job_id: uuid.UUID, students: list[Mapping]) -> None:
    await conn.copy_records_to_table("roster_import_rows", columns=("import_id", "seq", *STUDENT_COLUMNS),
                                     records=[(job_id, seq, *(values[c] for c in STUDENT_COLUMNS))
                                              for seq, values in enumerate(students)])


# --- a preview, then the school admin's confirmation ----------------------------------------------


async def create_preview(conn: asyncpg.Connection, job_id: uuid.UUID, school_id: uuid.UUID, requested_by: uuid.UUID,
                         request_id: str | None, rows_total: int, preview: dict, file_sealed: bytes) -> asyncpg.Record:
    """A checked file waiting for the school admin's confirmation: the file itself sealed (it may hold
    BSNs), what it would change in ``preview``."""
    return await conn.fetchrow(
        """INSERT INTO roster_imports (id, school_id, requested_by, request_id, state, rows_total, not_in_file,
                                       classes_created, new_mentors, preview, file_sealed)
           VALUES ($1, $2, $3, $4, 'preview', $5, $6, $7, $8, $9, $10) RETURNING *""",
        job_id, school_id, requested_by, request_id, rows_total, len(preview["not_in_file"]),
        preview["classes_created"], [], preview, file_sealed)


async def lock_preview(conn: asyncpg.Connection, import_id: uuid.UUID, school_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM roster_imports WHERE id = $1 AND school_id = $2 FOR UPDATE",
                               import_id, school_id)


async def start_preview(conn: asyncpg.Connection, job_id: uuid.UUID, prepared: Prepared, students: list[Mapping],
                        left: int) -> asyncpg.Record:
    """The confirmed preview becomes a queued job with its rows; the sealed file goes, the list of
    students not in the file with it (the counts stay)."""
    await add_rows(conn, job_id, students)
    return await conn.fetchrow(
        """UPDATE roster_imports SET state = 'queued', file_sealed = NULL, preview = preview - 'not_in_file',
                  classes_created = $2, classes_with_changed_mentors = $3, new_mentors = $4,
                  not_in_file = $5, left_students = $6, next_attempt_at = now(), updated_at = now()
           WHERE id = $1 RETURNING *""", job_id, prepared.classes_created, prepared.classes_with_changed_mentors,
        [m.model_dump(mode="json") for m in prepared.new_mentors], prepared.not_in_file - left, left)


async def load_job(conn: asyncpg.Connection, import_id: uuid.UUID, school_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM roster_imports WHERE id = $1 AND school_id = $2", import_id, school_id)


# --- the worker ----------------------------------------------------------------------------------


async def due_jobs(conn: asyncpg.Connection) -> list[uuid.UUID]:
    """Unfinished jobs whose turn it is, oldest first."""
    rows = await conn.fetch(f"""SELECT id FROM roster_imports WHERE {OPEN} AND next_attempt_at <= now()
                                ORDER BY created_at LIMIT 20""")
    return [r["id"] for r in rows]


async def try_lock_job(conn: asyncpg.Connection, job_id: uuid.UUID) -> bool:
    """A session advisory lock on the job; False when another worker has it."""
    return await conn.fetchval("SELECT pg_try_advisory_lock($1, hashtext($2))", JOB_LOCK, str(job_id))


async def unlock_job(conn: asyncpg.Connection, job_id: uuid.UUID) -> None:
    await conn.execute("SELECT pg_advisory_unlock($1, hashtext($2))", JOB_LOCK, str(job_id))


async def lock_due_job(conn: asyncpg.Connection, job_id: uuid.UUID) -> asyncpg.Record | None:
    """The job, row-locked for this transaction; None when it finished meanwhile or waits for a retry."""
    return await conn.fetchrow(f"""SELECT * FROM roster_imports WHERE id = $1 AND {OPEN}
                                   AND next_attempt_at <= now() FOR UPDATE""", job_id)


async def take_chunk(conn: asyncpg.Connection, job_id: uuid.UUID, size: int) -> list[asyncpg.Record]:
    """The next ``size`` waiting rows, in file order, deleted in the caller's transaction."""
    return sorted(await conn.fetch(CHUNK, job_id, size), key=lambda r: r["seq"])


async def rows_left(conn: asyncpg.Connection, job_id: uuid.UUID) -> bool:
    return await conn.fetchval("SELECT EXISTS (SELECT 1 FROM roster_import_rows WHERE import_id = $1)", job_id)


async def record_chunk(conn: asyncpg.Connection, job_id: uuid.UUID, rows: int, created: int, updated: int,
                       more: bool) -> None:
    """Count a chunk's rows; the job is done when no rows are left."""
    await conn.execute(
        """UPDATE roster_imports SET rows_done = rows_done + $2, created = created + $3,
                  updated = updated + $4, unchanged = unchanged + $5,
                  state = CASE WHEN $6 THEN 'running' ELSE 'done' END,
                  finished_at = CASE WHEN $6 THEN NULL ELSE now() END,
                  started_at = coalesce(started_at, now()), attempts = 0, error = NULL, updated_at = now()
           WHERE id = $1""", job_id, rows, created, updated, rows - created - updated, more)


async def count_attempt(conn: asyncpg.Connection, job_id: uuid.UUID) -> int:
    """One more failed chunk in a row; returns how many."""
    return await conn.fetchval(
        "UPDATE roster_imports SET attempts = attempts + 1, updated_at = now() WHERE id = $1 RETURNING attempts",
        job_id)


async def retry_later(conn: asyncpg.Connection, job_id: uuid.UUID, delay: timedelta) -> None:
    await conn.execute("UPDATE roster_imports SET next_attempt_at = now() + $2 WHERE id = $1", job_id, delay)


async def fail_job(conn: asyncpg.Connection, job_id: uuid.UUID) -> None:
    """The job fails and its waiting rows go."""
    await conn.execute("""UPDATE roster_imports SET state = 'failed', error = $2, finished_at = now()
                          WHERE id = $1""", job_id, GAVE_UP)
    await conn.execute("DELETE FROM roster_import_rows WHERE import_id = $1", job_id)
